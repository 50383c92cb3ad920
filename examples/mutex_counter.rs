//! The mutex counter of the notes: `inc` takes the lock around `i += 1`, so 1,000
//! goroutines incrementing 1,000 times each always reach 1,000,000. Without the lock
//! (a read and a write in separate steps) updates are lost.
//!
//! `cargo run --release --example mutex_counter`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use goru::sync::{Mutex, WaitGroup};

const GOROUTINES: u64 = 1000;
const INCREMENTS: u64 = 1000;

fn run_all(inc: impl Fn() + Send + Sync + 'static) {
    let inc = Arc::new(inc);
    let wg = WaitGroup::new();
    for _ in 0..GOROUTINES {
        wg.add(1);
        let (wg, inc) = (wg.clone(), inc.clone());
        goru::go(move || {
            for k in 0..INCREMENTS {
                inc();
                if k % 100 == 0 {
                    goru::yield_now(); // let the others interleave
                }
            }
            wg.done();
        });
    }
    wg.wait();
}

#[goru::main]
fn main() {
    let i = Arc::new(Mutex::new(0u64));
    let counter = i.clone();
    run_all(move || *counter.lock() += 1); // mut.Lock(); i += 1; mut.Unlock()
    println!("with the mutex: {}", *i.lock());

    // The race: read, then write, with nothing keeping others out in between.
    let racy = Arc::new(AtomicU64::new(0));
    let counter = racy.clone();
    run_all(move || {
        let seen = counter.load(Ordering::Relaxed);
        std::hint::spin_loop();
        counter.store(seen + 1, Ordering::Relaxed);
    });
    println!(
        "without it: {} (lost updates on a multi-core run are likely)",
        racy.load(Ordering::Relaxed)
    );
}
