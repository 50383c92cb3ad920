//! Blocked channel operations: the records a waiter leaves in channel queues, and the
//! protocol by which exactly one counterpart completes them.
//!
//! A goroutine (or thread) that must wait — a blocking `send`/`recv`, or a `select` with
//! no ready case — creates one [`Selection`] on its own stack and leaves an [`Entry`]
//! (pointing at it, naming a case and a value slot) in the wait queue of every channel
//! it waits on. A counterpart that finds an entry, *holding that channel's lock*:
//!
//! 1. claims the selection: CAS `WAITING -> CLAIMED` (fails if another case of the same
//!    select won, the waiter timed out, or the channel was closed on it: the entry is
//!    stale and is skipped). A plain send or receive without a deadline waits on one
//!    channel and never aborts, so only that channel's lock holders claim it: a load
//!    and a store do (`Selection::single`);
//! 2. moves the value through the slot (writes it for a receiver, takes it from a
//!    sender), or leaves the slot alone when it completes the case by closing;
//! 3. after unlocking, wakes the waiter and only then publishes `DONE(case, closed)`
//!    with Release ([`Completion::wake`]).
//!
//! The claim makes "no value lost or duplicated" hold however many selects race: only
//! the claimant moves a value, and it moves it only after winning. A rendezvous sender is
//! released only once its value was taken.
//!
//! # Lifetime of the records
//!
//! The `Selection` and slots live on the waiter's stack, so they must not be touched once
//! the waiter returns. Two rules guarantee it:
//!
//! - A counterpart inspects a record only while holding the lock of a channel whose
//!   queue still held that record's entry. Once it has claimed the record it owns it
//!   until it publishes `DONE`, lock or no lock, because the waiter cannot return
//!   before `DONE`; it touches nothing afterwards. That is also why the record names a
//!   waiting goroutine without a reference count: the goroutine cannot finish while
//!   the counterpart unparks it.
//! - Before returning, a waiter removes its entries from every channel it enqueued on,
//!   taking each channel's lock in turn — which also waits out any counterpart that is
//!   inspecting a stale entry under that lock. (A plain send or receive waits on one
//!   channel; when it completes, its only entry was removed by the counterpart, so it
//!   can return as soon as it sees `DONE`.)

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::Instant;

use super::claim::{self, ClaimWord, Seen};
use crate::goroutine::Goroutine;
use crate::park::{self, RawUnparker, WaitReason};

/// One waiting operation or select.
pub(crate) struct Selection {
    state: ClaimWord,
    /// The waiter, uncounted. The claimant takes it (the claim gives it exclusive use
    /// of the record until `DONE`) and unparks it *before* publishing `DONE`: until
    /// then the waiter cannot return, so a goroutine named here cannot finish.
    waiter: UnsafeCell<Option<RawUnparker>>,
    /// The `DONE` value the claimant will publish (written by it, under its claim).
    outcome: Cell<usize>,
    /// The waiting goroutine (null on a plain thread), for the waiter's own park: it
    /// saves the thread-local lookup `park::park` would make.
    me: *const Goroutine,
    /// Only holders of one channel's lock ever change `state` before `DONE` (a plain
    /// send or receive without a deadline): a claim then needs no read-modify-write.
    claims_under_one_lock: bool,
}

/// A claimed selection whose value has been moved: [`Completion::wake`] (after the
/// channel lock is released) wakes the waiter and publishes the outcome. One pointer,
/// so that it travels in registers.
#[must_use = "a completed waiter stays parked until woken"]
pub(crate) struct Completion(NonNull<Selection>);

