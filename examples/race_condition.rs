//! Race conditions and interleavings. Go offers `go run -race`; goru offers
//! `goru::check`, which explores interleavings deterministically until one breaks an
//! assertion, and prints the seed and the schedule that did it.
//!
//! The bug: a balance updated by a read in one lock section and a write in another
//! (check-then-act). Each section is safe; together they lose updates.
//!
//! `cargo run --example race_condition`

use std::sync::Arc;

use goru::check::{self, Config};
use goru::sync::Mutex;

fn deposits(fixed: bool) {
    let balance = Arc::new(Mutex::new(100));
    let handles: Vec<_> = [10, 20]
        .into_iter()
        .map(|amount| {
            let balance = balance.clone();
            goru::go(move || {
                if fixed {
                    *balance.lock() += amount; // read and write under one lock
                } else {
                    let seen = *balance.lock(); // read...
                    *balance.lock() = seen + amount; // ...and write, separately
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*balance.lock(), 130, "a deposit was lost");
}

fn main() {
    let found = std::panic::catch_unwind(|| {
        check::explore(Config::new().iterations(1000), || deposits(false))
    });
    let report = found.expect_err("goru::check finds the lost deposit");
    let text = report.downcast_ref::<String>().cloned().unwrap_or_default();
    // The first lines: what failed, the seed to replay it.
    for line in text.lines().take(8) {
        println!("{line}");
    }
    let fixed = check::explore(Config::new().iterations(1000), || deposits(true));
    println!(
        "fixed version: {} schedules explored, no failure ({:.0} schedules/s)",
        fixed.iterations,
        fixed.schedules_per_second()
    );
}
