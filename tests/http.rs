//! goru::http and goru::tls with real clients: the curl binary, ureq (goru's agent),
//! and rustls. Each test runs a server on goroutines and its clients beside it.
#![cfg(all(feature = "http", feature = "tls"))]

#[path = "common/certs.rs"]
mod certs;
mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goru::http::{Body, Request, Response, Server, StatusCode, Version};
use goru::net::{TcpListener, TcpStream};
use sha2::{Digest, Sha256};

/// Serve `handler` with `server` on a goroutine; the address it listens on.
fn spawn_server<H>(server: Server, handler: H) -> SocketAddr
where
    H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    goru::go(move || server.serve(listener, handler).unwrap());
    addr
}

/// Serve `handler` over TLS with `cert` (`serve_tls`) on a goroutine; the address.
fn spawn_tls_server<H>(cert: &certs::TestCert, handler: H) -> SocketAddr
where
    H: Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = goru::tls::TlsAcceptor::new(cert.server_config());
    goru::go(move || goru::http::serve_tls(listener, tls, handler).unwrap());
    addr
}

fn hello(req: Request<Body>) -> Response<Body> {
    Response::new(Body::from(format!("hello {}", req.uri().path())))
}

/// Run curl with `args` off the workers; its stdout, checking that it succeeded.
fn curl(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = goru::blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "60"])
            .args(&args)
            .output()
            .expect("curl is installed (.ci/run installs it)")
    });
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Write raw bytes on a new connection and read everything until the server closes it.
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn.write_all(request).unwrap();
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn curl_get() {
    goru::run(|| {
        let addr = spawn_server(Server::new(), hello);
        let out = curl(&["-i", &format!("http://{addr}/gopher")]);
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(out.ends_with("\r\n\r\nhello /gopher"), "{out}");
        assert!(
            out.to_ascii_lowercase().contains("content-length: 13"),
            "{out}"
        );
    });
}

#[test]
fn curl_keep_alive_reuses_the_connection() {
    goru::run(|| {
        let peers = Arc::new(Mutex::new(Vec::new()));
        let seen = peers.clone();
        let addr = spawn_server(Server::new(), move |req| {
            let peer = *req.extensions().get::<SocketAddr>().unwrap();
            seen.lock().unwrap().push(peer);
            hello(req)
        });
        let out = curl(&[&format!("http://{addr}/a"), &format!("http://{addr}/b")]);
        assert_eq!(out, "hello /ahello /b");
        let peers = peers.lock().unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0], peers[1], "both requests came on one connection");
    });
}

#[test]
fn curl_http2_prior_knowledge() {
    goru::run(|| {
        let addr = spawn_server(Server::new(), |req| {
            assert_eq!(req.version(), Version::HTTP_2);
            hello(req)
        });
        // One URL per curl: curl 7.88 (Debian 12) breaks a reused prior-knowledge
        // connection itself (curl#10634); TLS below reuses one for many streams.
        for path in ["/h2", "/again"] {
            let out = curl(&[
                "--http2-prior-knowledge",
                "-w",
                " %{http_version}",
                &format!("http://{addr}{path}"),
            ]);
            assert_eq!(out, format!("hello {path} 2"));
        }
    });
}

#[test]
fn http2_streams_of_one_connection_run_concurrently() {
    let cert = certs::localhost();
    let pem = cert.pem_file();
    goru::run(move || {
        let peers = Arc::new(Mutex::new(HashSet::new()));
        let seen = peers.clone();
        let port = spawn_tls_server(&cert, move |req| {
            seen.lock()
                .unwrap()
                .insert(*req.extensions().get::<SocketAddr>().unwrap());
            goru::time::sleep(Duration::from_millis(300));
            Response::new(Body::from(format!("{:?} ", req.version())))
        })
        .port();
        let resolve = format!("localhost:{port}:127.0.0.1");
        let urls: Vec<String> = (0..10)
            .map(|i| format!("https://localhost:{port}/{i}"))
            .collect();
        let mut args = vec![
            "--parallel",
            "--parallel-max",
            "10",
            "--cacert",
            pem.to_str().unwrap(),
            "--resolve",
            &resolve,
        ];
        args.extend(urls.iter().map(String::as_str));
        let start = Instant::now();
        let out = curl(&args);
        let elapsed = start.elapsed();
        assert_eq!(out, "HTTP/2.0 ".repeat(10));
        // One after another, the ten would take 3 s.
        assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
        assert!(
            peers.lock().unwrap().len() <= 2,
            "multiplexed: {:?}",
            peers.lock().unwrap()
        );
    });
}

