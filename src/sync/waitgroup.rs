//! `WaitGroup`: wait for a collection of goroutines to finish (Go's `sync.WaitGroup`).

use std::sync::Arc;

use crate::park::waitlist::{WaitList, Waiter};
use crate::park::WaitReason;

/// A counter of outstanding tasks; `wait` parks until it reaches zero.
///
/// Clones share one counter (pass a clone to each goroutine, as Go passes `&wg`). Once
/// the counter is back at zero the group can be reused.
///
/// ```
/// use goru::sync::WaitGroup;
/// goru::run(|| {
///     let wg = WaitGroup::new();
///     for _ in 0..5 {
///         wg.add(1);
///         let wg = wg.clone();
///         goru::go(move || {
///             // ... work ...
///             wg.done();
///         });
///     }
///     wg.wait();
/// });
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<WaitList<usize>>,
}

impl WaitGroup {
    /// A group with a zero counter.
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Add `n` to the counter.
    ///
    /// ```
    /// goru::run(|| {
    ///     let wg = goru::sync::WaitGroup::new();
    ///     for _ in 0..3 {
    ///         wg.add(1); // before `go`, never inside the goroutine
    ///         let wg = wg.clone();
    ///         goru::go(move || wg.done());
    ///     }
    ///     wg.wait();
    ///     assert_eq!(wg.count(), 0);
    /// });
    /// ```
    pub fn add(&self, n: usize) {
        crate::sched::driver::switch_point("sync.WaitGroup.Add");
        *self.inner.lock().state() += n;
    }

    /// Subtract one; wakes the waiters when the counter reaches zero.
    ///
    /// # Panics
    /// With Go's message `sync: negative WaitGroup counter` if it is already zero.
    pub fn done(&self) {
        crate::sched::driver::switch_point("sync.WaitGroup.Done");
        let mut list = self.inner.lock();
        let count = list.state();
        if *count == 0 {
            drop(list);
            panic!("sync: negative WaitGroup counter");
        }
        *count -= 1;
        if *count == 0 {
            list.signal_all(1);
        }
    }

    /// Park until the counter is zero.
    pub fn wait(&self) {
        crate::sched::driver::switch_point("sync.WaitGroup.Wait");
        let mut list = self.inner.lock();
        if *list.state() == 0 {
            return;
        }
        list.wait(&Waiter::new(0), WaitReason::WaitGroupWait);
    }

    /// The counter's current value.
    pub fn count(&self) -> usize {
        *self.inner.lock().state()
    }
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
