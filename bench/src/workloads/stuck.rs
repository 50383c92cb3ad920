//! The neighbours of a goroutine stuck in a thread-blocking call: 1,000 goroutines
//! sleep 1 ms 20 times while another holds its worker in `std::thread::sleep(300 ms)`.
//! Reported: the slowest neighbour's time for its 20 sleeps (ideally about 21 ms).
//! Pinned goroutines started on the stuck worker cannot move (`goru-pinned`): they
//! wait out the call. Unpinned ones are moved by the monitor's hand-off.

use std::time::Duration;

use super::sleepers::{sleeper_loop, tokio_sleeper_loop};
use super::{goru_runtime, tokio_runtime, Workload};
use crate::Settings;

const NEIGHBOURS: usize = 1_000;
const ROUNDS: u32 = 20;
const NAP: Duration = Duration::from_millis(1);
const STUCK: Duration = Duration::from_millis(300);

pub fn workload() -> Workload {
    Workload {
        name: "1k neighbours of a 300 ms blocking call",
        unit: "slowest neighbour",
        go_name: "",
        runs: vec![("goru", goru), ("tokio", tokio)],
    }
}

fn goru(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let neighbours: Vec<_> = (0..NEIGHBOURS)
            .map(|_| goru::go(|| sleeper_loop(ROUNDS, NAP, goru::time::sleep)))
            .collect();
        // Once every neighbour has started (and, pinned, found its thread).
        goru::time::sleep(2 * NAP);
        let stuck = goru::go(|| std::thread::sleep(STUCK));
        let slowest = neighbours.into_iter().map(|h| h.join().unwrap()).max();
        stuck.join().unwrap();
        slowest.unwrap()
    })
}

fn tokio(s: &Settings) -> Duration {
    tokio_runtime(s).block_on(async {
        let neighbours: Vec<_> = (0..NEIGHBOURS)
            .map(|_| tokio::spawn(tokio_sleeper_loop(ROUNDS, NAP)))
            .collect();
        tokio::time::sleep(2 * NAP).await;
        let stuck = tokio::spawn(async { std::thread::sleep(STUCK) });
        let mut slowest = Duration::ZERO;
        for h in neighbours {
            slowest = slowest.max(h.await.unwrap());
        }
        stuck.await.unwrap();
        slowest
    })
}
