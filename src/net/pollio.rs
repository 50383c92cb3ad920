//! A non-blocking socket whose waits park the goroutine on the runtime's poller.
//!
//! Every operation is tried first; only on `WouldBlock` does the caller wait for
//! readiness, then try again (Go's `fd.Read` loop around `pollDesc.waitRead`). The
//! socket registers with a runtime's poller the first time a goroutine of that runtime
//! waits on it. On a plain thread the wait is a `poll(2)` on the descriptor, so the
//! same socket works from threads and goroutines alike.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::context::{Context, ContextError};
use crate::goroutine;
use crate::park::{self, Unparker, WaitReason};
use crate::sched::poller::{Direction, IoDesc, Poller};
use crate::sched::Shared;

pub(crate) struct PollIo<S: AsRawFd> {
    io: S,
    /// The registration in use, read without a lock by every wait and readiness
    /// check: null until the first, else the last box in `registrations`.
    current: AtomicPtr<Registration>,
    /// Every registration the socket has had, the current one last. One used with
    /// another runtime before is deregistered from its poller but kept until the
    /// socket drops, so a reader of `current` that raced the change never sees it
    /// freed. (A socket moves between runtimes rarely, so this stays short.)
    #[allow(clippy::vec_box)] // boxed for addresses that stay put when the Vec grows
    registrations: Mutex<Vec<Box<Registration>>>,
}

struct Registration {
    poller: Arc<Poller>,
    desc: Arc<IoDesc>,
}

/// What bounds one wait: an absolute deadline, a context, or both.
#[derive(Clone, Copy, Default)]
pub(crate) struct Limits<'a> {
    pub(crate) deadline: Option<Instant>,
    pub(crate) ctx: Option<&'a Context>,
}

impl<'a> Limits<'a> {
    pub(crate) fn timeout(timeout: Option<Duration>) -> Limits<'a> {
        Limits {
            deadline: timeout.map(|t| crate::time::now() + t),
            ctx: None,
        }
    }

    pub(crate) fn context(ctx: &'a Context) -> Limits<'a> {
        Limits {
            deadline: ctx.deadline(),
            ctx: Some(ctx),
        }
    }

    /// `ctx`, and also `timeout` (a socket's own timeout limits), whichever ends first:
    /// what a `_context` call on a socket with a timeout waits within.
    pub(crate) fn context_and(ctx: &'a Context, timeout: Limits<'static>) -> Limits<'a> {
        let mut limits = Limits::context(ctx);
        if let Some(t) = timeout.deadline {
            limits.deadline = Some(limits.deadline.map_or(t, |d| d.min(t)));
        }
        limits
    }

    /// The error that ends the wait, if its time is up or its context cancelled.
    fn expired(&self) -> Option<io::Error> {
        if let Some(err) = self.ctx.and_then(Context::err) {
            return Some(context_error(err));
        }
        if self.deadline.is_some_and(|d| crate::time::now() >= d) {
            // What std's sockets give on Linux when a read or write timeout passes.
            return Some(io::Error::new(
                io::ErrorKind::WouldBlock,
                "operation timed out",
            ));
        }
        None
    }
}

