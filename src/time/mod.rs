//! Time: sleeping parks the goroutine on a runtime timer, never its worker thread.
//!
//! On a plain thread (outside any runtime) `sleep` blocks the thread, as
//! `std::thread::sleep` does.

pub(crate) mod timers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use std::time::Instant;

use crate::goroutine;
use crate::park::{self, WaitReason};

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
    let rt = g.runtime.clone();
    let deadline = rt.now_nanos().saturating_add(d.as_nanos().min(u64::MAX as u128) as u64);
    let fired = Arc::new(AtomicBool::new(false));
    let on_fire = {
        let fired = fired.clone();
        let unparker = park::Unparker::Goroutine(g);
        Box::new(move || {
            fired.store(true, Ordering::Release);
            unparker.unpark();
        })
    };
    let (_key, earliest) = rt.timers.add(deadline, on_fire);
    if earliest {
        rt.wake_timer_keeper();
    }
    while !fired.load(Ordering::Acquire) {
        park::park(WaitReason::Sleep);
    }
}
