//! A worker pool: jobs go out over one channel to a fixed number of workers, results
//! come back over another. The results channel closes when the last worker's sender
//! is dropped, so main simply ranges over it; a WaitGroup counts the workers out.
//!
//! `cargo run --example worker_pool`

use std::time::Duration;

use goru::chan;
use goru::sync::WaitGroup;

pub fn run_pool(workers: usize, jobs: u64) -> Vec<(u64, u64, usize)> {
    let (jobs_tx, jobs_rx) = chan::bounded::<u64>(8);
    let (results_tx, results_rx) = chan::bounded::<(u64, u64, usize)>(8);
    let wg = WaitGroup::new();
    for w in 1..=workers {
        wg.add(1);
        let (jobs_rx, results_tx, wg) = (jobs_rx.clone(), results_tx.clone(), wg.clone());
        goru::go(move || {
            for job in &jobs_rx {
                goru::time::sleep(Duration::from_millis(5)); // the work
                results_tx.send((job, job * 2, w)).unwrap();
            }
            wg.done();
        });
    }
    drop(results_tx);
    goru::go(move || {
        for j in 1..=jobs {
            jobs_tx.send(j).unwrap();
        }
    }); // closing the jobs channel ends the workers' loops
    let mut results: Vec<_> = results_rx.iter().collect(); // ends when all workers are done
    wg.wait();
    results.sort();
    results
}

#[goru::main]
fn main() {
    let results = run_pool(3, 9);
    for (job, result, worker) in &results {
        println!("job {job} -> {result} (worker {worker})");
    }
    let used: std::collections::BTreeSet<usize> = results.iter().map(|r| r.2).collect();
    println!("{} results from {} workers", results.len(), used.len());
}
