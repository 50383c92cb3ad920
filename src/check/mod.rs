//! `goru::check`: find interleaving bugs by exploring schedules, deterministically.
//!
//! [`explore`] runs a test as the main goroutine of a single-threaded runtime, many
//! times. Each run follows one schedule: at every switch point (spawning, every
//! channel, select, lock, WaitGroup, Once, Cond, Semaphore and context operation,
//! `yield_now`, and [`point`]) a seeded [`Strategy`] picks which goroutine runs next,
//! or whether a due timer fires first. Time is virtual: when every goroutine waits,
//! the clock jumps to the next timer, so a test with one-second timeouts runs in
//! microseconds. A seed fixes the schedule, and so the result, byte for byte.
//!
//! On the first run that panics (a failed assertion in any goroutine), deadlocks or
//! exceeds the step limit, `explore` panics with the message, the seed, the
//! iteration and the schedule that led there. [`Config::seed`] replays it, and so
//! does `GORU_CHECK_SEED=<seed>` without editing the test.
//!
//! ```
//! use goru::{check, sync::Mutex};
//! use std::sync::Arc;
//!
//! // A lost update: read and write in two separate lock sections.
//! let found = std::panic::catch_unwind(|| {
//!     check::explore(check::Config::new().iterations(1000), || {
//!         let counter = Arc::new(Mutex::new(0));
//!         let handles: Vec<_> = (0..2)
//!             .map(|_| {
//!                 let counter = counter.clone();
//!                 goru::go(move || {
//!                     let seen = *counter.lock();
//!                     *counter.lock() = seen + 1;
//!                 })
//!             })
//!             .collect();
//!         handles.into_iter().for_each(|h| h.join().unwrap());
//!         assert_eq!(*counter.lock(), 2, "an update was lost");
//!     });
//! });
//! assert!(found.is_err());
//! ```
//!
//! # What it cannot see
//!
//! Only goru's own operations are switch points: code between two of them runs as one
//! step. Shared state touched without goru (atomics, std locks) is explored only at
//! that granularity; add [`point`] where an interleaving matters. Plain threads and
//! `goru::net` do not belong in an explored test (sockets panic there);
//! [`blocking`](crate::blocking) runs its call in place. Read time with
//! [`time::now`](crate::time::now), not `Instant::now`, to see the virtual clock.
//! Goroutines still parked when a run's `main` returns are abandoned, as in
//! [`run`](crate::run).

mod strategy;

pub use strategy::Strategy;

use std::fmt::Write as _;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::panics::payload_message;
use crate::sched::driver::{self, Chooser, Driver, End, Step};
use crate::sched::{Config as SchedConfig, Shared};

/// The seed used when neither [`Config::seed`] nor `GORU_CHECK_SEED` gives one.
pub const DEFAULT_SEED: u64 = 0x5EED_0FC0_FFEE;

/// Steps in the schedule printed on failure (the last ones; earlier are summarised).
const SHOWN_STEPS: usize = 60;

/// How [`explore`] explores.
#[derive(Clone, Debug)]
///
/// ```
/// use goru::check::{Config, Strategy};
/// let cfg = Config::new().iterations(200).seed(42).strategy(Strategy::Pct { depth: 2 });
/// let report = goru::check::explore(cfg, || {
///     let (tx, rx) = goru::chan::bounded(1);
///     goru::go(move || tx.send(1).unwrap());
///     assert_eq!(rx.recv(), Ok(1));
/// });
/// assert_eq!(report.iterations, 200);
/// ```
pub struct Config {
    iterations: usize,
    seed: Option<u64>,
    strategy: Strategy,
    max_steps: usize,
    stack_size: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Config {
    /// 1,000 iterations of the random walk from [`DEFAULT_SEED`], at most 100,000
    /// steps per run.
    pub fn new() -> Config {
        Config {
            iterations: 1000,
            seed: None,
            strategy: Strategy::Random,
            max_steps: 100_000,
            stack_size: 128 * 1024,
        }
    }

    /// How many schedules to try (stopping at the first failure).
    pub fn iterations(mut self, n: usize) -> Config {
        self.iterations = n.max(1);
        self
    }

    /// The seed of the first run (each run's seed derives from the one before). A
    /// seed printed in a failure report, given here, replays that run first.
    pub fn seed(mut self, seed: u64) -> Config {
        self.seed = Some(seed);
        self
    }

    /// The exploration strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Config {
        self.strategy = strategy;
        self
    }

    /// Steps after which a run counts as failed (a livelock).
    pub fn max_steps(mut self, n: usize) -> Config {
        self.max_steps = n.max(1);
        self
    }

    /// The goroutines' stack size in explored runs.
    pub fn stack_size(mut self, bytes: usize) -> Config {
        self.stack_size = bytes;
        self
    }
}

/// What an exploration that found nothing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Runs completed, each on its own schedule.
    pub iterations: usize,
    /// Scheduling steps taken over all runs.
    pub steps: u64,
    /// The seed of the first run.
    pub first_seed: u64,
    /// Wall-clock time spent.
    pub elapsed: Duration,
}

