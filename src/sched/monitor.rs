//! The monitor thread (Go's `sysmon`): a watchdog that needs no worker.
//!
//! Every [`TICK`] it fires due timers (so they fire even when every worker is busy) and
//! looks at each running worker:
//!
//! - the same *resume* for two whole [`TIME_SLICE`](super::TIME_SLICE)s: one goroutine
//!   has held the thread that long without switching out, even after being asked to
//!   (a hog, or a plain blocking call).
//!   Goroutines cannot be preempted, so instead its queued goroutines are handed to the
//!   global queue and the worker is marked stuck. If, a tick later, goroutines still
//!   wait in the global queue and no worker has taken one meanwhile (every worker is
//!   stuck), a spare worker is started so that goroutines make progress again; when a
//!   stuck goroutine finally switches out, the worker clears its mark and a spare
//!   retires. A spare is *not* started merely because a worker is busy while others
//!   keep up: that would only oversubscribe the cores.
//! - the same *time slice* for that long: the worker is asked to preempt (its `preempt`
//!   flag). A goroutine running the whole slice yields at its next preemption point
//!   (a channel operation, a contended lock: see [`preempt_point`](super::preempt_point));
//!   goroutines passing the slice along through `runnext` (a ping-pong pair) make the
//!   worker take its next goroutine from the queue. Its queue is handed to the others.
//!   Only a goroutine that reaches no preemption point for another slice is treated
//!   as stuck.
//!
//! A goroutine in the same resume for longer than `Builder::blocking_report` is named,
//! once, in the blocking-call report (`diag::blocking_report`).
//!
//! When no worker has run anything for two ticks, the monitor parks until a worker
//! wakes up, so an idle runtime uses no CPU (a pending timer is kept by the sleeping
//! timer-keeper worker, whose waking wakes the monitor too).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Shared, TIME_SLICE};
use crate::diag::blocking_report::BlockingReport;

const TICK: Duration = Duration::from_millis(2);

/// How often pooled stacks left idle have their pages released (`StackPool::release_idle`).
const STACK_RELEASE_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
struct Seen {
    resumes: u64,
    slices: u64,
    resume_since: Instant,
    slice_since: Instant,
}

pub(crate) fn run(shared: Arc<Shared>) {
    // The timers it fires act for the runtime: what they touch stays in sight.
    crate::park::sight::set_thread_runtime(shared.id);
    let now = Instant::now();
    let mut seen = vec![
        Seen {
            resumes: 0,
            slices: 0,
            resume_since: now,
            slice_since: now
        };
        shared.slots.len()
    ];
    let mut quiet_ticks = 0;
    let mut last_stack_release = now;
    let mut deadlocks = crate::diag::Detector::default();
    let mut blocking = BlockingReport::new(shared.blocking_report);
    let mut last_global_pops = shared.global_pops();
    while !shared.is_shutdown() {
        shared.monitor_parker.park_timeout(next_wait(&shared));
        if shared.is_shutdown() {
            return;
        }
        // A goroutine that overflowed its stack waits for us to name where.
        crate::stack::overflow::print_pending_frames();
        // Taken before anything this tick judges, for `sleep_until_workers_run`.
        let wake_ups = shared.idle.wake_ups();
        // Workers fire timers as they schedule; we step in only for timers overdue by
        // a whole tick, which means every worker is busy with long-running goroutines.
        let clock = shared.now_nanos();
        shared.set_coarse_nanos(clock);
        shared
            .timers
            .fire_due(clock.saturating_sub(TICK.as_nanos() as u64));
        // Sockets that became ready while every worker is busy (nobody polls).
        if clock.saturating_sub(shared.poller.last_poll()) >= TICK.as_nanos() as u64 {
            shared.poll_ready_sockets();
        }
        let now = Instant::now();
        let mut any_running = false;
        for (slot, seen) in shared.slots.iter().zip(seen.iter_mut()) {
            if !slot.is_active() {
                continue;
            }
            let resumes = slot.resumes.load(Ordering::Relaxed);
            let slices = slot.slices.load(Ordering::Relaxed);
            let goroutine = slot.running.load(Ordering::Relaxed);
            let running = goroutine != 0;
            any_running |= running;
            if !running || resumes != seen.resumes {
                seen.resumes = resumes;
                seen.resume_since = now;
            } else {
                let held = now - seen.resume_since;
                if held >= 2 * TIME_SLICE && !slot.stuck.load(Ordering::Acquire) {
                    // Asked to yield a slice ago (below) and still in the same resume:
                    // the goroutine reaches no preemption point (a hog or a blocking
                    // call).
                    mark_stuck(&shared, slot.index);
                }
                blocking.check(&shared, slot, goroutine, resumes, held);
            }
            if !running || slices != seen.slices {
                seen.slices = slices;
                seen.slice_since = now;
            } else if now - seen.slice_since >= TIME_SLICE {
                slot.request_preempt();
                seen.slice_since = now;
                if slot.hand_off_queue(&shared) > 0 {
                    shared.idle.notify_work(&shared);
                }
            }
        }
        let pops = shared.global_pops();
        if shared.stuck.load(Ordering::Acquire) > 0
            && shared.global_len() > 0
            && pops == last_global_pops
        {
            activate_spare(&shared);
        }
        last_global_pops = pops;
        quiet_ticks = if any_running { 0 } else { quiet_ticks + 1 };
        if now - last_stack_release >= STACK_RELEASE_INTERVAL {
            shared.stacks.release_idle(false);
            last_stack_release = now;
            #[cfg(feature = "metrics")]
            shared.metrics().publish();
        }
        // Pending timers are no reason to stay up: a sleeping worker keeps them (the
        // timer keeper) and wakes us when it gets up.
        if quiet_ticks >= 2 {
            if deadlocks.on_quiet_tick(&shared) {
                continue; // confirming a deadlock: keep watching
            }
            shared.stacks.release_idle(true); // a quiet runtime needs no spare stacks
            sleep_until_workers_run(&shared, wake_ups);
            quiet_ticks = 0;
        }
    }
}

