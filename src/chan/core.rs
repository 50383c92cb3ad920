//! The channel itself (Go's `hchan`): a buffer and two wait queues behind one lock.
//!
//! # Invariants (all under `lock`)
//!
//! - `recvq` holds live entries only while the buffer is empty: a sender facing a
//!   waiting receiver hands its value straight to it instead of buffering. The one
//!   exception is a value left for an async receiver (`recv_async`), whose entry has no
//!   slot: the sender buffers the value (even past the capacity, even in an unbuffered
//!   channel) and only tells the receiver, which takes it when polled. Values stay in
//!   the buffer in order, and a sender that then meets a waiting receiver hands it the
//!   buffer's head, not its own value, so every sender's order is kept.
//! - `sendq` holds live entries only while the buffer is full (for a rendezvous channel,
//!   capacity 0, that is always): a receiver takes from the buffer's head and refills
//!   its tail from the oldest waiting sender, which keeps every sender's values in order.
//! - Once `closed`, no entry is ever added: close completes every waiter (receivers get
//!   "closed", senders get their value back) and later operations see `closed` first.
//!   Values already buffered are still received, then receivers see "closed".
//!
//! The lock is held only for these few steps, never across a park. Wake-ups are done
//! after unlocking. A goroutine woken by a hand-off becomes the waker's next-to-run
//! goroutine (`Shared::ready`), so a ping-pong pair stays on one worker.
//!
//! One locked core serves all capacities (0, n, unbounded), as Go's does: they differ
//! only in how many values the buffer may hold, and sharing the queue protocol is what
//! lets one `select` wait on channels of every kind at once.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::waiter::{Completion, Entry, Outcome, Selection, WaitQueue};
use crate::park::sight::Sight;
use crate::park::spin::{SpinGuard, SpinLock};
use crate::park::WaitReason;

/// Laid out so that everything a send or receive without waiters writes or reads (the
/// lock, the mirrors, the buffer's header, the closed flag and whether anyone waits)
/// shares the first cache line: an operation that finds the channel last touched on
/// another core moves one line, not the two or three it took when the fields lay where
/// the compiler put them. The wait queues, touched only when someone waits, and the
/// handle counts, touched on clone and drop, follow. The alignment puts the first field
/// at the start of a line; a channel's allocation grew from 160 to 256 bytes for it.
#[repr(C, align(64))]
pub(crate) struct Chan<T> {
    lock: SpinLock,
    /// Mirrors for lock-free queries: `len` is refreshed whenever the lock is released
    /// (`sync_mirrors`), `closed` once, by `close`.
    closed: AtomicBool,
    len: AtomicUsize,
    /// Buffer capacity; `usize::MAX` for an unbounded channel.
    cap: usize,
    state: UnsafeCell<State<T>>,
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
    /// Who has used it (`park::sight`), for the deadlock detector.
    pub(crate) sight: Sight,
}

// SAFETY: `state` is only accessed while `lock` is held; values of T move between
// threads, hence T: Send.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

#[repr(C)]
pub(crate) struct State<T> {
    buf: VecDeque<T>,
    closed: bool,
    /// `!sendq.is_empty()` and `!recvq.is_empty()`, kept beside the buffer (see
    /// [`Chan`]'s layout) so that the fast paths need not read the queues' line.
    senders_queued: bool,
    receivers_queued: bool,
    sendq: WaitQueue,
    recvq: WaitQueue,
    /// Run once, unlocked, when the channel closes ([`Chan::on_close`]).
    on_close: Option<CloseHook>,
}

/// What a channel does when it closes: a timer channel, closed when its last receiver
/// is dropped, stops its timer (`time::after`).
pub(crate) type CloseHook = Box<dyn FnOnce() + Send>;

/// The wait queues are reached only through these, which keep the `*_queued` marks
/// true to the queues.
impl<T> State<T> {
    pub(crate) fn queue_sender(&mut self, entry: Entry) {
        self.sendq.push(entry);
        self.senders_queued = true;
    }

    pub(crate) fn queue_receiver(&mut self, entry: Entry) {
        self.recvq.push(entry);
        self.receivers_queued = true;
    }

    /// Remove every sender entry of `sel` (a waiter cleaning up).
    pub(crate) fn unqueue_sender(&mut self, sel: &Selection) {
        self.sendq.remove(sel);
        self.senders_queued = !self.sendq.is_empty();
    }

    /// Remove every receiver entry of `sel`.
    pub(crate) fn unqueue_receiver(&mut self, sel: &Selection) {
        self.recvq.remove(sel);
        self.receivers_queued = !self.recvq.is_empty();
    }

    /// # Safety
    /// The caller holds the channel's lock (as [`WaitQueue::claim_next`]).
    unsafe fn claim_sender(&mut self) -> Option<Entry> {
        // SAFETY: per the contract.
        let entry = unsafe { self.sendq.claim_next() };
        self.senders_queued = !self.sendq.is_empty();
        entry
    }