impl Report {
    /// Runs per second of wall-clock time.
    pub fn schedules_per_second(&self) -> f64 {
        self.iterations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Run `test` under `cfg.iterations` different schedules; panic with the seed and the
/// schedule at the first that fails. `GORU_CHECK_SEED=<seed>` replays one run.
///
/// ```
/// let report = goru::check::explore(goru::check::Config::new().iterations(100), || {
///     let wg = goru::sync::WaitGroup::new();
///     wg.add(2);
///     for _ in 0..2 {
///         let wg = wg.clone();
///         goru::go(move || wg.done());
///     }
///     wg.wait();
/// });
/// assert_eq!(report.iterations, 100);
/// assert!(report.schedules_per_second() > 0.0);
/// ```
#[track_caller]
pub fn explore<F>(cfg: Config, test: F) -> Report
where
    F: Fn() + Send + Sync + 'static,
{
    crate::runtime::prepare_process();
    let site = Location::caller();
    let replay = std::env::var("GORU_CHECK_SEED")
        .ok()
        .map(|v| parse_seed(&v).unwrap_or_else(|| panic!("GORU_CHECK_SEED={v:?} is not a seed")));
    let (first_seed, iterations) = match replay {
        Some(seed) => (seed, 1),
        None => (cfg.seed.unwrap_or(DEFAULT_SEED), cfg.iterations),
    };
    let test = Arc::new(test);
    let start = Instant::now();
    let mut seed = first_seed;
    let mut steps = 0u64;
    for iteration in 0..iterations {
        let run = run_once(&cfg, seed, test.clone(), site);
        steps += run.steps.len() as u64;
        if let Some(failure) = run.failure {
            panic!(
                "{}",
                failure_report(&failure, seed, iteration, &cfg, &run.steps)
            );
        }
        seed = strategy::next_seed(seed);
    }
    Report {
        iterations,
        steps,
        first_seed,
        elapsed: start.elapsed(),
    }
}

/// An explicit switch point: inside [`explore`], another goroutine may run here.
/// Elsewhere it does nothing (one relaxed load).
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// // An interleaving that matters between two plain atomic operations.
/// let found = std::panic::catch_unwind(|| {
///     goru::check::explore(goru::check::Config::new(), || {
///         let flag = Arc::new(AtomicBool::new(false));
///         let f = flag.clone();
///         let h = goru::go(move || assert!(!f.load(Ordering::SeqCst), "saw the flag"));
///         flag.store(true, Ordering::SeqCst);
///         goru::check::point(); // let the goroutine run either before or after the store
///         h.join().unwrap();
///     })
/// });
/// assert!(found.is_err());
/// ```
pub fn point() {
    driver::switch_point("check::point");
}

fn parse_seed(v: &str) -> Option<u64> {
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

struct Run {
    failure: Option<String>,
    steps: Vec<Step>,
}

fn run_once<F>(cfg: &Config, seed: u64, test: Arc<F>, site: &'static Location<'static>) -> Run
where
    F: Fn() + Send + Sync + 'static,
{
    let chooser: Box<dyn Chooser> = match cfg.strategy {
        Strategy::Random => Box::new(strategy::RandomWalk::new(seed)),
        Strategy::Pct { depth } => Box::new(strategy::Pct::new(seed, depth)),
    };
    let shared = Shared::new(SchedConfig {
        workers: 1,
        stack_size: cfg.stack_size,
        deadlock_detection: false,
        pin_goroutines: false, // one thread: every goroutine stays on it anyway
        blocking_report: None, // a deterministic run has no monitor
        driver: Some(Driver::new(chooser)),
    })
    .unwrap_or_else(|err| panic!("goru::check: cannot create a runtime: {err}"));
    let outcome = shared.spawn_main(site, move || test());
    let mut steps = Vec::new();
    let end = driver::drive(
        &shared,
        || outcome.lock().unwrap_or_else(|e| e.into_inner()).is_some(),
        &mut steps,
        cfg.max_steps,
    );
    let failure = match end {
        End::Finished => match outcome.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(Err(payload)) => {
                let at = shared
                    .driver
                    .as_ref()
                    .and_then(|d| d.panic_location(1))
                    .map(|l| format!(" (at {l})"))
                    .unwrap_or_default();
                Some(format!(
                    "panic in goroutine 1 (main){at}: {}",
                    payload_message(&*payload)
                ))
            }
            _ => None,
        },
        End::Failed(report) => Some(report),
        End::Deadlock => Some(shared.deadlock_report(false)),
        End::StepLimit => Some(format!(
            "the run took more than {} steps (a livelock?); raise Config::max_steps if it is \
             just long\n\n{}",
            cfg.max_steps,
            shared.dump()
        )),
    };
    shared.end_run();
    Run { failure, steps }
}

fn failure_report(
    failure: &str,
    seed: u64,
    iteration: usize,
    cfg: &Config,
    steps: &[Step],
) -> String {
    let mut out = format!(
        "goru::check found a failing schedule on iteration {iteration} ({:?}, seed {seed}):\n\n{}\n\n\
         replay it with Config::seed({seed}) or GORU_CHECK_SEED={seed}\n\nschedule ({} steps",
        cfg.strategy,
        failure.trim_end(),
        steps.len()
    );
    let skipped = steps.len().saturating_sub(SHOWN_STEPS);
    if skipped > 0 {
        let _ = write!(out, ", the last {SHOWN_STEPS} shown");
    }
    out.push_str("):\n");
    for (i, step) in steps.iter().enumerate().skip(skipped) {
        let at = format_virtual(step.at_nanos);
        let _ = match step.goroutine {
            Some((id, site)) => writeln!(
                out,
                "  {:>4}. [{at}] goroutine {id} ({}): ran, {}",
                i + 1,
                if id == 1 {
                    "main".to_string()
                } else {
                    format!("spawned at {site}")
                },
                step.what
            ),
            None => writeln!(out, "  {:>4}. [{at}] {}", i + 1, step.what),
        };
    }
    out
}

fn format_virtual(nanos: u64) -> String {
    if nanos == 0 {
        "0".into()
    } else if nanos % 1_000_000 == 0 {
        format!("{} ms", nanos / 1_000_000)
    } else {
        format!("{:.3} ms", nanos as f64 / 1e6)
    }
}
