//! A FIFO list of parked waiters: the building block of `sync` (WaitGroup, Once, Cond,
//! Mutex, RwLock, Semaphore).
//!
//! A waiter keeps its [`Waiter`] record on its own stack and links it into the list
//! under the list's spin lock, after checking — under that same lock — that it really
//! must wait. A notifier changes the condition first and then takes the lock to pop
//! and signal waiters, so a waiter either sees the new condition or is in the list when
//! the notifier looks: no wake-up is lost.
//!
//! Signalling follows the channel waiters' rule: under the lock, the notifier clones the
//! unparker, stores the signal (Release), and touches the record no more; it unparks
//! after unlocking. A waiter returns only after seeing its signal, so its record is never
//! used after it is gone. A signal carries a value (`u8`): for locks it says whether
//! ownership was handed over directly.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use super::sight::Sight;
use super::spin::{SpinGuard, SpinLock};
use super::{Unparker, WaitReason};

/// Not signalled yet.
const WAITING: u8 = 0;

/// One parked waiter.
pub(crate) struct Waiter {
    signal: AtomicU8,
    unparker: Unparker,
    /// When it first queued (for starvation decisions).
    pub(crate) since: Instant,
    /// What it waits for (e.g. reader or writer), for lists with several kinds.
    pub(crate) kind: u8,
}

impl Waiter {
    pub(crate) fn new(kind: u8) -> Waiter {
        Waiter {
            signal: AtomicU8::new(WAITING),
            unparker: super::current(),
            since: crate::time::now(),
            kind,
        }
    }

    /// A waiter re-queued after losing a race keeps its original arrival time.
    pub(crate) fn requeued(kind: u8, since: Instant) -> Waiter {
        Waiter {
            since,
            ..Waiter::new(kind)
        }
    }

    /// Park until signalled; returns the signal's value (never 0). `sight` is the
    /// list's, for the deadlock detector.
    pub(crate) fn wait(&self, reason: WaitReason, sight: &Sight) -> u8 {
        loop {
            let s = self.signal.load(Ordering::Acquire);
            if s != WAITING {
                return s;
            }
            super::park_on(reason, sight);
        }
    }
}

/// A FIFO of waiters plus whatever state `S` its users keep under the same lock.
pub(crate) struct WaitList<S> {
    /// Who has used the primitive built on this list (`park::sight`).
    pub(crate) sight: Sight,
    lock: SpinLock,
    inner: UnsafeCell<Inner<S>>,
}

pub(crate) struct Inner<S> {
    queue: VecDeque<*const Waiter>,
    pub(crate) state: S,
}

// SAFETY: `inner` is only reached through `lock()`, which holds the spin lock; the
// waiter pointers are only dereferenced under it while their owners wait (module docs).
unsafe impl<S: Send> Send for WaitList<S> {}
// SAFETY: as above.
unsafe impl<S: Send> Sync for WaitList<S> {}

/// The locked list: its queue and its users' state.
pub(crate) struct Locked<'a, S> {
    inner: &'a mut Inner<S>,
    sight: &'a Sight,
    /// Unparkers collected while locked, used after unlocking.
    woken: Vec<Unparker>,
    guard: Option<SpinGuard<'a>>,
}

impl<S: Default> Default for WaitList<S> {
    fn default() -> Self {
        WaitList::new(S::default())
    }
}

impl<S> WaitList<S> {
    pub(crate) const fn new(state: S) -> Self {
        WaitList {
            sight: Sight::unclaimed(),
            lock: SpinLock::new(),
            inner: UnsafeCell::new(Inner {
                queue: VecDeque::new(),
                state,
            }),
        }
    }

    /// Note a use of the primitive by the calling thread, for its fast paths that do
    /// not lock the list (`lock` notes one itself).
    #[inline]
    pub(crate) fn touch(&self) {
        self.sight.touch();
    }

    /// A list for a primitive made now, by a non-`const` constructor: it belongs to
    /// the caller's runtime, or is foreign if made on a plain thread.
    pub(crate) fn made_here(state: S) -> Self {
        WaitList {
            sight: Sight::here(),
            ..WaitList::new(state)
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_, S> {
        self.sight.touch();
        let guard = self.lock.lock();
        // SAFETY: the spin lock is held for the lifetime of the returned value.
        let inner = unsafe { &mut *self.inner.get() };
        Locked {
            inner,
            sight: &self.sight,
            woken: Vec::new(),
            guard: Some(guard),
        }
    }
}

impl<S> Locked<'_, S> {
    pub(crate) fn state(&mut self) -> &mut S {
        &mut self.inner.state
    }

    /// Queue `w` at the back (or at the front, to keep its turn).
    pub(crate) fn push(&mut self, w: &Waiter, front: bool) {
        if front {
            self.inner.queue.push_front(w);
        } else {
            self.inner.queue.push_back(w);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.inner.queue.is_empty()
    }

    /// The first waiter's kind and arrival time.
    pub(crate) fn front(&self) -> Option<(u8, Instant)> {
        // SAFETY: queued records are alive while queued, and we hold the lock.
        self.inner
            .queue
            .front()
            .map(|&w| unsafe { ((*w).kind, (*w).since) })
    }

    /// Signal the first waiter with `value` (non-zero); false if none waits.
    pub(crate) fn signal_front(&mut self, value: u8) -> bool {
        debug_assert_ne!(value, WAITING);
        let Some(w) = self.inner.queue.pop_front() else {
            return false;
        };
        // SAFETY: the record is alive until it sees its signal, which we store last.
        let w = unsafe { &*w };
        self.woken.push(w.unparker.clone());
        w.signal.store(value, Ordering::Release);
        true
    }

    /// Signal every waiter with `value`; returns how many.
    pub(crate) fn signal_all(&mut self, value: u8) -> usize {
        let mut n = 0;
        while self.signal_front(value) {
            n += 1;
        }
        n
    }

    /// Queue `w`, unlock, and park until signalled; returns the signal.
    pub(crate) fn wait(mut self, w: &Waiter, reason: WaitReason) -> u8 {
        self.push(w, false);
        let sight = self.sight;
        drop(self);
        w.wait(reason, sight)
    }
}

impl<S> Drop for Locked<'_, S> {
    fn drop(&mut self) {
        self.guard.take(); // unlock first, then wake
        for u in self.woken.drain(..) {
            u.unpark();
        }
    }
}
