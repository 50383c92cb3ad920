//! An HTTP server that shuts down gracefully on SIGINT or SIGTERM, as a Go server does
//! with `signal.NotifyContext` and `Server.Shutdown`: on the signal it stops accepting,
//! lets the requests in flight finish, and exits.
//!
//! `cargo run --features http --example graceful_server -- [addr]` (default
//! 127.0.0.1:8080), then `curl localhost:8080/slow` and Ctrl-C while it waits.

use std::time::Duration;

use goru::context;
use goru::http::{Body, Request, Response, Server};
use goru::net::TcpListener;

fn handler(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/slow" {
        goru::time::sleep(Duration::from_secs(1)); // still answered after the signal
        return Response::new(Body::from("slow, but finished\n"));
    }
    Response::new(Body::from("hello\n"))
}

#[goru::main]
fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let (ctx, _stop) =
        context::with_signals(&context::background(), &[libc::SIGINT, libc::SIGTERM]);
    let listener = TcpListener::bind(&addr).expect("bind");
    println!("listening on {}", listener.local_addr().unwrap());
    Server::new()
        .read_header_timeout(Some(Duration::from_secs(5)))
        .shutdown_on(&ctx)
        .serve(listener, handler)
        .expect("serve");
    let why = ctx.cause().map(|c| c.to_string()).unwrap_or_default();
    println!("shut down gracefully ({why})");
}
