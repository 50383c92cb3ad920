//! Poll-style I/O on goru sockets, built on the readiness API (`try_*` and
//! `poll_*_ready`): the shared loop under tokio's `AsyncRead`/`AsyncWrite` (feature
//! `tokio-io`) and hyper's I/O traits (feature `http`).

use std::io;
use std::mem::MaybeUninit;
use std::task::{ready, Context, Poll};

/// A socket that can be driven by polls: one attempt that never waits, and readiness.
pub(crate) trait Readiness {
    /// One read into possibly uninitialised memory; the first `n` bytes are written.
    fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize>;
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Push out what the stream buffers in user space (TLS records); `WouldBlock` if
    /// the socket is full.
    fn try_flush(&self) -> io::Result<()> {
        Ok(())
    }
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Read what is there, or wait for readiness: tokio's `poll_read` loop. A `Ready`
/// readiness may be spurious, so `WouldBlock` polls again (which stores the waker).
pub(crate) fn poll_read(
    io: &impl Readiness,
    cx: &mut Context<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> Poll<io::Result<usize>> {
    loop {
        ready!(io.poll_read_ready(cx))?;
        match io.try_read_uninit(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return Poll::Ready(result),
        }
    }
}

pub(crate) fn poll_write(
    io: &impl Readiness,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    loop {
        ready!(io.poll_write_ready(cx))?;
        match io.try_write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return Poll::Ready(result),
        }
    }
}

pub(crate) fn poll_flush(io: &impl Readiness, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    loop {
        match io.try_flush() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            result => return Poll::Ready(result),
        }
        ready!(io.poll_write_ready(cx))?;
    }
}

/// `buf` as a byte slice for a read that only writes into it.
///
/// # Safety
/// The caller must only hand the slice to code that writes bytes before reading them
/// (the `read(2)` system call), and must treat only the bytes reported written as
/// initialised.
pub(crate) unsafe fn assume_writable(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: MaybeUninit<u8> and u8 have the same layout; the caller's contract keeps
    // uninitialised bytes from being read.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

impl Readiness for super::TcpStream {
    fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        // SAFETY: the kernel's read(2) only writes into the buffer, and the caller
        // counts as initialised only the `n` bytes it reports.
        self.try_read_drain(unsafe { assume_writable(buf) })
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        super::TcpStream::try_write(self, buf)
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        super::TcpStream::poll_read_ready(self, cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        super::TcpStream::poll_write_ready(self, cx)
    }
}
