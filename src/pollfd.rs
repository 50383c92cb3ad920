//! [`PollFd`]: any pollable descriptor (a pipe, a tty, an eventfd, inotify, a pidfd)
//! whose reads and writes park the goroutine, as tokio's `AsyncFd` and may's `CoIo`.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use crate::net::pollio::{Limits, PollIo};
use crate::sched::poller::Direction;

/// A descriptor registered with the runtime's poller: reads and writes that would
/// block park the goroutine until it is ready. [`PollFd::new`] switches it to
/// non-blocking mode, and refuses regular files and directories, which epoll cannot
/// watch (use [`goru::fs`](crate::fs) for those).
///
/// `Read` and `Write` (also through `&PollFd`) are the descriptor's own `read(2)` and
/// `write(2)`, available when `T` is `Read` or `Write`.
///
/// ```
/// use std::io::{Read, Write};
/// use goru::io::PollFd;
///
/// goru::run(|| {
///     // Any descriptor std made: here a socket pair (pipes, ttys, eventfds alike).
///     let (r, w) = std::os::unix::net::UnixStream::pair().unwrap();
///     let mut reader = PollFd::new(r).unwrap();
///     let mut writer = PollFd::new(w).unwrap();
///     goru::go(move || {
///         goru::time::sleep(std::time::Duration::from_millis(10));
///         writer.write_all(b"through a descriptor").unwrap();
///     }); // the writer is dropped at the end: end of file
///     let mut got = String::new();
///     reader.read_to_string(&mut got).unwrap(); // parks until the writer is done
///     assert_eq!(got, "through a descriptor");
/// });
/// ```
pub struct PollFd<T: AsFd> {
    io: PollIo<Fd<T>>,
    timeouts: crate::net::Timeouts,
}

/// `T` seen as a raw descriptor, for the poller.
struct Fd<T>(T);

impl<T: AsFd> AsRawFd for Fd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> PollFd<T> {
    /// Take `inner`, switch its descriptor to non-blocking mode and prepare it for the
    /// poller. A regular file or a directory is refused (`InvalidInput`).
    pub fn new(inner: T) -> io::Result<PollFd<T>> {
        let fd = inner.as_fd().as_raw_fd();
        // SAFETY: fstat writes into the zeroed struct it is given; the descriptor is
        // borrowed from `inner`, open for the call.
        let mode = unsafe {
            let mut st = std::mem::zeroed::<libc::stat>();
            if libc::fstat(fd, &mut st) != 0 {
                return Err(io::Error::last_os_error());
            }
            st.st_mode & libc::S_IFMT
        };
        if mode == libc::S_IFREG || mode == libc::S_IFDIR {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "PollFd: a regular file or directory is always ready and epoll refuses it; \
                 use goru::fs, whose calls run on the blocking pool",
            ));
        }
        // SAFETY: F_GETFL/F_SETFL on a descriptor we borrow; failures are checked.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(PollFd {
            io: PollIo::new(Fd(inner)),
            timeouts: crate::net::Timeouts::default(),
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        &self.io.get_ref().0
    }

    /// The wrapped value, unregistered (still in non-blocking mode).
    pub fn into_inner(self) -> T {
        self.io.into_inner().0
    }

    /// Bound every later read; a read that times out returns `WouldBlock`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Bound every later write.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// One `read(2)` that never waits: `WouldBlock` if nothing is there.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |fd| sys_read(fd.as_raw_fd(), buf))
    }

    /// One `write(2)` that never waits.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |fd| sys_write(fd.as_raw_fd(), buf))
    }

    /// Readiness to read, for futures (see
    /// [`TcpStream::poll_read_ready`](crate::net::TcpStream::poll_read_ready)).
    pub fn poll_read_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx)
    }

    /// Readiness to write, for futures.
    pub fn poll_write_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Run `op` until it stops saying `WouldBlock`, parking until the descriptor is
    /// readable between tries, within `limits` (a pidfd: readable once its process
    /// has exited).
    pub(crate) fn run_readable<R>(
        &self,
        limits: Limits<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.run(Direction::Read, limits, |fd| op(&fd.0))
    }

    fn read_parked(&self, buf: &mut [u8]) -> io::Result<usize> {
        let limits: Limits<'static> = self.timeouts.read_limits();
        self.io
            .run(Direction::Read, limits, |fd| sys_read(fd.as_raw_fd(), buf))
    }

    fn write_parked(&self, buf: &[u8]) -> io::Result<usize> {
        let limits: Limits<'static> = self.timeouts.write_limits();
        self.io.run(Direction::Write, limits, |fd| {
            sys_write(fd.as_raw_fd(), buf)
        })
    }
}

fn sys_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length for the duration of the call.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn sys_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length for the duration of the call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

impl<T: AsFd + Read> Read for &PollFd<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_parked(buf)
    }
}

impl<T: AsFd + Read> Read for PollFd<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_parked(buf)
    }
}

impl<T: AsFd + Write> Write for &PollFd<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_parked(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: AsFd + Write> Write for PollFd<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_parked(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: AsFd> AsRawFd for PollFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl<T: AsFd> std::fmt::Debug for PollFd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollFd")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
