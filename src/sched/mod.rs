//! The M:N scheduler: worker threads running goroutines from run queues.
//!
//! # Shape (after Go's `proc.go`)
//!
//! - **Workers.** `workers` threads (GOMAXPROCS), each with a bounded local
//!   [`RunQueue`](queue::RunQueue) and a `runnext` slot. A goroutine woken by a
//!   goroutine goes to the waker's `runnext`, so that a ping-pong pair stays on one core
//!   and its wake-up costs a context switch, not a trip through the queues. The goroutine
//!   taken from `runnext` inherits the current time slice.
//! - **Spawn** pushes to the spawner's local queue (stealable) and wakes an idle worker.
//! - **The global queue** takes goroutines readied from outside a worker (plain threads,
//!   timers fired by the monitor) and the overflow of full local queues. A worker polls
//!   it first every [`GLOBAL_POLL_INTERVAL`] scheduling rounds so it cannot starve.
//! - **Stealing.** A worker out of work becomes *searching* and steals half of a random
//!   victim's queue. At most half of the workers search at once; the last searcher to
//!   find work wakes another, so work spreads without a thundering herd
//!   ([`idle`](idle)).
//! - **Idle workers park** on their own parker; one of them, the timer keeper, sleeps
//!   only until the next timer. An idle runtime uses no CPU.
//! - **The monitor** ([`monitor`](monitor)) notices a worker stuck in one goroutine for
//!   10 ms, hands its queued goroutines to the others, and starts a spare worker so that
//!   `workers` threads keep running goroutines while the hog holds its thread.
//!
//! # The driver seam
//!
//! Everything above the scheduler reaches it through three calls on [`Shared`]:
//! [`Shared::spawn`] (a new goroutine), [`Shared::ready`] (an unparked goroutine) and
//! [`Shared::now_nanos`] (the clock), plus the goroutine's own `park`/`suspend` which
//! only switch back to whatever resumed it. The deterministic single-threaded driver
//! of `goru::check` ([`driver`]) replaces the worker threads behind those calls.
//!
//! # Sockets
//!
//! Readiness is part of scheduling ([`poller`]): an idle worker sleeps in the
//! runtime's epoll instead of on its parker, workers that run dry poll it without
//! blocking, and [`Shared::wake_worker`] wakes a worker wherever it sleeps.

pub(crate) mod context;
pub(crate) mod driver;
mod idle;
mod monitor;
pub(crate) mod poller;
pub(crate) mod queue;
mod registry;
pub(crate) mod worker;

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle as ThreadHandle;
use std::time::{Duration, Instant};

use crate::diag::blocking_report::ReportSettings;
use crate::diag::span::{SpawnSpan, INHERIT_SPAN};
use crate::diag::trace;
use crate::goroutine::GoRef;
use crate::park::ThreadParker;
use crate::stack::StackPool;
use crate::time::timers::{StackTimer, TimerAction, TimerKey, Timers};

pub(crate) use idle::Idle;
use poller::Poller;
use registry::Registry;
pub(crate) use registry::Unregister;
use worker::WorkerSlot;

/// Scheduling rounds between two looks at the global queue (Go uses 61 too).
pub(crate) const GLOBAL_POLL_INTERVAL: u32 = 61;

/// How far the clock moves before a worker refreshes [`Shared::coarse_nanos`] (readers
/// want it "a few ms stale at most").
const COARSE_STEP_NANOS: u64 = 100_000;

/// Spare workers that may run while others are stuck, beyond the configured count.
const MAX_SPARES: usize = 64;

pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) stack_size: usize,
    pub(crate) deadlock_detection: bool,
    /// Pin every goroutine to the thread it first runs on (`Builder::pin_goroutines`).
    pub(crate) pin_goroutines: bool,
    /// Report goroutines holding a worker too long (`Builder::blocking_report`).
    pub(crate) blocking_report: Option<ReportSettings>,
    /// Run deterministically on the caller's thread (`goru::check`), not on workers.
    pub(crate) driver: Option<driver::Driver>,
}

