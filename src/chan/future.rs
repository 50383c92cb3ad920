//! `recv_async` and `send_async`: channel operations as futures, so that a tokio task
//! (or any future) and a goroutine can talk over one channel.
//!
//! A future that must wait leaves an entry in the channel's queue, as a blocking
//! operation does, but its `Selection` lives in a box the future owns and names the
//! task's `Waker` instead of a goroutine (see `waiter`). The future may be dropped at
//! any point, which is what flume's dual API taught:
//!
//! - **A receiver takes its value itself.** Its entry has no slot: a sender that finds
//!   it buffers the value and only completes the entry (`core`'s one exception to "a
//!   waiting receiver means an empty buffer"). The woken future receives normally. If it
//!   is dropped first, the value is still in the channel; the drop hands the news on to
//!   the next waiting receiver. So no value is ever lost.
//! - **A sender's value is in its box.** A receiver takes it from there under the claim
//!   protocol. A dropped future aborts its entry if nobody claimed it (the value is
//!   dropped with it, never sent) or, if a receiver claimed it, waits out the claim (the
//!   value went exactly once).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::core::{wake, Chan};
use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use super::waiter::{Entry, Outcome, Selection};

/// A waiting future's record: the selection its queue entry points to, and for a
/// sender the value offered. Boxed, so it stays put while the future moves.
struct AsyncWait<T> {
    sel: Selection,
    slot: Option<T>,
    /// The waker the selection names, to tell whether a later poll brings another.
    waker: Waker,
}

// SAFETY: the selection's interior (waiter, outcome) is touched only by the claimant
// under the claim protocol, and the future only reads its atomic state; the slot holds
// a T, which is Send.
unsafe impl<T: Send> Send for AsyncWait<T> {}

impl<T> AsyncWait<T> {
    fn new(waker: &Waker, slot: Option<T>) -> Box<AsyncWait<T>> {
        Box::new(AsyncWait {
            sel: Selection::for_waker(waker.clone()),
            slot,
            waker: waker.clone(),
        })
    }
}

/// The future of [`Receiver::recv_async`](super::Receiver::recv_async).
#[must_use = "futures do nothing unless polled"]
pub(crate) struct RecvFuture<'a, T> {
    chan: Option<&'a Arc<Chan<T>>>,
    wait: Option<Box<AsyncWait<T>>>,
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(chan: Option<&'a Arc<Chan<T>>>) -> RecvFuture<'a, T> {
        RecvFuture { chan, wait: None }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(chan) = this.chan else {
            return Poll::Pending; // the nil channel: never ready
        };
        if let Some(wait) = &this.wait {
            match wait.sel.try_outcome() {
                // Still queued. A new waker means re-queueing under it.
                None if wait.waker.will_wake(cx.waker()) => return Poll::Pending,
                None if wait.sel.abort() => chan.lock().unqueue_receiver(&wait.sel),
                // Claimed meanwhile: the outcome is a moment away.
                None => while wait.sel.try_outcome().is_none() {},
                Some(_) => {}
            }
            // Told of a value or of the close (or re-queueing): receive afresh.
            this.wait = None;
        }
        let mut st = chan.lock();
        match chan.try_recv_locked(&mut st) {
            Ok((v, woken)) => {
                drop(st);
                wake(woken);
                Poll::Ready(Ok(v))
            }
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {
                let wait = AsyncWait::new(cx.waker(), None);
                st.queue_receiver(Entry::notify_only(&wait.sel, 0));
                this.wait = Some(wait);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        let (Some(chan), Some(wait)) = (self.chan, self.wait.take()) else {
            return;
        };
        if wait.sel.abort() {
            chan.lock().unqueue_receiver(&wait.sel);
            return;
        }
        // A sender (or the close) completed us: wait out its claim, then, if a value
        // was left for us, make sure another waiting receiver hears of it.
        while wait.sel.try_outcome().is_none() {}
        let woken = chan.pass_on_locked(&mut chan.lock());
        wake(woken);
    }
}

/// The future of [`Sender::send_async`](super::Sender::send_async).
#[must_use = "futures do nothing unless polled"]
pub(crate) struct SendFuture<'a, T> {
    chan: &'a Arc<Chan<T>>,
    value: Option<T>,
    wait: Option<Box<AsyncWait<T>>>,
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(chan: &'a Arc<Chan<T>>, value: T) -> SendFuture<'a, T> {
        SendFuture {
            chan,
            value: Some(value),
            wait: None,
        }
    }
}

// The value is only moved, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}
impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(wait) = &mut this.wait {
            let mut outcome = wait.sel.try_outcome();
            if outcome.is_none() {
                if wait.waker.will_wake(cx.waker()) {
                    return Poll::Pending;
                }
                if wait.sel.abort() {
                    // Re-queue under the new waker.
                    this.chan.lock().unqueue_sender(&wait.sel);
                    this.value = wait.slot.take();
                    this.wait = None;
                } else {
                    // Claimed meanwhile: the outcome is a moment away.
                    while outcome.is_none() {
                        outcome = wait.sel.try_outcome();
                    }
                }
            }
            match outcome {
                None => {}
                Some(Outcome::Done { closed: false, .. }) => {
                    this.wait = None;
                    return Poll::Ready(Ok(()));
                }
                Some(_) => {
                    let v = this
                        .wait
                        .take()
                        .and_then(|mut w| w.slot.take())
                        .expect("a closed send keeps its value");
                    return Poll::Ready(Err(SendError(v)));
                }
            }
        }
        let v = this
            .value
            .take()
            .expect("a send_async future polled after it completed");
        let mut st = this.chan.lock();
        match this.chan.try_send_locked(&mut st, v) {
            Ok(woken) => {
                drop(st);
                wake(woken);
                Poll::Ready(Ok(()))
            }
            Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                let mut wait = AsyncWait::new(cx.waker(), Some(v));
                let slot: *mut Option<T> = &mut wait.slot;
                st.queue_sender(Entry::new(&wait.sel, 0, slot));
                this.wait = Some(wait);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(wait) = self.wait.take() else {
            return;
        };
        if wait.sel.abort() {
            // Never claimed: the value was not sent and goes with the future.
            self.chan.lock().unqueue_sender(&wait.sel);
            return;
        }
        // A receiver (or the close) claimed it: wait until it is done with the slot.
        while wait.sel.try_outcome().is_none() {}
    }
}
