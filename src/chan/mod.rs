//! Channels: Go's `chan T`, unbuffered, buffered or unbounded, multi-producer and
//! multi-consumer, usable from goroutines and plain threads alike.
//!
//! ```
//! use goru::chan;
//!
//! goru::run(|| {
//!     let (tx, rx) = chan::bounded::<u32>(0); // unbuffered: each send meets a receive
//!     goru::go(move || {
//!         for i in 1..=3 {
//!             tx.send(i * 10).unwrap();
//!         }
//!         // dropping the last Sender closes the channel
//!     });
//!     let got: Vec<u32> = rx.iter().collect(); // Go's `for v := range ch`
//!     assert_eq!(got, vec![10, 20, 30]);
//! });
//! ```
//!
//! A blocking operation parks only the calling goroutine (or blocks the calling thread
//! outside a runtime). A value sent to a parked receiver goes straight to it, and that
//! goroutine runs next on the sender's worker. See `core` for the invariants and
//! `waiter` for how blocked operations are completed exactly once.

mod claim;
mod core;
mod error;
mod future;
pub(crate) mod select;
mod waiter;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use self::core::{wake, Chan};
pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use select::Select;
#[doc(hidden)]
pub use select::{
    run as __select_run, run_static as __select_run_static, RecvCase as __RecvCase, SelectCase,
    SendCase as __SendCase,
};

use crate::park::{self, WaitReason};

/// A channel with a buffer of `cap` values; `cap == 0` makes it unbuffered (a
/// rendezvous: `send` returns only once a receiver has taken the value).
///
/// ```
/// let (tx, rx) = goru::chan::bounded(2);
/// tx.send("a").unwrap();
/// tx.send("b").unwrap(); // two fit without a receiver
/// assert!(tx.try_send("c").unwrap_err().is_full());
/// assert_eq!(rx.recv(), Ok("a"));
/// assert_eq!(tx.capacity(), Some(2));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (Sender { chan: chan.clone() }, Receiver { chan: Some(chan) })
}

/// A channel whose `send` never blocks: the buffer grows as needed.
///
/// ```
/// let (tx, rx) = goru::chan::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(tx.capacity(), None);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    bounded(usize::MAX)
}

/// A receiver that never receives anything, as Go's nil channel: its `select!` cases
/// are never ready and `recv` blocks forever.
///
/// ```
/// use std::time::Duration;
/// let never = goru::chan::never::<u8>();
/// assert_eq!(never.try_recv(), Err(goru::chan::TryRecvError::Empty));
/// assert!(never.recv_timeout(Duration::from_millis(5)).is_err());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver { chan: None }
}

/// The sending half of a channel. Cloning makes another sender of the same channel;
/// when the last one is dropped the channel closes.
///
/// ```
/// goru::run(|| {
///     let (tx, rx) = goru::chan::unbounded::<u32>();
///     let tx2 = tx.clone();
///     goru::go(move || tx2.send(2).unwrap());
///     tx.send(1).unwrap();
///     drop(tx); // the clone still keeps the channel open
///     let mut got: Vec<u32> = rx.iter().collect(); // ends when the last sender is gone
///     got.sort();
///     assert_eq!(got, [1, 2]);
/// });
/// ```
///
/// A sender only sends, as Go's `chan<- T` does: receiving or ranging over one does
/// not compile, in `select!` either (Go's `test/chan/perm.go`).
///
/// ```compile_fail,E0599
/// let (tx, _rx) = goru::chan::bounded::<i32>(1);
/// let _ = tx.recv();
/// ```
///
/// ```compile_fail,E0277
/// let (tx, _rx) = goru::chan::bounded::<i32>(1);
/// for _ in tx {}
/// ```
///
/// ```compile_fail,E0277
/// let (tx, _rx) = goru::chan::bounded::<i32>(1);
/// goru::select! { recv(tx) -> _ => {} }
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a channel. Cloning makes another receiver of the same channel
/// (each value goes to exactly one receiver).
///
/// ```
/// let (tx, rx) = goru::chan::bounded::<&str>(1);
/// tx.send("hi").unwrap();
/// assert_eq!(rx.recv(), Ok("hi"));
/// drop(tx);
/// assert!(rx.recv().is_err(), "closed and empty");
/// ```
///
/// A receiver only receives, as Go's `<-chan T` does: sending on one does not compile,
/// in `select!` either, nor does closing it (Go's `test/chan/perm.go`), and the halves
/// are distinct types, so neither converts into the other.
///
/// ```compile_fail,E0599
/// let (_tx, rx) = goru::chan::bounded::<i32>(1);
/// rx.send(0);
/// ```
///
/// ```compile_fail,E0277
/// let (_tx, rx) = goru::chan::bounded::<i32>(1);
/// goru::select! { send(rx, 0) -> _ => {} }
/// ```
///
/// ```compile_fail,E0599
/// let (_tx, rx) = goru::chan::bounded::<i32>(1);
/// rx.close();
/// ```
///
/// ```compile_fail,E0308
/// let (tx, rx) = goru::chan::bounded::<i32>(1);
/// let _: goru::chan::Sender<i32> = rx;
/// ```
pub struct Receiver<T> {
    /// `None` for [`never`].
    chan: Option<Arc<Chan<T>>>,
}

