//! Concurrency versus parallelism, from a real run.
//!
//! First the notes' program: `Task A` and `Task B` print three times each, half a
//! second apart, while main sleeps three seconds. Then two CPU-bound goroutines run
//! on 1 worker (concurrency: interleaved on one core) and on 2 workers (parallelism:
//! side by side); each run is traced and drawn as an SVG timeline, one lane per
//! worker, whose paths are printed.
//!
//! `cargo run --release --example concurrency_parallelism [-- out_dir]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn task(name: &str) {
    for i in 1..=3 {
        println!("{name} : {i}");
        goru::time::sleep(Duration::from_millis(500));
    }
}

/// One slice of CPU-bound work.
fn chunk() {
    for i in 0..20_000u64 {
        std::hint::black_box(i);
    }
}

/// How many chunks take about `ms` milliseconds on this machine, in this build.
fn chunks_for(ms: u64) -> u64 {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_millis(ms) {
        chunk();
        n += 1;
    }
    n
}

/// A fixed amount of CPU work, yielding every `per_slice` chunks (about 2 ms) so that
/// goroutines sharing a worker take visible turns.
fn busy(chunks: u64, per_slice: u64) {
    for i in 1..=chunks {
        chunk();
        if i % per_slice == 0 {
            goru::yield_now();
        }
    }
}

/// Run two goroutines, each with about 40 ms of CPU work, on `workers` workers under
/// a trace; return the SVG path, how many lanes (workers) ran goroutines, and how
/// long the pair took (about 80 ms on one worker, 40 ms on two).
pub fn traced_run(workers: usize, dir: &std::path::Path) -> (PathBuf, usize, Duration) {
    let work = chunks_for(40);
    let slice = (work / 20).max(1);
    goru::trace::start();
    let rt = goru::Runtime::builder().workers(workers).build().unwrap();
    let took = rt.run(move || {
        let start = Instant::now();
        let a = goru::go(move || busy(work, slice));
        let b = goru::go(move || busy(work, slice));
        a.join().unwrap();
        b.join().unwrap();
        start.elapsed()
    });
    let trace = goru::trace::stop();
    let lanes = {
        let mut w: Vec<usize> = trace.spans().iter().map(|s| s.worker).collect();
        w.sort();
        w.dedup();
        w.len()
    };
    let title = format!(
        "two CPU-bound goroutines on {workers} worker(s): {}",
        if workers == 1 {
            "concurrency"
        } else {
            "parallelism"
        }
    );
    let svg = dir.join(format!("goru-{workers}-worker.svg"));
    std::fs::write(&svg, trace.to_svg(&title)).expect("write the SVG");
    trace
        .write_json(svg.with_extension("json"))
        .expect("write the trace");
    (svg, lanes, took)
}

fn main() {
    goru::run(|| {
        goru::go(|| task("Task A")); // run concurrently
        goru::go(|| task("Task B"));
        goru::time::sleep(Duration::from_secs(3));
        println!("Done");
    });

    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    for workers in [1, 2] {
        let (svg, lanes, took) = traced_run(workers, &dir);
        println!(
            "{workers} worker(s): {lanes} lane(s) busy, both done in {took:?}; timeline: {}",
            svg.display()
        );
    }
}
