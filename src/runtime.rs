//! Runtimes: building one, running `main` on it, and facts about the current one.

use std::io;
use std::panic::{self, Location};

use crate::goroutine;
use crate::sched::{Config, Shared};
use crate::spawn::install_panic_hook;
use crate::stack::{self, overflow};

/// The default goroutine stack: 256 KiB of address space, committed page by page.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

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
    deadlock_detection: bool,
    pin_goroutines: Option<bool>,
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
            deadlock_detection: true,
            pin_goroutines: None,
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
    /// running) for about 100 ms, `run` panics with `all goroutines are asleep -
    /// deadlock!` and the goroutine dump.
    ///
    /// A report is never false. A goroutine waiting on something a plain thread or
    /// another runtime has a hand in is not counted as stuck: a channel, lock, wait
    /// group or context made outside the runtime or ever used from outside it, and
    /// `block_on`. (A deadlock among such waits therefore goes unreported.) Turning
    /// detection off is only for programs that want no monitor check at all.
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
    pub fn deadlock_detection(mut self, on: bool) -> Self {
        self.deadlock_detection = on;
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
            deadlock_detection: self.deadlock_detection,
            pin_goroutines: match self.pin_goroutines {
                Some(on) => on,
                None => default_pinning()?,
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
/// `GORU_PIN_GOROUTINES` says.
pub const DEFAULT_PIN_GOROUTINES: bool = false;

fn default_pinning() -> io::Result<bool> {
    match std::env::var("GORU_PIN_GOROUTINES").as_deref() {
        Err(_) | Ok("") => Ok(DEFAULT_PIN_GOROUTINES),
        Ok("1") | Ok("true") => Ok(true),
        Ok("0") | Ok("false") => Ok(false),
        Ok(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("goru: GORU_PIN_GOROUTINES must be 1 or 0, not {other:?}"),
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

/// A description of the current runtime's goroutines (see the `diag` layer).
///
/// ```
/// goru::run(|| assert!(goru::runtime::dump().contains("goroutine 1")));
/// ```
pub fn dump() -> String {
    with_current(|rt| rt.dump()).unwrap_or_else(|| String::from("no goru runtime on this thread\n"))
}