/// The state of one runtime shared by its workers, its monitor and its goroutines.
pub(crate) struct Shared {
    /// GOMAXPROCS: workers that run goroutines at once, spares aside.
    pub(crate) workers: usize,
    /// This runtime's number in the process (from 1), for traces.
    pub(crate) id: u64,
    /// Whether the monitor looks for deadlocks (`diag::deadlock`).
    pub(crate) deadlock_detection: bool,
    /// Whether `go` pins what it spawns (`Builder::pin_goroutines`).
    pub(crate) pin_goroutines: bool,
    /// What the monitor's blocking-call report does (`diag::blocking_report`).
    pub(crate) blocking_report: Option<ReportSettings>,
    /// Set for a deterministic runtime: it owns the runnable list and the clock.
    pub(crate) driver: Option<driver::Driver>,
    /// `workers` regular slots followed by `MAX_SPARES` spare slots.
    pub(crate) slots: Box<[WorkerSlot]>,
    global: GlobalQueue,
    pub(crate) idle: Idle,
    pub(crate) timers: Timers,
    /// Socket readiness (shared with the sockets registered on it, which may outlive us).
    pub(crate) poller: Arc<Poller>,
    /// Calls of `goru::blocking` in progress for this runtime's goroutines.
    pub(crate) blocking_calls: AtomicUsize,
    /// The clock as last read by the scheduler (for wait durations in the dump).
    coarse_now: AtomicU64,
    pub(crate) stacks: Arc<StackPool>,
    /// Goroutines spawned from outside the workers (the main goroutine).
    external_spawns: AtomicUsize,
    next_id: AtomicU64,
    shutdown: AtomicBool,
    start: Instant,
    /// Spare management (`monitor::activate_spare`, `worker::retire`).
    pub(crate) spares: Mutex<()>,
    pub(crate) active_spares: AtomicUsize,
    pub(crate) stuck: AtomicUsize,
    /// The sleeping worker that wakes for the next timer (`usize::MAX`: none).
    pub(crate) timer_keeper: AtomicUsize,
    pub(crate) monitor_parker: ThreadParker,
    pub(crate) monitor_sleeping: AtomicBool,
    threads: Mutex<Vec<(usize, ThreadHandle<()>)>>,
    /// Woken when the main goroutine finishes or a goroutine's panic must end the run.
    pub(crate) run_parker: Arc<ThreadParker>,
    /// The report of a panic nobody will join; makes `run` panic.
    failure: Mutex<Option<String>>,
    /// Every live goroutine, for the dump.
    registry: Registry,
    /// Threads writing blocking-call reports (`diag::blocking_report`).
    pub(crate) report_writers: Mutex<Vec<ThreadHandle<()>>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> std::io::Result<Arc<Shared>> {
        let workers = config.workers.max(1);
        static NEXT_RUNTIME: AtomicU64 = AtomicU64::new(1);
        Ok(Arc::new(Shared {
            id: NEXT_RUNTIME.fetch_add(1, Ordering::Relaxed),
            workers,
            deadlock_detection: config.deadlock_detection,
            pin_goroutines: config.pin_goroutines,
            blocking_report: config.blocking_report,
            driver: config.driver,
            slots: (0..workers + MAX_SPARES)
                .map(|i| WorkerSlot::new(i, i < workers))
                .collect(),
            global: GlobalQueue::default(),
            idle: Idle::new(),
            timers: Timers::new(workers),
            poller: Arc::new(Poller::new()?),
            blocking_calls: AtomicUsize::new(0),
            coarse_now: AtomicU64::new(0),
            stacks: StackPool::for_size(config.stack_size),
            external_spawns: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            shutdown: AtomicBool::new(false),
            start: Instant::now(),
            spares: Mutex::new(()),
            active_spares: AtomicUsize::new(0),
            stuck: AtomicUsize::new(0),
            timer_keeper: AtomicUsize::new(usize::MAX),
            monitor_parker: ThreadParker::default(),
            monitor_sleeping: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            run_parker: Arc::new(ThreadParker::default()),
            failure: Mutex::new(None),
            registry: Registry::new(workers + MAX_SPARES + 1),
            report_writers: Mutex::new(Vec::new()),
        }))
    }

