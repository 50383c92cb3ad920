//! The tokio bridge: `goru::tokio::block_on` (feature `tokio`) and tokio's I/O traits on
//! goru sockets (feature `tokio-io`), which let tokio-rustls run over a goru socket.
#![cfg(all(feature = "tokio", feature = "tokio-io", feature = "tls"))]

#[path = "common/certs.rs"]
mod certs;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use goru::net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_block_on_parks_the_goroutine_not_the_worker() {
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    rt.run(|| {
        let start = Instant::now();
        let waiters: Vec<_> = (0..20)
            .map(|i| {
                goru::go(move || {
                    goru::tokio::block_on(async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        i * 2
                    })
                })
            })
            .collect();
        let sum: i32 = waiters.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(sum, (0..20).map(|i| i * 2).sum());
        // On one worker, twenty parked threads would take 4 s.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn tokio_block_on_runs_tokio_io_and_resumes_a_panic() {
    goru::run(|| {
        // A tokio socket, served on the tokio runtime, read from a goroutine.
        let reply = goru::tokio::block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                conn.write_all(b"from tokio").await.unwrap();
            });
            let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).await.unwrap();
            reply
        });
        assert_eq!(reply, "from tokio");
        let caught =
            std::panic::catch_unwind(|| goru::tokio::block_on(async { panic!("inside tokio") }));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside tokio"));
    });
}

#[test]
fn tokio_io_traits_on_a_goru_socket_with_no_tokio_runtime() {
    goru::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        goru::go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0; 1 << 20];
            Read::read_exact(&mut conn, &mut buf).unwrap();
            Write::write_all(&mut conn, &buf).unwrap();
        });
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        let expected = data.clone();
        let echoed = goru::block_on(async move {
            let mut conn = TcpStream::connect(addr).unwrap();
            let (mut reader, mut writer) = tokio::io::split(&mut conn);
            let write = async move {
                writer.write_all(&data).await.unwrap();
            };
            let read = async move {
                let mut echoed = vec![0; 1 << 20];
                reader.read_exact(&mut echoed).await.unwrap();
                echoed
            };
            let (_, echoed) = tokio::join!(write, read);
            echoed
        });
        assert!(echoed == expected, "1 MiB echoed intact while writing");
    });
}

#[test]
fn tokio_rustls_runs_on_a_goru_socket() {
    let cert = certs::localhost();
    let client_config = cert.client_config();
    goru::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = goru::tls::TlsAcceptor::new(cert.server_config());
        goru::go(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut tls = acceptor.accept(tcp).unwrap();
            let mut buf = [0; 4];
            tls.read_exact(&mut buf).unwrap();
            tls.write_all(b"pong").unwrap();
            tls.shutdown().unwrap();
        });
        let reply = goru::block_on(async move {
            let tcp = TcpStream::connect(addr).unwrap();
            let connector = tokio_rustls::TlsConnector::from(client_config);
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(b"ping").await.unwrap();
            let mut reply = String::new();
            tls.read_to_string(&mut reply).await.unwrap();
            reply
        });
        assert_eq!(reply, "pong");
    });
}

#[test]
fn a_goru_socket_outside_a_goroutine_says_why() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let conn = TcpStream::connect(addr).unwrap();
    let err = goru::block_on(std::future::poll_fn(|cx| conn.poll_read_ready(cx))).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
}

#[test]
fn tokio_io_traits_on_a_unix_stream() {
    goru::run(|| {
        let (a, b) = goru::net::UnixStream::pair().unwrap();
        goru::go(move || {
            let mut buf = [0; 5];
            Read::read_exact(&mut &b, &mut buf).unwrap();
            Write::write_all(&mut &b, &buf).unwrap();
        });
        let reply = goru::block_on(async move {
            let mut a = a;
            AsyncWriteExt::write_all(&mut a, b"unix!").await.unwrap();
            let mut reply = [0; 5];
            AsyncReadExt::read_exact(&mut a, &mut reply).await.unwrap();
            AsyncWriteExt::shutdown(&mut a).await.unwrap();
            reply
        });
        assert_eq!(&reply, b"unix!");
    });
}
