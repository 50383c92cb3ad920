//! The examples' own code, run and checked (each example is compiled in as a module).

#[cfg(feature = "http")]
use std::io::{Read, Write};
#[cfg(feature = "http")]
use std::time::Duration;

#[allow(dead_code)]
#[path = "../examples/echo_server.rs"]
mod echo_server;

#[cfg(feature = "http")]
#[allow(dead_code)]
#[path = "../examples/http_server.rs"]
mod http_server;

fn runtime() -> goru::Runtime {
    goru::Runtime::builder().workers(2).build().unwrap()
}

#[test]
fn echo_server_demo_echoes_each_client() {
    let lines = runtime().run(|| echo_server::demo(3));
    assert_eq!(
        lines,
        vec![
            "hello from client 0",
            "hello from client 1",
            "hello from client 2"
        ]
    );
}

#[cfg(feature = "http")]
/// Read one response with a Content-Length body.
fn read_response(stream: &mut goru::net::TcpStream, pending: &mut Vec<u8>) -> (String, String) {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(len) = resp.parse(pending).unwrap() {
            let status = format!("{} {}", resp.code.unwrap(), resp.reason.unwrap());
            let body_len: usize = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            if pending.len() >= len + body_len {
                let body = String::from_utf8(pending[len..len + body_len].to_vec()).unwrap();
                pending.drain(..len + body_len);
                return (status, body);
            }
        }
        let mut buf = [0; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed mid-response");
        pending.extend_from_slice(&buf[..n]);
    }
}

#[cfg(feature = "http")]
#[test]
fn http_server_keeps_connections_alive_and_answers_pipelined_requests() {
    runtime().run(|| {
        let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        goru::go(move || http_server::serve(listener));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                goru::go(move || {
                    let mut stream = goru::net::TcpStream::connect(addr).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut pending = Vec::new();
                    // Sequential requests on one connection.
                    for _ in 0..50 {
                        stream
                            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                            .unwrap();
                        let (status, body) = read_response(&mut stream, &mut pending);
                        assert_eq!((status.as_str(), body.as_str()), ("200 OK", "Hello, World!"));
                    }
                    // Three pipelined in one write, answered in order.
                    stream
                        .write_all(
                            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        )
                        .unwrap();
                    let codes: Vec<String> = (0..3)
                        .map(|_| read_response(&mut stream, &mut pending).0)
                        .collect();
                    assert_eq!(codes, vec!["200 OK", "404 Not Found", "200 OK"]);
                    let mut rest = Vec::new();
                    stream.read_to_end(&mut rest).unwrap();
                    assert!(rest.is_empty() && pending.is_empty(), "closed after the last");
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[cfg(feature = "http")]
#[test]
fn http_server_rejects_garbage_with_400() {
    runtime().run(|| {
        let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        goru::go(move || http_server::serve(listener));
        let mut stream = goru::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"\x00\x01 nonsense\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request"), "{reply}");
    });
}
