//! Runtimes: building one, running `main` on it, and facts about the current one.

use std::io;
use std::panic::{self, Location};
use std::time::Duration;

use crate::diag::blocking_report::ReportSettings;
use crate::goroutine;
use crate::panics::install_panic_hook;
use crate::sched::{Config, Shared};
use crate::stack::{self, overflow};

/// The default goroutine stack: 256 KiB of address space, committed page by page.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// How long a goroutine may hold its worker without parking before the monitor reports
/// it ([`Builder::blocking_report`]).
pub const DEFAULT_BLOCKING_REPORT: Duration = Duration::from_millis(100);

/// A configured runtime. Each [`Runtime::run`] starts its worker threads, runs `main`
/// as goroutine 1, and stops them again; runtimes may run one after another and side by
/// side in one process.
///
/// ```
/// let rt = goru::Runtime::builder().workers(2).build().unwrap();
/// let a = rt.run(|| goru::go(|| 20).join().unwrap());
/// let b = rt.run(|| goru::go(|| 22).join().unwrap()); // runs again, fresh
/// assert_eq!(a + b, 42);
/// ```
#[derive(Debug, Clone)]
pub struct Runtime {
    workers: usize,
    stack_size: usize,
    deadlock_detection: bool,
    pin_goroutines: bool,
    blocking_report: Option<ReportSettings>,
}

/// Configures a [`Runtime`].
///
/// ```
/// let rt = goru::Runtime::builder().workers(2).stack_size(64 * 1024).build().unwrap();
/// assert_eq!(rt.run(|| goru::runtime::workers()), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    stack_size: usize,
    deadlock_detection: Option<bool>,
    pin_goroutines: Option<bool>,
    blocking_report: Option<Duration>,
}

impl Runtime {
    /// A builder with the defaults: workers from `GORU_MAXPROCS`, else the available
    /// cores; [`DEFAULT_STACK_SIZE`] stacks.
    ///
    /// ```
    /// let rt = goru::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.run(goru::runtime::workers), 2);
    /// ```
    pub fn builder() -> Builder {
        Builder {
            workers: None,
            stack_size: DEFAULT_STACK_SIZE,
            deadlock_detection: None,
            pin_goroutines: None,
            blocking_report: Some(DEFAULT_BLOCKING_REPORT),
        }
    }

