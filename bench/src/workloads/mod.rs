//! The workloads, each written once per runtime.

mod async_bridge;
mod channels;
mod check;
mod sleepers;
mod spawn;
mod stdlib;
mod stuck;
mod sync;
mod timeouts;
mod yield_pair;

use std::time::Duration;

use crate::Settings;

pub type Run = fn(&Settings) -> Duration;

pub struct Workload {
    pub name: &'static str,
    /// What one reported time measures.
    pub unit: &'static str,
    /// The workload's name in bench/go/main.go.
    pub go_name: &'static str,
    pub runs: Vec<(&'static str, Run)>,
}

pub fn all() -> Vec<Workload> {
    let mut all = vec![
        spawn::workload(),
        yield_pair::workload(),
        sleepers::workload(),
        stuck::workload(),
    ];
    all.extend(channels::workloads());
    all.extend(sync::workloads());
    all.extend(timeouts::workloads());
    all.extend(async_bridge::workloads());
    all.extend(stdlib::workloads());
    all.push(check::workload());
    all
}

/// A goru runtime with the benchmark's worker count.
pub fn goru_runtime(settings: &Settings) -> goru::Runtime {
    goru::Runtime::builder()
        .workers(settings.workers)
        .build()
        .expect("goru runtime")
}

/// A tokio multi-thread runtime with the benchmark's worker count.
pub fn tokio_runtime(settings: &Settings) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.workers)
        .enable_time()
        .build()
        .expect("tokio runtime")
}
