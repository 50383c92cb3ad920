//! TCP: listener and stream, std's API with goroutine-parking waits.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use super::accept_backoff::BackingOff;
use super::pollio::{Limits, PollIo};
use super::{check_timeout, each_addr, Timeouts};
use crate::context::Context;
use crate::sched::poller::Direction;

/// A TCP socket server, as `std::net::TcpListener`, whose `accept` parks the goroutine.
///
/// ```
/// use std::io::{Read, Write};
/// use goru::net::{TcpListener, TcpStream};
///
/// goru::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     goru::go(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf).unwrap();
///         conn.write_all(&buf).unwrap(); // echo
///     });
///     let mut stream = TcpStream::connect(addr).unwrap();
///     stream.write_all(b"hello").unwrap();
///     let mut reply = String::new();
///     stream.read_to_string(&mut reply).unwrap();
///     assert_eq!(reply, "hello");
/// });
/// ```
pub struct TcpListener {
    io: PollIo<mio::net::TcpListener>,
}

/// A TCP connection, as `std::net::TcpStream`, whose reads, writes and connect park
/// the goroutine instead of blocking its worker. `Read` and `Write` are implemented for
/// `&TcpStream` too, so one goroutine may read while another writes.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use goru::net::{TcpListener, TcpStream};
/// goru::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     goru::go(move || {
///         for conn in listener.incoming() {
///             let mut conn = conn.unwrap();
///             goru::go(move || conn.write_all(b"hello\n").unwrap()); // a goroutine per connection
///         }
///     });
///     let stream = TcpStream::connect(addr).unwrap();
///     let mut line = String::new();
///     BufReader::new(&stream).read_line(&mut line).unwrap();
///     assert_eq!(line, "hello\n");
/// });
/// ```
pub struct TcpStream {
    io: PollIo<mio::net::TcpStream>,
    timeouts: Timeouts,
}

impl TcpListener {
    /// Bind to the first of `addr`'s addresses that works (SO_REUSEADDR is set, as Go
    /// and mio do).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            mio::net::TcpListener::bind(a).map(|l| TcpListener { io: PollIo::new(l) })
        })
    }

    /// Wrap a std listener (switched to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollIo::new(mio::net::TcpListener::from_std(listener)),
        })
    }

    /// Wait for a connection.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_within(Limits::default())
    }

    /// Wait for a connection until `ctx` is cancelled; then the error's kind is
    /// `Other` (cancelled) or `TimedOut` (deadline), with the
    /// [`ContextError`](crate::context::ContextError) inside. This is how a server
    /// stops accepting on shutdown.
    pub fn accept_context(&self, ctx: &Context) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_within(Limits::context(ctx))
    }

    fn accept_within(&self, limits: Limits<'_>) -> io::Result<(TcpStream, SocketAddr)> {
        self.io
            .run(Direction::Read, limits, |l| l.accept())
            .map(|(s, a)| (TcpStream::wrap(s), a))
    }

    /// An endless iterator of accepted connections (as std's `incoming`). After an
    /// error that passes once descriptors or memory free up (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`), the next accept waits 5 ms, doubling up to 1 s, as Go's
    /// `http.Server` does, so that a loop that logs the error does not spin at full
    /// CPU; a success starts the backoff over.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: BackingOff::default(),
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Set the IP time-to-live of accepted sockets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

/// The iterator of [`TcpListener::incoming`].
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: BackingOff,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        let listener = self.listener;
        Some(self.backoff.accept(|| listener.accept().map(|(s, _)| s)))
    }
}

impl TcpStream {
    fn wrap(stream: mio::net::TcpStream) -> TcpStream {
        TcpStream {
            io: PollIo::new(stream),
            timeouts: Timeouts::default(),
        }
    }

