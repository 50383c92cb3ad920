//! HTTP/1.1 keep-alive hello world: a goroutine per connection, requests parsed with
//! `httparse`, pipelined requests answered in order. The load script
//! (`scripts/load.sh`) runs it side by side with the same server in Go's net/http.
//!
//! `cargo run --release --example http_server -- [addr]` (default 127.0.0.1:8080).

use std::io::{self, Read, Write};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use goru::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"Hello, World!";

/// The `Date` header's value, refreshed once a second by a goroutine (as Go does).
type DateCache = Arc<RwLock<String>>;

/// Format a Unix time as an HTTP date (RFC 9110 IMF-fixdate).
pub fn http_date(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn now_date() -> String {
    http_date(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Serve one connection until the client closes it or asks to.
pub fn handle(mut conn: TcpStream, date: &DateCache) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = conn.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        // Answer every complete request in the buffer (pipelining), then write once.
        let mut start = 0;
        let mut close = false;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[start..filled]) {
                Ok(httparse::Status::Complete(len)) => {
                    close = wants_close(&req);
                    respond(&mut out, &req, &date.read().unwrap());
                    start += len;
                    if close {
                        break;
                    }
                }
                Ok(httparse::Status::Partial) => break,
                Err(_) => {
                    out.extend_from_slice(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    close = true;
                    break;
                }
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a request larger than the buffer
        }
        conn.write_all(&out)?;
        out.clear();
        if close {
            return Ok(());
        }
    }
}

fn wants_close(req: &httparse::Request) -> bool {
    let connection = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("connection"))
        .map(|h| h.value.to_ascii_lowercase());
    match req.version {
        Some(0) => connection.as_deref() != Some(b"keep-alive"),
        _ => connection.as_deref() == Some(b"close"),
    }
}

fn respond(out: &mut Vec<u8>, req: &httparse::Request, date: &str) {
    let (status, body): (&str, &[u8]) = match req.path {
        Some("/") => ("200 OK", BODY),
        _ => ("404 Not Found", b"404 page not found\n"),
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nDate: {date}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(body);
}

/// Accept forever, one goroutine per connection.
pub fn serve(listener: TcpListener) {
    let date: DateCache = Arc::new(RwLock::new(now_date()));
    {
        let date = date.clone();
        goru::go(move || {
            let ticker = goru::time::Ticker::new(Duration::from_secs(1));
            for _ in ticker.receiver() {
                *date.write().unwrap() = now_date();
            }
        });
    }
    for conn in listener.incoming() {
        match conn {
            Ok(conn) => {
                let _ = conn.set_nodelay(true);
                let date = date.clone();
                goru::go(move || {
                    let _ = handle(conn, &date);
                });
            }
            Err(err) => eprintln!("accept: {err}"),
        }
    }
}

#[goru::main]
fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).expect("bind");
    println!(
        "goru http server on http://{} ({} workers)",
        listener.local_addr().unwrap(),
        goru::runtime::workers()
    );
    serve(listener);
}
