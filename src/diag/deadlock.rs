//! Deadlock detection (Go's `checkdead`).
//!
//! The monitor calls [`Detector::on_quiet_tick`] on each tick in which no worker ran a
//! goroutine. The runtime *looks deadlocked* when every worker sleeps, no goroutine is
//! queued, every live goroutine (`main` among them) is parked, and nothing inside the
//! runtime can wake one: no timer pending, no goroutine waiting on a socket, no
//! `blocking` call running, no goroutine parked in `block_on` (its waker may be called
//! from a plain thread or another runtime, out of our sight). If it still looks so [`CONFIRM`] later and no goroutine
//! was resumed in between, `run` fails with `all goroutines are asleep - deadlock!`
//! and the dump. The hot path pays nothing beyond the per-worker resume counters that
//! the monitor already reads.
//!
//! Plain threads and other runtimes are out of sight, so a goroutine that waits on
//! something they may have a hand in never counts as stuck: a channel, lock, wait
//! group or context made outside the runtime or ever used from outside it
//! (`park::sight`), or a `block_on`. A goroutine whose note of that predates the
//! last primitive to turn foreign is woken to take it again. A report is then certain: every live goroutine
//! waits on something only the runtime's own goroutines, timers, sockets and blocking
//! calls could move, and none of those is pending. A deadlock among goroutines that
//! wait on a primitive a plain thread once used goes unreported: certainty is not
//! possible there.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::goroutine::PARKED;
use crate::park::WaitReason;
use crate::sched::Shared;

/// How long a runtime must look deadlocked, without progress, to be reported.
pub(crate) const CONFIRM: Duration = Duration::from_millis(80);

#[derive(Default)]
pub(crate) struct Detector {
    /// The progress count and time when the runtime was first seen looking deadlocked.
    candidate: Option<(u64, Instant)>,
}

impl Detector {
    /// On a tick where no worker ran: returns true while a suspected deadlock is being
    /// confirmed (the monitor keeps ticking instead of sleeping).
    pub(crate) fn on_quiet_tick(&mut self, shared: &Shared) -> bool {
        if !shared.deadlock_detection || !looks_deadlocked(shared) {
            self.candidate = None;
            return false;
        }
        let progress = progress(shared);
        match self.candidate {
            Some((seen, since)) if seen == progress => {
                if since.elapsed() < CONFIRM {
                    return true;
                }
                self.candidate = None;
                shared.record_failure(shared.deadlock_report(true));
                false
            }
            _ => {
                self.candidate = Some((progress, Instant::now()));
                true
            }
        }
    }
}

/// Goroutine resumes so far, over all workers.
fn progress(shared: &Shared) -> u64 {
    shared
        .slots
        .iter()
        .map(|s| s.resumes.load(Ordering::Acquire))
        .sum()
}

fn looks_deadlocked(shared: &Shared) -> bool {
    if shared.is_shutdown() || shared.failure().is_some() {
        return false;
    }
    let active = shared.workers + shared.active_spares.load(Ordering::SeqCst);
    if shared.idle.sleeping() < active
        || shared.has_queued_work()
        || shared.live_goroutines() == 0
        || shared.timers.pending() > 0
        || shared.poller.has_waiters()
        || shared.blocking_calls.load(Ordering::SeqCst) > 0
        || crate::signal::subscribed()
    {
        return false;
    }
    let goroutines = shared.goroutines();
    let epoch = crate::park::sight::epoch();
    // `main` gone means `run` is returning: the rest are abandoned, not deadlocked.
    // A goroutine parked in `block_on` may be woken by a waker held out of our sight,
    // and one parked on something used from outside may be woken from there. (What it
    // waits on is stored before it parks, so a PARKED goroutine shows it.)
    let main_alive = goroutines.first().is_some_and(|g| g.id == 1);
    if !main_alive
        || !goroutines.iter().all(|g| {
            g.state() == PARKED && g.wait_reason() != WaitReason::Future && !g.waits_unseen()
        })
    {
        return false;
    }
    // A note taken before the last primitive turned foreign may be stale: wake those
    // goroutines (a spurious wake-up, which every wait loop allows) so that they look
    // again and park with a fresh note; the next quiet tick judges anew.
    let mut stale = false;
    for g in goroutines.iter().filter(|g| !g.noted_at(epoch)) {
        stale = true;
        g.unpark();
    }
    !stale
}
