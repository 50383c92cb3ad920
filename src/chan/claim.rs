//! The claim word of a [`Selection`](super::waiter::Selection): which of the
//! counterparts racing for a waiting operation completes it (the protocol is in
//! `waiter`'s module docs).
//!
//! ```text
//! WAITING --claim--> CLAIMED --publish--> DONE(case, closed)
//!    |
//!    +--abort--> ABORTED          (the waiter timed out, or its future was dropped)
//! ```
//!
//! One claim wins; everyone else finds the word moved and leaves the record alone. The
//! winner's Release in `publish` carries what it moved through the waiter's slot to
//! the waiter's Acquire in `peek`.
//!
//! Model-checked with loom (`models/tests/select_claim.rs`, which includes this
//! file): it uses nothing but `crate::loom`'s atomics.

use crate::loom::atomic::{AtomicUsize, Ordering};

const WAITING: usize = 0;
const ABORTED: usize = 1;
const CLAIMED: usize = 2;
/// `DONE_BASE + 2 * case + closed`.
const DONE_BASE: usize = 4;

/// What the waiter sees of its claim word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nobody has claimed it.
    Waiting,
    /// The waiter gave up.
    Aborted,
    /// A counterpart won and is moving the value and waking the waiter: brief.
    Claimed,
    /// Case `case` was completed; `closed` if by closing its channel.
    Done { case: usize, closed: bool },
}

/// The `DONE` value for case `case`, which [`ClaimWord::publish`] stores.
#[inline]
pub(crate) fn done(case: usize, closed: bool) -> usize {
    DONE_BASE + 2 * case + closed as usize
}

pub(crate) struct ClaimWord(AtomicUsize);

impl ClaimWord {
    #[inline]
    pub(crate) fn new() -> ClaimWord {
        ClaimWord(AtomicUsize::new(WAITING))
    }

    /// Counterpart, under the lock of a channel holding an entry of the selection.
    /// `under_one_lock`: only holders of that one lock ever claim it and the waiter
    /// never aborts (a plain send or receive without a deadline), so the lock
    /// serialises the claims and a load and a store do.
    #[inline]
    pub(crate) fn try_claim(&self, under_one_lock: bool) -> bool {
        if under_one_lock {
            if self.0.load(Ordering::Relaxed) != WAITING {
                return false;
            }
            self.0.store(CLAIMED, Ordering::Relaxed);
            return true;
        }
        self.0
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The claimant, once it has moved the value and woken the waiter: `done` (from
    /// [`done`]). Nothing may touch the record after this store.
    #[inline]
    pub(crate) fn publish(&self, done: usize) {
        debug_assert!(done >= DONE_BASE);
        self.0.store(done, Ordering::Release);
    }

    /// Waiter: give up a wait nobody has claimed; false if a counterpart claimed it
    /// first (then it will soon be `Done`).
    #[inline]
    pub(crate) fn abort(&self) -> bool {
        self.0
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Waiter: where the claim stands.
    #[inline]
    pub(crate) fn peek(&self) -> Seen {
        match self.0.load(Ordering::Acquire) {
            WAITING => Seen::Waiting,
            ABORTED => Seen::Aborted,
            CLAIMED => Seen::Claimed,
            s => {
                debug_assert!(s >= DONE_BASE);
                let n = s - DONE_BASE;
                Seen::Done {
                    case: n / 2,
                    closed: n % 2 == 1,
                }
            }
        }
    }
}
