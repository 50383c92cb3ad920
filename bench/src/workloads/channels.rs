//! Channel workloads: ping-pong, buffered streams, select, fan-in.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const ROUND_TRIPS: u32 = 500_000;
const VALUES: u64 = 10_000_000;
const CAP: usize = 1024;
const SELECTS: u64 = 2_000_000;
const FAN_IN: u64 = 100_000;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "unbuffered ping-pong",
            unit: "per round trip",
            go_name: "pingpong",
            runs: vec![
                ("goru", ping_goru),
                ("may", ping_may),
                ("tokio", ping_tokio),
                ("crossbeam+threads", ping_crossbeam),
            ],
        },
        Workload {
            name: "buffered 1->1 (cap 1024, 10M)",
            unit: "per value",
            go_name: "buffered1",
            runs: vec![
                ("goru", |s| buffered_goru(s, 1)),
                ("may", |_| buffered_may(1)),
                ("tokio", buffered_tokio),
                ("crossbeam+threads", |_| buffered_crossbeam(1)),
            ],
        },
        Workload {
            name: "buffered 4->4 (cap 1024, 10M)",
            unit: "per value",
            go_name: "buffered4",
            runs: vec![
                ("goru", |s| buffered_goru(s, 4)),
                ("may", |_| buffered_may(4)),
                ("crossbeam+threads", |_| buffered_crossbeam(4)),
            ],
        },
        Workload {
            name: "two-way select",
            unit: "per select",
            go_name: "select",
            runs: vec![
                ("goru", select_goru),
                ("tokio", select_tokio),
                ("crossbeam+threads", select_crossbeam),
            ],
        },
        Workload {
            name: "fan-in from 100k goroutines",
            unit: "per goroutine",
            go_name: "fanin",
            runs: vec![
                ("goru", fanin_goru),
                ("may", fanin_may),
                ("tokio", fanin_tokio),
            ],
        },
    ]
}

// ---- unbuffered ping-pong: two goroutines, a value there and back over two channels.

fn ping_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let (ping_tx, ping_rx) = goru::chan::bounded::<u32>(0);
        let (pong_tx, pong_rx) = goru::chan::bounded::<u32>(0);
        let echo = goru::go(move || {
            for v in &ping_rx {
                pong_tx.send(v + 1).unwrap();
            }
        });
        let start = Instant::now();
        for i in 0..ROUND_TRIPS {
            ping_tx.send(i).unwrap();
            assert_eq!(pong_rx.recv().unwrap(), i + 1);
        }
        let took = start.elapsed();
        drop(ping_tx);
        echo.join().unwrap();
        took / ROUND_TRIPS
    })
}

fn ping_may(_: &Settings) -> Duration {
    let (ping_tx, ping_rx) = may::sync::mpsc::channel::<u32>();
    let (pong_tx, pong_rx) = may::sync::mpsc::channel::<u32>();
    // SAFETY: may's spawn is unsafe because of thread-locals; none are used here.
    let echo = unsafe {
        may::coroutine::spawn(move || {
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v + 1).unwrap();
            }
        })
    };
    // SAFETY: as above.
    let main = unsafe {
        may::coroutine::spawn(move || {
            let start = Instant::now();
            for i in 0..ROUND_TRIPS {
                ping_tx.send(i).unwrap();
                assert_eq!(pong_rx.recv().unwrap(), i + 1);
            }
            start.elapsed()
        })
    };
    let took = main.join().unwrap();
    echo.join().unwrap();
    took / ROUND_TRIPS
}

fn ping_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u32>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u32>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
            }
        });
        let main = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..ROUND_TRIPS {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await.unwrap(), i + 1);
            }
            start.elapsed()
        });
        let took = main.await.unwrap();
        echo.await.unwrap();
        took / ROUND_TRIPS
    })
}

fn ping_crossbeam(_: &Settings) -> Duration {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u32>(0);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u32>(0);
    let echo = std::thread::spawn(move || {
        for v in ping_rx {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let start = Instant::now();
    for i in 0..ROUND_TRIPS {
        ping_tx.send(i).unwrap();
        assert_eq!(pong_rx.recv().unwrap(), i + 1);
    }
    let took = start.elapsed();
    drop(ping_tx);
    echo.join().unwrap();
    took / ROUND_TRIPS
}

// ---- buffered streams: `pairs` producers and `pairs` consumers, 10M values in all.

fn expected_sum() -> u64 {
    VALUES * (VALUES - 1) / 2
}

fn buffered_goru(s: &Settings, pairs: u64) -> Duration {
    goru_runtime(s).run(move || {
        let start = Instant::now();
        let (tx, rx) = goru::chan::bounded::<u64>(CAP);
        for p in 0..pairs {
            let tx = tx.clone();
            goru::go(move || {
                (p..VALUES)
                    .step_by(pairs as usize)
                    .for_each(|v| tx.send(v).unwrap())
            });
        }
        drop(tx);
        let consumers: Vec<_> = (0..pairs)
            .map(|_| {
                let rx = rx.clone();
                goru::go(move || rx.iter().sum::<u64>())
            })
            .collect();
        let sum: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, expected_sum());
        start.elapsed() / VALUES as u32
    })
}

fn buffered_may(pairs: u64) -> Duration {
    // may has no bounded channel: its unbounded mpmc stands in (no back-pressure).
    let start = Instant::now();
    let (tx, rx) = may::sync::mpmc::channel::<u64>();
    let producers: Vec<_> = (0..pairs)
        .map(|p| {
            let tx = tx.clone();
            // SAFETY: see ping_may.
            unsafe {
                may::coroutine::spawn(move || {
                    (p..VALUES)
                        .step_by(pairs as usize)
                        .for_each(|v| tx.send(v).unwrap())
                })
            }
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..pairs)
        .map(|_| {
            let rx = rx.clone();
            // SAFETY: see ping_may.
            unsafe {
                may::coroutine::spawn(move || {
                    let mut s = 0u64;
                    while let Ok(v) = rx.recv() {
                        s += v;
                    }
                    s
                })
            }
        })
        .collect();
    producers.into_iter().for_each(|h| h.join().unwrap());
    let sum: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, expected_sum());
    start.elapsed() / VALUES as u32
}

fn buffered_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        tokio::spawn(async move {
            for v in 0..VALUES {
                tx.send(v).await.unwrap();
            }
        });
        let consumer = tokio::spawn(async move {
            let mut s = 0u64;
            while let Some(v) = rx.recv().await {
                s += v;
            }
            s
        });
        assert_eq!(consumer.await.unwrap(), expected_sum());
        start.elapsed() / VALUES as u32
    })
}