    /// Start the worker threads and the monitor.
    pub(crate) fn start_threads(self: &Arc<Self>) -> std::io::Result<()> {
        for i in 0..self.workers {
            self.start_worker_thread(i)?;
        }
        let shared = self.clone();
        let monitor = std::thread::Builder::new()
            .name("goru-monitor".into())
            .spawn(move || monitor::run(shared))?;
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((usize::MAX, monitor));
        Ok(())
    }

    pub(crate) fn start_worker_thread(self: &Arc<Self>, index: usize) -> std::io::Result<()> {
        let shared = self.clone();
        let handle = std::thread::Builder::new()
            .name(format!("goru-worker-{index}"))
            // Room for the deep polls run on the worker's stack (`on_worker_stack`:
            // hyper's connection poll); only the pages touched are committed.
            .stack_size(WORKER_THREAD_STACK)
            .spawn(move || worker::run(shared, index))?;
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((index, handle));
        Ok(())
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Stop the runtime: no goroutine runs again. Goroutines still alive are abandoned
    /// (leaked, never unwound: as in Go, nothing of theirs runs after `main` returns;
    /// their stacks stay mapped so that anything still pointing into them stays valid).
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for slot in self.slots.iter() {
            slot.parker.unpark();
        }
        self.poller.wake();
        self.monitor_parker.unpark();
        crate::diag::blocking_report::finish_reports(self);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        // Idle workers exit at once. A worker inside a goroutine that never switches out
        // cannot be stopped: after a grace period we leave it behind (it exits when that
        // goroutine next switches out, without running another).
        let grace = Instant::now() + Duration::from_millis(100);
        for (_, handle) in threads {
            while !handle.is_finished() && Instant::now() < grace {
                std::thread::sleep(Duration::from_micros(50));
            }
            if handle.is_finished() && handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
        // Abandoned goroutines in the global queue and the inboxes are leaked like the
        // rest.
        let mut global = self.global.queue.lock().unwrap_or_else(|e| e.into_inner());
        global.drain(..).for_each(std::mem::forget);
        drop(global);
        self.slots.iter().for_each(WorkerSlot::abandon_inbox);
    }

    /// When this runtime's clock reads zero.
    pub(crate) fn start_instant(&self) -> Instant {
        self.start
    }

    /// Nanoseconds on this runtime's clock (virtual for a deterministic runtime).
    pub(crate) fn now_nanos(&self) -> u64 {
        match &self.driver {
            Some(driver) => driver.now(),
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    /// Goroutines spawned and not finished. Each worker counts its own spawns and
    /// exits in counters only it writes, so neither costs a contended atomic.
    pub(crate) fn live_goroutines(&self) -> usize {
        let mut live = self.external_spawns.load(Ordering::Acquire) as i64;
        for slot in self.slots.iter() {
            live += slot.spawned() as i64 - slot.finished() as i64;
        }
        live.max(0) as usize
    }

    /// Called by the worker that ran `g` to completion, after marking it DONE: `g`
    /// leaves the registry with the worker's next batch (`registry` module docs).
    pub(crate) fn goroutine_finished(&self, g: GoRef, unregister: &mut Unregister) {
        unregister.push(&self.registry, g);
    }

    /// Remove a worker's finished goroutines from the registry now (before it sleeps,
    /// retires or stops, so that they are freed).
    pub(crate) fn flush_finished(&self, unregister: &mut Unregister) {
        unregister.flush(&self.registry);
    }

    /// Call `f` on every live goroutine, in no order (`Registry::for_each`).
    pub(crate) fn for_each_goroutine(&self, f: impl FnMut(&crate::goroutine::Goroutine)) {
        self.registry.for_each(f);
    }

    /// Goroutines spawned since the runtime started.
    pub(crate) fn spawned_total(&self) -> u64 {
        let external = self.external_spawns.load(Ordering::Acquire) as u64;
        external + self.slots.iter().map(|s| s.spawned()).sum::<u64>()
    }

    /// A snapshot of every live goroutine, ordered by id.
    pub(crate) fn goroutines(&self) -> Vec<GoRef> {
        self.registry.snapshot()
    }

    /// Spawn `main` as the main goroutine (id 1, as the first spawn). Its outcome,
    /// a value or a panic, lands in the returned slot, and `run_parker` is woken.
    pub(crate) fn spawn_main<T: Send + 'static>(
        &self,
        site: &'static Location<'static>,
        main: impl FnOnce() -> T + Send + 'static,
    ) -> Arc<Mutex<Option<std::thread::Result<T>>>> {
        let outcome = Arc::new(Mutex::new(None));
        let body = {
            let outcome = outcome.clone();
            let run_parker = self.run_parker.clone();
            Box::new(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(main));
                *outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                run_parker.unpark();
            })
        };
        self.spawn(site, crate::goroutine::BoxTask::boxed(body));
        outcome
    }

