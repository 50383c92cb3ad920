//! Networking whose blocking calls park the goroutine, not the thread (Go's netpoller).
//!
//! [`TcpListener`], [`TcpStream`] and [`UdpSocket`] mirror `std::net`;
//! [`UnixListener`], [`UnixStream`] and [`UnixDatagram`] mirror `std::os::unix::net`. Their sockets are
//! non-blocking underneath: an operation that would block registers the socket with
//! the runtime's epoll poller and parks the goroutine; its worker runs other goroutines
//! until the socket is ready. A server is therefore written as in Go, one goroutine per
//! connection with plain `read` and `write` calls, and scales to many thousands of
//! connections on a few threads. Used from a plain thread, the same calls block that
//! thread, like std's.
//!
//! # Timeouts and cancellation
//!
//! `set_read_timeout`/`set_write_timeout` bound each call; one that times out returns
//! `ErrorKind::WouldBlock`, as std's sockets do on Linux. To give up a pending call
//! when a [`Context`](crate::context::Context) is cancelled, use the `_context`
//! variants: [`TcpListener::accept_context`], [`TcpStream::read_context`],
//! [`TcpStream::connect_context`], [`UdpSocket::recv_from_context`]. They return an
//! error of kind `Other` (cancelled) or `TimedOut` (deadline passed) that holds the
//! [`ContextError`](crate::context::ContextError). Another way, as in Go, is to shut
//! the connection down from another goroutine: a parked `read` then sees end of file.
//!
//! Sockets are not available inside [`check::explore`](crate::check::explore): there
//! they panic with a message saying so.
//!
//! ```
//! use goru::{context, net::TcpListener};
//! use std::time::Duration;
//!
//! goru::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(20));
//!     let err = listener.accept_context(&ctx).unwrap_err();
//!     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
//! });
//! ```

pub(crate) mod accept_backoff;
mod hosts;
mod lookup;
pub(crate) mod pollio;
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) mod readiness;
mod tcp;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod udp;
mod unix;

pub use lookup::lookup_host;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

use pollio::Limits;

/// A socket's read and write timeouts (`None`: wait as long as it takes).
#[derive(Default)]
pub(crate) struct Timeouts {
    inner: Mutex<(Option<Duration>, Option<Duration>)>,
}

impl Timeouts {
    pub(crate) fn get(&self) -> (Option<Duration>, Option<Duration>) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_read(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0 = timeout;
        Ok(())
    }

    pub(crate) fn set_write(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1 = timeout;
        Ok(())
    }

    pub(crate) fn read_limits(&self) -> Limits<'static> {
        Limits::timeout(self.get().0)
    }

    pub(crate) fn write_limits(&self) -> Limits<'static> {
        Limits::timeout(self.get().1)
    }
}

/// Try `f` on each address in turn; the last error if none works (std's `each_addr`).
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    crate::sched::driver::forbid("goru::net");
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// std refuses a zero timeout with `InvalidInput`; so do we.
fn check_timeout(timeout: Option<Duration>) -> io::Result<()> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(())
}
