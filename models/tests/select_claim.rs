//! The `Selection` claim (`src/chan/claim.rs`): a select parked on two channels, with
//! a deadline, raced by a sender on one, a close of the other and its own timeout.
//! Exactly one wins; only the winner moves a value, so none is lost or delivered
//! twice; the waiter learns the winner's case and sees the value it moved.
#![cfg(loom)]

#[path = "common/loom.rs"]
mod loom;

#[path = "../../src/chan/claim.rs"]
#[allow(dead_code)]
mod claim;

use ::loom::cell::UnsafeCell;
use ::loom::sync::{Arc, Mutex};
use ::loom::thread;
use claim::{ClaimWord, Seen};

/// The waiter's record: the claim word and the slot a sender writes its value into
/// (in goru both live on the waiter's stack; the claimant writes the slot under its
/// claim, before it publishes).
struct Selection {
    word: ClaimWord,
    slot: UnsafeCell<Option<u32>>,
}

/// The sender on case 0: delivers `value` if it wins, else keeps it.
fn send(sel: &Selection, value: u32, under_one_lock: bool) -> Option<u32> {
    if !sel.word.try_claim(under_one_lock) {
        return Some(value); // stale entry: the value stays with the sender
    }
    sel.slot.with_mut(|s| unsafe { *s = Some(value) });
    sel.word.publish(claim::done(0, false));
    None
}

/// The close of case 1's channel: completes the selection as closed if it wins.
fn close(sel: &Selection) -> bool {
    if !sel.word.try_claim(false) {
        return false;
    }
    sel.word.publish(claim::done(1, true));
    true
}

/// The waiter after its wake-up or deadline: the outcome (None: it timed out), and
/// the value it received.
fn wait(sel: &Selection, may_abort: bool) -> (Option<Seen>, Option<u32>) {
    loop {
        match sel.word.peek() {
            done @ Seen::Done { case, .. } => {
                let value = sel.slot.with_mut(|s| unsafe { (*s).take() });
                assert_eq!(
                    value.is_some(),
                    case == 0,
                    "a value without a send, or lost"
                );
                return (Some(done), value);
            }
            Seen::Waiting if may_abort => {
                if sel.word.abort() {
                    return (None, None);
                }
                // Claimed meanwhile: the operation is happening; wait for it.
            }
            Seen::Aborted => unreachable!("only the waiter aborts"),
            Seen::Waiting | Seen::Claimed => thread::yield_now(),
        }
    }
}

fn selection() -> Arc<Selection> {
    Arc::new(Selection {
        word: ClaimWord::new(),
        slot: UnsafeCell::new(None),
    })
}

#[test]
fn send_close_and_timeout_race_and_exactly_one_wins() {
    ::loom::model(|| {
        let sel = selection();
        let sender = {
            let sel = sel.clone();
            thread::spawn(move || send(&sel, 7, false))
        };
        let closer = {
            let sel = sel.clone();
            thread::spawn(move || close(&sel))
        };
        let (outcome, value) = wait(&sel, true);
        let kept = sender.join().unwrap();
        let closed = closer.join().unwrap();
        match outcome {
            Some(Seen::Done {
                case: 0,
                closed: false,
            }) => {
                assert_eq!((value, kept, closed), (Some(7), None, false));
            }
            Some(Seen::Done {
                case: 1,
                closed: true,
            }) => {
                assert_eq!((value, kept, closed), (None, Some(7), true));
            }
            None => assert_eq!((kept, closed), (Some(7), false), "won after a timeout"),
            other => panic!("impossible outcome {other:?}"),
        }
    });
}

#[test]
fn two_senders_under_one_lock_deliver_one_value() {
    ::loom::model(|| {
        let sel = selection();
        // A plain receive without a deadline: only its channel's lock holders claim
        // it, with a load and a store (`Selection::single`).
        let lock = Arc::new(Mutex::new(()));
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let (sel, lock) = (sel.clone(), lock.clone());
                thread::spawn(move || {
                    let _held = lock.lock().unwrap();
                    send(&sel, v, true)
                })
            })
            .collect();
        let (outcome, value) = wait(&sel, false);
        let kept: Vec<Option<u32>> = senders.into_iter().map(|s| s.join().unwrap()).collect();
        assert_eq!(
            outcome,
            Some(Seen::Done {
                case: 0,
                closed: false
            })
        );
        let value = value.unwrap();
        assert_eq!(
            kept.iter().flatten().count(),
            1,
            "exactly one value stays with its sender"
        );
        assert!(!kept.contains(&Some(value)), "{value} delivered and kept");
    });
}
