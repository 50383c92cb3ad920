//! `Mutex`: parks goroutines, never worker threads; Go's starvation mode.
//!
//! `state` holds `LOCKED` and `WAITERS` (the wait list is non-empty). Uncontended,
//! `lock` and `unlock` are one compare-and-swap each. Contended, a locker spins briefly
//! (while nobody is queued), then queues and parks.
//!
//! Like Go's `sync.Mutex` there are two modes. Normally `unlock` releases the lock and
//! wakes the first waiter, which competes with goroutines arriving meanwhile (they
//! often win: they are already running, which is good for throughput); a waiter that
//! loses goes back to the *front* of the queue. Once the front waiter has waited more
//! than [`STARVATION`] (1 ms), `unlock` hands the lock to it directly, `LOCKED` never
//! clears, and newcomers queue behind: no waiter is starved.
//!
//! # No poisoning
//!
//! A panic while the lock is held unlocks it as the guard drops during unwinding, and
//! the next locker gets the data as it was left, as in Go (and `parking_lot`). The
//! panic itself is not lost: it is reported by its goroutine's join handle or, if
//! nobody joins, by `run`. Code that must not observe a half-done update should
//! restore its invariants before anything that can panic, or catch the panic itself.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::park::waitlist::{WaitList, Waiter};
use crate::park::WaitReason;

const LOCKED: u8 = 1;
const WAITERS: u8 = 2;

/// Signals to a woken waiter.
const RETRY: u8 = 1;
const HANDOFF: u8 = 2;

/// How long a waiter may wait before the mutex switches to direct hand-off (Go's 1 ms).
pub(crate) const STARVATION: Duration = Duration::from_millis(1);

const SPINS: u32 = 40;

/// A mutual-exclusion lock whose waiters park (as Go's `sync.Mutex`, holding the data).
///
/// ```
/// use std::sync::Arc;
/// goru::run(|| {
///     let counter = Arc::new(goru::sync::Mutex::new(0));
///     let handles: Vec<_> = (0..100)
///         .map(|_| {
///             let counter = counter.clone();
///             goru::go(move || *counter.lock() += 1)
///         })
///         .collect();
///     handles.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(*counter.lock(), 100);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU8,
    waiters: WaitList<()>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one holder at a time access to `data`; T moves between
// threads with the holder, hence T: Send.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to a [`Mutex`]'s data; unlocks when dropped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
}

// SAFETY: the guard only hands out &T across threads, so T: Sync suffices.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicU8::new(0),
            waiters: WaitList::new(()),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Lock, parking the goroutine (or blocking the thread) while another holds it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// goru::run(|| {
    ///     let counter = Arc::new(goru::sync::Mutex::new(0));
    ///     let hs: Vec<_> = (0..10).map(|_| {
    ///         let counter = counter.clone();
    ///         goru::go(move || *counter.lock() += 1)
    ///     }).collect();
    ///     hs.into_iter().for_each(|h| h.join().unwrap());
    ///     assert_eq!(*counter.lock(), 10);
    /// });
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, T> {
        crate::sched::driver::switch_point("sync.Mutex.Lock");
        self.waiters.touch();
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
        MutexGuard { mutex: self }
    }

    /// Lock only if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        crate::sched::driver::switch_point("sync.Mutex.TryLock");
        self.waiters.touch();
        let s = self.state.load(Ordering::Relaxed);
        (s & LOCKED == 0
            && self
                .state
                .compare_exchange(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok())
        .then_some(MutexGuard { mutex: self })
    }

    /// The data, without locking (the `&mut` proves nobody else holds it).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[cold]
    fn lock_slow(&self) {
        crate::sched::preempt_point();
        let mut spins = 0;
        let mut since = None;
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            if s & WAITERS == 0 && spins < SPINS {
                spins += 1;
                for _ in 0..(1 << spins.min(6)) {
                    std::hint::spin_loop();
                }
                continue;
            }
            let list = self.waiters.lock();
            // Announce a waiter under the list lock; if the holder let go meanwhile,
            // try again instead of parking (an unlock will clear a stray WAITERS).
            if self.state.fetch_or(WAITERS, Ordering::AcqRel) & LOCKED == 0 {
                drop(list);
                continue;
            }
            let waiter = match since {
                Some(t) => Waiter::requeued(0, t),
                None => Waiter::new(0),
            };
            since = Some(waiter.since);
            let mut list = list;
            // A waiter that lost a race keeps its place at the front (Go's LIFO requeue).
            list.push(&waiter, spins == u32::MAX);
            drop(list);
            if waiter.wait(WaitReason::MutexLock, &self.waiters.sight) == HANDOFF {
                return; // ownership was handed to us: LOCKED stayed set
            }
            spins = u32::MAX; // woken to compete: if we lose, requeue at the front
        }
    }

    fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut list = self.waiters.lock();
        // We hold LOCKED and the list lock (the only place WAITERS is set): nobody else
        // changes `state` until we store it.
        match list.front() {
            None => self.state.store(0, Ordering::Release),
            // On goru's clock, as `since` is: virtual inside `check::explore`, where the
            // wall clock would make the hand-off, and so the schedule, depend on how
            // long the sections really took.
            Some((_, since))
                if crate::time::now().saturating_duration_since(since) >= STARVATION =>
            {
                list.signal_front(HANDOFF);
                let rest = if list.is_empty() { 0 } else { WAITERS };
                self.state.store(LOCKED | rest, Ordering::Release);
            }
            Some(_) => {
                list.signal_front(RETRY);
                let rest = if list.is_empty() { 0 } else { WAITERS };
                self.state.store(rest, Ordering::Release);
            }
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.debug_struct("Mutex").field("data", &"<locked>").finish(),
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock, and &mut self is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
        crate::sched::driver::switch_point("sync.Mutex.Unlock");
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
