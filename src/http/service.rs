//! The hyper services `serve` and `serve_service` hand each connection. A handler is
//! plain blocking code: it runs on a goroutine (see [`answer`] for which), which parks
//! while it waits.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};

use super::body::{Body, BoxError};
use crate::JoinHandle;

/// A handler's answer, awaited by the connection: computed in the connection's
/// goroutine (deferred there by the driver, see `super::driver`), or by a goroutine
/// of its own.
pub(crate) enum Answer {
    /// Run by the connection's driver on the goroutine's stack: handed over at the
    /// first poll, ready at the next.
    Deferred {
        handed_over: bool,
        state: Arc<Mutex<Deferred>>,
    },
    Running(JoinHandle<Reply>),
}

type Reply = Result<Response<Body>, BoxError>;

/// A deferred handler: its job until the driver runs it, then its reply.
pub(crate) enum Deferred {
    Job(Box<dyn FnOnce() -> Reply + Send>),
    Reply(Reply),
    Taken,
}

impl super::driver::DeferredJob for Mutex<Deferred> {
    fn run(&self) {
        let job = std::mem::replace(
            &mut *self.lock().unwrap_or_else(|e| e.into_inner()),
            Deferred::Taken,
        );
        if let Deferred::Job(job) = job {
            let reply = job(); // outside the lock: it may park
            *self.lock().unwrap_or_else(|e| e.into_inner()) = Deferred::Reply(reply);
        }
    }
}

impl Future for Answer {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        match self.get_mut() {
            Answer::Deferred { handed_over, state } => {
                if !*handed_over {
                    *handed_over = true;
                    // No driver here (an unusual poller): run it now.
                    if let Err(job) = super::driver::defer(state.clone()) {
                        job.run();
                    }
                }
                let mut slot = state.lock().unwrap_or_else(|e| e.into_inner());
                match std::mem::replace(&mut *slot, Deferred::Taken) {
                    Deferred::Reply(reply) => Poll::Ready(reply),
                    // The driver runs the job, then polls again without waiting.
                    pending => {
                        *slot = pending;
                        Poll::Pending
                    }
                }
            }
            // The goroutine catches its own panics (`answer`), so the handle never
            // holds one.
            Answer::Running(handle) => Pin::new(handle).poll(cx).map(|joined| {
                joined.unwrap_or_else(|_| Err("goru::http: handler panicked".into()))
            }),
        }
    }
}

/// Run `respond` for a request. An HTTP/1 request without a body runs in the
/// connection's goroutine, as Go's server runs every handler: HTTP/1 serves one
/// request at a time anyway, and this saves a goroutine and two switches per request.
/// Any other request runs on a goroutine of its own: an HTTP/2 stream must not hold
/// up the connection's other streams, and a request body only flows while the
/// connection is driven, which the connection's goroutine does meanwhile.
///
/// A panic is caught and logged, as Go's server does ("http: panic serving ..."): it
/// ends this request (hyper then closes the connection or resets the stream), never
/// the program.
fn answer(
    inline: bool,
    peer: SocketAddr,
    respond: impl FnOnce() -> Reply + Send + 'static,
) -> Answer {
    let guarded = move || match panic::catch_unwind(AssertUnwindSafe(respond)) {
        Ok(result) => result,
        Err(payload) => {
            let message = crate::panics::payload_message(&*payload);
            eprintln!("goru::http: panic serving {peer}: {message}");
            Err(format!("handler panicked: {message}").into())
        }
    };
    if inline {
        Answer::Deferred {
            handed_over: false,
            state: Arc::new(Mutex::new(Deferred::Job(Box::new(guarded)))),
        }
    } else {
        Answer::Running(crate::go(guarded))
    }
}

/// Whether a request may run in the connection's goroutine (see [`answer`]).
fn runs_inline(req: &Request<hyper::body::Incoming>) -> bool {
    use http_body::Body as _;
    req.version() <= http::Version::HTTP_11 && req.body().is_end_stream()
}

/// A request as handlers see it: a goru [`Body`], and the client's address in the
/// extensions.
fn request(req: Request<hyper::body::Incoming>, peer: SocketAddr) -> Request<Body> {
    let mut req = req.map(Body::incoming);
    req.extensions_mut().insert(peer);
    req
}

/// `serve`'s handler as a hyper service.
pub(crate) struct HandlerService<H> {
    pub(crate) handler: Arc<H>,
    pub(crate) peer: SocketAddr,
}

impl<H> hyper::service::Service<Request<hyper::body::Incoming>> for HandlerService<H>
where
    H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Answer;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Answer {
        let inline = runs_inline(&req);
        let handler = self.handler.clone();
        let req = request(req, self.peer);
        answer(inline, self.peer, move || Ok(handler(req)))
    }
}

/// What `serve_service` accepts as a service's response: an `http::Response` whose body
/// yields `Bytes` (axum's, hyper's, http-body-util's bodies all do).
pub trait ServiceResponse: Send + 'static {
    /// The response with its body as a goru [`Body`].
    fn into_response(self) -> Response<Body>;
}

impl<B> ServiceResponse for Response<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn into_response(self) -> Response<Body> {
        self.map(Body::from_http_body)
    }
}

/// A tower service (an axum `Router`) as a hyper service. Each request's future runs
/// inside `block_on` on a goroutine of its own, so async handlers may call blocking
/// goru code: it parks that goroutine.
pub(crate) struct TowerService<S> {
    pub(crate) service: S,
    pub(crate) peer: SocketAddr,
}

impl<S> hyper::service::Service<Request<hyper::body::Incoming>> for TowerService<S>
where
    S: tower_service::Service<Request<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    S::Response: ServiceResponse,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Answer;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Answer {
        let inline = runs_inline(&req);
        let mut service = self.service.clone();
        let req = request(req, self.peer);
        answer(inline, self.peer, move || {
            crate::block_on(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                let response = service.call(req).await.map_err(Into::into)?;
                Ok(response.into_response())
            })
        })
    }
}
