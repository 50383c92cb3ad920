//! Time: sleeping parks the goroutine on a runtime timer, never its worker thread.
//!
//! On a plain thread (outside any runtime) `sleep` blocks the thread, as
//! `std::thread::sleep` does.

mod channels;
pub(crate) mod clock;
mod node;
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) mod sleep_future;
pub(crate) mod timers;

pub use channels::{after, after_func, tick, Ticker, Timer};

use std::time::Duration;

pub use std::time::Instant;

use crate::goroutine;
use crate::park::{self, WaitReason};
use timers::TimerAction;

/// The current time: `Instant::now()`, except inside [`check::explore`](crate::check),
/// where time is virtual and this is the explored program's clock. goru's own
/// deadlines and timeouts all read it; code under `explore` should too.
///
/// ```
/// let t = goru::time::now();
/// assert!(t.elapsed() < std::time::Duration::from_secs(60));
/// ```
pub fn now() -> Instant {
    match crate::sched::driver::driven_runtime() {
        Some(rt) => rt.start_instant() + Duration::from_nanos(rt.now_nanos()),
        None => Instant::now(),
    }
}

/// Pause the current goroutine for at least `d`, as Go's `time.Sleep`.
///
/// Only the goroutine waits: its worker runs other goroutines meanwhile, so ten
/// thousand goroutines sleeping 100 ms each finish together after about 100 ms.
///
/// ```
/// use std::time::{Duration, Instant};
/// goru::run(|| {
///     let start = Instant::now();
///     goru::time::sleep(Duration::from_millis(20));
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let Some(g) = goroutine::current() else {
        std::thread::sleep(d);
        return;
    };
    if g.is_on_worker_stack() {
        // Refused before the timer is armed: unwinding with it in the heap would leave
        // the heap pointing at a dead frame (`Goroutine::suspend` aborts instead).
        panic!("goru: a goroutine tried to park while running on its worker's stack");
    }
    let rt = g.runtime();
    let deadline = rt
        .now_nanos()
        .saturating_add(d.as_nanos().min(u64::MAX as u128) as u64);
    let timer = timers::StackTimer::new(TimerAction::Unpark(park::Unparker::Goroutine(g.clone())));
    // SAFETY: `timer` stays in this frame, unmoved, until it has fired: the loop below
    // is the only way out, and a parked goroutine's stack outlives it even when its
    // runtime abandons it.
    unsafe { rt.add_stack_timer(deadline, &timer) };
    while !timer.has_fired() {
        park::park(WaitReason::Sleep);
    }
}

/// Park the caller until `at`, whatever unparks it meanwhile (a wait on something that
/// can never happen, bounded by a deadline).
pub(crate) fn park_until_deadline(reason: WaitReason, at: Instant) {
    while now() < at {
        park_until(reason, at);
    }
}

/// Park the caller until `at` at the latest (or earlier: an unpark, or spuriously; the
/// caller re-checks its condition, as with [`park::park`]).
pub(crate) fn park_until(reason: WaitReason, at: Instant) {
    let now = now();
    if now >= at {
        return;
    }
    match goroutine::current() {
        None => park::park_thread_timeout(at - now),
        Some(g) => {
            let key =
                clock::Clock::current().add(at, TimerAction::Unpark(park::Unparker::Goroutine(g)));
            park::park(reason);
            key.stop();
        }
    }
}