    /// # Safety
    /// As [`State::claim_sender`].
    unsafe fn claim_receiver(&mut self) -> Option<Entry> {
        // SAFETY: per the contract.
        let entry = unsafe { self.recvq.claim_next() };
        self.receivers_queued = !self.recvq.is_empty();
        entry
    }

    /// Take every entry of both queues (closing the channel), receivers first.
    fn drain_queues(&mut self) -> impl Iterator<Item = Entry> + '_ {
        (self.senders_queued, self.receivers_queued) = (false, false);
        self.recvq.drain().chain(self.sendq.drain())
    }
}

/// The channel's state while its lock is held.
pub(crate) struct Locked<'a, T> {
    chan: &'a Chan<T>,
    _guard: SpinGuard<'a>,
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = State<T>;
    fn deref(&self) -> &State<T> {
        // SAFETY: we hold the lock for our lifetime.
        unsafe { &*self.chan.state.get() }
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        // SAFETY: we hold the lock for our lifetime, and &mut self is unique.
        unsafe { &mut *self.chan.state.get() }
    }
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // Refresh the lock-free mirrors before the guard (a later field) unlocks.
        // SAFETY: the lock is still held here.
        unsafe { self.chan.sync_mirrors() };
    }
}

/// Wake everyone completed while the lock was held.
pub(crate) fn wake(completions: impl IntoIterator<Item = Completion>) {
    for c in completions {
        c.wake();
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            lock: SpinLock::default(),
            state: UnsafeCell::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                closed: false,
                senders_queued: false,
                receivers_queued: false,
                sendq: WaitQueue::default(),
                recvq: WaitQueue::default(),
                on_close: None,
            }),
            cap,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            sight: Sight::here(),
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_, T> {
        Locked {
            chan: self,
            _guard: self.lock.lock(),
        }
    }

    /// The lock if it is free now, for `select`'s first pass, which would rather try
    /// another case than wait for a channel that other cores are busy with.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<Locked<'_, T>> {
        self.lock.try_lock().map(|guard| Locked {
            chan: self,
            _guard: guard,
        })
    }

    /// The raw lock, for `select`, which holds several channels' locks at once.
    pub(crate) fn raw_lock(&self) -> SpinGuard<'_> {
        self.lock.lock()
    }

    /// # Safety
    /// The caller holds this channel's lock (from [`Chan::raw_lock`]) for as long as it
    /// uses the returned reference.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn state_locked(&self) -> &mut State<T> {
        // SAFETY: per the contract.
        unsafe { &mut *self.state.get() }
    }

    /// Refresh the lock-free mirrors; call before releasing a raw lock.
    ///
    /// # Safety
    /// The caller holds this channel's lock.
    pub(crate) unsafe fn sync_mirrors(&self) {
        // SAFETY: per the contract.
        let state = unsafe { &*self.state.get() };
        self.len.store(state.buf.len(), Ordering::Relaxed);
        // `closed` changes only in `close`, which publishes it there.
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        (self.cap != usize::MAX).then_some(self.cap)
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A lock-free guess that a receive would find nothing now: a buffered channel
    /// whose mirrors say empty and open. (A buffered channel with an empty buffer has
    /// no live waiting sender, by the invariants.) The mirrors may be a moment stale,
    /// so this only lets `select`'s fast path skip a lock; its slow path looks again
    /// under every lock.
    #[inline]
    pub(crate) fn looks_empty(&self) -> bool {
        self.cap != 0
            && self.len.load(Ordering::Relaxed) == 0
            && !self.closed.load(Ordering::Relaxed)
    }

    /// As [`looks_empty`](Chan::looks_empty), for a send: a buffered channel whose
    /// mirrors say full and open (a full buffer has no live waiting receiver).
    #[inline]
    pub(crate) fn looks_full(&self) -> bool {
        self.cap != 0
            && self.cap != usize::MAX
            && self.len.load(Ordering::Relaxed) == self.cap
            && !self.closed.load(Ordering::Relaxed)
    }

    pub(crate) fn addr(&self) -> usize {
        self as *const Self as usize
    }

    #[inline]
    pub(crate) fn send(&self, v: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        crate::sched::preempt_point();
        crate::sched::driver::switch_point("chan send");
        self.sight.touch();
        let mut st = self.lock();
        match self.try_send_locked(&mut st, v) {
            Ok(wake_one) => {
                drop(st);
                wake(wake_one);
                Ok(())
            }
            Err(TrySendError::Closed(v)) => Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => self.send_wait(st, v, deadline),
        }
    }

    /// `send` on a full channel: queue, unlock, and wait for a receiver. Inline: out of
    /// line, it saved a buffered send 14 of its 51 instructions but cost a ping-pong
    /// pair that settles into waiting in its sends a frame around each stack switch
    /// (908 -> 972 instructions a round trip), and neither showed in time on the VM.
    #[inline]
    fn send_wait(
        &self,
        mut st: Locked<'_, T>,
        v: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        if deadline.is_some_and(|d| crate::time::now() >= d) {
            return Err(SendTimeoutError::Timeout(v));
        }
        let mut slot = Some(v);
        let sel = Selection::single(deadline);
        st.queue_sender(Entry::new(&sel, 0, &mut slot));
        drop(st);
        match sel.wait(WaitReason::ChanSend, deadline, || self.sight.is_foreign()) {
            Outcome::Done { closed: false, .. } => Ok(()),
            Outcome::Done { closed: true, .. } => {
                Err(SendTimeoutError::Closed(slot.take().expect("value kept")))
            }
            Outcome::TimedOut => {
                self.lock().unqueue_sender(&sel);
                Err(SendTimeoutError::Timeout(slot.take().expect("value kept")))
            }
        }
    }

    #[inline]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        crate::sched::preempt_point();
        crate::sched::driver::switch_point("chan receive");
        self.sight.touch();
        let mut st = self.lock();
        match self.try_recv_locked(&mut st) {
            Ok((v, wake_one)) => {
                drop(st);
                wake(wake_one);
                Ok(v)
            }
            Err(TryRecvError::Closed) => Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => self.recv_wait(st, deadline),
        }
    }

    /// `recv` on an empty channel: queue, unlock, and wait for a sender.
    #[inline]
    fn recv_wait(
        &self,
        mut st: Locked<'_, T>,
        deadline: Option<Instant>,
    ) -> Result<T, RecvTimeoutError> {
        if deadline.is_some_and(|d| crate::time::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        let mut slot: Option<T> = None;
        let sel = Selection::single(deadline);
        st.queue_receiver(Entry::new(&sel, 0, &mut slot));
        drop(st);
        match sel.wait(WaitReason::ChanReceive, deadline, || {
            self.sight.is_foreign()
        }) {
            Outcome::Done { closed: false, .. } => {
                Ok(slot.take().expect("a value was handed over"))
            }
            Outcome::Done { closed: true, .. } => Err(RecvTimeoutError::Closed),
            Outcome::TimedOut => {
                self.lock().unqueue_receiver(&sel);
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    /// Send without blocking, lock held. On success returns the receiver to wake, if a
    /// waiting one took the value directly.
    #[inline]
    pub(crate) fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
    ) -> Result<Option<Completion>, TrySendError<T>> {
        // The common case inline: room in the buffer and nobody waiting to receive.
        if !st.closed && !st.receivers_queued && st.buf.len() < self.cap {
            st.buf.push_back(v);
            return Ok(None);
        }
        self.try_send_locked_slow(st, v)
    }

    #[inline]
    fn try_send_locked_slow(
        &self,
        st: &mut State<T>,
        v: T,
    ) -> Result<Option<Completion>, TrySendError<T>> {
        if st.closed {
            return Err(TrySendError::Closed(v));
        }
        // SAFETY: the caller holds our lock (it got `st` from it).
        if let Some(entry) = unsafe { st.claim_receiver() } {
            // A live waiting receiver means the buffer is empty, except for values an
            // async receiver was told of and has not taken yet: those go first.
            if entry.is_notify_only() {
                st.buf.push_back(v);
            } else {
                let v = match st.buf.pop_front() {
                    Some(older) => {
                        st.buf.push_back(v);
                        older
                    }
                    None => v,
                };
                // SAFETY: claimed under our lock; the slot is an Option<T> of this channel.
                unsafe { *entry.slot::<T>() = Some(v) };
            }
            // SAFETY: as above; nothing touches the entry after completing it.
            return Ok(Some(
                unsafe { entry.selection() }.complete(entry.case(), false),
            ));
        }
        if st.buf.len() < self.cap {
            st.buf.push_back(v);
            return Ok(None);
        }
        Err(TrySendError::Full(v))
    }

    /// Receive without blocking, lock held. On success also returns the sender to wake,
    /// if a waiting one was completed.
    #[inline]
    pub(crate) fn try_recv_locked(
        &self,
        st: &mut State<T>,
    ) -> Result<(T, Option<Completion>), TryRecvError> {
        // The common case inline: a buffered value and no sender waiting for room.
        if !st.senders_queued {
            if let Some(v) = st.buf.pop_front() {
                return Ok((v, None));
            }
        }
        self.try_recv_locked_slow(st)
    }

    #[inline]
    fn try_recv_locked_slow(
        &self,
        st: &mut State<T>,
    ) -> Result<(T, Option<Completion>), TryRecvError> {
        if let Some(v) = st.buf.pop_front() {
            if st.buf.len() >= self.cap {
                // Still no room: the value was one left for an async receiver in an
                // unbuffered (or full) channel; a waiting sender keeps waiting.
                return Ok((v, None));
            }
            // Room freed: move the oldest waiting sender's value to the tail.
            // SAFETY: the caller holds our lock.
            let woken = unsafe { st.claim_sender() }.map(|entry| {
                // SAFETY: claimed under our lock; the slot is this channel's Option<T>.
                let moved = unsafe { entry.slot::<T>() }
                    .take()
                    .expect("a waiting sender holds its value");
                st.buf.push_back(moved);
                // SAFETY: as above.
                unsafe { entry.selection() }.complete(entry.case(), false)
            });
            return Ok((v, woken));
        }
        // SAFETY: the caller holds our lock.
        if let Some(entry) = unsafe { st.claim_sender() } {
            // A rendezvous (or a buffered channel whose buffer is empty while a sender
            // waits, which the invariants rule out): take the value from the sender.
            // SAFETY: claimed under our lock; the slot is this channel's Option<T>.
            let v = unsafe { entry.slot::<T>() }
                .take()
                .expect("a waiting sender holds its value");
            // SAFETY: as above.
            return Ok((
                v,
                Some(unsafe { entry.selection() }.complete(entry.case(), false)),
            ));
        }
        if st.closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// After an async receiver that was told of a value went away without taking it:
    /// if a value is buffered and another receiver waits, complete that one, so the
    /// value is not left behind while a receiver sleeps.
    pub(crate) fn pass_on_locked(&self, st: &mut State<T>) -> Option<Completion> {
        if st.buf.is_empty() {
            return None;
        }
        // SAFETY: the caller holds our lock.
        let entry = unsafe { st.claim_receiver() }?;
        if !entry.is_notify_only() {
            let v = st.buf.pop_front().expect("checked above");
            // SAFETY: claimed under our lock; the slot is an Option<T> of this channel.
            unsafe { *entry.slot::<T>() = Some(v) };
        }
        // SAFETY: as above.
        Some(unsafe { entry.selection() }.complete(entry.case(), false))
    }

    /// Close; returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut woken = Vec::new();
        let on_close = {
            let mut st = self.lock();
            if st.closed {
                return false;
            }
            st.closed = true;
            self.closed.store(true, Ordering::Release);
            for entry in st.drain_queues() {
                // SAFETY: we hold the lock and the entry was still queued.
                let sel = unsafe { entry.selection() };
                if sel.try_claim() {
                    woken.push(sel.complete(entry.case(), true));
                }
            }
            st.on_close.take()
        };
        wake(woken);
        if let Some(hook) = on_close {
            hook();
        }
        true
    }

    /// Have `hook` run once when the channel closes (at once, if it already has). It
    /// runs unlocked, on the closing thread; the channel holds it until then.
    pub(crate) fn on_close(&self, hook: CloseHook) {
        let mut st = self.lock();
        if st.closed {
            drop(st);
            hook();
        } else {
            debug_assert!(st.on_close.is_none(), "one close hook a channel");
            st.on_close = Some(hook);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of};

    /// The fast paths' fields all lie in the channel's first cache line (see [`Chan`]),
    /// whatever the element type.
    #[test]
    fn the_fast_path_fields_share_the_first_cache_line() {
        fn check<T>() {
            let state = offset_of!(Chan<T>, state);
            for (field, end) in [
                ("lock", offset_of!(Chan<T>, lock) + 1),
                ("closed mirror", offset_of!(Chan<T>, closed) + 1),
                ("len mirror", offset_of!(Chan<T>, len) + 8),
                ("cap", offset_of!(Chan<T>, cap) + 8),
                (
                    "buffer",
                    state + offset_of!(State<T>, buf) + std::mem::size_of::<VecDeque<T>>(),
                ),
                ("closed", state + offset_of!(State<T>, closed) + 1),
                (
                    "senders_queued",
                    state + offset_of!(State<T>, senders_queued) + 1,
                ),
                (
                    "receivers_queued",
                    state + offset_of!(State<T>, receivers_queued) + 1,
                ),
            ] {
                assert!(end <= 64, "{field} ends at byte {end} of the channel");
            }
            assert!(
                state + offset_of!(State<T>, sendq) >= 64,
                "the wait queues follow the first line"
            );
            assert_eq!(align_of::<Chan<T>>(), 64);
            // Three lines: the hot one, the wait queues, the rest. (With the reference
            // counts in front, the allocation is 256 bytes.)
            assert!(std::mem::size_of::<Chan<T>>() <= 192);
        }
        check::<u64>();
        check::<()>();
        check::<String>();
        check::<[u8; 4096]>();
    }
}
