//! Two goroutines each yielding in a loop (Go's `runtime.Gosched`). Time per yield.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const YIELDS: u32 = 1_000_000;

pub fn workload() -> Workload {
    Workload {
        name: "yield, 2 goroutines",
        unit: "per yield",
        go_name: "yield",
        runs: vec![
            ("goru", goru),
            ("may", may),
            ("tokio", tokio),
            ("threads", threads),
        ],
    }
}

fn goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let pair: Vec<_> = (0..2)
            .map(|_| {
                goru::go(|| {
                    for _ in 0..YIELDS {
                        goru::yield_now();
                    }
                })
            })
            .collect();
        pair.into_iter().for_each(|h| h.join().unwrap());
        start.elapsed() / (2 * YIELDS)
    })
}

fn may(_: &Settings) -> Duration {
    let start = Instant::now();
    let pair: Vec<_> = (0..2)
        .map(|_| {
            // SAFETY: see spawn.rs; no thread-locals involved.
            unsafe {
                may::coroutine::spawn(|| {
                    for _ in 0..YIELDS {
                        may::coroutine::yield_now();
                    }
                })
            }
        })
        .collect();
    pair.into_iter().for_each(|h| h.join().unwrap());
    start.elapsed() / (2 * YIELDS)
}

fn tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let start = Instant::now();
        let pair: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in pair {
            h.await.unwrap();
        }
        start.elapsed() / (2 * YIELDS)
    })
}

fn threads(_: &Settings) -> Duration {
    let start = Instant::now();
    let pair: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..YIELDS {
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    pair.into_iter().for_each(|h| h.join().unwrap());
    start.elapsed() / (2 * YIELDS)
}
