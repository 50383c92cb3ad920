//! Unix domain sockets: std's `std::os::unix::net` API with goroutine-parking waits.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use super::accept_backoff::BackingOff;
use super::pollio::{Limits, PollIo};
use super::readiness::{assume_writable, Readiness};
use super::Timeouts;
use crate::context::Context;
use crate::sched::poller::Direction;

/// A Unix socket server, as `std::os::unix::net::UnixListener`, whose `accept` parks
/// the goroutine.
///
/// ```
/// use std::io::{Read, Write};
/// use goru::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("goru-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// goru::run(move || {
///     let listener = UnixListener::bind(&path).unwrap();
///     goru::go(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         conn.write_all(b"hello").unwrap();
///     });
///     let mut client = UnixStream::connect(&path).unwrap();
///     let mut reply = String::new();
///     client.read_to_string(&mut reply).unwrap();
///     assert_eq!(reply, "hello");
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct UnixListener {
    io: PollIo<mio::net::UnixListener>,
}

/// A Unix stream connection, as `std::os::unix::net::UnixStream`, whose reads and
/// writes park the goroutine. `Read` and `Write` are implemented for `&UnixStream`
/// too, so one goroutine may read while another writes.
pub struct UnixStream {
    io: PollIo<mio::net::UnixStream>,
    timeouts: Timeouts,
}

/// A Unix datagram socket, as `std::os::unix::net::UnixDatagram`.
///
/// ```
/// goru::run(|| {
///     let (a, b) = goru::net::UnixDatagram::pair().unwrap();
///     a.send(b"ping").unwrap();
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct UnixDatagram {
    io: PollIo<mio::net::UnixDatagram>,
    timeouts: Timeouts,
}

impl UnixListener {
    /// Bind to the socket file at `path` (which must not exist yet, as with std).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        crate::sched::driver::forbid("goru::net");
        Ok(UnixListener {
            io: PollIo::new(mio::net::UnixListener::bind(path)?),
        })
    }

    /// Wrap a std listener (switched to non-blocking mode).
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollIo::new(mio::net::UnixListener::from_std(listener)),
        })
    }

    /// Wait for a connection.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        self.accept_within(Limits::default())
    }

    /// Wait for a connection until `ctx` is cancelled (see
    /// [`TcpListener::accept_context`](super::TcpListener::accept_context)).
    pub fn accept_context(&self, ctx: &Context) -> io::Result<(UnixStream, SocketAddr)> {
        self.accept_within(Limits::context(ctx))
    }

    fn accept_within(&self, limits: Limits<'_>) -> io::Result<(UnixStream, SocketAddr)> {
        self.io
            .run(Direction::Read, limits, |l| l.accept())
            .map(|(s, a)| (UnixStream::wrap(s), a))
    }

    /// An endless iterator of accepted connections. After an error that passes once
    /// descriptors or memory free up (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), the
    /// next accept waits 5 ms, doubling up to 1 s, as Go's `http.Server` does, so that
    /// a loop that logs the error does not spin at full CPU.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<UnixStream>> + '_ {
        let mut backoff = BackingOff::default();
        std::iter::repeat_with(move || backoff.accept(|| self.accept().map(|(s, _)| s)))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl UnixStream {
    fn wrap(stream: mio::net::UnixStream) -> UnixStream {
        UnixStream {
            io: PollIo::new(stream),
            timeouts: Timeouts::default(),
        }
    }

    /// Connect to the socket at `path`. A local connect completes at once or fails
    /// (`NotFound`, `ConnectionRefused`); a listener whose backlog is full makes it park.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        crate::sched::driver::forbid("goru::net");
        let stream = UnixStream::wrap(mio::net::UnixStream::connect(path)?);
        // As for TCP: writable once connected; then ask how it went.
        stream.io.run(Direction::Write, Limits::default(), |s| {
            match s.take_error()? {
                Some(err) => Err(err),
                None => Ok(()),
            }
        })?;
        Ok(stream)
    }

    /// A connected pair, as `std`'s `UnixStream::pair`.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::wrap(a), UnixStream::wrap(b)))
    }

    /// Wrap a connected std stream (switched to non-blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream::wrap(mio::net::UnixStream::from_std(stream)))
    }

    /// A second handle to the same connection (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        let fd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        let clone = UnixStream::wrap(mio::net::UnixStream::from_std(fd.into()));
        let (read, write) = self.timeouts.get();
        clone.timeouts.set_read(read)?;
        clone.timeouts.set_write(write)?;
        Ok(clone)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shut down the read half, the write half, or both; a goroutine parked in `read`
    /// then sees end of file.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Bound every later `read`; a read that times out returns `WouldBlock`, as std's.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Bound every later `write`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get().0)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get().1)
    }

    /// Read until `ctx` is cancelled; the read timeout applies too.
    pub fn read_context(&self, ctx: &Context, buf: &mut [u8]) -> io::Result<usize> {
        let limits = Limits::context_and(ctx, self.timeouts.read_limits());
        self.io.run(Direction::Read, limits, |mut s| s.read(buf))
    }

    /// Write until `ctx` is cancelled; the write timeout applies too.
    pub fn write_context(&self, ctx: &Context, buf: &[u8]) -> io::Result<usize> {
        let limits = Limits::context_and(ctx, self.timeouts.write_limits());
        self.io.run(Direction::Write, limits, |mut s| s.write(buf))
    }

    /// One read attempt that never waits (see [`TcpStream::try_read`](super::TcpStream::try_read)).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// One write attempt that never waits.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// Readiness to read, for futures (see [`TcpStream::poll_read_ready`](super::TcpStream::poll_read_ready)).
    pub fn poll_read_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx)
    }

    /// Readiness to write, for futures.
    pub fn poll_write_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }
}

