//! The deterministic driver: the scheduler seam's single-threaded implementation,
//! used by `goru::check`.
//!
//! A runtime built with a [`Driver`] starts no threads. [`Shared::spawn`] and
//! [`Shared::ready`] put goroutines into the driver's runnable list, the clock is
//! virtual, and [`drive`] runs the goroutines one step at a time on the calling
//! thread: at every step a [`Chooser`] picks which runnable goroutine runs next, or
//! whether a due timer fires first. A step ends where the goroutine switches out: it
//! parks, exits, or reaches a *switch point* ([`switch_point`]), which every goru
//! primitive passes (channel and select operations, locks, WaitGroup, Once, Cond,
//! Semaphore, context cancellation, `go`, `yield_now`, `check::point`). Only the
//! chooser's answers vary between runs, so a seed fixes the whole schedule.
//!
//! When nothing can run, time jumps to the next timer; with no timer left, the
//! program is deadlocked.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::worker::{DriverWorker, Stepped};
use super::Shared;
use crate::goroutine::{self, GoRef};

/// What the chooser picks between at one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Choice {
    /// Run the goroutine with this id.
    Run(u64),
    /// Fire the earliest due timer.
    FireTimer,
}

/// The source of every decision of a deterministic run (a seeded strategy).
pub(crate) trait Chooser: Send {
    /// Pick one of `options` (never empty); returns its index.
    fn choose(&mut self, options: &[Choice]) -> usize;
    /// A number below `n` (select's pick among ready cases).
    fn random_below(&mut self, n: usize) -> usize;
}

/// Live deterministic runtimes in the process: while 0, switch points cost one load.
static DRIVEN_RUNTIMES: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Driver {
    runnable: Mutex<Vec<GoRef>>,
    now: AtomicU64,
    chooser: Mutex<Box<dyn Chooser>>,
    /// The switch point the running goroutine stopped at, for the step log.
    last_point: Mutex<&'static str>,
    /// Where each goroutine that panicked did so (the panic hook records it).
    panics: Mutex<Vec<(u64, String)>>,
    /// Counted in `DRIVEN_RUNTIMES` until `retire`.
    counted: AtomicBool,
}

impl Driver {
    pub(crate) fn new(chooser: Box<dyn Chooser>) -> Driver {
        DRIVEN_RUNTIMES.fetch_add(1, Ordering::AcqRel);
        Driver {
            runnable: Mutex::new(Vec::new()),
            now: AtomicU64::new(0),
            chooser: Mutex::new(chooser),
            last_point: Mutex::new(""),
            panics: Mutex::new(Vec::new()),
            counted: AtomicBool::new(true),
        }
    }

    /// The run is over: its goroutines never run again, even if the runtime is kept
    /// (leaked) for goroutines it abandoned, so switch points elsewhere can go back to
    /// costing one load.
    pub(crate) fn retire(&self) {
        if self.counted.swap(false, Ordering::AcqRel) {
            DRIVEN_RUNTIMES.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn record_panic_location(&self, goroutine: u64, location: String) {
        self.panics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((goroutine, location));
    }

    /// Where goroutine `id` panicked, if it did.
    pub(crate) fn panic_location(&self, id: u64) -> Option<String> {
        self.panics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(g, _)| *g == id)
            .map(|(_, l)| l.clone())
    }

    pub(crate) fn push(&self, g: GoRef) {
        self.runnable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(g);
    }

    pub(crate) fn now(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }

    pub(crate) fn random_below(&self, n: usize) -> usize {
        self.chooser
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_below(n)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.retire();
    }
}

/// A place where a deterministic run may switch goroutines (`what` names it in the
/// schedule). Elsewhere it costs one relaxed load.
#[inline]
pub(crate) fn switch_point(what: &'static str) {
    if DRIVEN_RUNTIMES.load(Ordering::Relaxed) != 0 {
        switch_point_slow(what);
    }
}

#[cold]
#[inline(never)]
fn switch_point_slow(what: &'static str) {
    if std::thread::panicking() {
        return; // a guard dropped while unwinding: let the unwind finish first
    }
    if let Some(driver) = current_driver() {
        *driver.last_point.lock().unwrap_or_else(|e| e.into_inner()) = what;
        crate::yield_now();
    }
}

/// The calling goroutine's runtime, if it is a deterministic one.
#[inline]
pub(crate) fn driven_runtime() -> Option<&'static Shared> {
    if DRIVEN_RUNTIMES.load(Ordering::Relaxed) == 0 {
        return None;
    }
    driven_runtime_slow()
}