fn buffered_crossbeam(pairs: u64) -> Duration {
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    for p in 0..pairs {
        let tx = tx.clone();
        std::thread::spawn(move || {
            (p..VALUES)
                .step_by(pairs as usize)
                .for_each(|v| tx.send(v).unwrap())
        });
    }
    drop(tx);
    let consumers: Vec<_> = (0..pairs)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().sum::<u64>())
        })
        .collect();
    let sum: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, expected_sum());
    start.elapsed() / VALUES as u32
}

// ---- two-way select: one consumer selects over two channels fed by two producers.

fn select_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let (tx1, rx1) = goru::chan::bounded::<u64>(CAP);
        let (tx2, rx2) = goru::chan::bounded::<u64>(CAP);
        // The producers send through clones: the channels stay open until the end, as
        // Go's never-closed channels do, so no case turns ready by closing.
        let (p1, p2) = (tx1.clone(), tx2.clone());
        goru::go(move || (0..SELECTS / 2).for_each(|v| p1.send(v).unwrap()));
        goru::go(move || (0..SELECTS / 2).for_each(|v| p2.send(v).unwrap()));
        let mut sum = 0;
        for _ in 0..SELECTS {
            goru::select! {
                recv(rx1) -> v => sum += v.unwrap(),
                recv(rx2) -> v => sum += v.unwrap(),
            }
        }
        assert_eq!(sum, 2 * ((SELECTS / 2) * (SELECTS / 2 - 1) / 2));
        let took = start.elapsed();
        drop((tx1, tx2));
        took / SELECTS as u32
    })
}

fn select_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let start = Instant::now();
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u64>(CAP);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<u64>(CAP);
        tokio::spawn(async move {
            for v in 0..SELECTS / 2 {
                tx1.send(v).await.unwrap();
            }
        });
        tokio::spawn(async move {
            for v in 0..SELECTS / 2 {
                tx2.send(v).await.unwrap();
            }
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0;
            for _ in 0..SELECTS {
                tokio::select! {
                    Some(v) = rx1.recv() => sum += v,
                    Some(v) = rx2.recv() => sum += v,
                }
            }
            sum
        });
        assert_eq!(
            consumer.await.unwrap(),
            2 * ((SELECTS / 2) * (SELECTS / 2 - 1) / 2)
        );
        start.elapsed() / SELECTS as u32
    })
}

fn select_crossbeam(_: &Settings) -> Duration {
    let start = Instant::now();
    let (tx1, rx1) = crossbeam_channel::bounded::<u64>(CAP);
    let (tx2, rx2) = crossbeam_channel::bounded::<u64>(CAP);
    let (p1, p2) = (tx1.clone(), tx2.clone()); // keep the channels connected (see goru's)
    std::thread::spawn(move || (0..SELECTS / 2).for_each(|v| p1.send(v).unwrap()));
    std::thread::spawn(move || (0..SELECTS / 2).for_each(|v| p2.send(v).unwrap()));
    let mut sum = 0;
    for _ in 0..SELECTS {
        crossbeam_channel::select! {
            recv(rx1) -> v => sum += v.unwrap(),
            recv(rx2) -> v => sum += v.unwrap(),
        }
    }
    assert_eq!(sum, 2 * ((SELECTS / 2) * (SELECTS / 2 - 1) / 2));
    let took = start.elapsed();
    drop((tx1, tx2));
    took / SELECTS as u32
}

// ---- fan-in: 100,000 goroutines each send one result over one channel.

fn fanin_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let (tx, rx) = goru::chan::bounded::<u64>(CAP);
        for i in 0..FAN_IN {
            let tx = tx.clone();
            goru::go(move || tx.send(i).unwrap());
        }
        drop(tx);
        assert_eq!(rx.iter().sum::<u64>(), FAN_IN * (FAN_IN - 1) / 2);
        start.elapsed() / FAN_IN as u32
    })
}

fn fanin_may(_: &Settings) -> Duration {
    let start = Instant::now();
    let (tx, rx) = may::sync::mpsc::channel::<u64>();
    for i in 0..FAN_IN {
        let tx = tx.clone();
        // SAFETY: see ping_may.
        unsafe { may::coroutine::spawn(move || tx.send(i).unwrap()) };
    }
    drop(tx);
    let mut sum = 0;
    while let Ok(v) = rx.recv() {
        sum += v;
    }
    assert_eq!(sum, FAN_IN * (FAN_IN - 1) / 2);
    start.elapsed() / FAN_IN as u32
}

fn fanin_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        for i in 0..FAN_IN {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(i).await.unwrap() });
        }
        drop(tx);
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        assert_eq!(sum, FAN_IN * (FAN_IN - 1) / 2);
        start.elapsed() / FAN_IN as u32
    })
}