#[test]
fn curl_http2_over_tls_through_alpn() {
    let cert = certs::localhost();
    let pem = cert.pem_file();
    goru::run(move || {
        let port = spawn_tls_server(&cert, |req| {
            Response::new(Body::from(format!("{:?}", req.version())))
        })
        .port();
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = format!("https://localhost:{port}/");
        let pem = pem.to_str().unwrap();
        let h2 = curl(&[
            "--cacert",
            pem,
            "--resolve",
            &resolve,
            "-w",
            " %{http_version}",
            &url,
        ]);
        assert_eq!(h2, "HTTP/2.0 2");
        let h1 = curl(&["--http1.1", "--cacert", pem, "--resolve", &resolve, &url]);
        assert_eq!(h1, "HTTP/1.1");
    });
}

#[test]
fn a_10_mib_post_is_echoed_intact() {
    let dir = std::env::temp_dir();
    let input = dir.join(format!("goru-post-{}.bin", std::process::id()));
    let output = dir.join(format!("goru-echo-{}.bin", std::process::id()));
    // Pseudo-random bytes (xorshift), so that a reordered or lost chunk changes the hash.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..10 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&input, &data).unwrap();
    let expected = Sha256::digest(&data);
    goru::run(move || {
        let addr = spawn_server(Server::new(), |req| {
            let body = req.into_body().read_to_vec().unwrap();
            Response::new(Body::from(body))
        });
        for http in ["--http1.1", "--http2-prior-knowledge"] {
            curl(&[
                http,
                "--data-binary",
                &format!("@{}", input.display()),
                "-H",
                "Content-Type: application/octet-stream",
                "-o",
                output.to_str().unwrap(),
                &format!("http://{addr}/echo"),
            ]);
            let echoed = std::fs::read(&output).unwrap();
            assert_eq!(echoed.len(), 10 << 20, "{http}");
            assert_eq!(Sha256::digest(&echoed), expected, "{http}");
        }
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&output);
    });
}

#[test]
fn agent_gets_and_posts() {
    goru::run(|| {
        let addr = spawn_server(Server::new(), |req| {
            let method = req.method().clone();
            let body = req.into_body().read_to_vec().unwrap();
            Response::builder()
                .status(StatusCode::CREATED)
                .header("x-method", method.as_str())
                .body(Body::from(body))
                .unwrap()
        });
        let agent = goru::http::agent();
        let mut got = agent.get(&format!("http://{addr}/")).call().unwrap();
        assert_eq!(got.status(), StatusCode::CREATED);
        assert_eq!(got.headers()["x-method"], "GET");
        assert_eq!(got.body_mut().read_to_string().unwrap(), "");
        let mut posted = agent
            .post(&format!("http://localhost:{}/", addr.port()))
            .send("payload")
            .unwrap();
        assert_eq!(posted.headers()["x-method"], "POST");
        assert_eq!(posted.body_mut().read_to_string().unwrap(), "payload");
    });
}

#[test]
fn agent_speaks_https_with_the_configured_roots() {
    let cert = certs::localhost();
    goru::run(move || {
        let port = spawn_tls_server(&cert, hello).port();
        let roots =
            ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(
                &cert.der,
            )
            .to_owned()]));
        let config = ureq::Agent::config_builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build();
        let agent = goru::http::agent_with(config);
        let url = format!("https://localhost:{port}/secure");
        for _ in 0..3 {
            let mut got = agent.get(&url).call().unwrap();
            assert_eq!(got.body_mut().read_to_string().unwrap(), "hello /secure");
        }
        // The default agent does not trust a self-signed certificate.
        assert!(goru::http::agent().get(&url).call().is_err());
    });
}

