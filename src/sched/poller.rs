//! The netpoller (Go's `netpoll`): socket readiness as part of the scheduler.
//!
//! Each runtime owns one epoll instance (through `mio`). A socket is registered
//! edge-triggered the first time a goroutine has to wait on it, with an [`IoDesc`]: per
//! direction a *ready* flag and the goroutines waiting (Go's `pollDesc`).
//!
//! # Who polls
//!
//! - **An idle worker sleeps in the poller.** The first worker to go idle while
//!   goroutines wait on sockets becomes the poll *owner* and blocks in `epoll_wait`
//!   (until its timer deadline if it is also the timer keeper) instead of on its
//!   parker; the goroutines a readiness event wakes land in its own run queue. Anyone
//!   who wants that worker back calls [`Shared::wake_worker`], which pokes the
//!   poller's waker when the worker is the owner.
//! - **Workers out of local work** poll without blocking, unless an owner is blocked
//!   in the poller anyway (it will get the events).
//! - **The monitor** polls when nobody has for a tick, so readiness is noticed even
//!   when every worker is busy.
//!
//! # No lost wake-up
//!
//! A direction's flag and waiters sit under one lock. A waiter, after its operation
//! returned `WouldBlock`, takes the lock: if the flag is set (an event arrived since
//! it was last consumed) it clears it and retries; otherwise it registers and parks.
//! An event, under the same lock, hands its news to the registered waiters if there
//! are any (unparking them) and otherwise sets the flag. Either the event finds the
//! waiter or the waiter finds the flag.
//!
//! # Lifetime of a descriptor
//!
//! The epoll token is the address of the `IoDesc`. An event read by `epoll_wait` may
//! still be in our hands when its socket is dropped on another thread, so a
//! deregistered descriptor is freed only under the poll lock, where no event batch is
//! being handled: at once if nobody is polling, else by the next poll.

use std::io;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::park::Unparker;

/// The waker's token; no descriptor lives at address 0.
const WAKER: Token = Token(0);

/// Events taken from the kernel per `epoll_wait`.
const EVENTS_PER_POLL: usize = 256;

/// One direction of a socket: read side or write side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

#[derive(Default)]
struct DirState {
    /// A readiness event arrived that no waiter has consumed yet.
    ready: bool,
    /// Goroutines parked until this direction is ready, keyed for removal.
    waiters: Vec<(u64, Unparker)>,
    /// The task of the last `poll_*_ready` that found the direction not ready (one per
    /// direction, as tokio keeps: a later poll replaces it). Counted in the poller's
    /// `waiting` while stored.
    waker: Option<std::task::Waker>,
}

/// One direction's readiness as `poll_*_ready` reports it (tokio's model), in one
/// atomic word so that the hot path of poll-driven I/O takes no lock: the low bit is
/// *ready*, the rest counts events. Every event adds one and sets the bit; a `try_*`
/// that met `WouldBlock` clears the bit only if the count is still what it read before
/// its attempt (no event came meanwhile). A partial read leaves it set, as data may
/// remain that no new edge will announce.
struct AsyncReady(AtomicU64);

const READY_BIT: u64 = 1;

