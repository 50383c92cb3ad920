//! The soak: a minute of 1,000 connections in a mix of echo, HTTP and `select!`-heavy
//! work on one runtime, every response checked, with the process's resident memory,
//! thread count and open descriptors sampled each second and required to stay flat
//! once warmed up. Heavy, so `#[ignore]`d; `.ci/run` runs it in release
//! (`--include-ignored`). `GORU_SOAK_SECS` sets the length (60 by default).
#![cfg(feature = "http")]

use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::chan;
use goru::http::{Body, Request, Response};
use goru::net::{TcpListener, TcpStream};

const ECHO_CLIENTS: usize = 500;
const HTTP_CLIENTS: usize = 500;
const SELECT_PAIRS: usize = 100;

#[derive(Clone, Copy, Debug)]
struct Sample {
    second: u64,
    rss_mib: f64,
    threads: usize,
    fds: usize,
}

fn sample(second: u64) -> Sample {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let resident: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    Sample {
        second,
        rss_mib: resident * 4096.0 / (1 << 20) as f64,
        threads,
        fds,
    }
}

/// Room for every connection's two ends, as far as the hard limit allows.
fn raise_descriptor_limit() -> u64 {
    // SAFETY: plain get/setrlimit calls on a struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(16_384);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        limit.rlim_cur
    }
}

fn echo_server(listener: TcpListener) {
    for conn in listener.incoming() {
        let conn = conn.expect("accept");
        goru::go(move || {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut writer = conn;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if writer.write_all(line.as_bytes()).is_err() {
                    return;
                }
                line.clear();
            }
        });
    }
}

/// What the HTTP server answers for `/soak/ID/SEQ`, which the client recomputes.
fn http_answer(path: &str) -> String {
    let digest = path
        .bytes()
        .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    format!("{path} {digest:x}")
}

#[test]
#[ignore = "a minute of load: run in release by .ci/run (--include-ignored)"]
fn a_minute_of_a_thousand_connections_stays_flat() {
    let secs: u64 = std::env::var("GORU_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let fd_limit = raise_descriptor_limit();
    // An echo connection takes 4 descriptors (each end and its reading clone), an
    // HTTP one 2; fewer connections if the hard limit leaves less room.
    let room = (fd_limit as usize).saturating_sub(300) / 6;
    let (echo_clients, http_clients) = (ECHO_CLIENTS.min(room), HTTP_CLIENTS.min(room));
    eprintln!(
        "soak: {secs} s, {echo_clients} echo + {http_clients} HTTP connections, \
         {SELECT_PAIRS} select pairs (descriptor limit {fd_limit})"
    );
    let checked = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let counts = checked.clone();
    let samples = goru::run(move || {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let echo_addr = echo.local_addr().unwrap();
        goru::go(move || echo_server(echo));
        let web = TcpListener::bind("127.0.0.1:0").unwrap();
        let web_addr = web.local_addr().unwrap();
        goru::go(move || {
            goru::http::serve(web, |req: Request<Body>| {
                Response::new(Body::from(http_answer(req.uri().path())))
            })
        });
        let mut workers = Vec::new();
        // Echo: a line per round trip on a connection kept for the whole soak.
        for id in 0..echo_clients {
            let counts = counts.clone();
            workers.push(goru::go(move || {
                let conn = TcpStream::connect(echo_addr).expect("connect to echo");
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                let mut line = String::new();
                for seq in 0u64.. {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let sent = format!("client {id} line {seq}\n");
                    writer.write_all(sent.as_bytes()).unwrap();
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    assert_eq!(line, sent, "echo client {id}");
                    counts[0].fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // HTTP: keep-alive requests, each client on an agent (a connection) of its own.
        for id in 0..http_clients {
            let counts = counts.clone();
            workers.push(goru::go(move || {
                let agent = goru::http::agent();
                for seq in 0u64.. {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let path = format!("/soak/{id}/{seq}");
                    let mut got = agent
                        .get(&format!("http://{web_addr}{path}"))
                        .call()
                        .expect("HTTP request");
                    let body = got.body_mut().read_to_string().unwrap();
                    assert_eq!(body, http_answer(&path), "HTTP client {id}");
                    counts[1].fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // select!: producers and consumers, with a timeout case and a quit channel.
        let (quit_tx, quit) = chan::bounded::<()>(0);
        for pair in 0..SELECT_PAIRS {
            let (data_tx, data) = chan::bounded::<u64>(4);
            let (quit_p, quit_c) = (quit.clone(), quit.clone());
            workers.push(goru::go(move || {
                let mut seq = 0u64;
                loop {
                    goru::select! {
                        // The consumer leaves first at the end (it may see `quit` first).
                        send(data_tx, seq) -> r => match r {
                            Ok(()) => seq += 1,
                            Err(_) => return,
                        },
                        recv(quit_p) -> _ => return,
                    }
                }
            }));
            let counts = counts.clone();
            workers.push(goru::go(move || {
                let mut expected = 0u64;
                loop {
                    goru::select! {
                        recv(data) -> v => match v {
                            Ok(v) => {
                                assert_eq!(v, expected, "select pair {pair}: order kept");
                                expected += 1;
                                counts[2].fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => return, // the producer saw `quit` first
                        },
                        recv(quit_c) -> _ => return,
                        recv(goru::time::after(Duration::from_millis(20))) -> _ => {},
                    }
                }
            }));
        }
        // Sample once a second until the deadline.
        let mut samples = Vec::new();
        let start = Instant::now();
        for second in 0.. {
            samples.push(sample(second));
            if Instant::now() >= deadline {
                break;
            }
            // On the second, however late the last sample was taken.
            let next = start + Duration::from_secs(second + 1);
            goru::time::sleep(next.saturating_duration_since(Instant::now()));
        }
        drop(quit_tx); // closes `quit`: the select pairs end
        workers.into_iter().for_each(|w| w.join().unwrap());
        samples
    });
    let [echoed, answered, selected] = [0, 1, 2].map(|k| checked[k].load(Ordering::Relaxed));
    eprintln!(
        "soak: {echoed} echoes, {answered} HTTP responses, {selected} select receives checked"
    );
    for s in &samples {
        eprintln!(
            "soak: t={:>3} s  rss {:>7.1} MiB  threads {:>3}  fds {:>5}",
            s.second, s.rss_mib, s.threads, s.fds
        );
    }
    assert!(echoed > 0 && answered > 0 && selected > 0);
    // Flat once warmed up: the first quarter (at least 10 s) is warm-up; after it,
    // no sample may exceed the first one after warm-up by more than allocator slack.
    let warm = (samples.len() / 4).max(10).min(samples.len() - 1);
    let base = samples[warm];
    for s in &samples[warm..] {
        assert!(
            s.rss_mib <= base.rss_mib * 1.25 + 16.0,
            "RSS grew from {:.1} to {:.1} MiB by {} s",
            base.rss_mib,
            s.rss_mib,
            s.second
        );
        assert!(
            s.threads <= base.threads + 2,
            "threads {} -> {} by {} s",
            base.threads,
            s.threads,
            s.second
        );
        assert!(
            s.fds <= base.fds + 20,
            "descriptors {} -> {} by {} s",
            base.fds,
            s.fds,
            s.second
        );
    }
}