impl<T> Sender<T> {
    /// [`send`](Self::send) as a future, for async code (a tokio task, a future inside
    /// [`block_on`](crate::block_on)): it waits for room without parking anything.
    /// Dropping it before it completes sends nothing, and a value a receiver took is
    /// never sent twice.
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded::<u32>(0);
    /// let t = std::thread::spawn(move || rx.recv().unwrap());
    /// goru::block_on(tx.send_async(5)).unwrap();
    /// assert_eq!(t.join().unwrap(), 5);
    /// ```
    pub fn send_async(
        &self,
        v: T,
    ) -> impl std::future::Future<Output = Result<(), SendError<T>>> + '_ {
        self.chan.sight.touch();
        future::SendFuture::new(&self.chan, v)
    }

    /// Send `v`, waiting for room (or, unbuffered, for a receiver). `Err` gives the value
    /// back if the channel is closed (Go would panic) or every receiver is gone: the
    /// last [`Receiver`]'s drop closes the channel, since no receiver can appear again,
    /// and a send that would wait forever returns instead (as std's, crossbeam's and
    /// tokio's do; in Go such a send blocks forever, a classic goroutine leak).
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// drop(rx); // nobody can receive any more
    /// assert_eq!(tx.send(2), Err(goru::chan::SendError(2)));
    /// ```
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.chan
            .send(v, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Send only if it can be done now.
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// drop(rx);
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        crate::sched::driver::switch_point("chan try_send");
        self.chan.sight.touch();
        let mut st = self.chan.lock();
        let woken = self.chan.try_send_locked(&mut st, v)?;
        drop(st);
        wake(woken);
        Ok(())
    }

    /// Send, waiting at most `d`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = goru::chan::bounded(0); // nobody receives
    /// let err = tx.send_timeout(7, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.into_inner(), 7, "the value comes back");
    /// ```
    pub fn send_timeout(&self, v: T, d: Duration) -> Result<(), SendTimeoutError<T>> {
        self.chan.send(v, Some(crate::time::now() + d))
    }

    /// Close the channel: waiting receivers get `Err` once the buffer is drained,
    /// waiting and later senders get their values back. Returns whether this call
    /// closed it (false if it was already closed).
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.send(2).is_err(), "closed");
    /// assert_eq!(rx.recv(), Ok(1), "buffered values are still received");
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        crate::sched::driver::switch_point("chan close");
        self.chan.sight.touch();
        self.chan.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether any receiver is left (once none is, nothing sent can be received).
    pub(crate) fn has_receivers(&self) -> bool {
        self.chan
            .receivers
            .load(std::sync::atomic::Ordering::Acquire)
            > 0
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size: `Some(0)` unbuffered, `None` unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// Whether two senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// The channel, for `select`, which uses it now (noted for `park::sight`).
    pub(crate) fn chan(&self) -> &Chan<T> {
        self.chan.sight.touch();
        &self.chan
    }
}