fn next_wait(shared: &Shared) -> Duration {
    match shared.timers.next_deadline() {
        Some(d) => Duration::from_nanos(d.saturating_sub(shared.now_nanos())).min(TICK),
        None => TICK,
    }
}

/// Park while every worker sleeps, and has slept since `wake_ups` was read at the
/// start of the tick that judged the runtime quiet.
///
/// Dekker pair with the end of `Worker::sleep`: we announce ourselves before looking
/// at the sleepers, a waking worker leaves the sleepers before looking for us (all
/// SeqCst), so one of the two always sees the other. Counting the sleepers alone is not
/// enough: a worker may wake, run and sleep again between our judgement and our
/// announcement. (The deadlock detector wakes goroutines whose notes went stale, and
/// those can park again that fast; then we would sleep beside a deadlock forever.)
/// The wake-up count catches that worker: either we see its departure, or it sees us.
fn sleep_until_workers_run(shared: &Shared, wake_ups: u64) {
    shared.monitor_sleeping.store(true, Ordering::SeqCst);
    let active = shared.workers + shared.active_spares.load(Ordering::SeqCst);
    if shared.idle.sleeping() >= active
        && shared.idle.wake_ups() == wake_ups
        && !shared.is_shutdown()
    {
        shared.monitor_parker.park();
    }
    shared.monitor_sleeping.store(false, Ordering::SeqCst);
}

fn mark_stuck(shared: &Arc<Shared>, index: usize) {
    let slot = &shared.slots[index];
    if slot.stuck.swap(true, Ordering::AcqRel) {
        return;
    }
    shared.stuck.fetch_add(1, Ordering::AcqRel);
    if slot.hand_off_queue(shared) > 0 {
        shared.idle.notify_work(shared);
    }
}

/// Start (or wake) a spare worker if fewer than `workers` unstuck workers remain.
fn activate_spare(shared: &Arc<Shared>) {
    let _guard = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
    if shared.active_spares.load(Ordering::Acquire) >= shared.stuck.load(Ordering::Acquire) {
        return;
    }
    let Some(slot) = shared.slots[shared.workers..]
        .iter()
        .find(|s| !s.is_active())
    else {
        return; // all spares in use: the queued goroutines wait for a worker to free up
    };
    slot.set_active(true);
    shared.active_spares.fetch_add(1, Ordering::AcqRel);
    if !slot.thread_started.swap(true, Ordering::AcqRel) {
        if shared.start_worker_thread(slot.index).is_err() {
            slot.set_active(false);
            slot.thread_started.store(false, Ordering::Release);
            shared.active_spares.fetch_sub(1, Ordering::AcqRel);
        }
    } else {
        slot.parker.unpark();
    }
}
