//! goru's benchmark harness: every workload on goru and on its peers, in one run.
//!
//! ```text
//! cargo run --release -p goru-bench [-- FILTER]     # or scripts/bench.sh, which installs Go
//! ```
//!
//! Each workload runs `BENCH_REPS` times (default 5) per runtime, all with
//! `BENCH_WORKERS` worker threads (default 2, as in DESIGN.md's targets).
//! `BENCH_PEERS=goru,go` limits a run to the runtimes named. `goru-pinned` is goru's
//! own runs again with every goroutine pinned (`GORU_PIN_GOROUTINES=1`), so its ratio
//! is the cost of pinned mode: above 1.00 pinned is slower. Each runtime runs each
//! workload in a fresh process (Go's side too), so none inherits another's threads or
//! allocator state. The table
//! shows each runtime's median and the ratio `peer / goru`: above 1.00 goru is faster.
//! Go runs the same workloads from `bench/go/main.go`, built on the fly when `go` is on
//! the PATH (scripts/bench.sh installs Debian's golang-go when it is not).
//!
//! Every Rust runtime here (goru, may, tokio, threads) runs with the system allocator,
//! what a user gets unless they choose otherwise; Go brings its own.
//! `BENCH_ALLOC=system,mimalloc` adds a second run of each with mimalloc as the global
//! allocator (`BENCH_ALLOC=mimalloc` runs only that), each ratio against goru on the
//! same allocator.

mod alloc;
mod go_peer;
mod report;
mod workloads;

#[global_allocator]
static GLOBAL: alloc::Chosen = alloc::Chosen;

use report::{Row, Table};

pub struct Settings {
    pub workers: usize,
    pub reps: usize,
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let settings = Settings {
        workers: env_or("BENCH_WORKERS", 2),
        reps: env_or("BENCH_REPS", 5),
    };
    may::config()
        .set_workers(settings.workers)
        .set_stack_size(0x2000);
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        run_child(&spec, &settings);
        return;
    }
    let peers = Peers(std::env::var("BENCH_PEERS").ok());
    let allocs = allocators();
    let go = peers.wanted("go").then(go_peer::GoPeer::build).flatten();
    println!(
        "goru benchmarks: {} workers, median of {} runs, Rust peers on the {} allocator; \
         ratio = peer time / goru time on the same allocator (> 1: goru is faster)\n",
        settings.workers,
        settings.reps,
        allocs.join(" and the ")
    );
    let mut table = Table::default();
    for workload in workloads::all() {
        if !workload.name.contains(&filter) {
            continue;
        }
        eprintln!("running {} ...", workload.name);
        let mut row = Row::new(workload.name, workload.unit);
        for &alloc in &allocs {
            for (peer, _) in workload.runs.iter().filter(|(peer, _)| peers.wanted(peer)) {
                if let Some(samples) = run_isolated(workload.name, peer, false, alloc) {
                    row.add(peer, alloc, report::median_of(samples));
                }
                if *peer == "goru" && peers.wanted(PINNED) {
                    if let Some(samples) = run_isolated(workload.name, peer, true, alloc) {
                        row.add(PINNED, alloc, report::median_of(samples));
                    }
                }
            }
        }
        if let Some(go) = go.as_ref().filter(|_| !workload.go_name.is_empty()) {
            if let Some(samples) = go.run(workload.go_name, &settings) {
                row.add("go", report::GO_ALLOC, report::median_of(samples));
            }
        }
        table.push(row);
    }
    table.print();
    if go.is_none() && peers.wanted("go") {
        println!(
            "\n(go was not found: run scripts/bench.sh to install golang-go and compare with Go)"
        );
    }
}

/// Set in a child process: which workload and runtime it measures.
const CHILD_ENV: &str = "GORU_BENCH_CHILD";

/// goru's runs with every goroutine pinned, shown as a peer of their own.
const PINNED: &str = "goru-pinned";

/// Run one runtime's reps of one workload in a fresh process of this binary, as Go's
/// side runs in its own: runtimes measured earlier leave nothing behind (idle worker
/// threads, allocator state) to slow down the ones measured later. In one process, goru
/// measured after tokio showed WaitGroup fan-out at 850-910 ns instead of about 250.
/// `pinned`: with `GORU_PIN_GOROUTINES=1`, which every goru runtime of the child reads.
/// `alloc`: the child's global allocator (`alloc::NAMES`).
fn run_isolated(
    workload: &str,
    peer: &str,
    pinned: bool,
    alloc: &str,
) -> Option<Vec<report::Sample>> {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, format!("{workload}\t{peer}"))
        .env("GORU_PIN_GOROUTINES", if pinned { "1" } else { "0" })
        .env(alloc::CHILD_ALLOC_ENV, alloc)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("start a benchmark child");
    let samples: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("sample "))
        .filter_map(|nanos| nanos.trim().parse().ok())
        .map(std::time::Duration::from_nanos)
        .collect();
    if !out.status.success() || samples.is_empty() {
        eprintln!("{workload} on {peer} ({alloc}) failed ({})", out.status);
        return None;
    }
    Some(samples)
}

/// The child side of `run_isolated`: print one `sample <nanoseconds>` line per rep.
fn run_child(spec: &str, settings: &Settings) {
    let (name, peer) = spec.split_once('\t').expect("workload<TAB>peer");
    let wanted = std::env::var(alloc::CHILD_ALLOC_ENV).unwrap_or_else(|_| "system".into());
    assert_eq!(
        alloc::name(),
        wanted,
        "the child runs on the allocator asked for"
    );
    let workload = workloads::all()
        .into_iter()
        .find(|w| w.name == name)
        .expect("a known workload");
    let run = workload
        .runs
        .iter()
        .find(|(p, _)| *p == peer)
        .expect("a known runtime")
        .1;
    for _ in 0..settings.reps {
        println!("sample {}", run(settings).as_nanos());
    }
}

/// `BENCH_ALLOC=system,mimalloc`: the global allocators the Rust peers run with, each
/// a column of its own (`system` when unset).
fn allocators() -> Vec<&'static str> {
    let spec = std::env::var("BENCH_ALLOC").unwrap_or_else(|_| "system".into());
    let allocs: Vec<_> = alloc::NAMES
        .into_iter()
        .filter(|name| spec.split(',').any(|s| s.trim() == *name))
        .collect();
    for asked in spec.split(',').map(str::trim) {
        assert!(
            alloc::NAMES.contains(&asked),
            "BENCH_ALLOC: unknown allocator {asked:?} (known: {})",
            alloc::NAMES.join(", ")
        );
    }
    allocs
}

/// `BENCH_PEERS=goru,go` runs only those runtimes (all when unset).
struct Peers(Option<String>);

impl Peers {
    fn wanted(&self, peer: &str) -> bool {
        self.0
            .as_deref()
            .is_none_or(|list| list.split(',').any(|p| p.trim() == peer))
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
