//! goru::check: how fast schedules of a small channel program are explored (nothing
//! to compare with: Go, may and tokio have no schedule explorer).

use std::time::Duration;

use super::Workload;
use crate::Settings;

const ITERATIONS: usize = 2000;

pub fn workload() -> Workload {
    Workload {
        name: "check: 10-goroutine channel program",
        unit: "per schedule",
        go_name: "",
        runs: vec![("goru", explore)],
    }
}

/// Nine producers send ten values each over a channel of capacity 4 to main, which
/// checks the sum: ten goroutines, about 200 scheduling steps per run.
fn ten_goroutines() {
    let (tx, rx) = goru::chan::bounded::<u64>(4);
    for p in 0..9u64 {
        let tx = tx.clone();
        goru::go(move || {
            for i in 0..10 {
                tx.send(p * 10 + i).unwrap();
            }
        });
    }
    drop(tx);
    let sum: u64 = rx.iter().sum();
    assert_eq!(sum, (0..90).sum::<u64>());
}

fn explore(_: &Settings) -> Duration {
    let cfg = goru::check::Config::new().iterations(ITERATIONS);
    let report = goru::check::explore(cfg, ten_goroutines);
    report.elapsed / ITERATIONS as u32
}
