//! HTTP hello world on `goru::http::serve`: hyper underneath, a goroutine per
//! connection and one per request; HTTP/1.1 keep-alive (pipelined requests answered in
//! order) and HTTP/2. Given a certificate and key (PEM files), it serves HTTPS with
//! `serve_tls` instead (ALPN h2 and http/1.1; needs feature `tls`). The load script
//! (`scripts/load.sh`) runs it side by side with the same server in Go's net/http and
//! in tokio + hyper.
//!
//! `cargo run --release --all-features --example http_server -- [addr [cert.pem key.pem]]`
//! (default 127.0.0.1:8080).

use goru::http::{Body, Request, Response, StatusCode};
use goru::net::TcpListener;

const BODY: &str = "Hello, World!";

/// The handler: `/` says hello, anything else is not found.
pub fn hello(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/" {
        Response::builder()
            .header("content-type", "text/plain")
            .body(Body::from(BODY))
            .unwrap()
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .unwrap()
    }
}

/// Serve until accepting fails for good.
pub fn serve(listener: TcpListener) {
    if let Err(err) = goru::http::serve(listener, hello) {
        eprintln!("http_server: {err}");
    }
}

/// Serve HTTPS with the certificate chain and key in these PEM files.
#[cfg(feature = "tls")]
fn serve_tls(listener: TcpListener, cert: &str, key: &str) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .expect("read the certificate chain");
    let key = PrivateKeyDer::from_pem_file(key).expect("read the private key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a usable certificate and key");
    let tls = goru::tls::TlsAcceptor::new(std::sync::Arc::new(config));
    if let Err(err) = goru::http::serve_tls(listener, tls, hello) {
        eprintln!("http_server: {err}");
    }
}

#[cfg(not(feature = "tls"))]
fn serve_tls(_: TcpListener, _: &str, _: &str) {
    eprintln!("http_server: HTTPS needs feature tls (cargo run --all-features ...)");
    std::process::exit(2);
}

#[goru::main]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args.get(1).map_or("127.0.0.1:8080", String::as_str);
    let listener = TcpListener::bind(addr).expect("bind");
    println!("listening on {}", listener.local_addr().unwrap());
    match (args.get(2), args.get(3)) {
        (Some(cert), Some(key)) => serve_tls(listener, cert, key),
        _ => serve(listener),
    }
}
