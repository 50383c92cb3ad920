//! `WaitGroup`: wait for a collection of goroutines to finish (Go's `sync.WaitGroup`).
//!
//! The counter is an atomic, so `add` and `done` are one read-modify-write each (Go's
//! `state` word); the wait list's lock is taken only by waiters and by the `done`
//! that brings the counter to zero. A waiter checks the counter again under that lock
//! before it queues, and the last `done` decrements before it takes the lock to wake
//! the queue: either the waiter sees zero or it is queued when the wake-up comes.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    inner: Arc<Inner>,
}

struct Inner {
    count: AtomicUsize,
    waiters: WaitList<()>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            count: AtomicUsize::new(0),
            waiters: WaitList::made_here(()),
        }
    }
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
    ///
    /// # Panics
    /// If the counter would pass `usize::MAX`, with `sync: WaitGroup counter overflow`.
    /// The counter never wraps: `add(usize::MAX)` is not Go's `Add(-1)` (that is
    /// [`done`](WaitGroup::done)), and a wrapped counter would reach zero without
    /// waking the waiters.
    #[track_caller]
    pub fn add(&self, n: usize) {
        crate::sched::driver::switch_point("sync.WaitGroup.Add");
        self.inner.waiters.touch();
        let added = self
            .inner
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_add(n));
        if added.is_err() {
            panic!(
                "sync: WaitGroup counter overflow (add(usize::MAX) is not Add(-1): call done())"
            );
        }
    }

    /// Subtract one; wakes the waiters when the counter reaches zero.
    ///
    /// # Panics
    /// With Go's message `sync: negative WaitGroup counter` if it is already zero.
    #[track_caller]
    pub fn done(&self) {
        crate::sched::driver::switch_point("sync.WaitGroup.Done");
        self.inner.waiters.touch();
        let count = &self.inner.count;
        // Not `unwrap_or_else(|_| panic!(..))`: a closure would hide the caller's
        // location that `#[track_caller]` gives the panic.
        let Ok(before) =
            count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
        else {
            panic!("sync: negative WaitGroup counter");
        };
        if before == 1 {
            // Decremented first, then locked: see the module docs.
            self.inner.waiters.lock().signal_all(1);
        }
    }

    /// Park until the counter is zero.
    #[track_caller]
    pub fn wait(&self) {
        crate::sched::driver::switch_point("sync.WaitGroup.Wait");
        self.inner.waiters.touch();
        if self.inner.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let list = self.inner.waiters.lock();
        if self.inner.count.load(Ordering::Acquire) == 0 {
            return; // the last `done` came before we locked (module docs)
        }
        list.wait(&Waiter::new(0), WaitReason::WaitGroupWait);
    }

    /// The counter's current value.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
