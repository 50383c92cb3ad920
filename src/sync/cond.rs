//! `Cond`: a condition variable for the goru [`Mutex`] (Go's `sync.Cond`).

use crate::park::waitlist::{WaitList, Waiter};
use crate::park::WaitReason;

use super::mutex::MutexGuard;

/// Goroutines wait on it for a condition, guarded by a [`Mutex`](super::Mutex).
///
/// As with every condition variable, check the condition in a loop: a waiter may be
/// woken when it no longer holds.
///
/// ```
/// use std::sync::Arc;
/// use goru::sync::{Cond, Mutex};
/// goru::run(|| {
///     let state = Arc::new((Mutex::new(false), Cond::new()));
///     let s = state.clone();
///     goru::go(move || {
///         *s.0.lock() = true;
///         s.1.notify_all();
///     });
///     let mut ready = state.0.lock();
///     while !*ready {
///         ready = state.1.wait(ready);
///     }
/// });
/// ```
#[derive(Default)]
pub struct Cond {
    list: WaitList<()>,
}

impl Cond {
    /// A condition variable with no waiters.
    pub const fn new() -> Cond {
        Cond {
            list: WaitList::new(()),
        }
    }

    /// Unlock the mutex, park until notified, and lock it again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goru::sync::{Cond, Mutex};
    /// goru::run(|| {
    ///     let state = Arc::new((Mutex::new(false), Cond::new()));
    ///     let s = state.clone();
    ///     goru::go(move || { *s.0.lock() = true; s.1.notify_one(); });
    ///     let mut ready = state.0.lock();
    ///     while !*ready {
    ///         ready = state.1.wait(ready); // unlocks while waiting, relocks after
    ///     }
    /// });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        crate::sched::driver::switch_point("sync.Cond.Wait");
        let mutex = guard.mutex;
        let waiter = Waiter::new(0);
        // Queue before unlocking: a notifier must hold the mutex to change the
        // condition, so it cannot notify between our check and our queueing.
        self.list.lock().push(&waiter, false);
        drop(guard);
        waiter.wait(WaitReason::CondWait, &self.list.sight);
        mutex.lock()
    }

    /// Wake one waiter, if any.
    pub fn notify_one(&self) {
        crate::sched::driver::switch_point("sync.Cond.Signal");
        self.list.lock().signal_front(1);
    }

    /// Wake every waiter.
    pub fn notify_all(&self) {
        crate::sched::driver::switch_point("sync.Cond.Broadcast");
        self.list.lock().signal_all(1);
    }
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cond").finish_non_exhaustive()
    }
}