    /// Run `main` as the main goroutine and return its value.
    ///
    /// When `main` returns the runtime stops: goroutines still alive are abandoned
    /// without running further, as in Go. A panic in `main` propagates out of `run`; a
    /// panic in a goroutine that nobody joins is printed and makes `run` panic.
    ///
    /// ```
    /// let rt = goru::Runtime::builder().build().unwrap();
    /// let n = rt.run(|| goru::go(|| 1 + 1).join().unwrap());
    /// assert_eq!(n, 2);
    /// // A runtime can run again.
    /// assert_eq!(rt.run(|| 3), 3);
    /// ```
    #[track_caller]
    pub fn run<F, T>(&self, main: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let site = Location::caller();
        let shared = Shared::new(Config {
            workers: self.workers,
            stack_size: self.stack_size,
            deadlock_detection: self.deadlock_detection,
            pin_goroutines: self.pin_goroutines,
            blocking_report: self.blocking_report,
            driver: None,
        })
        .unwrap_or_else(|err| panic!("goru: cannot create the runtime's poller: {err}"));
        crate::diag::register_runtime(&shared);
        // GORU_TRACE=path: trace this run (unless a trace is already being recorded).
        let trace_to = std::env::var_os("GORU_TRACE")
            .filter(|p| !p.is_empty() && !crate::trace::is_recording());
        if trace_to.is_some() {
            crate::trace::start();
        }
        if let Err(err) = shared.start_threads() {
            shared.shutdown();
            panic!("goru: cannot start the runtime's threads: {err}");
        }
        let outcome = shared.spawn_main(site, main);
        let result = loop {
            if let Some(result) = outcome.lock().unwrap_or_else(|e| e.into_inner()).take() {
                break Some(result);
            }
            if shared.failure().is_some() {
                break None;
            }
            shared.run_parker.park();
        };
        shared.end_run();
        if let Some(path) = trace_to {
            match crate::trace::stop().write_json(&path) {
                Ok(()) => eprintln!("goru: trace written to {}", path.to_string_lossy()),
                Err(err) => eprintln!("goru: cannot write the trace to {path:?}: {err}"),
            }
        }
        if let Some(report) = shared.failure() {
            panic!("{report}");
        }
        match result.expect("main finished") {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl Builder {
    /// How many worker threads run goroutines at once (Go's `GOMAXPROCS`); at least 1.
    ///
    /// ```
    /// let rt = goru::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.run(goru::runtime::workers), 1);
    /// assert!(goru::Runtime::builder().workers(0).build().is_err());
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// The stack size of each goroutine, in bytes (rounded up to whole pages, at least
    /// 16 KiB). Memory is committed only as the stack is used; a goroutine that goes
    /// deeper than this aborts the program with a message naming this setting.
    ///
    /// ```
    /// let rt = goru::Runtime::builder().stack_size(1 << 20).build().unwrap();
    /// // Deep recursion needs a bigger stack than the default.
    /// fn depth(n: u64) -> u64 { if n == 0 { 0 } else { 1 + depth(std::hint::black_box(n - 1)) } }
    /// assert_eq!(rt.run(|| depth(5_000)), 5_000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Whether `run` reports a deadlock (default: on). When every goroutine is parked
    /// on a goru primitive and nothing inside the runtime can wake one (no timer
    /// pending, no goroutine waiting on a socket, no [`blocking`](crate::blocking) call
    /// running) for 80 ms in a row, `run` panics with `all goroutines are asleep -
    /// deadlock!` and the goroutine dump: about 90 ms after the last goroutine parked
    /// (the first report of a process takes about 170 ms, as its backtraces are
    /// symbolized).
    ///
    /// A goroutine waiting on something a plain thread or another runtime has a hand
    /// in is not counted as stuck: a channel, lock, wait group or context made outside
    /// the runtime or ever used from outside it, and `block_on`. (A deadlock among such
    /// waits therefore goes unreported.) What goru cannot see is a primitive of the
    /// runtime's own handed to a plain thread that has not used it yet, or a wake-up
    /// through a raw futex or a C callback: a program that relies on one turns
    /// detection off. The report ends by saying so.
    ///
    /// ```
    /// // A goroutine fed by a plain thread that takes its time is no deadlock.
    /// let (tx, rx) = goru::chan::bounded::<u32>(0);
    /// let feeder = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(200));
    ///     tx.send(1).unwrap();
    /// });
    /// let rt = goru::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.run(move || rx.recv().unwrap()), 1);
    /// feeder.join().unwrap();
    ///
    /// let quiet = goru::Runtime::builder().deadlock_detection(false).build().unwrap();
    /// assert_eq!(quiet.run(|| 2), 2);
    /// ```
    ///
    /// Default: env `GORU_DEADLOCK_DETECTION` (`1` or `0`), else on; the variable is how
    /// a `#[goru::main]` or `#[goru::test]` program turns it off.
    pub fn deadlock_detection(mut self, on: bool) -> Self {
        self.deadlock_detection = Some(on);
        self
    }

    /// The blocking-call report: when a goroutine holds its worker without parking for
    /// longer than `threshold` (a blocking system call, a long computation), the
    /// monitor prints, once per goroutine, to stderr:
    ///
    /// ```text
    /// goru: goroutine 17 (spawned at src/x.rs:9) has held worker 2 for 250 ms without parking
    ///     std::thread::sleep
    ///         at .../std/src/thread/functions.rs:327
    ///     my_app::handler
    ///         at src/x.rs:12
    /// ```
    ///
    /// with the backtrace of where it runs, taken by a `SIGURG` to the worker thread
    /// (Go's preemption signal; its default action is to ignore it). The signal
    /// handler does not walk a stack that is switching (`GORU_BLOCKING_BACKTRACE=0`
    /// leaves the backtrace out and sends no signal). Such a goroutine
    /// stalls the goroutines queued behind it until the monitor hands them to another
    /// worker; wrap the call in [`goru::blocking`](crate::blocking), or use goru's
    /// parking version of it. The default threshold is 100 ms; `None` switches the
    /// report off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = goru::Runtime::builder().blocking_report(Some(Duration::from_secs(1))).build();
    /// assert_eq!(rt.unwrap().run(|| 1), 1);
    /// let quiet = goru::Runtime::builder().blocking_report(None).build().unwrap();
    /// assert_eq!(quiet.run(|| 2), 2);
    /// ```
    pub fn blocking_report(mut self, threshold: Option<Duration>) -> Self {
        self.blocking_report = threshold;
        self
    }

    /// Whether every goroutine of this runtime is pinned: once it has started, it is
    /// resumed only on the OS thread it first ran on, so thread-locals, `!Send`
    /// values made inside it (`Rc`, `rand`'s `ThreadRng`, a `std::sync::MutexGuard`,
    /// a `tracing` span guard) and thread-local addresses the compiler keeps across a
    /// call stay valid across parks. Goroutines not yet started are still spread
    /// over idle workers. Default: env `GORU_PIN_GOROUTINES` (`1` or `0`), else
    /// [`DEFAULT_PIN_GOROUTINES`]; [`go_pinned`](crate::go_pinned) pins one goroutine
    /// whatever this says. The GUIDE's "Pinned goroutines" weighs the two modes.
    ///
    /// In every mode, a goroutine that parks while unwinding resumes on the thread it
    /// unwinds on (std's panic count is per thread).
    ///
    /// ```
    /// use std::rc::Rc;
    /// let rt = goru::Runtime::builder().workers(4).pin_goroutines(true).build().unwrap();
    /// rt.run(|| {
    ///     thread_local!(static NAME: Rc<str> = Rc::from("mine"));
    ///     let name = NAME.with(Rc::clone); // an Rc of this thread's
    ///     let thread = std::thread::current().id();
    ///     for _ in 0..100 {
    ///         goru::time::sleep(std::time::Duration::from_micros(50)); // parks
    ///         assert_eq!(std::thread::current().id(), thread);
    ///     }
    ///     assert_eq!(&*name, "mine");
    /// });
    /// ```
    pub fn pin_goroutines(mut self, on: bool) -> Self {
        self.pin_goroutines = Some(on);
        self
    }

    /// Check the configuration and prepare the process (signal and panic hooks).
    ///
    /// ```
    /// let rt = goru::Runtime::builder().workers(2).build().expect("a valid configuration");
    /// rt.run(|| assert_eq!(goru::runtime::workers(), 2));
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let workers = match self.workers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "goru: a runtime needs at least one worker",
                ))
            }
            Some(n) => n,
            None => default_workers()?,
        };
        prepare_process();
        let stack_size = stack::StackPool::for_size(self.stack_size).stack_size();
        Ok(Runtime {
            workers,
            stack_size,
            deadlock_detection: match self.deadlock_detection {
                Some(on) => on,
                None => env_switch("GORU_DEADLOCK_DETECTION", true)?,
            },
            pin_goroutines: match self.pin_goroutines {
                Some(on) => on,
                None => env_switch("GORU_PIN_GOROUTINES", DEFAULT_PIN_GOROUTINES)?,
            },
            blocking_report: match self.blocking_report {
                Some(threshold) => Some(ReportSettings {
                    threshold,
                    backtrace: env_switch("GORU_BLOCKING_BACKTRACE", true)?,
                }),
                None => None,
            },
        })
    }
}

