//! UDP: std's `UdpSocket` API with goroutine-parking waits.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::pollio::{Limits, PollIo};
use super::{each_addr, Timeouts};
use crate::context::Context;
use crate::sched::poller::Direction;

/// A UDP socket whose receives (and sends, when the buffer is full) park the goroutine.
///
/// ```
/// use goru::net::UdpSocket;
///
/// goru::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    io: PollIo<mio::net::UdpSocket>,
    timeouts: Timeouts,
}

impl UdpSocket {
    /// Bind to the first of `addr`'s addresses that works.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| mio::net::UdpSocket::bind(a).map(UdpSocket::wrap))
    }

    fn wrap(socket: mio::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            io: PollIo::new(socket),
            timeouts: Timeouts::default(),
        }
    }

    /// Wrap a std socket (switched to non-blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket::wrap(mio::net::UdpSocket::from_std(socket)))
    }

    /// Set the default peer for `send` and `recv` (and filter what `recv` accepts).
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| self.io.get_ref().connect(a))
    }

    /// Send a datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Write, self.write_limits(), |s| s.send(buf))
    }

    /// One `send` attempt to the connected peer that never waits (`WouldBlock`).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// One `recv` attempt from the connected peer that never waits (`WouldBlock`).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// `Ready` when a datagram may be waiting, else `Pending` with the task woken by
    /// the runtime's poller (see [`TcpStream::poll_read_ready`](super::TcpStream::poll_read_ready)).
    pub fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx)
    }

    /// As [`poll_read_ready`](Self::poll_read_ready), for room to send.
    pub fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Receive a datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .run(Direction::Read, self.read_limits(), |s| s.recv(buf))
    }

    /// Send a datagram to `addr` (its first address).
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        self.io.run(Direction::Write, self.write_limits(), |s| {
            s.send_to(buf, target)
        })
    }

    /// Receive a datagram and the address it came from.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .run(Direction::Read, self.read_limits(), |s| s.recv_from(buf))
    }

    /// Receive until `ctx` is cancelled (see
    /// [`TcpListener::accept_context`](super::TcpListener::accept_context)).
    pub fn recv_from_context(
        &self,
        ctx: &Context,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        self.io
            .run(Direction::Read, Limits::context(ctx), |s| s.recv_from(buf))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Allow sending to broadcast addresses.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Bound every later receive; a receive that times out returns `WouldBlock`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Bound every later send.
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

    fn read_limits(&self) -> Limits<'static> {
        self.timeouts.read_limits()
    }

    fn write_limits(&self) -> Limits<'static> {
        self.timeouts.write_limits()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
