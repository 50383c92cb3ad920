//! The async bridge: `goru::block_on` of a ready future (the cost of entering and
//! leaving a future from a goroutine) against tokio's `Runtime::block_on`/`Handle::block_on`
//! equivalent, and a value handed from a future to a parked receiver with
//! `send_async`/`recv_async` against tokio's mpsc channel.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const READY: u32 = 1_000_000;
const HANDOFFS: u32 = 200_000;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "block_on, ready future",
            unit: "per block_on",
            go_name: "",
            runs: vec![("goru", goru_ready), ("tokio", tokio_ready)],
        },
        Workload {
            name: "recv_async hand-off",
            unit: "per value",
            go_name: "",
            runs: vec![("goru", goru_handoff), ("tokio", tokio_handoff)],
        },
    ]
}

fn goru_ready(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..READY {
            sum += goru::block_on(std::future::ready(u64::from(i)));
        }
        std::hint::black_box(sum);
        start.elapsed() / READY
    })
}

/// tokio's way to run a future to completion from synchronous code on a runtime
/// thread pool: `Handle::block_on` from a blocking-pool thread.
fn tokio_ready(s: &Settings) -> Duration {
    let rt = tokio_runtime(s);
    let handle = rt.handle().clone();
    rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            let mut sum = 0u64;
            for i in 0..READY {
                sum += handle.block_on(std::future::ready(u64::from(i)));
            }
            std::hint::black_box(sum);
            start.elapsed() / READY
        })
        .await
        .unwrap()
    })
}

/// A goroutine sends with `send_async` inside `block_on`; another receives with
/// `recv_async`: the future-to-future path of the channel, unbuffered.
fn goru_handoff(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let (tx, rx) = goru::chan::bounded::<u32>(0);
        let start = Instant::now();
        let sender = goru::go(move || {
            goru::block_on(async {
                for i in 0..HANDOFFS {
                    tx.send_async(i).await.unwrap();
                }
            })
        });
        let sum = goru::block_on(async {
            let mut sum = 0u64;
            while let Ok(v) = rx.recv_async().await {
                sum += u64::from(v);
            }
            sum
        });
        sender.join().unwrap();
        assert_eq!(sum, u64::from(HANDOFFS) * u64::from(HANDOFFS - 1) / 2);
        start.elapsed() / HANDOFFS
    })
}

/// The same between two tokio tasks over tokio's mpsc channel of capacity 1 (its
/// smallest; it has no rendezvous channel).
fn tokio_handoff(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
        let start = Instant::now();
        let sender = tokio::spawn(async move {
            for i in 0..HANDOFFS {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0u64;
        while let Some(v) = rx.recv().await {
            sum += u64::from(v);
        }
        sender.await.unwrap();
        assert_eq!(sum, u64::from(HANDOFFS) * u64::from(HANDOFFS - 1) / 2);
        start.elapsed() / HANDOFFS
    })
}