/// Process-wide set-up every runtime needs: the stack-overflow handler, the panic
/// hook for goroutine panics, the SIGQUIT dump.
pub(crate) fn prepare_process() {
    overflow::install_handler();
    install_panic_hook();
    crate::diag::install_sigquit_handler();
}

/// Whether goroutines are pinned when neither [`Builder::pin_goroutines`] nor
/// `GORU_PIN_GOROUTINES` says. Off: pinned, two goroutines that talk to each other
/// from different workers wake each other across threads (ping-pong 16x slower) and a
/// thread-blocking call strands the goroutines started beside it (the GUIDE's
/// "Pinned goroutines" has the whole harness in both modes).
pub const DEFAULT_PIN_GOROUTINES: bool = false;

/// An on/off setting from the environment variable `name` (`1`/`true`, `0`/`false`),
/// `default` when it is unset or empty.
fn env_switch(name: &str, default: bool) -> io::Result<bool> {
    match std::env::var(name).as_deref() {
        Err(_) | Ok("") => Ok(default),
        Ok("1") | Ok("true") => Ok(true),
        Ok("0") | Ok("false") => Ok(false),
        Ok(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("goru: {name} must be 1 or 0, not {other:?}"),
        )),
    }
}

fn default_workers() -> io::Result<usize> {
    match std::env::var("GORU_MAXPROCS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("goru: GORU_MAXPROCS must be a positive integer, not {v:?}"),
            )),
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Run `main` on a new runtime with the default configuration; see [`Runtime::run`].
///
/// ```
/// let sum = goru::run(|| {
///     let handles: Vec<_> = (1..=10u64).map(|i| goru::go(move || i * i)).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(sum, 385);
/// ```
#[track_caller]
pub fn run<F, T>(main: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Runtime::builder().build() {
        Ok(rt) => rt.run(main),
        Err(err) => panic!("{err}"),
    }
}

