//! Spawn a million trivial goroutines and join them all. Time per goroutine.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const N: u64 = 1_000_000;
/// OS threads cannot reasonably do a million; they do this many and are scaled.
const THREADS_N: u64 = 20_000;

pub fn workload() -> Workload {
    Workload {
        name: "spawn+join 1M",
        unit: "per goroutine",
        go_name: "spawn",
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
        let handles: Vec<_> = (0..N).map(|i| goru::go(move || i * 2)).collect();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, N * (N - 1));
        start.elapsed() / N as u32
    })
}

fn may(_: &Settings) -> Duration {
    let start = Instant::now();
    // SAFETY: may's spawn is unsafe because its coroutines may observe thread-locals
    // across migrations; these closures touch none.
    let handles: Vec<_> = (0..N)
        .map(|i| unsafe { may::coroutine::spawn(move || i * 2) })
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, N * (N - 1));
    start.elapsed() / N as u32
}

fn tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..N).map(|i| tokio::spawn(async move { i * 2 })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, N * (N - 1));
        start.elapsed() / N as u32
    })
}

fn threads(_: &Settings) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS_N)
        .map(|i| std::thread::spawn(move || i * 2))
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, THREADS_N * (THREADS_N - 1));
    start.elapsed() / THREADS_N as u32
}
