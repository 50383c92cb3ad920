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
//! Plain threads and other runtimes are out of sight: a goroutine parked on a channel
//! that a plain thread will feed looks deadlocked. `Builder::deadlock_detection`
//! turns the check off for programs built that way.

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
    // `main` gone means `run` is returning: the rest are abandoned, not deadlocked.
    // A goroutine parked in `block_on` may be woken by a waker held out of our sight.
    // (Its reason is stored before it parks, so a PARKED goroutine shows it.)
    goroutines.first().is_some_and(|g| g.id == 1)
        && goroutines.iter().all(|g| g.state() == PARKED)
        && !goroutines
            .iter()
            .any(|g| g.wait_reason() == WaitReason::Future)
}
