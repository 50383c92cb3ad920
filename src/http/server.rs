//! The server: an accept loop, a goroutine per connection driving hyper's connection
//! state machine in `block_on`, and Go's answers to bad input and shutdown.

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper_util::server::conn::auto;

use super::rt::{GoroutineExecutor, GoruTimer, HyperIo, SharedStream};
use super::service::{HandlerService, ServiceResponse, TowerService};
use super::{Body, BoxError, Request, Response};
use crate::context::Context;
use crate::net::accept_backoff::AcceptBackoff;
use crate::net::readiness::Readiness;
use crate::net::{TcpListener, TcpStream};
use crate::sync::WaitGroup;
use crate::time::sleep_future::Sleep;

/// Go's `http.Server`: the settings of [`serve`](super::serve) and its relatives, and a
/// graceful shutdown.
///
/// ```no_run
/// use std::time::Duration;
/// use goru::http::{Body, Response, Server};
///
/// goru::run(|| {
///     let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
///     goru::go(move || {
///         goru::time::sleep(Duration::from_secs(60));
///         cancel.cancel(); // stop accepting, finish what is in flight, return
///     });
///     let listener = goru::net::TcpListener::bind("127.0.0.1:8080").unwrap();
///     Server::new()
///         .read_header_timeout(Some(Duration::from_secs(5)))
///         .shutdown_on(&ctx)
///         .serve(listener, |_req| Response::new(Body::from("hello\n")))
///         .unwrap();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    read_header_timeout: Option<Duration>,
    max_header_bytes: usize,
    shutdown: Option<Context>,
}

impl Default for Server {
    fn default() -> Server {
        Server::new()
    }
}

/// Go's `DefaultMaxHeaderBytes`.
const DEFAULT_MAX_HEADER_BYTES: usize = 1 << 20;

/// hyper refuses a smaller read buffer.
const MIN_HEADER_BUFFER: usize = 8192;

impl Server {
    /// The defaults: headers up to 1 MiB (Go's `DefaultMaxHeaderBytes`), a 30 s header
    /// read timeout (hyper's; Go has none by default, which lets a slow client hold a
    /// connection open forever), no shutdown.
    pub fn new() -> Server {
        Server {
            read_header_timeout: Some(Duration::from_secs(30)),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            shutdown: None,
        }
    }

    /// How long a client may take to send a request's headers (Go's
    /// `ReadHeaderTimeout`; for TLS it bounds the handshake too). Past it, the
    /// connection is closed. It runs from the accept for the first request (Go's way:
    /// a client that connects and says nothing is dropped) and, as hyper counts it,
    /// from the end of the previous response for the next one, so it also bounds how
    /// long a kept-alive connection may sit idle. `None`: no limit.
    pub fn read_header_timeout(mut self, timeout: Option<Duration>) -> Server {
        self.read_header_timeout = timeout;
        self
    }

    /// The most a request's headers may take (Go's `MaxHeaderBytes`); more gets
    /// `431 Request Header Fields Too Large` and the connection closes. Values below
    /// 8 KiB count as 8 KiB.
    pub fn max_header_bytes(mut self, bytes: usize) -> Server {
        self.max_header_bytes = bytes;
        self
    }

    /// A graceful shutdown, as Go's `Server.Shutdown`: once `ctx` is cancelled the
    /// server stops accepting, lets idle connections go, lets the requests in flight
    /// finish, and then `serve` returns `Ok(())`.
    pub fn shutdown_on(mut self, ctx: &Context) -> Server {
        self.shutdown = Some(ctx.clone());
        self
    }

    /// [`serve`](super::serve) with these settings.
    pub fn serve<H>(&self, listener: TcpListener, handler: H) -> io::Result<()>
    where
        H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        self.run(listener, |conns, stream, peer| {
            let service = HandlerService {
                handler: handler.clone(),
                peer,
            };
            conns.spawn(move |conns| conns.serve(stream, service));
        })
    }

    /// [`serve_service`](super::serve_service) with these settings.
    pub fn serve_service<S>(&self, listener: TcpListener, service: S) -> io::Result<()>
    where
        S: tower_service::Service<Request<Body>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        S::Response: ServiceResponse,
    {
        self.run(listener, |conns, stream, peer| {
            let service = TowerService {
                service: service.clone(),
                peer,
            };
            conns.spawn(move |conns| conns.serve(stream, service));
        })
    }

    /// [`serve_tls`](super::serve_tls) with these settings.
    #[cfg(feature = "tls")]
    pub fn serve_tls<H>(
        &self,
        listener: TcpListener,
        tls: crate::tls::TlsAcceptor,
        handler: H,
    ) -> io::Result<()>
    where
        H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
    {
        let tls = super::tls::with_alpn(tls);
        let handler = Arc::new(handler);
        let handshake_timeout = self.read_header_timeout;
        self.run(listener, |conns, stream, peer| {
            let service = HandlerService {
                handler: handler.clone(),
                peer,
            };
            let tls = tls.clone();
            conns.spawn(move |conns| {
                // The handshake runs here, in the connection's goroutine, never in
                // the accept loop: a silent client holds up no one else.
                if let Ok(stream) = super::tls::handshake(&tls, stream, handshake_timeout) {
                    conns.serve(stream, service);
                }
            });
        })
    }

    /// Accept until accepting fails for good (or the shutdown context is cancelled,
    /// then wait for the connections), handing each connection to `open`.
    fn run(
        &self,
        listener: TcpListener,
        mut open: impl FnMut(&Connections, TcpStream, SocketAddr),
    ) -> io::Result<()> {
        let conns = Connections {
            builder: Arc::new(self.builder()),
            read_header_timeout: self.read_header_timeout,
            shutdown: self.shutdown.clone(),
            live: WaitGroup::new(),
        };
        let mut backoff = AcceptBackoff::default();
        loop {
            let accepted = match &self.shutdown {
                Some(ctx) => listener.accept_context(ctx),
                None => listener.accept(),
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff.reset();
                    let _ = stream.set_nodelay(true);
                    open(&conns, stream, peer);
                }
                Err(_) if self.shutdown.as_ref().is_some_and(|c| c.err().is_some()) => break,
                Err(err) if is_per_connection(&err) => continue,
                Err(err) => match backoff.delay_after(&err) {
                    // Out of descriptors or memory (net::accept_backoff).
                    Some(delay) => {
                        eprintln!("goru::http: accept error: {err}; retrying in {delay:?}");
                        crate::time::sleep(delay);
                    }
                    None => return Err(err),
                },
            }
        }
        drop(listener); // refuse new connections while the old ones drain
        conns.live.wait();
        Ok(())
    }

    fn builder(&self) -> auto::Builder<GoroutineExecutor> {
        let mut builder = auto::Builder::new(GoroutineExecutor);
        builder
            .http1()
            .timer(GoruTimer)
            .header_read_timeout(self.read_header_timeout)
            .max_buf_size(self.max_header_bytes.max(MIN_HEADER_BUFFER));
        builder
            .http2()
            .timer(GoruTimer)
            .max_header_list_size(self.max_header_bytes.min(u32::MAX as usize) as u32);
        builder
    }
}