#[test]
fn fifty_sleeping_handlers_overlap() {
    goru::run(|| {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let addr = spawn_server(Server::new(), move |req| {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            goru::time::sleep(Duration::from_millis(200));
            r.fetch_sub(1, Ordering::SeqCst);
            hello(req)
        });
        let start = Instant::now();
        let clients: Vec<_> = (0..50)
            .map(|i| {
                goru::go(move || {
                    let agent = goru::http::agent();
                    let mut got = agent.get(&format!("http://{addr}/{i}")).call().unwrap();
                    assert_eq!(
                        got.body_mut().read_to_string().unwrap(),
                        format!("hello /{i}")
                    );
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let elapsed = start.elapsed();
        // One after another they would take 10 s.
        assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
        assert!(
            peak.load(Ordering::SeqCst) >= 25,
            "peak {}",
            peak.load(Ordering::SeqCst)
        );
    });
}

#[test]
fn two_thousand_idle_keep_alive_connections_leave_the_server_responsive() {
    goru::run(|| {
        let peers = Arc::new(Mutex::new(HashSet::new()));
        let seen = peers.clone();
        let addr = spawn_server(Server::new(), move |req| {
            seen.lock()
                .unwrap()
                .insert(*req.extensions().get::<SocketAddr>().unwrap());
            Response::new(Body::from("ok"))
        });
        let mut idle = Vec::new();
        for _ in 0..2000 {
            let mut conn = TcpStream::connect(addr).unwrap();
            conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            let mut reply = Vec::new();
            let mut buf = [0; 512];
            while !reply.ends_with(b"\r\n\r\nok") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&reply));
                reply.extend_from_slice(&buf[..n]);
            }
            idle.push(conn); // kept open, idle, for the server to hold
        }
        assert_eq!(peers.lock().unwrap().len(), 2000);
        let start = Instant::now();
        let mut got = goru::http::agent()
            .get(&format!("http://{addr}/"))
            .call()
            .unwrap();
        assert_eq!(got.body_mut().read_to_string().unwrap(), "ok");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // Every idle connection is still open: a second request on each is answered.
        for conn in idle.iter_mut().step_by(100) {
            conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).unwrap();
            assert!(
                reply.starts_with("HTTP/1.1 200 OK") && reply.ends_with("ok"),
                "{reply}"
            );
        }
    });
}

#[test]
fn a_malformed_request_gets_400_and_the_server_keeps_serving() {
    goru::run(|| {
        let addr = spawn_server(Server::new(), hello);
        let reply = raw_exchange(addr, b"THIS IS NOT HTTP\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request"), "{reply}");
        let reply = raw_exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
        );
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request"), "{reply}");
        assert_eq!(curl(&[&format!("http://{addr}/still")]), "hello /still");
    });
}

