//! A concurrent web crawler, a goroutine per URL, against a small site served by
//! `goru::http::serve` in the same program (so it runs anywhere); the pages are
//! fetched with goru's ureq agent.
//! A mutex-guarded set keeps each page fetched once; a WaitGroup tells when the
//! crawl is over; the pages come back over a channel.
//!
//! `cargo run --features http --example crawler`

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use goru::chan::{self, Sender};
use goru::http::{Body, Response, StatusCode};
use goru::net::TcpListener;
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

/// Serve the site with `goru::http::serve`: a goroutine per connection and per request.
pub fn serve(listener: TcpListener) {
    let pages = site();
    let served = goru::http::serve(listener, move |req| match pages.get(req.uri().path()) {
        Some(links) => {
            let body: String = links
                .iter()
                .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
                .collect();
            Response::new(Body::from(body))
        }
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .unwrap(),
    });
    if let Err(err) = served {
        eprintln!("crawler's site: {err}");
    }
}

/// A client for the crawl: goru's ureq agent (requests park the goroutine), with
/// error statuses returned as responses rather than errors.
pub fn client() -> ureq::Agent {
    goru::http::agent_with(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

/// GET `path`: the status code and the links on the page.
pub fn fetch(
    agent: &ureq::Agent,
    addr: SocketAddr,
    path: &str,
) -> Result<(u16, Vec<String>), ureq::Error> {
    let mut response = agent.get(&format!("http://{addr}{path}")).call()?;
    let status = response.status().as_u16();
    let page = response.body_mut().read_to_string()?;
    let links = page
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    Ok((status, links))
}

/// Crawl from `path`: a goroutine per newly seen URL.
fn crawl(
    agent: ureq::Agent,
    addr: SocketAddr,
    path: String,
    seen: Arc<Mutex<HashSet<String>>>,
    wg: WaitGroup,
    found: Sender<(String, u16, usize)>,
) {
    match fetch(&agent, addr, &path) {
        Ok((status, links)) => {
            found.send((path, status, links.len())).unwrap();
            for link in links {
                if seen.lock().insert(link.clone()) {
                    wg.add(1);
                    let (agent, seen, wg, found) =
                        (agent.clone(), seen.clone(), wg.clone(), found.clone());
                    goru::go(move || crawl(agent, addr, link, seen, wg, found));
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
        goru::go(move || crawl(client(), addr, "/".into(), seen, wg, found_tx));
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