/// A cancelled context as an `io::Error`: `TimedOut` for a passed deadline, `Other`
/// for a cancellation, with the [`ContextError`] inside.
pub(crate) fn context_error(err: ContextError) -> io::Error {
    let kind = match err {
        ContextError::DeadlineExceeded => io::ErrorKind::TimedOut,
        ContextError::Canceled => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

impl<S: AsRawFd> PollIo<S> {
    pub(crate) fn new(io: S) -> PollIo<S> {
        PollIo {
            io,
            current: AtomicPtr::new(std::ptr::null_mut()),
            registrations: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }

    /// The source, taken out (deregistered first).
    pub(crate) fn into_inner(self) -> S {
        let mut this = std::mem::ManuallyDrop::new(self);
        let registrations = std::mem::take(
            this.registrations
                .get_mut()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if let Some(r) = registrations.last() {
            r.poller.deregister(this.io.as_raw_fd(), r.desc.clone());
        }
        drop(registrations);
        // SAFETY: `this` is never used or dropped again; `io` is read out once and the
        // other fields (the emptied registration list, a plain pointer) are dropped
        // here by hand, so nothing is dropped twice and `PollIo::drop` does not run.
        unsafe {
            std::ptr::drop_in_place(&mut this.registrations);
            std::ptr::read(&this.io)
        }
    }

    /// Run `op` until it does something other than `WouldBlock`, waiting for `dir`
    /// between tries, within `limits`.
    pub(crate) fn run<R>(
        &self,
        dir: Direction,
        limits: Limits<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
            if let Some(err) = limits.expired() {
                return Err(err);
            }
            self.wait(dir, limits)?;
        }
    }

    /// Wait until `dir` may be ready (or spuriously, or the limits expire: the caller
    /// re-checks both).
    pub(crate) fn wait(&self, dir: Direction, limits: Limits<'_>) -> io::Result<()> {
        let Some(g) = goroutine::current() else {
            return wait_thread(self.io.as_raw_fd(), dir, limits);
        };
        crate::sched::driver::forbid("goru::net");
        let runtime = g.runtime();
        let desc = self.desc_for(runtime)?;
        let poller = &runtime.poller;
        let key = poller.next_key();
        if !desc.arm(dir, key, Unparker::Goroutine(g.clone())) {
            return Ok(()); // an event came since the last try
        }
        poller.add_waiting(1);
        let watch = limits
            .ctx
            .and_then(|c| c.watch(Unparker::Goroutine(g.clone())));
        match limits.deadline {
            Some(at) => crate::time::park_until(WaitReason::IoWait, at),
            None => park::park(WaitReason::IoWait),
        }
        drop(watch);
        poller.add_waiting(-1);
        desc.disarm(dir, key);
        Ok(())
    }

    /// One attempt of `op`, for the readiness API (`try_read`, `try_write`): a
    /// `WouldBlock` clears the direction's readiness for `poll_ready`, unless an event
    /// came while the attempt ran.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_until_drained(dir, op, |_| false)
    }

    /// One read of a stream socket for poll-driven I/O (tokio's `AsyncRead`, hyper):
    /// as `try_read`, but a read that fills less than `buf` also clears readiness (see
    /// [`try_io_until_drained`](Self::try_io_until_drained)), saving a `WouldBlock`
    /// system call per read.
    pub(crate) fn try_read_draining(&self, buf: &mut [u8]) -> io::Result<usize>
    where
        for<'s> &'s S: std::io::Read,
    {
        use std::io::Read;
        let len = buf.len();
        self.try_io_until_drained(Direction::Read, |mut s| s.read(buf), |&n| n > 0 && n < len)
    }

    /// [`try_io`](Self::try_io), also clearing readiness when `drained` says a
    /// successful result emptied the socket. A stream read that fills less than its
    /// buffer has taken all there was (tokio's `poll_read` reasons the same way), so
    /// the next read waits for an event instead of making a system call only to hear
    /// `WouldBlock`. An event that comes meanwhile still counts (the event check).
    fn try_io_until_drained<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
        drained: impl FnOnce(&R) -> bool,
    ) -> io::Result<R> {
        let desc = self.current_registration().map(|r| &*r.desc);
        let seen = desc.map(|d| d.readiness(dir));
        let result = op(&self.io);
        if let (Some(desc), Some(seen)) = (desc, seen) {
            let clear = match &result {
                Ok(r) => drained(r),
                Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            };
            if clear {
                desc.clear_async_ready(dir, seen);
            }
        }
        result
    }

    /// Readiness for a future (`poll_read_ready`, `poll_write_ready`), in tokio's
    /// model: `Ready` until a [`try_io`](Self::try_io) meets `WouldBlock`, then
    /// `Pending` with the task's waker stored for the next event. A `Ready` may be
    /// spurious, but an event is never missed. Needs a goroutine, whose runtime's
    /// poller does the watching.
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let Some(g) = goroutine::current_ptr() else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "goru: socket readiness is watched by a runtime's poller: poll it from a \
                 goroutine (inside goru::block_on), not from a plain thread",
            )));
        };
        // SAFETY: the running goroutine is alive, and keeps its runtime alive, while it
        // runs; no reference outlives this call.
        let runtime = unsafe { (*g).runtime() };
        let desc = match self.desc_for(runtime) {
            Ok(desc) => desc,
            Err(err) => return Poll::Ready(Err(err)),
        };
        let (ready, newly_waiting) = desc.arm_waker(dir, cx.waker());
        if newly_waiting {
            runtime.poller.add_waiting(1);
        }
        if ready {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// The registration in use, if any.
    fn current_registration(&self) -> Option<&Registration> {
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: a non-null `current` points into a box of `registrations`, and no
        // box is freed before `self` is dropped (the field's invariant).
        (!current.is_null()).then(|| unsafe { &*current })
    }

    /// The descriptor registered with `runtime`'s poller, registering it (and leaving
    /// the poller of a runtime it was used with before) if needed.
    fn desc_for(&self, runtime: &Shared) -> io::Result<&IoDesc> {
        if let Some(r) = self.current_registration() {
            if Arc::ptr_eq(&r.poller, &runtime.poller) {
                return Ok(&r.desc);
            }
        }
        let mut registrations = self.registrations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = registrations.last() {
            if Arc::ptr_eq(&last.poller, &runtime.poller) {
                return Ok(&self.current_registration().expect("set with the push").desc);
            }
            last.poller
                .deregister(self.io.as_raw_fd(), last.desc.clone());
        }
        let desc = runtime.poller.register(self.io.as_raw_fd())?;
        let mut registration = Box::new(Registration {
            poller: runtime.poller.clone(),
            desc,
        });
        self.current.store(&mut *registration, Ordering::Release);
        registrations.push(registration);
        drop(registrations);
        Ok(&self.current_registration().expect("just stored").desc)
    }
}

impl<S: AsRawFd> Drop for PollIo<S> {
    fn drop(&mut self) {
        // Runs before `io` closes the descriptor, as deregistration needs it open.
        let registrations = self
            .registrations
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        // Only the current one is still registered; the others left their pollers.
        if let Some(r) = registrations.pop() {
            r.poller.deregister(self.io.as_raw_fd(), r.desc);
        }
    }
}

/// How long a plain thread blocks in `poll(2)` before it looks at its context again.
const THREAD_CONTEXT_SLICE: Duration = Duration::from_millis(20);

/// A plain thread waits in `poll(2)`: the thread itself blocks, as with std sockets.
fn wait_thread(fd: RawFd, dir: Direction, limits: Limits<'_>) -> io::Result<()> {
    let events = match dir {
        Direction::Read => libc::POLLIN,
        Direction::Write => libc::POLLOUT,
    };
    let mut timeout = limits
        .deadline
        .map(|d| d.saturating_duration_since(crate::time::now()));
    if limits.ctx.is_some() {
        timeout = Some(timeout.map_or(THREAD_CONTEXT_SLICE, |t| t.min(THREAD_CONTEXT_SLICE)));
    }
    // Round up so that a wait of 0.5 ms does not become a busy 0 ms poll.
    let millis = timeout.map_or(-1, |t| {
        (t.as_nanos().div_ceil(1_000_000)).min(i32::MAX as u128) as i32
    });
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid pollfd array of length 1 for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, millis) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}
