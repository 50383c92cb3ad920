//! A concurrent web crawler, a goroutine per URL, against a small site served by a
//! goroutine-per-connection HTTP server in the same program (so it runs anywhere).
//! A mutex-guarded set keeps each page fetched once; a WaitGroup tells when the
//! crawl is over; the pages come back over a channel.
//!
//! `cargo run --example crawler`

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use goru::chan::{self, Sender};
use goru::net::{TcpListener, TcpStream};
use goru::sync::{Mutex, WaitGroup};

/// The site: each page's links.
pub fn site() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        ("/", vec!["/go", "/channels", "/sync"]),
        ("/go", vec!["/", "/go/scheduler", "/go/stacks"]),
        ("/go/scheduler", vec!["/go", "/sync"]),
        ("/go/stacks", vec!["/go"]),
        ("/channels", vec!["/channels/select", "/channels/close"]),
        ("/channels/select", vec!["/channels"]),
        ("/channels/close", vec!["/channels", "/missing"]),
        ("/sync", vec!["/", "/sync/mutex"]),
        ("/sync/mutex", vec!["/sync"]),
    ])
}

/// Serve the site: a goroutine per connection, one request each.
pub fn serve(listener: TcpListener) {
    let pages = Arc::new(site());
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let pages = pages.clone();
        goru::go(move || {
            let mut request = Vec::new();
            let mut buf = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let response = match pages.get(path.as_str()) {
                Some(links) => {
                    let body: String = links
                        .iter()
                        .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
                        .collect();
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                None => "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string(),
            };
            let _ = conn.write_all(response.as_bytes());
        });
    }
}

/// GET `path`: the status code and the links on the page.
pub fn fetch(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<String>)> {
    let mut stream = TcpStream::connect(addr)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let links = response
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    Ok((status, links))
}

/// Crawl from `path`: a goroutine per newly seen URL.
fn crawl(
    addr: SocketAddr,
    path: String,
    seen: Arc<Mutex<HashSet<String>>>,
    wg: WaitGroup,
    found: Sender<(String, u16, usize)>,
) {
    match fetch(addr, &path) {
        Ok((status, links)) => {
            found.send((path, status, links.len())).unwrap();
            for link in links {
                if seen.lock().insert(link.clone()) {
                    wg.add(1);
                    let (seen, wg, found) = (seen.clone(), wg.clone(), found.clone());
                    goru::go(move || crawl(addr, link, seen, wg, found));
                }
            }
        }
        Err(err) => eprintln!("{path}: {err}"),
    }
    wg.done();
}

/// Start the server, crawl the whole site, return (path, status, links) sorted.
pub fn crawl_site() -> Vec<(String, u16, usize)> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    goru::go(move || serve(listener));
    let seen = Arc::new(Mutex::new(HashSet::from(["/".to_string()])));
    let wg = WaitGroup::new();
    let (found_tx, found_rx) = chan::unbounded();
    wg.add(1);
    {
        let (seen, wg) = (seen.clone(), wg.clone());
        goru::go(move || crawl(addr, "/".into(), seen, wg, found_tx));
    }
    wg.wait();
    let mut pages: Vec<_> = found_rx.try_iter().collect();
    pages.sort();
    pages
}

#[goru::main]
fn main() {
    let pages = crawl_site();
    for (path, status, links) in &pages {
        println!("{status} {path} ({links} links)");
    }
    println!("crawled {} pages", pages.len());
}