impl<T> Receiver<T> {
    /// [`recv`](Self::recv) as a future, for async code. The future takes its value
    /// from the channel only when it completes, so dropping it mid-wait loses nothing.
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded::<u32>(1);
    /// std::thread::spawn(move || tx.send(9).unwrap());
    /// assert_eq!(goru::block_on(rx.recv_async()), Ok(9));
    /// ```
    pub fn recv_async(&self) -> impl std::future::Future<Output = Result<T, RecvError>> + '_ {
        if let Some(chan) = &self.chan {
            chan.sight.touch();
        }
        future::RecvFuture::new(self.chan.as_ref())
    }

    /// Receive a value, waiting for one. `Err` once the channel is closed and drained.
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(4);
    /// tx.send(7).unwrap();
    /// tx.close();
    /// assert_eq!(rx.recv(), Ok(7)); // buffered values survive the close
    /// assert_eq!(rx.recv(), Err(goru::chan::RecvError));
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        match &self.chan {
            Some(chan) => chan.recv(None).map_err(|_| RecvError),
            None => loop {
                park::park(WaitReason::ChanReceive); // a nil channel: forever
            },
        }
    }

    /// Receive only if a value is available now.
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(1);
    /// assert!(rx.try_recv().is_err(), "empty");
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        crate::sched::driver::switch_point("chan try_recv");
        let Some(chan) = &self.chan else {
            return Err(TryRecvError::Empty);
        };
        chan.sight.touch();
        let mut st = chan.lock();
        let (v, woken) = chan.try_recv_locked(&mut st)?;
        drop(st);
        wake(woken);
        Ok(v)
    }

    /// Receive, waiting at most `d`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = goru::chan::bounded::<u8>(0);
    /// assert!(rx.recv_timeout(Duration::from_millis(10)).is_err());
    /// ```
    pub fn recv_timeout(&self, d: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = crate::time::now() + d;
        match &self.chan {
            Some(chan) => chan.recv(Some(deadline)),
            None => {
                crate::time::park_until_deadline(WaitReason::ChanReceive, deadline);
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    /// An iterator that receives until the channel is closed and drained (Go's `range`).
    ///
    /// ```
    /// let (tx, rx) = goru::chan::bounded(3);
    /// for i in 0..3 { tx.send(i).unwrap(); }
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values available now, without waiting.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether the channel is closed (values may still be buffered).
    pub fn is_closed(&self) -> bool {
        self.chan.as_ref().is_some_and(|c| c.is_closed())
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.chan.as_ref().map_or(0, |c| c.len())
    }

    /// Whether nothing is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size: `Some(0)` unbuffered, `None` unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.as_ref().map_or(Some(0), |c| c.capacity())
    }

    /// Whether two receivers belong to the same channel. Two [`never`] receivers are
    /// the same channel, as two nil channels are equal in Go.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.chan, &other.chan) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true, // two nil channels are the same, as in Go
            _ => false,
        }
    }

    /// The channel (None for `never`), for `select`, which uses it now (noted for
    /// `park::sight`).
    pub(crate) fn chan(&self) -> Option<&Chan<T>> {
        if let Some(chan) = &self.chan {
            chan.sight.touch();
        }
        self.chan.as_deref()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        if let Some(chan) = &self.chan {
            chan.receivers.fetch_add(1, Ordering::Relaxed);
        }
        Receiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(chan) = &self.chan {
            // A receiver is made only by cloning one, so once the count is zero none
            // can appear again: close, so that waiting and later sends return their
            // values instead of waiting forever.
            if chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
                chan.close();
            }
        }
    }
}

/// The feeding end of a timer channel: unlike a [`Sender`], dropping it does not close
/// the channel (a fired timer's channel stays open, as in Go).
pub(crate) struct TimerFeed<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Clone for TimerFeed<T> {
    fn clone(&self) -> Self {
        TimerFeed {
            chan: self.chan.clone(),
        }
    }
}

impl<T> TimerFeed<T> {
    /// Deliver `v` if the one-slot buffer is free; otherwise drop it (a missed tick).
    pub(crate) fn offer(&self, v: T) {
        let mut st = self.chan.lock();
        let woken = self.chan.try_send_locked(&mut st, v).ok().flatten();
        drop(st);
        wake(woken);
    }

    /// Have `hook` run once nobody can receive any more: the channel closes when its
    /// last receiver is dropped (at once, if that has happened already).
    pub(crate) fn when_unreceivable(&self, hook: impl FnOnce() + Send + 'static) {
        self.chan.on_close(Box::new(hook));
    }

    /// Whether any receiver of the channel still exists.
    pub(crate) fn has_receivers(&self) -> bool {
        self.chan.receivers.load(Ordering::Acquire) > 0
    }
}

/// A one-slot channel for a timer (see [`TimerFeed`]).
pub(crate) fn timer_channel<T>() -> (TimerFeed<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(1));
    (
        TimerFeed { chan: chan.clone() },
        Receiver { chan: Some(chan) },
    )
}

/// Lets `select!` take a `Receiver` or any reference to one.
#[doc(hidden)]
pub trait __AsReceiver<T> {
    fn __as_receiver(&self) -> &Receiver<T>;
}

impl<T> __AsReceiver<T> for Receiver<T> {
    fn __as_receiver(&self) -> &Receiver<T> {
        self
    }
}

impl<T, R: __AsReceiver<T> + ?Sized> __AsReceiver<T> for &R {
    fn __as_receiver(&self) -> &Receiver<T> {
        (**self).__as_receiver()
    }
}

/// Lets `select!` take a `Sender` or any reference to one.
#[doc(hidden)]
pub trait __AsSender<T> {
    fn __as_sender(&self) -> &Sender<T>;
}

impl<T> __AsSender<T> for Sender<T> {
    fn __as_sender(&self) -> &Sender<T> {
        self
    }
}

impl<T, S: __AsSender<T> + ?Sized> __AsSender<T> for &S {
    fn __as_sender(&self) -> &Sender<T> {
        (**self).__as_sender()
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives until the channel is closed and drained; see [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// The values available now; see [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning version of [`Iter`].
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
