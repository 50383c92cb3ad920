//! A goroutine's run state word and its park token (the state machine is drawn in the
//! parent module's docs).
//!
//! The low two bits are the state, `RUNNABLE`, `RUNNING`, `PARKED` or `DONE`; beside
//! them sits `NOTIFIED`, the token an unpark leaves when it finds the goroutine
//! anywhere but `PARKED`. The worker moves `RUNNING -> PARKED` only after the
//! goroutine's context is saved, so exactly one side schedules the goroutine again:
//! the unparker whose exchange finds it `PARKED`, or the worker whose exchange finds the
//! token. Release on the worker's exchange and Acquire on the unparker's carry the
//! saved context to whoever resumes it next.
//!
//! Model-checked with loom (`models/tests/goroutine_state.rs`, which includes this
//! file): it uses nothing but `crate::loom`'s atomics.

use crate::loom::atomic::{AtomicU32, Ordering};

pub(crate) const RUNNABLE: u32 = 0;
pub(crate) const RUNNING: u32 = 1;
pub(crate) const PARKED: u32 = 2;
pub(crate) const DONE: u32 = 3;
const STATE_MASK: u32 = 0b11;
const NOTIFIED: u32 = 0b100;

/// What an unpark did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// It moved the goroutine out of `PARKED`: the caller now holds the park reference
    /// and must queue the goroutine.
    Queue,
    /// It left the token: the goroutine had not parked yet, and its next park returns
    /// at once.
    Token,
    /// Nothing to do: a token was already there, or the goroutine is done.
    Nothing,
}

pub(crate) struct RunState(AtomicU32);

impl RunState {
    pub(crate) fn new() -> RunState {
        RunState(AtomicU32::new(RUNNABLE))
    }

    /// The state, without the token.
    #[inline]
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire) & STATE_MASK
    }

    /// Any thread: wake the goroutine (see [`Wake`]).
    #[inline]
    pub(crate) fn unpark(&self) -> Wake {
        let mut s = self.0.load(Ordering::Acquire);
        loop {
            let next = match s & STATE_MASK {
                PARKED => RUNNABLE,
                DONE => return Wake::Nothing,
                _ if s & NOTIFIED != 0 => return Wake::Nothing,
                _ => s | NOTIFIED,
            };
            match self
                .0
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == RUNNABLE => return Wake::Queue,
                Ok(_) => return Wake::Token,
                Err(actual) => s = actual,
            }
        }
    }

    /// Worker side: take a popped goroutine to `RUNNING`, keeping its token.
    #[inline]
    pub(crate) fn set_running(&self) {
        // RUNNABLE is 0b00 and RUNNING 0b01, so one OR moves the state atomically while
        // keeping a NOTIFIED bit that a racing unpark may set at any moment.
        let prev = self.0.fetch_or(RUNNING, Ordering::AcqRel);
        debug_assert_eq!(prev & STATE_MASK, RUNNABLE);
    }

    /// Worker side, after the goroutine yielded: `RUNNING -> RUNNABLE`, token kept.
    #[inline]
    pub(crate) fn set_runnable(&self) {
        self.0.fetch_and(!STATE_MASK, Ordering::AcqRel);
    }

    /// Goroutine side, before it switches out to park: consume a token that is
    /// already here; true if there was one (then it does not park).
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        if self.0.load(Ordering::Acquire) & NOTIFIED != 0 {
            self.0.fetch_and(!NOTIFIED, Ordering::AcqRel);
            return true;
        }
        false
    }

    /// Worker side, after the goroutine switched out to park: true if it is now
    /// `PARKED`, false if a token arrived first (then it is `RUNNABLE` again, the
    /// token consumed, and must be requeued).
    #[inline]
    pub(crate) fn finish_park(&self) -> bool {
        match self
            .0
            .compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(_) => {
                // RUNNING | NOTIFIED: nobody else changes the word now (an unpark
                // that sees the token does nothing), so a store consumes it.
                self.0.store(RUNNABLE, Ordering::Release);
                false
            }
        }
    }

    /// Worker side, once the body has returned.
    #[inline]
    pub(crate) fn set_done(&self) {
        self.0.store(DONE, Ordering::Release);
    }
}
