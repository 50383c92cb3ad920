//! 10,000 goroutines each sleeping 1 ms, 50 times in a loop. Reported: the overshoot of
//! one sleep (mean time per sleep minus the 1 ms asked for); lower is better.

use std::time::{Duration, Instant};

use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const SLEEPERS: usize = 10_000;
const ROUNDS: u32 = 50;
const NAP: Duration = Duration::from_millis(1);

pub fn workload() -> Workload {
    Workload {
        name: "10k sleepers, 1 ms x 50",
        unit: "overshoot per sleep",
        go_name: "sleepers",
        runs: vec![
            ("goru", goru),
            ("may", may),
            ("tokio", tokio),
            ("threads", threads),
        ],
    }
}

/// Mean overshoot of one sleep, from the slowest sleeper's total time.
fn overshoot(total: Duration) -> Duration {
    (total / ROUNDS).saturating_sub(NAP)
}

fn sleeper_loop(sleep: impl Fn(Duration)) -> Duration {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        sleep(NAP);
    }
    start.elapsed()
}

fn goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let handles: Vec<_> = (0..SLEEPERS)
            .map(|_| goru::go(|| sleeper_loop(goru::time::sleep)))
            .collect();
        overshoot(
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap(),
        )
    })
}

fn may(_: &Settings) -> Duration {
    let handles: Vec<_> = (0..SLEEPERS)
        // SAFETY: see spawn.rs; no thread-locals involved.
        .map(|_| unsafe { may::coroutine::spawn(|| sleeper_loop(may::coroutine::sleep)) })
        .collect();
    overshoot(
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap(),
    )
}

fn tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let handles: Vec<_> = (0..SLEEPERS)
            .map(|_| {
                tokio::spawn(async {
                    let start = Instant::now();
                    for _ in 0..ROUNDS {
                        tokio::time::sleep(NAP).await;
                    }
                    start.elapsed()
                })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for h in handles {
            slowest = slowest.max(h.await.unwrap());
        }
        overshoot(slowest)
    })
}

fn threads(_: &Settings) -> Duration {
    let handles: Vec<_> = (0..SLEEPERS)
        .map(|_| {
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(|| sleeper_loop(std::thread::sleep))
                .expect("spawn a sleeper thread")
        })
        .collect();
    overshoot(
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap(),
    )
}
