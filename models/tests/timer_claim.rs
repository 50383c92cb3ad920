//! The timer claim (`src/time/node.rs`): firing racing a stop, and a reset (a stop and
//! a new node) racing the old node's firing. Exactly one side gets the action, and a
//! waiter that sees the timer fired never sees it stopped.
#![cfg(loom)]

#[path = "common/loom.rs"]
mod loom;

/// What the node needs of `timers`: the action it hands to the winner.
mod timers {
    #[derive(Debug, PartialEq, Eq)]
    pub struct TimerAction(pub u32);
}

#[path = "../../src/time/node.rs"]
#[allow(dead_code)]
mod node;

use ::loom::sync::Arc;
use ::loom::thread;
use node::{TimerNode, FIRED, STOPPED};
use timers::TimerAction;

#[test]
fn fire_and_stop_race_and_one_gets_the_action() {
    ::loom::model(|| {
        let node = Arc::new(TimerNode::new(TimerAction(1)));
        let firer = {
            let node = node.clone();
            thread::spawn(move || node.claim(FIRED))
        };
        let stopped = node.claim(STOPPED);
        let fired = firer.join().unwrap();
        assert!(
            stopped.is_some() != fired.is_some(),
            "stop {stopped:?}, fire {fired:?}"
        );
        assert_eq!(node.has_fired(), fired.is_some());
        assert!(!node.is_pending());
    });
}

#[test]
fn a_waiter_that_sees_it_fired_sees_it_done() {
    ::loom::model(|| {
        let node = Arc::new(TimerNode::new(TimerAction(1)));
        let firer = {
            let node = node.clone();
            thread::spawn(move || node.claim(FIRED).map(|a| a.0))
        };
        // A sleeping goroutine, woken spuriously or by the action: it returns (and
        // frees a node on its stack) only once it sees FIRED.
        while !node.has_fired() {
            thread::yield_now();
        }
        assert!(node.claim(STOPPED).is_none(), "stopped after it fired");
        assert_eq!(firer.join().unwrap(), Some(1));
    });
}

#[test]
fn a_reset_racing_the_old_fire_runs_one_of_the_two_actions_then_the_new() {
    ::loom::model(|| {
        let old = Arc::new(TimerNode::new(TimerAction(1)));
        let firer = {
            let old = old.clone();
            thread::spawn(move || old.claim(FIRED).map(|a| a.0))
        };
        // Reset: stop the old node, arm a new one; then the new one fires.
        let was_pending = old.claim(STOPPED).is_some();
        let new = TimerNode::new(TimerAction(2));
        let old_fired = firer.join().unwrap();
        assert_eq!(
            was_pending,
            old_fired.is_none(),
            "the old action ran and was stopped"
        );
        assert_eq!(new.claim(FIRED).map(|a| a.0), Some(2));
        assert!(new.has_fired());
    });
}