    /// Connect to the first of `addr`'s addresses that accepts. Name resolution, if
    /// `addr` needs one, blocks the worker; resolve through [`crate::blocking`] first
    /// where that matters.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| TcpStream::connect_within(a, Limits::default()))
    }

    /// Connect, giving up after `timeout` with a `TimedOut` error.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        check_timeout(Some(timeout))?;
        TcpStream::connect_within(*addr, Limits::timeout(Some(timeout))).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
            } else {
                e
            }
        })
    }

    /// Connect, giving up when `ctx` is cancelled (Go's `DialContext`).
    pub fn connect_context(ctx: &Context, addr: &SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_within(*addr, Limits::context(ctx))
    }

    fn connect_within(addr: SocketAddr, limits: Limits<'_>) -> io::Result<TcpStream> {
        let stream = TcpStream::wrap(mio::net::TcpStream::connect(addr)?);
        // A non-blocking connect is in progress: wait until the socket is writable,
        // then ask it how the connect went (mio's documented protocol).
        stream.io.run(Direction::Write, limits, |s| {
            if let Some(err) = s.take_error()? {
                return Err(err);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(stream)
    }

    /// Wrap a connected std stream (switched to non-blocking mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::wrap(mio::net::TcpStream::from_std(stream)))
    }

    /// A second handle to the same connection (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let fd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        let clone = TcpStream::wrap(mio::net::TcpStream::from_std(fd.into()));
        let (read, write) = self.timeouts.get();
        clone.timeouts.set_read(read)?;
        clone.timeouts.set_write(write)?;
        Ok(clone)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Shut down the read half, the write half, or both. A goroutine parked in `read`
    /// on this connection then sees end of file.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Bound every later `read` (`None`: no bound). A read that times out returns
    /// `WouldBlock`, as std's does on Linux. `Some(Duration::ZERO)` is an error.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// goru::run(|| {
    ///     let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut stream = goru::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = stream.read(&mut [0; 8]).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// });
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Bound every later `write`, as [`set_read_timeout`](Self::set_read_timeout).
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

    /// Set TCP_NODELAY.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Read TCP_NODELAY.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// One read attempt that never waits: `WouldBlock` if no data is there. With
    /// [`poll_read_ready`](Self::poll_read_ready) it is the readiness API that async
    /// code (hyper's I/O traits, tokio's) is built on.
    ///
    /// ```
    /// use std::io::Write;
    /// goru::run(|| {
    ///     let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let client = goru::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let (mut server, _) = listener.accept().unwrap();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(client.try_read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    ///     server.write_all(b"hi").unwrap();
    ///     let n = goru::block_on(async {
    ///         loop {
    ///             std::future::poll_fn(|cx| client.poll_read_ready(cx)).await.unwrap();
    ///             match client.try_read(&mut buf) {
    ///                 Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///                 r => break r.unwrap(),
    ///             }
    ///         }
    ///     });
    ///     assert_eq!(&buf[..n], b"hi");
    /// });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// One write attempt that never waits: `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// `Ready` while a read may make progress (until a [`try_read`](Self::try_read)
    /// meets `WouldBlock`), else `Pending`, with the task woken by the runtime's poller
    /// when that changes. A `Ready` may be spurious: try the read, and poll again on
    /// `WouldBlock`. Call it from a goroutine (inside [`block_on`](crate::block_on)).
    pub fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx)
    }

    /// As [`poll_read_ready`](Self::poll_read_ready), for room to write.
    pub fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Read without consuming, waiting for data like `read`.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.timeouts.read_limits(), |s| {
                s.peek(buf)
            })
    }

    /// Read until `ctx` is cancelled (see [`TcpListener::accept_context`] for the
    /// error). The read timeout, if set, applies too.
    pub fn read_context(&self, ctx: &Context, buf: &mut [u8]) -> io::Result<usize> {
        let limits = Limits::context_and(ctx, self.timeouts.read_limits());
        self.io.run(Direction::Read, limits, |mut s| s.read(buf))
    }

    /// Write until `ctx` is cancelled (see [`TcpListener::accept_context`] for the
    /// error). The write timeout, if set, applies too.
    pub fn write_context(&self, ctx: &Context, buf: &[u8]) -> io::Result<usize> {
        let limits = Limits::context_and(ctx, self.timeouts.write_limits());
        self.io.run(Direction::Write, limits, |mut s| s.write(buf))
    }

    /// For streams layered on this one (TLS): `op` on the socket, parking between tries
    /// while it says `WouldBlock`, within this socket's timeout for `dir`.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn run_io<R>(
        &self,
        dir: Direction,
        op: impl FnMut(&mio::net::TcpStream) -> io::Result<R>,
    ) -> io::Result<R> {
        let limits = match dir {
            Direction::Read => self.read_limits(),
            Direction::Write => self.write_limits(),
        };
        self.io.run(dir, limits, op)
    }

    /// A read for poll-driven I/O: see `PollIo::try_read_draining`.
    pub(crate) fn try_read_drain(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_draining(buf)
    }

    /// For streams layered on this one: one attempt of `op`, as `try_read` makes.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&mio::net::TcpStream) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(dir, op)
    }

    fn read_limits(&self) -> Limits<'static> {
        self.timeouts.read_limits()
    }

    fn write_limits(&self) -> Limits<'static> {
        self.timeouts.write_limits()
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.read_limits(), |mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.run(Direction::Read, self.read_limits(), |mut s| {
            s.read_vectored(bufs)
        })
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Write, self.write_limits(), |mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.run(Direction::Write, self.write_limits(), |mut s| {
            s.write_vectored(bufs)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // nothing is buffered in user space
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