#[cold]
#[inline(never)]
fn driven_runtime_slow() -> Option<&'static Shared> {
    let g = goroutine::current_ptr()?;
    // SAFETY: the running goroutine keeps its runtime alive while it runs, and callers
    // use the runtime only within that time (the 'static is never stored).
    let rt: &'static Shared = unsafe { &*((*g).runtime() as *const Shared) };
    rt.driver.is_some().then_some(rt)
}

/// The driver of the calling goroutine's runtime, if it is a deterministic one.
#[inline]
pub(crate) fn current_driver() -> Option<&'static Driver> {
    driven_runtime().and_then(|rt| rt.driver.as_ref())
}

/// Refuse what a deterministic run cannot model (real sockets): a clear panic
/// instead of a hang.
#[track_caller]
pub(crate) fn forbid(what: &str) {
    if current_driver().is_some() {
        panic!(
            "{what} is not supported inside goru::check::explore: a deterministic run \
             cannot wait on the network; test the logic over channels instead"
        );
    }
}

/// One step of a deterministic run, for the schedule printed on failure.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// The goroutine that ran (`None`: a timer fired).
    pub(crate) goroutine: Option<(u64, &'static Location<'static>)>,
    /// What ended the step.
    pub(crate) what: String,
    /// Virtual time at the step, in nanoseconds.
    pub(crate) at_nanos: u64,
}

/// How a deterministic run ended.
pub(crate) enum End {
    /// `done()` became true.
    Finished,
    /// A goroutine's panic that nobody joined.
    Failed(String),
    /// Nothing runnable and no timer pending.
    Deadlock,
    /// More than the allowed number of steps (a livelock, or a very long program).
    StepLimit,
}

/// Run `shared`'s goroutines step by step on this thread until `done()`, a failure, a
/// deadlock or `max_steps`. Every step is appended to `log`.
pub(crate) fn drive(
    shared: &Arc<Shared>,
    done: impl Fn() -> bool,
    log: &mut Vec<Step>,
    max_steps: usize,
) -> End {
    let driver = shared
        .driver
        .as_ref()
        .expect("drive needs a deterministic runtime");
    let mut worker = DriverWorker::new(shared);
    let mut options = Vec::new();
    loop {
        if done() {
            return End::Finished;
        }
        if let Some(report) = shared.failure() {
            return End::Failed(report);
        }
        if log.len() >= max_steps {
            return End::StepLimit;
        }
        let now = driver.now();
        shared.set_coarse_nanos(now);
        let timer_due = shared.timers.next_deadline().is_some_and(|d| d <= now);
        options.clear();
        options.extend(
            driver
                .runnable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|g| Choice::Run(g.id)),
        );
        if timer_due {
            options.push(Choice::FireTimer);
        }
        if options.is_empty() {
            match shared.timers.next_deadline() {
                Some(next) => {
                    driver.now.store(next, Ordering::Release); // nothing to do until then
                    continue;
                }
                None => return End::Deadlock,
            }
        }
        let pick = if options.len() == 1 {
            0
        } else {
            driver
                .chooser
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .choose(&options)
        };
        match options[pick] {
            Choice::FireTimer => {
                if shared.timers.fire_first_due(now) {
                    log.push(Step {
                        goroutine: None,
                        what: "a timer fired".into(),
                        at_nanos: now,
                    });
                }
            }
            Choice::Run(_) => {
                let g = driver
                    .runnable
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(pick);
                let (id, site) = (g.id, g.spawn_site);
                *driver.last_point.lock().unwrap_or_else(|e| e.into_inner()) = "yield_now";
                let what = match worker.step(g) {
                    Stepped::Yielded(g) => {
                        driver.push(g);
                        let point = *driver.last_point.lock().unwrap_or_else(|e| e.into_inner());
                        format!("reached {point}")
                    }
                    Stepped::Requeue(g) => {
                        let reason = g.wait_reason();
                        driver.push(g);
                        format!("parked ({reason}) and was woken at once")
                    }
                    Stepped::Parked(reason) => format!("parked: {reason}"),
                    Stepped::Exited => "exited".into(),
                };
                log.push(Step {
                    goroutine: Some((id, site)),
                    what,
                    at_nanos: now,
                });
            }
        }
    }
}
