//! `serve_tls`'s part: ALPN and a bounded handshake.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::net::TcpStream;
use crate::tls::{TlsAcceptor, TlsStream};

/// The acceptor, offering `h2` and `http/1.1` through ALPN when its configuration
/// names no protocol itself.
pub(super) fn with_alpn(tls: TlsAcceptor) -> TlsAcceptor {
    if !tls.config().alpn_protocols.is_empty() {
        return tls;
    }
    let mut config = (**tls.config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::new(Arc::new(config))
}

/// The handshake, bounded as the request headers are (Go's server does the same with
/// its read deadline); the socket has no timeouts afterwards.
pub(super) fn handshake(
    tls: &TlsAcceptor,
    stream: TcpStream,
    timeout: Option<Duration>,
) -> io::Result<TlsStream> {
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    let tls = tls.accept(stream)?;
    tls.get_ref().set_read_timeout(None)?;
    tls.get_ref().set_write_timeout(None)?;
    Ok(tls)
}