/// Apply `f` to the calling goroutine's runtime, if any.
fn with_current<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    // SAFETY: the running goroutine, and so its runtime, is alive while it runs.
    goroutine::current_ptr().map(|g| f(unsafe { (*g).runtime() }))
}

/// Goroutines alive in the current runtime, `main` included (0 outside any runtime).
///
/// ```
/// goru::run(|| assert_eq!(goru::runtime::num_goroutine(), 1));
/// ```
pub fn num_goroutine() -> usize {
    with_current(|rt| rt.live_goroutines()).unwrap_or(0)
}

/// The current runtime's worker count (0 outside any runtime).
///
/// ```
/// let rt = goru::Runtime::builder().workers(3).build().unwrap();
/// assert_eq!(rt.run(goru::runtime::workers), 3);
/// ```
pub fn workers() -> usize {
    with_current(|rt| rt.workers).unwrap_or(0)
}

/// The calling goroutine's id (`main` is 1), or `None` on a plain thread.
///
/// ```
/// assert_eq!(goru::runtime::current_id(), None);
/// assert_eq!(goru::run(goru::runtime::current_id), Some(1));
/// ```
pub fn current_id() -> Option<u64> {
    goroutine::current_ptr().map(|g| {
        // SAFETY: the running goroutine is alive while it runs.
        unsafe { (*g).id }
    })
}

/// Run `f` with `labels` laid over the current goroutine's labels, as Go's
/// `pprof.Do`: a key already set takes the new value, and the goroutine's labels are
/// what they were again when `f` returns or unwinds. Goroutines spawned inside `f`
/// inherit the labels (and keep them). Labels appear in the dump, in
/// [`goroutine_profile`] and in the trace, so that the goroutines serving one request,
/// or one tenant, can be picked out. On a plain thread, `f` simply runs.
///
/// ```
/// goru::run(|| {
///     goru::runtime::with_labels(&[("request", "42")], || {
///         let child = goru::go(goru::runtime::labels);
///         assert_eq!(child.join().unwrap(), vec![("request".to_string(), "42".to_string())]);
///         assert!(goru::runtime::dump().contains("labels: request=42"));
///     });
///     assert!(goru::runtime::labels().is_empty());
/// });
/// ```
pub fn with_labels<R>(labels: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    let Some(g) = goroutine::current_ptr() else {
        return f();
    };
    // SAFETY: the running goroutine is alive while it runs, and `f` runs on it: the
    // guard below restores its labels on its own stack, before it can finish.
    let g = unsafe { &*g };
    struct Restore<'a>(
        &'a goroutine::Goroutine,
        Option<crate::diag::labels::Labels>,
    );
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            self.0.set_labels(self.1.take());
            record_labels(self.0);
        }
    }
    let previous = g.labels();
    g.set_labels(Some(crate::diag::labels::merge(
        previous.as_deref(),
        labels,
    )));
    record_labels(g);
    let _restore = Restore(g, previous);
    f()
}

