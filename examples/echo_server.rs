//! A TCP echo server with a goroutine per connection, as one writes it in Go.
//!
//! `cargo run --release --example echo_server -- [addr]` (default 127.0.0.1:7007), then
//! `nc 127.0.0.1 7007`. With `--demo` it starts, echoes a few lines from its own
//! clients, prints them and exits.

use std::io::{self, BufRead, BufReader, Write};

use goru::net::{TcpListener, TcpStream};

/// Echo one connection's bytes back until the client closes it.
pub fn handle(conn: TcpStream) -> io::Result<u64> {
    let mut reader = &conn;
    let mut writer = &conn;
    io::copy(&mut reader, &mut writer)
}

/// Accept forever, one goroutine per connection.
pub fn serve(listener: TcpListener) {
    for conn in listener.incoming() {
        match conn {
            Ok(conn) => {
                goru::go(move || {
                    if let Err(err) = handle(conn) {
                        eprintln!("echo: {err}");
                    }
                });
            }
            Err(err) => eprintln!("accept: {err}"),
        }
    }
}

/// Start a server on an ephemeral port, talk to it from `clients` goroutines and
/// return what each got back, in client order.
pub fn demo(clients: usize) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    goru::go(move || serve(listener));
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            goru::go(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                writeln!(stream, "hello from client {i}").expect("write");
                let mut line = String::new();
                BufReader::new(&stream).read_line(&mut line).expect("read");
                line.trim_end().to_string()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[goru::main]
fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--demo") {
        for line in demo(3) {
            println!("echoed: {line}");
        }
        return;
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:7007".to_string());
    let listener = TcpListener::bind(&addr).expect("bind");
    println!(
        "echo server listening on {}",
        listener.local_addr().unwrap()
    );
    serve(listener);
}
