//! A TLS connection over a goru `TcpStream`.
//!
//! rustls holds the connection's state and does no I/O; this type moves bytes between
//! it and the socket. The state sits behind a plain mutex that is only ever held for
//! non-blocking steps (feeding received bytes in, taking records out, one
//! non-blocking socket call), never across a park. Every socket write of TLS records
//! happens under that lock with `write_tls`, which takes out only what the socket
//! accepted, so records from a reader (alerts, key updates) and a writer never
//! interleave. A goroutine that must wait parks on the socket with the lock released,
//! which is how one goroutine reads while another writes.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::net::readiness::Readiness;
use crate::net::TcpStream;
use crate::sched::poller::Direction;

/// A TLS connection: `Read + Write`, also through `&TlsStream`. See the [module
/// docs](crate::tls).
pub struct TlsStream {
    tcp: TcpStream,
    conn: Mutex<rustls::Connection>,
}

impl TlsStream {
    /// Run the client side of the handshake with `server_name` (checked against the
    /// server's certificate) on `stream`, in the calling goroutine and within the
    /// socket's timeouts.
    pub fn connect(
        config: std::sync::Arc<rustls::ClientConfig>,
        server_name: &str,
        stream: TcpStream,
    ) -> io::Result<TlsStream> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        TlsStream::handshake(stream, conn.into())
    }

    /// Complete the handshake before the connection is shared, so the exchange runs on
    /// an owned connection and no lock is involved.
    pub(super) fn handshake(tcp: TcpStream, mut conn: rustls::Connection) -> io::Result<TlsStream> {
        while conn.is_handshaking() {
            if conn.wants_write() {
                tcp.run_io(Direction::Write, |mut s| conn.write_tls(&mut s))
                    .map_err(timed_out)?;
                continue;
            }
            let n = tcp
                .run_io(Direction::Read, |mut s| conn.read_tls(&mut s))
                .map_err(timed_out)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tls: the peer closed the connection during the handshake",
                ));
            }
            if let Err(err) = conn.process_new_packets() {
                // Tell the peer why (the alert rustls queued), as far as the socket
                // takes it without waiting.
                let _ = tcp.try_io(Direction::Write, |mut s| conn.write_tls(&mut s));
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        }
        // The last flight (a client's Finished, a server's tickets).
        while conn.wants_write() {
            tcp.run_io(Direction::Write, |mut s| conn.write_tls(&mut s))
                .map_err(timed_out)?;
        }
        Ok(TlsStream {
            tcp,
            conn: Mutex::new(conn),
        })
    }

    fn state(&self) -> MutexGuard<'_, rustls::Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The protocol agreed through ALPN (`b"h2"`, `b"http/1.1"`), if any.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.state().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The TCP connection underneath (for addresses and timeouts; reading or writing it
    /// directly would corrupt the TLS stream).
    pub fn get_ref(&self) -> &TcpStream {
        &self.tcp
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// Send close_notify (the TLS end of stream), then shut the socket's write half.
    pub fn shutdown(&self) -> io::Result<()> {
        self.state().send_close_notify();
        self.tcp
            .run_io(Direction::Write, |s| self.flush_records(s))?;
        self.tcp.shutdown(Shutdown::Write)
    }

    /// One attempt to read plaintext: what rustls holds, else whatever records the
    /// socket has now. `WouldBlock` only when the socket itself said so.
    fn read_step(&self, socket: &mio::net::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        let mut conn = self.state();
        loop {
            match conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return result,
            }
            let mut socket = socket;
            let eof = conn.read_tls(&mut socket)? == 0;
            if let Err(err) = conn.process_new_packets() {
                let _ = conn.write_tls(&mut socket);
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
            // Answers that reading produced (a key update) go out now if they can.
            if conn.wants_write() {
                let _ = conn.write_tls(&mut socket);
            }
            if eof {
                // rustls now returns Ok(0) after close_notify, else UnexpectedEof.
                return conn.reader().read(buf);
            }
        }
    }

    /// Write out queued records; `WouldBlock` while some remain.
    fn flush_records(&self, mut socket: &mio::net::TcpStream) -> io::Result<()> {
        let mut conn = self.state();
        while conn.wants_write() {
            conn.write_tls(&mut socket)?;
        }
        Ok(())
    }

    /// One attempt to write: queued records must go first (so the buffer stays
    /// bounded), then `buf` is encrypted and sent as far as the socket takes it.
    /// Returns how much of `buf` was taken; records not yet sent stay queued.
    fn write_step(&self, mut socket: &mio::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
        let mut conn = self.state();
        while conn.wants_write() {
            conn.write_tls(&mut socket)?;
        }
        let n = conn.writer().write(buf)?;
        while conn.wants_write() {
            match conn.write_tls(&mut socket) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                other => {
                    other?;
                }
            }
        }
        Ok(n)
    }
}

/// The most plaintext one TLS record carries (RFC 8446: 2^14 bytes).
const MAX_PLAINTEXT_PER_READ: usize = 16 * 1024;

/// A socket timeout during the handshake reads `WouldBlock` (std's convention for
/// reads); for a handshake `TimedOut` says what happened.
fn timed_out(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "tls: handshake timed out")
    } else {
        err
    }
}

impl Read for &TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.run_io(Direction::Read, |s| self.read_step(s, buf))
    }
}

impl Write for &TlsStream {
    /// Returns once the records holding `buf` are on the socket (or its timeout passes).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut taken = None;
        self.tcp.run_io(Direction::Write, |s| {
            let n = match taken {
                Some(n) => n,
                None => *taken.insert(self.write_step(s, buf)?),
            };
            self.flush_records(s).map(|()| n)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.run_io(Direction::Write, |s| self.flush_records(s))
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Readiness for TlsStream {
    fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        // rustls copies into a `&mut [u8]`, so the part handed over is zeroed first and
        // no uninitialised byte is ever behind a reference. Only a record's worth: one
        // read returns at most that much plaintext, and hyper's buffer may be far larger
        // (zeroing all of it on every read cost more than the decryption).
        let len = buf.len().min(MAX_PLAINTEXT_PER_READ);
        let buf: &mut [u8] = {
            let prefix = &mut buf[..len];
            for b in prefix.iter_mut() {
                b.write(0);
            }
            // SAFETY: every byte of the prefix was initialised just above.
            unsafe { crate::net::readiness::assume_writable(prefix) }
        };
        self.tcp.try_io(Direction::Read, |s| self.read_step(s, buf))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.tcp
            .try_io(Direction::Write, |s| self.write_step(s, buf))
    }

    fn try_flush(&self) -> io::Result<()> {
        self.tcp.try_io(Direction::Write, |s| self.flush_records(s))
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Plaintext already decrypted is ready whatever the socket says.
        if !self.state().wants_read() {
            return Poll::Ready(Ok(()));
        }
        self.tcp.poll_read_ready(cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp.poll_write_ready(cx)
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .field(
                "alpn",
                &self
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(&p).into_owned()),
            )
            .finish()
    }
}