#[test]
fn headers_over_the_limit_get_431() {
    goru::run(|| {
        let addr = spawn_server(Server::new().max_header_bytes(16 << 10), hello);
        let big = "x".repeat(64 << 10);
        let request = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n");
        let reply = raw_exchange(addr, request.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");
        let small = format!(
            "GET /ok HTTP/1.1\r\nHost: a\r\nX-Small: {}\r\nConnection: close\r\n\r\n",
            "y".repeat(4096)
        );
        assert!(raw_exchange(addr, small.as_bytes()).ends_with("hello /ok"));
    });
}

#[test]
fn a_silent_client_is_dropped_after_the_header_read_timeout() {
    goru::run(|| {
        let server = Server::new().read_header_timeout(Some(Duration::from_millis(300)));
        let addr = spawn_server(server, hello);
        let start = Instant::now();
        let mut silent = TcpStream::connect(addr).unwrap();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET / HT").unwrap(); // and never the rest
                                              // Meanwhile other clients are served at once.
        assert_eq!(curl(&[&format!("http://{addr}/other")]), "hello /other");
        for conn in [&mut silent, &mut slow] {
            conn.set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut rest = Vec::new();
            // Closed by the server: end of file (possibly after a 408), not our timeout.
            match conn.read_to_end(&mut rest) {
                Ok(_) => {}
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
            }
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    });
}

#[test]
fn a_panicking_handler_ends_its_request_only() {
    goru::run(|| {
        let addr = spawn_server(Server::new(), |req| {
            if req.uri().path() == "/panic" {
                panic!("handler bug");
            }
            hello(req)
        });
        assert!(goru::http::agent()
            .get(&format!("http://{addr}/panic"))
            .call()
            .is_err());
        assert_eq!(curl(&[&format!("http://{addr}/fine")]), "hello /fine");
    });
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight_then_returns() {
    goru::run(|| {
        let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (started_tx, started_rx) = goru::chan::bounded::<()>(1);
        let finished = Arc::new(Mutex::new(None));
        let finished_at = finished.clone();
        let server = goru::go(move || {
            Server::new()
                .shutdown_on(&ctx)
                .serve(listener, move |req| {
                    if req.uri().path() == "/slow" {
                        started_tx.send(()).unwrap();
                        goru::time::sleep(Duration::from_millis(300));
                        *finished_at.lock().unwrap() = Some(Instant::now());
                    }
                    hello(req)
                })
                .unwrap();
            Instant::now()
        });
        // An idle keep-alive connection, which the shutdown closes.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut buf = [0; 1024];
        assert!(idle.read(&mut buf).unwrap() > 0);
        let slow = goru::go(move || {
            let mut got = goru::http::agent()
                .get(&format!("http://{addr}/slow"))
                .call()
                .unwrap();
            got.body_mut().read_to_string().unwrap()
        });
        started_rx.recv().unwrap();
        cancel.cancel();
        assert_eq!(
            slow.join().unwrap(),
            "hello /slow",
            "the request in flight finished"
        );
        let returned = server.join().unwrap();
        let finished = finished
            .lock()
            .unwrap()
            .expect("the slow handler ran to its end");
        assert!(returned >= finished, "serve returned only after the drain");
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).unwrap();
        assert!(TcpStream::connect(addr).is_err(), "no longer accepting");
    });
}

#[test]
fn axum_router_with_a_handler_that_sleeps_through_goru() {
    use axum::routing::{get, post};
    async fn slow() -> &'static str {
        goru::time::sleep(Duration::from_millis(100)); // parks this request's goroutine
        "slept"
    }
    async fn shout(body: String) -> String {
        body.to_uppercase()
    }
    goru::run(|| {
        let router = axum::Router::new()
            .route("/slow", get(slow))
            .route("/shout", post(shout));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        goru::go(move || goru::http::serve_service(listener, router).unwrap());
        let start = Instant::now();
        let clients: Vec<_> = (0..20)
            .map(|_| goru::go(move || curl(&[&format!("http://{addr}/slow")])))
            .collect();
        for c in clients {
            assert_eq!(c.join().unwrap(), "slept");
        }
        assert!(
            start.elapsed() < Duration::from_secs(1) * 2,
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            curl(&["--data", "quiet", &format!("http://{addr}/shout")]),
            "QUIET"
        );
        let missing = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/nope"),
        ]);
        assert_eq!(missing, "404");
    });
}