    /// The run is over (its main goroutine returned, or it failed): stop, and keep the
    /// runtime alive forever if goroutines were abandoned, since they point at it
    /// (`Goroutine::runtime`) and may still be unparked through channels that other
    /// threads hold.
    pub(crate) fn end_run(self: &Arc<Self>) {
        self.shutdown();
        if let Some(driver) = &self.driver {
            driver.retire();
        }
        if self.live_goroutines() > 0 {
            std::mem::forget(self.clone());
        }
    }

    pub(crate) fn record_failure(&self, report: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if failure.is_none() {
            *failure = Some(report);
        }
        drop(failure);
        self.run_parker.unpark();
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Create a goroutine and make it runnable, pinned if the runtime pins all of
    /// them. Returns its id.
    pub(crate) fn spawn(
        &self,
        site: &'static Location<'static>,
        body: Arc<dyn crate::goroutine::Task>,
    ) -> u64 {
        self.spawn_with(site, body, self.pin_goroutines)
    }

    /// [`spawn`](Self::spawn), saying whether the goroutine is pinned (`go_pinned`).
    pub(crate) fn spawn_with(
        &self,
        site: &'static Location<'static>,
        body: Arc<dyn crate::goroutine::Task>,
        pinned: bool,
    ) -> u64 {
        self.spawn_traced(site, body, pinned, INHERIT_SPAN)
    }

    /// [`spawn_with`](Self::spawn_with), saying which `tracing` span the goroutine
    /// carries (feature `tracing`; by default the spawner's current one).
    pub(crate) fn spawn_traced(
        &self,
        site: &'static Location<'static>,
        body: Arc<dyn crate::goroutine::Task>,
        pinned: bool,
        span: SpawnSpan,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let g = GoRef::new(id, site, self, body, pinned, span);
        // Labels pass to the goroutines spawned under them, as in Go.
        let labels = crate::diag::labels::inherited();
        let labelled = labels.is_some();
        if labelled {
            g.set_labels(labels);
        }
        let slot = self.local_slot();
        // The spawner's own shard; plain threads share the last one.
        self.registry
            .insert(&g, slot.map_or(self.slots.len(), |s| s.index));
        if trace::enabled() {
            trace::record_create(self.id, self.current_lane(), id, site);
            if labelled {
                trace::record_labels(self.id, self.current_lane(), &g);
            }
        }
        #[cfg(feature = "metrics")]
        self.sample_ready(&g, slot);
        match slot {
            Some(slot) => slot.count_spawn(),
            None => {
                self.external_spawns.fetch_add(1, Ordering::AcqRel);
            }
        }
        if let Some(driver) = &self.driver {
            driver.push(g);
            return id;
        }
        match slot {
            Some(slot) => slot.push_local(g, self),
            None => self.push_global(vec![g]),
        }
        self.idle.notify_work(self);
        id
    }

    /// A parked goroutine became runnable.
    #[inline]
    pub(crate) fn ready(&self, g: GoRef) {
        if let Some(driver) = &self.driver {
            driver.push(g);
            return;
        }
        let local = self.local_slot();
        #[cfg(feature = "metrics")]
        self.sample_ready(&g, local);
        if let Some(home) = g.home() {
            // Bound to its home thread: anywhere else, it goes to the home's inbox. At
            // home it may take `runnext`, which no other worker steals.
            if local.is_none_or(|slot| slot.index != home) {
                return self.send_home(home, g);
            }
        }
        match local {
            Some(slot) => {
                if slot.push_next(g, self) {
                    self.idle.notify_work(self);
                }
            }
            None => {
                self.push_global(vec![g]);
                self.idle.notify_work(self);
            }
        }
    }

    /// Queue `g`, bound to worker `home`'s thread, in that worker's inbox and wake it
    /// wherever it sleeps.
    #[cold]
    #[inline(never)]
    pub(crate) fn send_home(&self, home: usize, g: GoRef) {
        self.slots[home].push_inbox(g);
        self.wake_worker(home);
    }

    /// The trace lane of the calling thread: its worker index, or `OTHER_THREADS`.
    pub(crate) fn current_lane(&self) -> usize {
        self.local_slot().map_or(trace::OTHER_THREADS, |s| s.index)
    }

    /// The worker slot of the calling thread, if it is one of this runtime's workers.
    pub(crate) fn local_slot(&self) -> Option<&WorkerSlot> {
        let (shared, slot) = context::current_worker();
        if std::ptr::eq(shared, self) {
            // SAFETY: a worker thread's slot pointer points into `self.slots`, which
            // lives as long as `self`.
            Some(unsafe { &*slot })
        } else {
            None
        }
    }

    pub(crate) fn push_global(&self, batch: Vec<GoRef>) {
        self.global.push(batch);
    }

    pub(crate) fn global_len(&self) -> usize {
        self.global.len.load(Ordering::Acquire)
    }

    /// Take a fair share of the global queue: one to run now, more into `local`.
    pub(crate) fn pop_global(&self, local: &queue::RunQueue) -> Option<GoRef> {
        if self.global_len() == 0 {
            return None;
        }
        let mut q = self.global.queue.lock().unwrap_or_else(|e| e.into_inner());
        let share = (q.len() / self.workers + 1).min(queue::CAP / 2);
        let first = q.pop_front();
        for _ in 1..share {
            match q.pop_front() {
                Some(g) => {
                    if let Err(g) = local.push(g) {
                        q.push_front(g);
                        break;
                    }
                }
                None => break,
            }
        }
        self.global.len.store(q.len(), Ordering::Release);
        if first.is_some() {
            self.global.pops.fetch_add(1, Ordering::Relaxed);
        }
        first
    }

    /// How many times a worker has taken from the global queue (progress, for the monitor).
    pub(crate) fn global_pops(&self) -> u64 {
        self.global.pops.load(Ordering::Relaxed)
    }

    /// Whether any goroutine waits in a queue (the idle re-check; `runnext` slots are
    /// their owners' business and are not stolen).
    pub(crate) fn has_queued_work(&self) -> bool {
        self.global_len() > 0
            || self
                .slots
                .iter()
                .any(|s| s.is_active() && !s.queue.is_empty())
    }

    /// A timer earlier than all others was added: make sure someone sleeps until it.
    pub(crate) fn wake_timer_keeper(&self) {
        let keeper = self.timer_keeper.load(Ordering::Acquire);
        if keeper != usize::MAX {
            self.wake_worker(keeper);
        } else {
            // A sleeper woken now takes the keeper role when it sleeps again; if every
            // worker is busy, they and the monitor check the timers as they go.
            self.idle.wake_one(self);
        }
    }

    /// Fire due timers; a goroutine they wake lands in this thread's queues.
    pub(crate) fn fire_timers(&self) -> usize {
        if self.timers.next_deadline().is_none() {
            return 0;
        }
        let now = self.read_clock();
        self.timers.fire_due(now)
    }

    /// Fire the due timers of worker `index`'s own heap only (Go's `checkTimers` on
    /// its own P): a busy worker leaves the other heaps, and their locks and lines, to
    /// their owners, to idle workers and to the monitor.
    pub(crate) fn fire_own_timers(&self, index: usize) -> usize {
        if !self.timers.has_due_in(index, u64::MAX - 1) {
            return 0; // no timer at all: no clock read either
        }
        // Whether one is due yet is the heap's own first look (`take_due`).
        self.timers.fire_due_in(index, self.read_clock())
    }

    /// The clock, refreshing the coarse mirror when it has moved on by a tick's tenth:
    /// every worker reads the clock here, and a store each time would move the
    /// mirror's line between them at every look at the timers.
    fn read_clock(&self) -> u64 {
        let now = self.now_nanos();
        if now.saturating_sub(self.coarse_now.load(Ordering::Relaxed)) >= COARSE_STEP_NANOS {
            self.coarse_now.store(now, Ordering::Relaxed);
        }
        now
    }

    /// The clock as last read by the scheduler or monitor: cheap, a few ms stale at most.
    pub(crate) fn coarse_nanos(&self) -> u64 {
        self.coarse_now.load(Ordering::Relaxed)
    }

    pub(crate) fn set_coarse_nanos(&self, now: u64) {
        self.coarse_now.store(now, Ordering::Relaxed);
    }

    /// Schedule a timer on the calling worker's heap and make sure it will be noticed.
    pub(crate) fn add_timer(&self, deadline: u64, action: TimerAction) -> TimerKey {
        let hint = self.local_slot().map_or(0, |s| s.index);
        let (key, earliest) = self.timers.add(hint, deadline, action);
        if earliest {
            self.wake_timer_keeper();
        }
        key
    }

    /// [`add_timer`](Self::add_timer) for a timer in its waiter's frame (a sleep).
    ///
    /// # Safety
    /// As [`Timers::add_on_stack`]: `timer` stays put until it has fired.
    pub(crate) unsafe fn add_stack_timer(&self, deadline: u64, timer: &StackTimer) {
        let hint = self.local_slot().map_or(0, |s| s.index);
        // SAFETY: per our contract.
        if unsafe { self.timers.add_on_stack(hint, deadline, timer) } {
            self.wake_timer_keeper();
        }
    }
}

#[derive(Default)]
struct GlobalQueue {
    queue: Mutex<VecDeque<GoRef>>,
    len: AtomicUsize,
    pops: AtomicU64,
}

impl GlobalQueue {
    fn push(&self, batch: Vec<GoRef>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(batch);
        self.len.store(q.len(), Ordering::Release);
    }
}

/// How long a worker may run one goroutine before the monitor steps in.
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(10);

/// A cooperative preemption point (Go's stack-check preemption, before 1.14): if the
/// monitor has asked the current worker to preempt (its goroutine used a whole time
/// slice), the goroutine yields here. Channel operations and contended locks call it,
/// so a goroutine that loops over channels cannot monopolise its worker.
///
/// The common case, no preemption asked anywhere, is one relaxed load of a process-wide
/// count; only when some worker has been asked does the goroutine look up its own.
#[inline]
pub(crate) fn preempt_point() {
    if PREEMPT_REQUESTS.load(Ordering::Relaxed) != 0 {
        preempt_point_slow();
    }
}

#[cold]
#[inline(never)]
fn preempt_point_slow() {
    let (_, slot) = context::current_worker();
    // SAFETY: a worker thread's slot pointer is valid while the worker runs, and we
    // are on that worker now (the pointer was read from this thread's locals).
    if !slot.is_null() && unsafe { (*slot).preempt.load(Ordering::Relaxed) } {
        crate::yield_now();
    }
}

/// Workers of every runtime whose `preempt` flag is set (`WorkerSlot::request_preempt`,
/// `WorkerSlot::take_preempt`). Written once per time slice at most, so reading it on
/// every channel operation costs a load from a line that stays in every cache.
static PREEMPT_REQUESTS: AtomicUsize = AtomicUsize::new(0);

#[cfg(test)]
pub(crate) fn test_goroutine(id: u64) -> GoRef {
    static RT: std::sync::OnceLock<Arc<Shared>> = std::sync::OnceLock::new();
    let rt = RT.get_or_init(|| {
        Shared::new(Config {
            workers: 1,
            stack_size: 64 * 1024,
            deadlock_detection: false,
            pin_goroutines: false,
            blocking_report: None,
            driver: None,
        })
        .unwrap()
    });
    GoRef::new(
        id,
        Location::caller(),
        rt,
        crate::goroutine::BoxTask::boxed(Box::new(|| {})),
        false,
        INHERIT_SPAN,
    )
}

/// The stack of each worker thread (std's default is 2 MiB): goroutines may run deep
/// polls on it (`Goroutine::on_worker_stack`), so it gets what a goroutine's default
/// stack reserves and more.
const WORKER_THREAD_STACK: usize = 8 << 20;
