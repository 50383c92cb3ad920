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

/// Sleep `nap` `rounds` times with `sleep`; the time it all took. (Also the
/// neighbours' loop in `stuck`.)
pub(super) fn sleeper_loop(rounds: u32, nap: Duration, sleep: impl Fn(Duration)) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        sleep(nap);
    }
    start.elapsed()
}

/// [`sleeper_loop`] as a tokio task.
pub(super) async fn tokio_sleeper_loop(rounds: u32, nap: Duration) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        tokio::time::sleep(nap).await;
    }
    start.elapsed()
}

fn goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let handles: Vec<_> = (0..SLEEPERS)
            .map(|_| goru::go(|| sleeper_loop(ROUNDS, NAP, goru::time::sleep)))
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
        .map(|_| unsafe {
            may::coroutine::spawn(|| sleeper_loop(ROUNDS, NAP, may::coroutine::sleep))
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

fn tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let handles: Vec<_> = (0..SLEEPERS)
            .map(|_| tokio::spawn(tokio_sleeper_loop(ROUNDS, NAP)))
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
                .spawn(|| sleeper_loop(ROUNDS, NAP, std::thread::sleep))
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
