//! The notes' WaitGroup program: five workers that each "work" for a second, and a
//! main that waits for all of them (`wg.Add(1)` before `go`, `wg.Done()` at the end).
//!
//! `cargo run --example waitgroup_workers`: all five finish together after about one
//! second, because they sleep concurrently.

use std::time::{Duration, Instant};

use goru::sync::WaitGroup;

fn worker(id: u32, wg: WaitGroup) {
    println!("Worker : {id} -> Starting");
    goru::time::sleep(Duration::from_secs(1)); // an expensive task
    println!("Worker : {id} -> Done");
    wg.done(); // notify the WaitGroup that this worker is done
}

#[goru::main]
fn main() {
    let start = Instant::now();
    let wg = WaitGroup::new();
    for id in 1..=5 {
        wg.add(1);
        let wg = wg.clone();
        goru::go(move || worker(id, wg));
    }
    wg.wait(); // block until the counter is back to 0
    println!("all workers done in {:.1} s", start.elapsed().as_secs_f64());
}