impl Read for &UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.timeouts.read_limits(), |mut s| {
                s.read(buf)
            })
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.timeouts.read_limits(), |mut s| {
                s.read_vectored(bufs)
            })
    }
}

impl Write for &UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Write, self.timeouts.write_limits(), |mut s| {
                s.write(buf)
            })
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .run(Direction::Write, self.timeouts.write_limits(), |mut s| {
                s.write_vectored(bufs)
            })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Readiness for UnixStream {
    fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        // SAFETY: read(2) only writes into the buffer; the caller counts as initialised
        // only the `n` bytes it reports.
        self.io.try_read_draining(unsafe { assume_writable(buf) })
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        UnixStream::try_write(self, buf)
    }

    fn poll_read_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_read_ready(self, cx)
    }

    fn poll_write_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_write_ready(self, cx)
    }
}

impl UnixDatagram {
    fn wrap(socket: mio::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            io: PollIo::new(socket),
            timeouts: Timeouts::default(),
        }
    }

    /// Bind to the socket file at `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram::wrap(mio::net::UnixDatagram::bind(path)?))
    }

    /// A socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram::wrap(mio::net::UnixDatagram::unbound()?))
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::wrap(a), UnixDatagram::wrap(b)))
    }

    /// Send to and receive from only the socket at `path`.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Send a datagram to the connected peer (parks while the peer's queue is full).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Write, self.timeouts.write_limits(), |s| {
                s.send(buf)
            })
    }

    /// Send a datagram to the socket at `path`.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.io
            .run(Direction::Write, self.timeouts.write_limits(), |s| {
                s.send_to(buf, path)
            })
    }

    /// Receive a datagram.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.timeouts.read_limits(), |s| {
                s.recv(buf)
            })
    }

    /// Receive a datagram and the address it came from.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .run(Direction::Read, self.timeouts.read_limits(), |s| {
                s.recv_from(buf)
            })
    }

    /// Receive until `ctx` is cancelled; the read timeout applies too.
    pub fn recv_context(&self, ctx: &Context, buf: &mut [u8]) -> io::Result<usize> {
        let limits = Limits::context_and(ctx, self.timeouts.read_limits());
        self.io.run(Direction::Read, limits, |s| s.recv(buf))
    }

    /// One receive attempt that never waits.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// One send attempt to the connected peer that never waits.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Readiness to receive, for futures.
    pub fn poll_read_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx)
    }

    /// Readiness to send, for futures.
    pub fn poll_write_ready(&self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Bound every later receive (a timeout returns `WouldBlock`).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Bound every later send.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shut down reading, writing, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

macro_rules! fd_and_debug {
    ($($ty:ident),*) => {$(
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("local", &self.local_addr().ok())
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    )*};
}

fd_and_debug!(UnixListener, UnixStream, UnixDatagram);