/// What each connection's goroutine shares: hyper's settings, the shutdown signal, and
/// the count of connections still open.
#[derive(Clone)]
struct Connections {
    builder: Arc<auto::Builder<GoroutineExecutor>>,
    read_header_timeout: Option<Duration>,
    shutdown: Option<Context>,
    live: WaitGroup,
}

impl Connections {
    /// Run `serve_one` on a goroutine of its own, counted until it returns.
    fn spawn(&self, serve_one: impl FnOnce(&Connections) + Send + 'static) {
        self.live.add(1);
        let conns = self.clone();
        crate::go(move || {
            let _done = DoneOnDrop(&conns.live);
            serve_one(&conns);
        });
    }

    /// Drive one connection to its end in this goroutine. Its errors (a client that
    /// went away, a malformed request hyper already answered with 400) end only it.
    fn serve<S, Svc>(&self, stream: S, service: Svc)
    where
        S: ServerStream,
        Svc: hyper::service::Service<
                Request<hyper::body::Incoming>,
                Response = Response<Body>,
                Error = BoxError,
            > + Send
            + 'static,
        Svc::Future: Send + 'static,
    {
        let shared = SharedStream::new(stream);
        let io = HyperIo(shared.clone());
        let builder = &*self.builder;
        let stop = self.shutdown.as_ref().map(Context::done);
        // Go's ReadHeaderTimeout runs from the accept; hyper's from the first byte. A
        // client that connects and says nothing is dropped when this fires.
        let mut first_byte = self
            .read_header_timeout
            .map(|t| Box::pin(Sleep::until(crate::time::now() + t)));
        let ended = super::driver::drive(async {
            let mut conn = std::pin::pin!(builder.serve_connection(io, service));
            let mut stop = stop.map(|done| {
                Box::pin(async move {
                    let _ = done.recv_async().await;
                })
            });
            std::future::poll_fn(|cx| {
                if let Some(signal) = &mut stop {
                    if signal.as_mut().poll(cx).is_ready() {
                        stop = None;
                        // Go's Shutdown: an idle connection closes now, a busy one
                        // after its response (HTTP/2: GOAWAY, then the open streams).
                        conn.as_mut().graceful_shutdown();
                    }
                }
                if let Some(timer) = &mut first_byte {
                    if shared.heard_from() {
                        first_byte = None;
                    } else if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Ok(())); // silent client: drop the connection
                    }
                }
                conn.as_mut().poll(cx)
            })
            .await
        });
        if ended.is_err() {
            linger(shared.stream.tcp());
        }
    }
}

/// What a connection may run over: TCP or TLS.
pub(crate) trait ServerStream: Readiness + Send + Sync + 'static {
    /// The TCP connection underneath.
    fn tcp(&self) -> &TcpStream;
}

impl ServerStream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl ServerStream for crate::tls::TlsStream {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
}

/// How long a connection that hyper gave up on (a 400, a 431) keeps reading before it
/// closes (Go's `rstAvoidanceDelay`).
const LINGER: Duration = Duration::from_millis(500);

/// Close after an error reply without losing the reply: closing a socket with unread
/// bytes sends a reset, and a reset can destroy the reply before the client reads it.
/// So shut the write side (the client sees the end of the reply), then read and
/// discard until the client closes too, for a short while at most (Go's
/// `closeWriteAndWait`).
fn linger(tcp: &TcpStream) {
    if tcp.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let deadline = crate::time::now() + LINGER;
    let mut scratch = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(crate::time::now());
        if left.is_zero() || tcp.set_read_timeout(Some(left)).is_err() {
            return;
        }
        let mut reader = tcp;
        match reader.read(&mut scratch) {
            Ok(n) if n > 0 => continue,
            _ => return, // the client closed, or the time is up
        }
    }
}

struct DoneOnDrop<'a>(&'a WaitGroup);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// An accept error that concerns only the connection being accepted (it was reset
/// before we took it): accept the next one at once.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM)
    ) || err.kind() == io::ErrorKind::Interrupted
}
