//! [`Body`]: what a handler reads a request from and answers with.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};

/// The error type of bodies that come from elsewhere (a tower service's responses).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An HTTP message body.
///
/// A request's body streams from the connection: reading it with [`Read`] parks the
/// goroutine until the client's bytes arrive, as reading `r.Body` does in Go. A response
/// body is usually built from bytes (`Body::from("hello")`, `Body::from(vec)`); a request
/// body may be handed back as a response body too, and then streams straight through.
///
/// ```
/// use std::io::Read;
/// use goru::http::Body;
///
/// let mut text = String::new();
/// Body::from("hello").read_to_string(&mut text).unwrap();
/// assert_eq!(text, "hello");
/// assert_eq!(Body::from(vec![1, 2, 3]).read_to_vec().unwrap(), [1, 2, 3]);
/// assert!(Body::empty().read_to_vec().unwrap().is_empty());
/// ```
pub struct Body {
    kind: Kind,
    /// Bytes of the current data frame not read yet.
    pending: Bytes,
}

enum Kind {
    /// All of it is in `pending`.
    Full,
    /// Streams from a connection (a request's body).
    Incoming(hyper::body::Incoming),
    /// Any other body (from a tower service, say).
    Boxed(http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Body {
        Body::full(Bytes::new())
    }

    fn full(bytes: Bytes) -> Body {
        Body {
            kind: Kind::Full,
            pending: bytes,
        }
    }

    pub(crate) fn incoming(body: hyper::body::Incoming) -> Body {
        Body {
            kind: Kind::Incoming(body),
            pending: Bytes::new(),
        }
    }

    /// Wrap any `http_body::Body` with byte frames.
    pub fn from_http_body<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        use http_body_util::BodyExt;
        Body {
            kind: Kind::Boxed(body.map_err(Into::into).boxed_unsync()),
            pending: Bytes::new(),
        }
    }

    /// Read the whole body (parking the goroutine while a request's bytes arrive).
    pub fn read_to_vec(mut self) -> io::Result<Vec<u8>> {
        if let Kind::Full = self.kind {
            return Ok(Vec::from(std::mem::take(&mut self.pending)));
        }
        let mut all = Vec::new();
        if let Some(len) = http_body::Body::size_hint(&self).exact() {
            all.reserve(len.min(1 << 26) as usize);
        }
        self.read_to_end(&mut all)?;
        Ok(all)
    }

    /// The next data frame, waiting for it; `None` at the end.
    fn next_data(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            let frame = crate::block_on(std::future::poll_fn(|cx| {
                http_body::Body::poll_frame(Pin::new(&mut *self), cx)
            }));
            match frame {
                None => return Ok(None),
                Some(Err(err)) => return Err(io::Error::other(err)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    } // trailers: not part of the bytes
                }
            }
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            if let Kind::Full = self.kind {
                return Ok(0);
            }
            match self.next_data()? {
                Some(data) => self.pending = data,
                None => {
                    self.kind = Kind::Full; // ended: later reads return 0 at once
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.pending.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut this.pending)))));
        }
        match &mut this.kind {
            Kind::Full => Poll::Ready(None),
            Kind::Incoming(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty()
            && match &self.kind {
                Kind::Full => true,
                Kind::Incoming(body) => body.is_end_stream(),
                Kind::Boxed(body) => body.is_end_stream(),
            }
    }

    fn size_hint(&self) -> SizeHint {
        let pending = self.pending.len() as u64;
        let rest = match &self.kind {
            Kind::Full => return SizeHint::with_exact(pending),
            Kind::Incoming(body) => body.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        };
        // Raise the upper bound before the lower one: SizeHint asserts lower <= upper.
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + pending);
        }
        hint.set_lower(rest.lower() + pending);
        hint
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::full(v.into())
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::full(s.into())
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::full(Bytes::from_static(s))
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body::full(b)
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Full => "full",
            Kind::Incoming(_) => "incoming",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("buffered", &self.pending.len())
            .finish()
    }
}
