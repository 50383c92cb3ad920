//! TLS on goru sockets, with rustls (feature `tls`).
//!
//! [`TlsAcceptor::accept`] and [`TlsStream::connect`] run the handshake in the calling
//! goroutine, parking it on the socket like any read or write, and bounded by the
//! socket's read and write timeouts: a slow or silent peer costs its own goroutine and
//! nothing more. A [`TlsStream`] is `Read + Write`, also through `&TlsStream`, so one
//! goroutine may read while another writes; it is `Send + Sync`.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::sync::Arc;
//! use goru::net::{TcpListener, TcpStream};
//! use goru::tls::{TlsAcceptor, TlsStream};
//!
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
//! let server = rustls::ServerConfig::builder()
//!     .with_no_client_auth()
//!     .with_single_cert(vec![cert.cert.der().clone()], key)
//!     .unwrap();
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let client = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
//!
//! goru::run(move || {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let acceptor = TlsAcceptor::new(Arc::new(server));
//!     goru::go(move || {
//!         let (tcp, _) = listener.accept().unwrap();
//!         let mut tls = acceptor.accept(tcp).unwrap();
//!         let mut buf = [0; 5];
//!         tls.read_exact(&mut buf).unwrap();
//!         tls.write_all(&buf).unwrap();
//!     });
//!     let tcp = TcpStream::connect(addr).unwrap();
//!     let mut tls = TlsStream::connect(Arc::new(client), "localhost", tcp).unwrap();
//!     tls.write_all(b"hello").unwrap();
//!     let mut reply = [0; 5];
//!     tls.read_exact(&mut reply).unwrap();
//!     assert_eq!(&reply, b"hello");
//! });
//! ```
//!
//! # Why rustls, and not OpenSSL or native-tls
//!
//! A goroutine that parks may resume on another worker thread. OpenSSL (and native-tls,
//! which wraps it on Linux) keeps per-thread state, such as its error queue, and
//! expects a call that started on a thread to finish there; driven over a blocking
//! goru socket, its read callbacks would park inside C code and come back on another
//! thread. rustls is plain Rust, keeps all of a connection's state in the connection,
//! and never does I/O itself: this module feeds it bytes, so every park happens in goru
//! code, outside any lock.

mod stream;

pub use stream::TlsStream;

use std::io;
use std::sync::Arc;

use crate::net::TcpStream;

/// Accepts TLS connections with a rustls server configuration.
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<rustls::ServerConfig>,
}

impl TlsAcceptor {
    /// An acceptor for `config`.
    pub fn new(config: Arc<rustls::ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { config }
    }

    /// The configuration it accepts with.
    pub fn config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }

    /// Run the server side of the handshake on `stream`, in the calling goroutine and
    /// within the socket's timeouts (a timeout returns `TimedOut`).
    pub fn accept(&self, stream: TcpStream) -> io::Result<TlsStream> {
        let conn = rustls::ServerConnection::new(self.config.clone()).map_err(io::Error::other)?;
        TlsStream::handshake(stream, conn.into())
    }
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("alpn_protocols", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}