impl Completion {
    #[inline]
    pub(crate) fn wake(self) {
        // SAFETY: the selection is claimed by us and not DONE yet, so its waiter is
        // still inside its wait (it cannot return before DONE): the record and the
        // waiter are alive, and only we touch `waiter` and `outcome`.
        unsafe {
            let sel = self.0.as_ref();
            let waiter = (*sel.waiter.get()).take();
            let done = sel.outcome.get();
            if let Some(waiter) = waiter {
                waiter.unpark();
            }
            // Nothing touches the record after this store.
            sel.state.publish(done);
        }
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Case `case` was completed by a counterpart; `closed` if by closing the channel.
    Done { case: usize, closed: bool },
    /// The deadline passed first; nothing was completed.
    TimedOut,
}

impl Selection {
    #[inline]
    pub(crate) fn new() -> Selection {
        let waiter = RawUnparker::current();
        let me = match waiter {
            RawUnparker::Goroutine(g) => g,
            RawUnparker::Thread(_) | RawUnparker::Waker(_) => std::ptr::null(),
        };
        Selection {
            state: ClaimWord::new(),
            waiter: UnsafeCell::new(Some(waiter)),
            outcome: Cell::new(0),
            me,
            claims_under_one_lock: false,
        }
    }

    /// A selection for a plain send or receive, which waits on one channel. Without a
    /// deadline nobody but that channel's lock holders claims it (the waiter does not
    /// abort it), so claims are serialized by the lock and need no compare-exchange.
    #[inline]
    pub(crate) fn single(deadline: Option<Instant>) -> Selection {
        Selection {
            claims_under_one_lock: deadline.is_none(),
            ..Selection::new()
        }
    }

    /// Counterpart, under the lock of a channel holding an entry of this selection.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        self.state.try_claim(self.claims_under_one_lock)
    }

    /// Counterpart, after a successful claim and after moving the value: the
    /// completion to [`wake`](Completion::wake) once the lock is released. Until then
    /// the waiter sees `CLAIMED` and waits.
    ///
    /// Called at most once per selection, only by the thread whose `try_claim`
    /// succeeded.
    #[inline]
    pub(crate) fn complete(&self, case: usize, closed: bool) -> Completion {
        self.outcome.set(claim::done(case, closed));
        Completion(NonNull::from(self))
    }

    /// A selection for a future (`recv_async`, `send_async`): the claimant wakes
    /// `waker`, and whoever polls the future reads the outcome with
    /// [`try_outcome`](Self::try_outcome). A future may be dropped mid-wait, so its
    /// waiter aborts it: claims always take the compare-exchange.
    pub(crate) fn for_waker(waker: std::task::Waker) -> Selection {
        Selection {
            state: ClaimWord::new(),
            waiter: UnsafeCell::new(Some(RawUnparker::Waker(waker))),
            outcome: Cell::new(0),
            me: std::ptr::null(),
            claims_under_one_lock: false,
        }
    }

    /// Waiter, without parking: the outcome if a counterpart completed the selection
    /// (waiting out the brief claimed-but-not-done window), `None` while it waits.
    pub(crate) fn try_outcome(&self) -> Option<Outcome> {
        let mut spins = 0u32;
        loop {
            match self.state.peek() {
                Seen::Done { case, closed } => return Some(Outcome::Done { case, closed }),
                Seen::Waiting | Seen::Aborted => return None,
                // The claimant is between its unlock and its DONE store.
                Seen::Claimed => {}
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                // Inside a goroutine, let the claimant's worker run if it shares ours.
                crate::yield_now();
            }
        }
    }

    /// Waiter: give up a wait nobody has claimed; false if a counterpart claimed it
    /// first (then [`try_outcome`](Self::try_outcome) soon tells how it ended).
    pub(crate) fn abort(&self) -> bool {
        self.state.abort()
    }

