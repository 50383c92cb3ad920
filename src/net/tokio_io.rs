//! tokio's `AsyncRead`/`AsyncWrite` on goru's stream sockets (feature `tokio-io`). No
//! tokio runtime is involved: readiness comes from goru's netpoller, so the futures
//! must be polled from a goroutine (inside [`block_on`](crate::block_on)). tokio-rustls,
//! h2 and tokio-postgres's `connect_raw` then run on goru sockets.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::readiness;
use super::{TcpStream, UnixStream};

macro_rules! tokio_io {
    ($($ty:ty),*) => {$(
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `unfilled_mut` hands out uninitialised memory that must not be
                // de-initialised; the read only writes into it.
                let unfilled = unsafe { buf.unfilled_mut() };
                let n = std::task::ready!(readiness::poll_read(&*self, cx, unfilled))?;
                // SAFETY: the read wrote the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                readiness::poll_write(&*self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(())) // nothing is buffered in user space
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }
    )*};
}

tokio_io!(TcpStream, UnixStream);
