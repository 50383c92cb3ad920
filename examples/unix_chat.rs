//! A chat server over a Unix socket: a goroutine per client reads its lines, a hub
//! goroutine owns the set of clients and broadcasts each line to the others, as in the
//! classic Go chat server. `--demo` starts the server and three clients in the same
//! program and prints what each client hears.
//!
//! `cargo run --example unix_chat -- --demo` (or `-- PATH` to serve on PATH, and
//! `socat - UNIX-CONNECT:PATH` to join).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use goru::chan::{self, Receiver, Sender};
use goru::net::{UnixListener, UnixStream};

enum Event {
    Joined(u64, Arc<UnixStream>),
    Said(u64, String),
    Left(u64),
}

/// The hub: the only owner of the client set, so no lock is needed.
fn hub(events: Receiver<Event>) {
    let mut clients: HashMap<u64, Arc<UnixStream>> = HashMap::new();
    for event in events.iter() {
        match event {
            Event::Joined(id, conn) => {
                clients.insert(id, conn);
            }
            Event::Left(id) => {
                clients.remove(&id);
            }
            Event::Said(from, line) => {
                for (&id, conn) in &clients {
                    if id != from {
                        let _ = writeln!(&**conn, "client {from}: {line}");
                    }
                }
            }
        }
    }
}

/// Serve on `path` until accepting fails.
pub fn serve(path: &Path) {
    let listener = UnixListener::bind(path).expect("bind");
    let (events, inbox) = chan::unbounded();
    goru::go(move || hub(inbox));
    for (id, conn) in (1u64..).zip(listener.incoming()) {
        let Ok(conn) = conn else { break };
        let conn = Arc::new(conn);
        let events: Sender<Event> = events.clone();
        events.send(Event::Joined(id, conn.clone())).unwrap();
        goru::go(move || {
            for line in BufReader::new(&*conn).lines() {
                let Ok(line) = line else { break };
                events.send(Event::Said(id, line)).unwrap();
            }
            events.send(Event::Left(id)).unwrap();
        });
    }
}

/// Three clients on one server: each says hello after all have joined, then reports
/// the two lines it heard.
pub fn demo(path: PathBuf) -> Vec<String> {
    let _ = std::fs::remove_file(&path);
    let server_path = path.clone();
    goru::go(move || serve(&server_path));
    while UnixStream::connect(&path).is_err() {
        goru::time::sleep(std::time::Duration::from_millis(5));
    }
    let clients: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();
    goru::time::sleep(std::time::Duration::from_millis(50)); // all have joined the hub
    let heard: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            goru::go(move || {
                writeln!(
                    &conn,
                    "hello from the {} client",
                    ["first", "second", "third"][i]
                )
                .unwrap();
                let mut lines = BufReader::new(&conn).lines();
                let mut got: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
                got.sort();
                got
            })
        })
        .collect();
    let mut transcript = Vec::new();
    for (i, h) in heard.into_iter().enumerate() {
        for line in h.join().unwrap() {
            transcript.push(format!("client {} heard: {line}", i + 2));
        }
    }
    let _ = std::fs::remove_file(&path);
    transcript
}

#[goru::main]
fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "--demo".into());
    if arg == "--demo" {
        let path = std::env::temp_dir().join(format!("goru-chat-{}.sock", std::process::id()));
        for line in demo(path) {
            println!("{line}");
        }
    } else {
        serve(Path::new(&arg));
    }
}