/// Put `g`'s labels in the trace, when one is recorded.
fn record_labels(g: &goroutine::Goroutine) {
    if crate::diag::trace::enabled() {
        let rt = g.runtime();
        crate::diag::trace::record_labels(rt.id, rt.current_lane(), g);
    }
}

/// The current goroutine's labels (see [`with_labels`]), sorted by key; empty on a
/// plain thread or when it has none.
pub fn labels() -> Vec<(String, String)> {
    crate::diag::labels::inherited().map_or_else(Vec::new, |l| l.to_vec())
}

pub use crate::diag::metrics::{LatencyHistogram, Metrics, WorkerMetrics};
pub use crate::diag::profiler_signal::{guard_cpu_profiler, mid_switch_samples_dropped};

/// A snapshot of the current runtime's counters: goroutines by state and wait reason,
/// spawns, steals, timers, socket waiters, the blocking pool, committed stack memory,
/// and per-worker busy time (see [`Metrics`]). Reading it takes no lock that a
/// goroutine's hot path takes; it walks the goroutine registry once.
///
/// # Panics
/// Outside a runtime (on a plain thread), as there is nothing to measure.
///
/// ```
/// goru::run(|| {
///     let m = goru::runtime::metrics();
///     assert_eq!(m.goroutines, 1); // main
///     assert!(m.spawned >= 1);
/// });
/// ```
#[track_caller]
pub fn metrics() -> Metrics {
    with_current(|rt| rt.metrics()).expect("goru::runtime::metrics called outside a goru runtime")
}

/// The goroutine profile of the current runtime: its live goroutines grouped by spawn
/// site, labels and state or wait reason, as folded stacks (`frame;frame count`
/// lines, biggest group first), ready for `inferno-flamegraph` or `flamegraph.pl`.
/// Taking it stops nothing and wakes no goroutine. Empty outside a runtime.
///
/// ```
/// goru::run(|| {
///     let (tx, rx) = goru::chan::bounded::<()>(0);
///     let waiters: Vec<_> = (0..3).map(|_| { let rx = rx.clone(); goru::go(move || rx.recv()) }).collect();
///     while goru::runtime::metrics().parked < 3 { goru::time::sleep(std::time::Duration::from_millis(1)); }
///     let profile = goru::runtime::goroutine_profile();
///     assert!(profile.lines().next().unwrap().ends_with(";[chan receive] 3"), "{profile}");
///     drop(tx);
///     waiters.into_iter().for_each(|w| assert!(w.join().unwrap().is_err()));
/// });
/// ```
pub fn goroutine_profile() -> String {
    with_current(|rt| rt.goroutine_profile()).unwrap_or_default()
}

/// [`dump`] with where each parked goroutine waits, as the SIGQUIT dump shows it. Each
/// parked goroutine (64 at most) is woken briefly to record its own backtrace, so this
/// perturbs the program a little and takes longer.
///
/// ```
/// goru::run(|| {
///     let (tx, rx) = goru::chan::bounded::<()>(0);
///     let waiter = goru::go(move || rx.recv());
///     while goru::runtime::metrics().parked < 1 { goru::time::sleep(std::time::Duration::from_millis(1)); }
///     assert!(goru::runtime::dump_with_backtraces().contains("Receiver<T>::recv"));
///     drop(tx);
///     assert!(waiter.join().unwrap().is_err());
/// });
/// ```
pub fn dump_with_backtraces() -> String {
    with_current(|rt| rt.dump_with(true))
        .unwrap_or_else(|| String::from("no goru runtime on this thread\n"))
}

/// A description of the current runtime's goroutines (see the `diag` layer).
///
/// ```
/// goru::run(|| assert!(goru::runtime::dump().contains("goroutine 1")));
/// ```
pub fn dump() -> String {
    with_current(|rt| rt.dump()).unwrap_or_else(|| String::from("no goru runtime on this thread\n"))
}
