//! sync and context workloads: uncontended and contended locking, WaitGroup fan-out
//! and fan-in, context create-and-cancel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const UNCONTENDED: u32 = 10_000_000;
const CONTENDERS: u64 = 1000;
const PER_CONTENDER: u64 = 1000;
const FAN: u32 = 100_000;
const CONTEXTS: u32 = 1_000_000;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "uncontended lock+unlock",
            unit: "per pair",
            go_name: "lock",
            runs: vec![
                ("goru", lock_goru),
                ("may", lock_may),
                ("tokio", lock_tokio),
                ("std", lock_std),
            ],
        },
        Workload {
            name: "mutex, 1000 contenders x 1000",
            unit: "per lock",
            go_name: "contended",
            runs: vec![
                ("goru", contended_goru),
                ("may", contended_may),
                ("tokio", contended_tokio),
                ("std+threads", contended_std),
            ],
        },
        Workload {
            name: "WaitGroup fan-out/in, 100k",
            unit: "per goroutine",
            go_name: "waitgroup",
            runs: vec![("goru", wg_goru), ("may", wg_may)],
        },
        Workload {
            name: "context create+cancel",
            unit: "per context",
            go_name: "context",
            runs: vec![("goru", ctx_goru)],
        },
    ]
}

fn lock_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let m = goru::sync::Mutex::new(0u64);
        let start = Instant::now();
        for _ in 0..UNCONTENDED {
            *m.lock() += 1;
        }
        let took = start.elapsed();
        assert_eq!(*m.lock(), UNCONTENDED as u64);
        took / UNCONTENDED
    })
}

fn lock_may(_: &Settings) -> Duration {
    let m = may::sync::Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..UNCONTENDED {
        *m.lock().unwrap() += 1;
    }
    let took = start.elapsed();
    assert_eq!(*m.lock().unwrap(), UNCONTENDED as u64);
    took / UNCONTENDED
}

fn lock_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let m = tokio::sync::Mutex::new(0u64);
        let start = Instant::now();
        for _ in 0..UNCONTENDED {
            *m.lock().await += 1;
        }
        let took = start.elapsed();
        assert_eq!(*m.lock().await, UNCONTENDED as u64);
        took / UNCONTENDED
    })
}

fn lock_std(_: &Settings) -> Duration {
    let m = std::sync::Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..UNCONTENDED {
        *m.lock().unwrap() += 1;
    }
    let took = start.elapsed();
    assert_eq!(*m.lock().unwrap(), UNCONTENDED as u64);
    took / UNCONTENDED
}

fn per_lock(took: Duration) -> Duration {
    took / (CONTENDERS * PER_CONTENDER) as u32
}

fn contended_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let m = Arc::new(goru::sync::Mutex::new(0u64));
        let start = Instant::now();
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let m = m.clone();
                goru::go(move || (0..PER_CONTENDER).for_each(|_| *m.lock() += 1))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        let took = start.elapsed();
        assert_eq!(*m.lock(), CONTENDERS * PER_CONTENDER);
        per_lock(took)
    })
}

fn contended_may(_: &Settings) -> Duration {
    let m = Arc::new(may::sync::Mutex::new(0u64));
    let start = Instant::now();
    let hs: Vec<_> = (0..CONTENDERS)
        .map(|_| {
            let m = m.clone();
            // SAFETY: may's spawn is unsafe because of thread-locals; none are used here.
            unsafe {
                may::coroutine::spawn(move || {
                    (0..PER_CONTENDER).for_each(|_| *m.lock().unwrap() += 1)
                })
            }
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let took = start.elapsed();
    assert_eq!(*m.lock().unwrap(), CONTENDERS * PER_CONTENDER);
    per_lock(took)
}

fn contended_tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        let start = Instant::now();
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_CONTENDER {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let took = start.elapsed();
        assert_eq!(*m.lock().await, CONTENDERS * PER_CONTENDER);
        per_lock(took)
    })
}

fn contended_std(_: &Settings) -> Duration {
    let m = Arc::new(std::sync::Mutex::new(0u64));
    let start = Instant::now();
    let hs: Vec<_> = (0..CONTENDERS)
        .map(|_| {
            let m = m.clone();
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || (0..PER_CONTENDER).for_each(|_| *m.lock().unwrap() += 1))
                .unwrap()
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let took = start.elapsed();
    assert_eq!(*m.lock().unwrap(), CONTENDERS * PER_CONTENDER);
    per_lock(took)
}

fn wg_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let wg = goru::sync::WaitGroup::new();
        for _ in 0..FAN {
            wg.add(1);
            let wg = wg.clone();
            goru::go(move || wg.done());
        }
        wg.wait();
        start.elapsed() / FAN
    })
}

fn wg_may(_: &Settings) -> Duration {
    let start = Instant::now();
    let wg = may::sync::WaitGroup::new();
    for _ in 0..FAN {
        let wg = wg.clone();
        // SAFETY: see contended_may.
        unsafe { may::coroutine::spawn(move || drop(wg)) };
    }
    wg.wait();
    start.elapsed() / FAN
}

fn ctx_goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let root = goru::context::background();
        let start = Instant::now();
        for _ in 0..CONTEXTS {
            let (ctx, cancel) = goru::context::with_cancel(&root);
            cancel.cancel();
            assert!(ctx.err().is_some());
        }
        start.elapsed() / CONTEXTS
    })
}
