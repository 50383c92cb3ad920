//! hyper's runtime traits on goru: I/O over the readiness API, an executor that runs
//! each spawned future (an HTTP/2 stream) on a goroutine of its own, and a timer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::net::readiness::{self, Readiness};
use crate::time::sleep_future::Sleep;

/// A connection's stream, shared between hyper (through [`HyperIo`]) and the goroutine
/// that serves it, which looks at it again once hyper is done.
pub(crate) struct SharedStream<S> {
    pub(crate) stream: S,
    /// Whether the client has sent a byte yet (for the first request's header timeout).
    heard_from: AtomicBool,
}

impl<S> SharedStream<S> {
    pub(crate) fn new(stream: S) -> Arc<SharedStream<S>> {
        Arc::new(SharedStream {
            stream,
            heard_from: AtomicBool::new(false),
        })
    }

    pub(crate) fn heard_from(&self) -> bool {
        self.heard_from.load(Ordering::Relaxed)
    }
}

/// A goru stream (TCP or TLS) as hyper's `Read + Write`.
pub(crate) struct HyperIo<S>(pub(crate) Arc<SharedStream<S>>);

impl<S: Readiness> hyper::rt::Read for HyperIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the read only writes into the unfilled part, which is never
        // de-initialised; only the bytes it reports are advanced over.
        let unfilled = unsafe { buf.as_mut() };
        let n = std::task::ready!(readiness::poll_read(&self.0.stream, cx, unfilled))?;
        if n > 0 {
            self.0.heard_from.store(true, Ordering::Relaxed);
        }
        // SAFETY: the read initialised the first `n` bytes of the unfilled part.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<S: Readiness> hyper::rt::Write for HyperIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        readiness::poll_write(&self.0.stream, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        readiness::poll_flush(&self.0.stream, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper shuts down after its last write; what is still queued goes first.
        readiness::poll_flush(&self.0.stream, cx)
    }
}

/// Runs each future hyper spawns (an HTTP/2 stream, with its response body) on a new
/// goroutine, inside [`block_on`](crate::block_on): streams proceed in parallel, and
/// a blocking call in one parks only its own goroutine.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GoroutineExecutor;

impl<F> hyper::rt::Executor<F> for GoroutineExecutor
where
    F: Future + Send + 'static,
{
    fn execute(&self, fut: F) {
        crate::go(move || {
            super::driver::drive(fut);
        });
    }
}

/// hyper's timer (header read timeouts, HTTP/2 keep-alive) on goru's timers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GoruTimer;

impl hyper::rt::Sleep for Sleep {}

impl hyper::rt::Timer for GoruTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(crate::time::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep::until(deadline))
    }

    fn now(&self) -> Instant {
        crate::time::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        if let Some(ours) = sleep.as_mut().downcast_mut_pin::<Sleep>() {
            if ours.deadline() == new_deadline {
                return;
            }
        }
        *sleep = self.sleep_until(new_deadline);
    }
}
