//! A timer node's claim: firing and stopping race for the timer's action, and exactly
//! one of them gets it.
//!
//! ```text
//! PENDING --claim--> CLAIMED --(action taken)--> FIRED or STOPPED
//! ```
//!
//! Whoever moves the state out of `PENDING` with a compare-exchange owns the action;
//! that exchange is the only synchronisation the action needs. The winner takes the
//! action and only then publishes `FIRED` or `STOPPED` with Release, touching the node
//! no more: a waiter that sees `FIRED` (Acquire) may free the node, even one on its
//! own stack (`timers::StackTimer`). A reset is a stop and a new node.
//!
//! Model-checked with loom (`models/tests/timer_claim.rs`, which includes this file
//! beside a stub `TimerAction`): it uses nothing but `crate::loom`'s atomics and cells.

use super::timers::TimerAction;
use crate::loom::atomic::{AtomicU8, Ordering};
use crate::loom::cell::UnsafeCell;

const PENDING: u8 = 0;
pub(crate) const FIRED: u8 = 1;
pub(crate) const STOPPED: u8 = 2;
/// Taken out of PENDING; the action is being moved out.
const CLAIMED: u8 = 3;

pub(crate) struct TimerNode {
    state: AtomicU8,
    /// Taken by the winner of the exchange out of PENDING.
    action: UnsafeCell<Option<TimerAction>>,
}

// SAFETY: `action` is only touched by the one thread whose exchange moved `state` out
// of PENDING, and TimerAction is Send.
unsafe impl Sync for TimerNode {}

impl TimerNode {
    pub(crate) fn new(action: TimerAction) -> TimerNode {
        TimerNode {
            state: AtomicU8::new(PENDING),
            action: UnsafeCell::new(Some(action)),
        }
    }

    /// Move out of PENDING into `to` (FIRED or STOPPED); on success, the action is
    /// ours. After the final store nothing here touches the node.
    pub(crate) fn claim(&self, to: u8) -> Option<TimerAction> {
        debug_assert!(to == FIRED || to == STOPPED);
        self.state
            .compare_exchange(PENDING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        // SAFETY: the successful exchange makes us the action's only user.
        let action = self.action.with_mut(|a| unsafe { (*a).take() });
        self.state.store(to, Ordering::Release);
        action
    }

    /// Whether neither fire nor stop has claimed it yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
    }

    /// Whether it fired: then its action has been taken, and nothing touches the node.
    pub(crate) fn has_fired(&self) -> bool {
        self.state.load(Ordering::Acquire) == FIRED
    }
}