impl AsyncReady {
    fn word(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn event(&self) {
        // Count up and set the bit: (events + 1) << 1 | 1, from either bit state.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                Some(((w >> 1) + 1) << 1 | READY_BIT)
            });
    }

    fn clear_if_unchanged(&self, seen: u64) {
        if seen & READY_BIT != 0 {
            let _ = self.0.compare_exchange(
                seen,
                seen & !READY_BIT,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }
}

/// The poller's record of one registered socket (Go's `pollDesc`).
pub(crate) struct IoDesc {
    read: Mutex<DirState>,
    write: Mutex<DirState>,
    read_ready: AsyncReady,
    write_ready: AsyncReady,
}

impl Default for IoDesc {
    fn default() -> IoDesc {
        let ready = || AsyncReady(AtomicU64::new(READY_BIT)); // ready until proven not
        IoDesc {
            read: Mutex::default(),
            write: Mutex::default(),
            read_ready: ready(),
            write_ready: ready(),
        }
    }
}

impl IoDesc {
    fn dir(&self, dir: Direction) -> &Mutex<DirState> {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    fn async_ready(&self, dir: Direction) -> &AsyncReady {
        match dir {
            Direction::Read => &self.read_ready,
            Direction::Write => &self.write_ready,
        }
    }

    /// Register `waiter` under `key` unless an unconsumed event is there; returns false
    /// (and consumes the event) in that case: retry the operation instead of parking.
    pub(crate) fn arm(&self, dir: Direction, key: u64, waiter: Unparker) -> bool {
        let mut state = self.dir(dir).lock().unwrap_or_else(|e| e.into_inner());
        if state.ready {
            state.ready = false;
            return false;
        }
        state.waiters.push((key, waiter));
        true
    }

    /// [`arm`](Self::arm) for a future: `(ready, newly_waiting)`. Ready (no lock
    /// taken) if the direction may make progress; else the waker is stored, and
    /// `newly_waiting` says it took an empty place (the caller counts it as waiting)
    /// rather than replacing an earlier one. An event between the check and the store
    /// is caught by the second check: the event sets the word before it takes the lock
    /// to look for a waker, so either it finds the waker or we find the word set.
    /// (Ready with a waker stored: the waker stays, counted, and wakes spuriously.)
    pub(crate) fn arm_waker(&self, dir: Direction, waker: &std::task::Waker) -> (bool, bool) {
        let ready = self.async_ready(dir);
        if ready.word() & READY_BIT != 0 {
            return (true, false);
        }
        let newly_waiting = {
            let mut state = self.dir(dir).lock().unwrap_or_else(|e| e.into_inner());
            match &mut state.waker {
                Some(w) => {
                    if !w.will_wake(waker) {
                        w.clone_from(waker);
                    }
                    false
                }
                slot @ None => {
                    *slot = Some(waker.clone());
                    true
                }
            }
        };
        (ready.word() & READY_BIT != 0, newly_waiting)
    }

    /// The readiness word now, taken before a `try_*` attempt.
    pub(crate) fn readiness(&self, dir: Direction) -> u64 {
        self.async_ready(dir).word()
    }

    /// A `try_*` attempt begun at word `seen` met `WouldBlock` (or drained the
    /// socket): not ready, unless an event came meanwhile.
    pub(crate) fn clear_async_ready(&self, dir: Direction, seen: u64) {
        self.async_ready(dir).clear_if_unchanged(seen);
    }

    /// Leave the waiters (after a wake-up, a timeout or a cancellation).
    pub(crate) fn disarm(&self, dir: Direction, key: u64) {
        let mut state = self.dir(dir).lock().unwrap_or_else(|e| e.into_inner());
        state.waiters.retain(|(k, _)| *k != key);
    }

    /// Hand an event to the waiters, or keep it; returns how many wakers it took (no
    /// longer waiting).
    fn notify(&self, dir: Direction) -> usize {
        // Before the lock: see `arm_waker`.
        self.async_ready(dir).event();
        let mut state = self.dir(dir).lock().unwrap_or_else(|e| e.into_inner());
        let waker = state.waker.take();
        if state.waiters.is_empty() {
            state.ready = true;
        }
        let waiters = std::mem::take(&mut state.waiters);
        drop(state);
        for (_, waiter) in waiters {
            waiter.unpark();
        }
        match waker {
            Some(w) => {
                w.wake();
                1
            }
            None => 0,
        }
    }

    /// Drop the stored wakers (the descriptor is leaving); returns how many there were.
    fn drop_wakers(&self) -> usize {
        [Direction::Read, Direction::Write]
            .into_iter()
            .filter(|&d| {
                self.dir(d)
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .waker
                    .take()
                    .is_some()
            })
            .count()
    }
}

struct PollState {
    poll: Poll,
    events: Events,
}

/// One runtime's epoll instance.
pub(crate) struct Poller {
    registry: Registry,
    state: Mutex<PollState>,
    waker: Waker,
    /// The worker blocked in `epoll_wait`, or `usize::MAX`.
    owner: AtomicUsize,
    /// Goroutines parked on a socket right now, and wakers stored by `poll_*_ready`.
    waiting: AtomicUsize,
    /// Deregistered descriptors not yet freed (see the module docs).
    released: Mutex<Vec<Arc<IoDesc>>>,
    /// When a poll last looked at the kernel (runtime clock), for the monitor.
    last_poll: AtomicU64,
    next_key: AtomicU64,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        Ok(Poller {
            registry: poll.registry().try_clone()?,
            state: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(EVENTS_PER_POLL),
            }),
            waker,
            owner: AtomicUsize::new(usize::MAX),
            waiting: AtomicUsize::new(0),
            released: Mutex::new(Vec::new()),
            last_poll: AtomicU64::new(0),
            next_key: AtomicU64::new(1),
        })
    }

    /// Register `fd` for both directions, edge-triggered.
    pub(crate) fn register(&self, fd: i32) -> io::Result<Arc<IoDesc>> {
        let desc = Arc::new(IoDesc::default());
        let token = Token(Arc::as_ptr(&desc) as usize);
        self.registry.register(
            &mut SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(desc)
    }

    /// Undo [`register`](Self::register); `fd` must still be open.
    pub(crate) fn deregister(&self, fd: i32, desc: Arc<IoDesc>) {
        let _ = self.registry.deregister(&mut SourceFd(&fd));
        self.waiting.fetch_sub(desc.drop_wakers(), Ordering::SeqCst);
        match self.state.try_lock() {
            // Nobody is handling an event batch: no event can point to it any more.
            Ok(_guard) => drop(desc),
            Err(_) => self
                .released
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(desc),
        }
    }

    pub(crate) fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// A goroutine starts or stops waiting on a socket.
    pub(crate) fn add_waiting(&self, delta: isize) {
        if delta > 0 {
            self.waiting.fetch_add(delta as usize, Ordering::SeqCst);
        } else {
            self.waiting.fetch_sub((-delta) as usize, Ordering::SeqCst);
        }
    }

    /// Whether any goroutine is parked on a socket (then a deadlock is not reported:
    /// the network may still wake it).
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Goroutines parked on a socket or fd now (for metrics).
    pub(crate) fn waiters(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// The worker blocked in the poller, if any.
    pub(crate) fn owner(&self) -> usize {
        self.owner.load(Ordering::SeqCst)
    }

    pub(crate) fn try_own(&self, index: usize) -> bool {
        self.owner
            .compare_exchange(usize::MAX, index, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    pub(crate) fn disown(&self, index: usize) {
        let _ = self
            .owner
            .compare_exchange(index, usize::MAX, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Interrupt a blocking poll.
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    pub(crate) fn last_poll(&self) -> u64 {
        self.last_poll.load(Ordering::Relaxed)
    }

    /// Poll once, waiting up to `timeout` (`None`: until an event or a wake), and wake
    /// the goroutines whose sockets became ready. `after_wait` runs between the wait
    /// and the wake-ups (a sleeping worker leaves the sleepers there). Returns the
    /// number of socket events, or `None` if someone else holds the poller and
    /// `blocking` is false.
    pub(crate) fn poll(
        &self,
        timeout: Option<Duration>,
        now: u64,
        after_wait: impl FnOnce(),
    ) -> Option<usize> {
        let mut state = match timeout {
            Some(t) if t.is_zero() => match self.state.try_lock() {
                Ok(s) => s,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                Err(TryLockError::WouldBlock) => return None,
            },
            _ => self.state.lock().unwrap_or_else(|e| e.into_inner()),
        };
        // Every batch before this one is handled: released descriptors are unreachable.
        let released =
            std::mem::take(&mut *self.released.lock().unwrap_or_else(|e| e.into_inner()));
        drop(released);
        self.last_poll.store(now, Ordering::Relaxed);
        let PollState { poll, events } = &mut *state;
        if let Err(err) = poll.poll(events, timeout) {
            if err.kind() != io::ErrorKind::Interrupted {
                eprintln!("goru: epoll_wait failed: {err}");
            }
            events.clear();
        }
        after_wait();
        let mut n = 0;
        for event in events.iter() {
            if event.token() == WAKER {
                continue;
            }
            n += 1;
            // SAFETY: a registered descriptor is freed only under this lock, after its
            // deregistration, and no event batch that could name it is being handled
            // then (module docs); we hold the lock.
            let desc = unsafe { &*(event.token().0 as *const IoDesc) };
            let mut wakers = 0;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                wakers += desc.notify(Direction::Read);
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                wakers += desc.notify(Direction::Write);
            }
            if wakers > 0 {
                self.waiting.fetch_sub(wakers, Ordering::SeqCst);
            }
        }
        Some(n)
    }
}

impl super::Shared {
    /// Wake worker `index` wherever it sleeps: on its parker or in the poller.
    ///
    /// Dekker pair with `Worker::sleep`: we set the parker's token, then (SeqCst) look
    /// for the owner; the worker claims ownership (SeqCst), then looks for the token.
    /// Either it sees our token and does not block, or we see it owning and poke the
    /// poller.
    pub(crate) fn wake_worker(&self, index: usize) {
        self.slots[index].parker.unpark();
        fence(Ordering::SeqCst);
        if self.poller.owner() == index {
            self.poller.wake();
        }
    }

    /// A non-blocking poll from a busy thread (a worker out of local work, the monitor).
    pub(crate) fn poll_ready_sockets(&self) -> usize {
        if !self.poller.has_waiters() || self.poller.owner() != usize::MAX {
            return 0;
        }
        self.poller
            .poll(Some(Duration::ZERO), self.now_nanos(), || {})
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::task::{Wake, Waker};

    /// A waker that raises a flag a thread can wait on.
    #[derive(Default)]
    struct Flag {
        raised: Mutex<bool>,
        cond: Condvar,
    }

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            *self.raised.lock().unwrap() = true;
            self.cond.notify_all();
        }
    }

    impl Flag {
        /// Wait for a wake; false if none came within the bound.
        fn wait(&self) -> bool {
            let guard = self.raised.lock().unwrap();
            let (mut raised, _) = self
                .cond
                .wait_timeout_while(guard, Duration::from_secs(10), |r| !*r)
                .unwrap();
            std::mem::replace(&mut *raised, false)
        }
    }

    /// The poll-readiness protocol under a racing producer: a consumer that drains,
    /// clears readiness after finding nothing, then stores its waker never misses an
    /// event (the check-then-store window is what the atomic word must cover). The
    /// producer waits for each item to be taken before it makes the next, so every
    /// event is the last one for a while: a lost wake-up stalls the consumer for good.
    #[test]
    fn poll_readiness_never_loses_an_event() {
        const ITEMS: usize = 20_000;
        let desc = Arc::new(IoDesc::default());
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = Arc::new(AtomicUsize::new(0));
        let producer = {
            let (desc, queued, taken) = (desc.clone(), queued.clone(), taken.clone());
            std::thread::spawn(move || {
                for i in 0..ITEMS {
                    queued.fetch_add(1, Ordering::SeqCst);
                    desc.notify(Direction::Read);
                    while taken.load(Ordering::SeqCst) <= i {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        while taken.load(Ordering::SeqCst) < ITEMS {
            let seen = desc.readiness(Direction::Read);
            let got = queued.swap(0, Ordering::SeqCst);
            if got > 0 {
                taken.fetch_add(got, Ordering::SeqCst);
                continue;
            }
            // "WouldBlock": nothing was there when we looked.
            desc.clear_async_ready(Direction::Read, seen);
            let (ready, _) = desc.arm_waker(Direction::Read, &waker);
            if !ready {
                let n = taken.load(Ordering::SeqCst);
                assert!(flag.wait(), "lost wake-up with {n} of {ITEMS} taken");
            }
        }
        producer.join().unwrap();
    }
}
