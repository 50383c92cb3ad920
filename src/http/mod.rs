//! HTTP on goroutines, as Go's `net/http` (feature `http`): a server on hyper 1 and a
//! client on ureq 3, never a parser of our own.
//!
//! [`serve`] runs a goroutine per connection, which drives hyper's connection state
//! machine inside [`block_on`](crate::block_on), parked on the socket between bytes.
//! Each request runs its handler on a goroutine of its own, so a handler is plain
//! blocking code: it may sleep, lock, send on channels, read the request body (which
//! parks until the client's bytes arrive) or call other servers. HTTP/1.1 keeps
//! connections alive; HTTP/2 is spoken to clients that start with its preface (prior
//! knowledge, `h2c`) and, over TLS, to those that ask for `h2` through ALPN. HTTP/2
//! streams of one connection run concurrently, each on its goroutine.
//!
//! As Go's server does, it answers a malformed request with `400 Bad Request` and closes
//! that connection, refuses headers larger than [`Server::max_header_bytes`] with
//! `431`, closes a connection whose client does not send its headers within
//! [`Server::read_header_timeout`], and backs off when accepting fails for want of
//! descriptors or memory (5 ms, doubling up to 1 s), printing the error, then goes on.
//!
//! ```
//! use std::io::Read;
//! use goru::http::{Body, Request, Response, StatusCode};
//!
//! goru::run(|| {
//!     let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     goru::go(move || {
//!         goru::http::serve(listener, |req: Request<Body>| {
//!             let name = req.uri().path().trim_start_matches('/').to_owned();
//!             goru::time::sleep(std::time::Duration::from_millis(1)); // blocking is fine
//!             Response::new(Body::from(format!("hello, {name}\n")))
//!         })
//!         .unwrap();
//!     });
//!     let mut response = goru::http::agent().get(&format!("http://{addr}/gopher")).call().unwrap();
//!     assert_eq!(response.status(), StatusCode::OK);
//!     assert_eq!(response.body_mut().read_to_string().unwrap(), "hello, gopher\n");
//! });
//! ```

mod body;
mod client;
mod debug;
mod driver;
mod rt;
mod server;
mod service;
#[cfg(feature = "tls")]
mod tls;

pub use body::Body;
pub use debug::debug_handler;
pub use http::{header, Method, Request, Response, StatusCode, Uri, Version};
pub use server::Server;
pub use service::ServiceResponse;

use std::io;

use body::BoxError;

use crate::net::TcpListener;

/// Serve HTTP/1.1 and HTTP/2 on `listener`, calling `handler` on a goroutine per
/// request (see the [module docs](self)); the client's address is in the request's
/// extensions as a `SocketAddr`. Returns only when accepting fails for good. Use
/// [`Server`] for timeouts, limits and a graceful shutdown.
pub fn serve<H>(listener: TcpListener, handler: H) -> io::Result<()>
where
    H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
{
    Server::new().serve(listener, handler)
}

/// [`serve`] over TLS: each connection's handshake runs in its own goroutine, bounded by
/// the header read timeout. ALPN `h2` and `http/1.1` are offered when the
/// configuration names no protocol.
#[cfg(feature = "tls")]
pub fn serve_tls<H>(
    listener: TcpListener,
    tls: crate::tls::TlsAcceptor,
    handler: H,
) -> io::Result<()>
where
    H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
{
    Server::new().serve_tls(listener, tls, handler)
}

/// Serve a tower service, such as an `axum::Router`, as [`serve`] serves a handler.
/// Each request's future runs on a goroutine of its own, so an async handler may call
/// blocking goru code (sleep, channels, locks, sockets): that parks its goroutine.
///
/// ```
/// use goru::http::{Body, Request, Response};
///
/// #[derive(Clone)]
/// struct Hello;
/// impl tower_service::Service<Request<Body>> for Hello {
///     type Response = Response<Body>;
///     type Error = std::convert::Infallible;
///     type Future = std::future::Ready<Result<Response<Body>, Self::Error>>;
///     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
///         std::task::Poll::Ready(Ok(()))
///     }
///     fn call(&mut self, _: Request<Body>) -> Self::Future {
///         std::future::ready(Ok(Response::new(Body::from("hi"))))
///     }
/// }
///
/// goru::run(|| {
///     let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     goru::go(move || goru::http::serve_service(listener, Hello).unwrap());
///     let mut response = goru::http::agent().get(&format!("http://{addr}/")).call().unwrap();
///     assert_eq!(response.body_mut().read_to_string().unwrap(), "hi");
/// });
/// ```
pub fn serve_service<S>(listener: TcpListener, service: S) -> io::Result<()>
where
    S: tower_service::Service<Request<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    S::Response: ServiceResponse,
{
    Server::new().serve_service(listener, service)
}

/// A blocking HTTP client (ureq 3) whose connections are goru sockets and whose name
/// lookups run off the workers: a request parks the goroutine, never its worker. With
/// feature `tls`, https goes through rustls with the Mozilla roots (webpki-roots).
/// Connections are pooled and kept alive as ureq does.
pub fn agent() -> ureq::Agent {
    agent_with(ureq::Agent::config_builder().build())
}

/// [`agent`] with a configuration of ureq's (timeouts, TLS roots, proxies...).
pub fn agent_with(config: ureq::config::Config) -> ureq::Agent {
    client::agent_with(config)
}