#[test]
fn a_silent_tls_client_does_not_hold_up_another_handshake() {
    let cert = certs::localhost();
    let client_config = cert.client_config();
    goru::run(move || {
        let addr = spawn_tls_server(&cert, hello);
        let _silent: Vec<_> = (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let start = Instant::now();
        let tcp = TcpStream::connect(addr).unwrap();
        let mut tls = goru::tls::TlsStream::connect(client_config, "localhost", tcp).unwrap();
        tls.write_all(b"GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        match tls.read_to_string(&mut reply) {
            Ok(_) => {}
            // hyper closes without close_notify; all bytes are in.
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
        }
        assert!(reply.ends_with("hello /tls"), "{reply}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn one_goroutine_reads_a_tls_stream_while_another_writes() {
    let cert = certs::localhost();
    let client_config = cert.client_config();
    goru::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = goru::tls::TlsAcceptor::new(cert.server_config());
        // Echo server: its own reader and writer goroutines on one TlsStream.
        goru::go(move || {
            let (tcp, _) = listener.accept().unwrap();
            let tls = Arc::new(acceptor.accept(tcp).unwrap());
            let (tx, rx) = goru::chan::bounded::<Vec<u8>>(4);
            let reader = tls.clone();
            goru::go(move || {
                let mut buf = vec![0; 16 << 10];
                loop {
                    let n = (&*reader).read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    tx.send(buf[..n].to_vec()).unwrap();
                }
            });
            for chunk in rx.iter() {
                (&*tls).write_all(&chunk).unwrap();
            }
            tls.shutdown().unwrap();
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let tls = Arc::new(goru::tls::TlsStream::connect(client_config, "localhost", tcp).unwrap());
        let total = 8 << 20; // far beyond socket buffers: writer and reader must overlap
        let writer = tls.clone();
        let sent = goru::go(move || {
            let mut hash = Sha256::new();
            let chunk: Vec<u8> = (0..64 << 10).map(|i| (i * 7 % 251) as u8).collect();
            for round in 0..total / chunk.len() {
                let mut c = chunk.clone();
                c[0] = round as u8;
                (&*writer).write_all(&c).unwrap();
                hash.update(&c);
            }
            writer.shutdown().unwrap(); // close_notify: the echo ends
            hash.finalize()
        });
        let mut hash = Sha256::new();
        let mut got = 0;
        let mut buf = vec![0; 32 << 10];
        loop {
            let n = (&*tls).read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            got += n;
        }
        assert_eq!(got, total);
        assert_eq!(hash.finalize(), sent.join().unwrap());
    });
}

#[test]
fn accept_backs_off_when_descriptors_run_out_and_recovers() {
    if !common::is_child() {
        // The descriptor limit is per process: run alone.
        common::run_passing_child(
            "accept_backs_off_when_descriptors_run_out_and_recovers",
            &[],
        );
        return;
    }
    goru::run(|| {
        let addr = spawn_server(Server::new(), hello);
        // Use up every descriptor but one, which the client's socket takes.
        let mut hoard = Vec::new();
        loop {
            // SAFETY: dup of stdin has no preconditions; the result is checked.
            let fd = unsafe { libc::dup(0) };
            if fd < 0 {
                break;
            }
            hoard.push(fd);
        }
        // SAFETY: closing a descriptor this test owns.
        unsafe { libc::close(hoard.pop().unwrap()) };
        let client = std::thread::spawn(move || {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            conn.write_all(b"GET /back HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).unwrap();
            reply
        });
        // The server's accept now fails with EMFILE: it must wait, not spin.
        // (getrusage, not /proc: there is no descriptor to open a file with.)
        let cpu_before = cpu_time();
        goru::time::sleep(Duration::from_millis(600));
        let cpu = cpu_time() - cpu_before;
        for fd in hoard {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
        }
        let reply = goru::blocking(move || client.join().unwrap());
        assert!(reply.ends_with("hello /back"), "{reply}");
        assert!(
            cpu < Duration::from_millis(300),
            "spun while out of descriptors: {cpu:?}"
        );
    });
}

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given; all-zero bytes are a valid rusage.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn the_types_cross_goroutines() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<goru::tls::TlsStream>();
    send_sync::<goru::tls::TlsAcceptor>();
    send_sync::<Server>();
    send::<Body>();
    send::<Request<Body>>();
    send::<Response<Body>>();
}

#[test]
fn a_tls_handshake_honours_the_socket_timeouts() {
    let cert = certs::localhost();
    goru::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = TcpStream::connect(addr).unwrap();
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let start = Instant::now();
        let err = goru::tls::TlsAcceptor::new(cert.server_config())
            .accept(tcp)
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
        assert!(
            start.elapsed() >= Duration::from_millis(150),
            "{:?}",
            start.elapsed()
        );
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        // Garbage instead of a ClientHello is refused, not waited on.
        let mut liar = TcpStream::connect(addr).unwrap();
        let (tcp, _) = listener.accept().unwrap();
        liar.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let err = goru::tls::TlsAcceptor::new(cert.server_config())
            .accept(tcp)
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    });
}

#[test]
fn the_graceful_example_finishes_a_request_in_flight_on_sigterm() {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/graceful_server");
    let mut server = Command::new(&bin)
        .arg("127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "run {}: {e} (cargo test builds the examples)",
                bin.display()
            )
        });
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_string();
    let slow = std::thread::spawn(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "30", &format!("http://{addr}/slow")])
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(300)); // the request is in flight
                                                    // SAFETY: kill(2) on the child we started.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    let reply = slow.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        "slow, but finished\n"
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let last = lines.next().unwrap().unwrap();
    assert!(
        last.starts_with("shut down gracefully (received signal 15"),
        "{last}"
    );
}