    /// Waiter: wait until completed, or until `deadline` (then abort if still waiting).
    /// `unseen` tells whether a channel it waits on has been used from outside the
    /// runtime (`park::sight`), for the deadlock detector.
    pub(crate) fn wait(
        &self,
        reason: WaitReason,
        deadline: Option<Instant>,
        unseen: impl Fn() -> bool,
    ) -> Outcome {
        let mut spins = 0u32;
        loop {
            let seen = self.state.peek();
            if let Seen::Done { case, closed } = seen {
                return Outcome::Done { case, closed };
            }
            if seen == Seen::Claimed {
                // A counterpart is moving the value and waking us right now: brief.
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    crate::yield_now();
                }
                continue;
            }
            match deadline {
                Some(at) if crate::time::now() >= at => {
                    if self.abort() {
                        return Outcome::TimedOut;
                    }
                    // Claimed meanwhile: the operation is happening; wait for it.
                }
                Some(at) => crate::time::park_until(reason, at),
                None if self.me.is_null() => park::park(reason),
                // SAFETY: `me` is the goroutine running this wait (set by `new` on
                // its own stack, and a Selection never leaves its waiter's stack).
                None => unsafe { (*self.me).park_seen(reason, &unseen) },
            }
        }
    }
}

/// A waiter's record in one channel queue.
pub(crate) struct Entry {
    sel: *const Selection,
    case: usize,
    /// The waiter's `Option<T>` for this channel's `T`; null for a receiver that only
    /// wants to be told (a `recv_async` future, which takes its value itself and so
    /// cannot lose one when it is dropped).
    slot: *mut (),
}

// SAFETY: the pointers are only dereferenced under the owning channel's lock while the
// waiter keeps the records alive (module docs); the values moved through `slot` are Send.
unsafe impl Send for Entry {}

impl Entry {
    pub(crate) fn new<T>(sel: &Selection, case: usize, slot: *mut Option<T>) -> Entry {
        Entry {
            sel,
            case,
            slot: slot.cast(),
        }
    }

    /// A receiver entry without a slot: the claimant leaves the value in the buffer and
    /// only completes the selection.
    pub(crate) fn notify_only(sel: &Selection, case: usize) -> Entry {
        Entry {
            sel,
            case,
            slot: std::ptr::null_mut(),
        }
    }

    pub(crate) fn is_notify_only(&self) -> bool {
        self.slot.is_null()
    }

    /// # Safety
    /// The caller holds the lock of the channel whose queue held this entry.
    pub(crate) unsafe fn selection(&self) -> &Selection {
        // SAFETY: see the module docs: the record is alive while its entry is reachable
        // under the lock the caller holds.
        unsafe { &*self.sel }
    }

    pub(crate) fn case(&self) -> usize {
        self.case
    }

    /// # Safety
    /// The caller holds the channel lock, has claimed the selection, and `T` is the
    /// channel's element type.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slot<T>(&self) -> &mut Option<T> {
        // SAFETY: per the contract, the slot is alive and no one else touches it.
        unsafe { &mut *(self.slot as *mut Option<T>) }
    }
}

/// A channel's queue of blocked senders or receivers, oldest first.
#[derive(Default)]
pub(crate) struct WaitQueue {
    entries: VecDeque<Entry>,
}

impl WaitQueue {
    /// No entries, live or stale.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    pub(crate) fn push(&mut self, entry: Entry) {
        self.entries.push_back(entry);
    }

    /// Pop entries until one can be claimed; stale ones are dropped.
    ///
    /// # Safety
    /// The caller holds the lock of the channel owning this queue.
    #[inline]
    pub(crate) unsafe fn claim_next(&mut self) -> Option<Entry> {
        while let Some(entry) = self.entries.pop_front() {
            // SAFETY: caller holds the lock (module docs).
            if unsafe { entry.selection() }.try_claim() {
                return Some(entry);
            }
        }
        None
    }

    /// Remove every entry of `sel` (the waiter cleaning up).
    pub(crate) fn remove(&mut self, sel: &Selection) {
        let sel: *const Selection = sel;
        self.entries.retain(|e| e.sel != sel);
    }

    /// Take all entries (closing the channel).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Entry> + '_ {
        self.entries.drain(..)
    }
}
