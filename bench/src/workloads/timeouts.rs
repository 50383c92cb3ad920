//! Timeouts that are armed and abandoned, what a server does for every request:
//! a select whose other case wins over a long `after`, and goroutines that each make
//! and stop a `with_timeout` context.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

/// Long enough never to fire during a run: every timer here is abandoned or stopped.
const TIMEOUT: Duration = Duration::from_secs(60);
const SELECTS: u32 = 1_000_000;
const CONTEXTS: u32 = 100_000;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "select with an after(60 s) timeout, 1M",
            unit: "per select",
            go_name: "aftertimeout",
            runs: vec![("goru", after_goru), ("tokio", after_tokio)],
        },
        Workload {
            name: "with_timeout create+stop, 100k goroutines",
            unit: "per goroutine",
            go_name: "timeoutcontexts",
            runs: vec![("goru", contexts_goru)],
        },
    ]
}

fn after_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let (tx, rx) = goru::chan::bounded(1);
        let start = Instant::now();
        for i in 0..SELECTS {
            tx.send(i).unwrap();
            goru::select! {
                recv(rx) -> v => assert_eq!(v, Ok(i)),
                recv(goru::time::after(TIMEOUT)) -> _ => panic!("the timeout fired"),
            }
        }
        start.elapsed() / SELECTS
    })
}

fn after_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let start = Instant::now();
        for i in 0..SELECTS {
            tx.send(i).await.unwrap();
            tokio::select! {
                v = rx.recv() => assert_eq!(v, Some(i)),
                _ = tokio::time::sleep(TIMEOUT) => panic!("the timeout fired"),
            }
        }
        start.elapsed() / SELECTS
    })
}

fn contexts_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let root = goru::context::background();
        let wg = goru::sync::WaitGroup::new();
        let start = Instant::now();
        for _ in 0..CONTEXTS {
            wg.add(1);
            let (root, wg) = (root.clone(), wg.clone());
            goru::go(move || {
                let (ctx, cancel) = goru::context::with_timeout(&root, TIMEOUT);
                cancel.cancel();
                assert!(ctx.err().is_some());
                wg.done();
            });
        }
        wg.wait();
        start.elapsed() / CONTEXTS
    })
}
