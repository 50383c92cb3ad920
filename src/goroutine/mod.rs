//! One goroutine: its id, run state, body, stack and saved context.
//!
//! # States
//!
//! ```text
//!            pop by a worker            suspend(Park), CAS
//! RUNNABLE ------------------> RUNNING ---------------------> PARKED
//!    ^                          |  |                            |
//!    |        suspend(Yield)    |  | body returns               | unpark, CAS
//!    +--------------------------+  +--> DONE                    |
//!    +----------------------------------------------------------+
//! ```
//!
//! Beside the state sits the `NOTIFIED` bit, the park token: an `unpark` that finds the
//! goroutine anywhere but `PARKED` sets the bit instead of scheduling it, and the next
//! `park` consumes the bit and returns at once. The worker performs the
//! `RUNNING -> PARKED` transition *after* the goroutine's context has been saved, so an
//! unparker can never schedule a goroutine that is still executing on another thread:
//! either its CAS comes first (the worker sees `NOTIFIED` and requeues the goroutine) or
//! the worker's does (the unparker sees `PARKED` and schedules it).
//!
//! # Ownership
//!
//! A goroutine is reference counted ([`GoRef`]). Run queues, unparkers and the worker
//! running it each hold a reference. Its `body` (closure or coroutine) is touched only by
//! the single worker that moved it to `RUNNING`, which the state machine makes exclusive.

use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corosensei::{Coroutine, Yielder};

use crate::diag::labels::Labels;
use crate::diag::span::{GoSpan, SpawnSpan};
use crate::park::WaitReason;
use crate::sched::Shared;
use crate::stack::Stack;

mod state;

use state::{RunState, Wake};
pub(crate) use state::{DONE, PARKED, RUNNING};

/// Where a goroutine panicked and its stack at that moment, kept for the report of a
/// panic nobody joins. The backtrace is captured unresolved (cheap) and symbolised
/// only if it is printed.
pub(crate) struct PanicInfo {
    pub(crate) location: String,
    pub(crate) backtrace: Option<std::backtrace::Backtrace>,
}

impl std::fmt::Display for PanicInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  at {}", self.location)?;
        if let Some(bt) = &self.backtrace {
            let frames = crate::diag::goroutine_frames(bt, crate::panics::is_panic_machinery);
            write!(f, "\n{}", frames.trim_end())?;
        }
        Ok(())
    }
}

/// A wait reached `suspend` on the worker's stack. It cannot switch there, and it must
/// not unwind either: the wait has already left records pointing into this stack (a
/// channel entry, a timer), which would outlive their frames. So the process ends, as
/// Go's runtime throws on a broken invariant. (`time::sleep` refuses with a panic
/// before it arms anything.)
#[cold]
#[inline(never)]
fn refuse_to_park_on_the_worker_stack() -> ! {
    eprintln!(
        "goru: fatal error: a goroutine tried to park while running on its worker's stack \
         (a future polled there waited on goru; run the blocking part in a goroutine)"
    );
    std::process::abort();
}

/// What a goroutine tells its worker when it switches out.
pub(crate) enum Switch {
    /// Still runnable: put it back in the run queue.
    Yield,
    /// Waiting: move it to `PARKED` unless a token arrived meanwhile.
    Park,
}

pub(crate) type GoCoroutine = Coroutine<(), Switch, (), Stack>;

/// What a goroutine runs: called once, on its own stack.
pub(crate) trait Task: Send + Sync {
    fn run(&self);
}

/// A boxed closure as a [`Task`] (for goroutines whose body is not a `TaskCell`).
pub(crate) struct BoxTask(std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl BoxTask {
    pub(crate) fn boxed(f: Box<dyn FnOnce() + Send>) -> Arc<dyn Task> {
        Arc::new(BoxTask(std::sync::Mutex::new(Some(f))))
    }
}

impl Task for BoxTask {
    fn run(&self) {
        let f = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(f) = f {
            f();
        }
    }
}

pub(crate) enum Body {
    /// Not started yet; the stack is allocated when it first runs.
    Pending(Arc<dyn Task>),
    Running(GoCoroutine),
    Finished,
}

pub(crate) struct Goroutine {
    pub(crate) id: u64,
    state: RunState,
    pub(crate) spawn_site: &'static Location<'static>,
    wait_reason: AtomicU8,
    /// Nanoseconds since the runtime started, when it last parked (for the dump).
    parked_at: AtomicU64,
    /// Its runtime. Invariant: the runtime outlives every goroutine that is not DONE
    /// (`Runtime::run` keeps it until its workers exit, and leaks it if goroutines are
    /// abandoned alive), so [`Goroutine::runtime`] may be used until `set_done`. A plain
    /// pointer, not an `Arc`: a count touched by every spawn and exit would be a cache
    /// line all workers fight over.
    runtime: *const Shared,
    /// Exclusive to the worker that set `RUNNING` (module docs).
    pub(crate) body: UnsafeCell<Body>,
    /// The yielder of the running coroutine; valid while the body runs.
    yielder: Cell<*const Yielder<(), Switch>>,
    /// Whether its code is running on its worker's stack (`on_worker_stack`), where it
    /// must not switch away (owner only).
    on_worker_stack: Cell<bool>,
    /// Set from just before a switch between its stack and its worker's until just
    /// after that switch lands (`begin_switch`, `end_switch`). In between, the stack
    /// pointer and the unwind information of the running frame disagree, and an
    /// unwinder started by a signal there walks garbage: `diag::thread_backtrace`
    /// asks first. Written by the thread running it, read by a signal handler on that
    /// same thread (through the current-goroutine pointer): relaxed, with compiler
    /// fences.
    switching: AtomicBool,
    /// Its stack's usable range, once it has one: set by its worker before the first
    /// resume, never changed after; read by the overflow handler and the dump.
    pub(crate) stack_range: StackRange,
    /// Its slot in the runtime's registry (`sched::registry`).
    pub(crate) registry_slot: AtomicU64,
    /// Where and how it panicked, captured by the panic hook for the report.
    /// Boxed: every goroutine carries the slot, few ever fill it.
    pub(crate) panic_info: Mutex<Option<Box<PanicInfo>>>,
    /// Asked to record its own backtrace at its park point (`diag::backtraces`).
    pub(crate) backtrace_request: AtomicBool,
    /// The backtrace recorded on request (not yet symbolized), until the dump takes it.
    pub(crate) backtrace: Mutex<Option<std::backtrace::Backtrace>>,
    /// Spawned pinned (`go_pinned`, `Builder::pin_goroutines`): once started, it is
    /// resumed only on the thread it first ran on.
    pinned: bool,
    /// The worker whose thread it must resume on ([`NO_HOME`]: any). Set by the worker
    /// when a pinned goroutine first runs, and by the goroutine itself when it switches
    /// out while unwinding (std's panic count is per thread). Written only while it
    /// runs; read after it switched out, ordered by the state transition.
    home: AtomicUsize,
    /// What it waits on has been used from outside its runtime (`park::sight`), as
    /// noted when it last parked, at `park_epoch`.
    waits_unseen: AtomicBool,
    park_epoch: AtomicU64,
    /// Feature `metrics`: when it was made runnable, plus one, if that wake-up is
    /// sampled for the latency histogram (`diag::metrics`); 0 otherwise.
    #[cfg(feature = "metrics")]
    ready_sample: AtomicU64,
    /// Feature `tracing`: the spans it carries across switches (`diag::span`); owner
    /// only. Zero-sized without the feature.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    spans: GoSpan,
    /// Its labels (`diag::labels`): written by itself, or by its spawner before it is
    /// published; read by the dump and the profile from any thread.
    pub(crate) labels: Mutex<Option<Labels>>,
    /// Whether `labels` holds any, readable without the lock.
    pub(crate) labelled: AtomicBool,
}

/// Where a goroutine's stack lies: `[bottom, top)`, both 0 before it has one.
#[derive(Default)]
pub(crate) struct StackRange {
    bottom: AtomicUsize,
    top: AtomicUsize,
}

impl StackRange {
    pub(crate) fn set(&self, stack: &Stack) {
        let (_, bottom) = stack.guard_range();
        self.bottom.store(bottom, Ordering::Relaxed);
        self.top.store(bottom + stack.size(), Ordering::Relaxed);
    }

    /// `(bottom, top)`, or None before the goroutine first ran.
    pub(crate) fn get(&self) -> Option<(usize, usize)> {
        let bottom = self.bottom.load(Ordering::Relaxed);
        (bottom != 0).then(|| (bottom, self.top.load(Ordering::Relaxed)))
    }
}

/// [`Goroutine::home`]'s "no home": any worker may resume it.
const NO_HOME: usize = usize::MAX;

// SAFETY: the non-Sync fields (`body`, `yielder`) are only touched by the one worker
// that owns the RUNNING state (see the module docs); the body closure is `Send`, and a
// suspended coroutine may resume on another thread because goroutine code never caches
// thread-local addresses across a switch (accessors here are `#[inline(never)]`).
unsafe impl Send for Goroutine {}
// SAFETY: as above; every field shared between threads is atomic or locked.
unsafe impl Sync for Goroutine {}

/// A counted reference to a goroutine.
#[derive(Clone)]
pub(crate) struct GoRef(Arc<Goroutine>);

impl std::ops::Deref for GoRef {
    type Target = Goroutine;
    fn deref(&self) -> &Goroutine {
        &self.0
    }
}

impl GoRef {
    pub(crate) fn new(
        id: u64,
        spawn_site: &'static Location<'static>,
        runtime: &Shared,
        body: Arc<dyn Task>,
        pinned: bool,
        span: SpawnSpan,
    ) -> GoRef {
        GoRef(Arc::new(Goroutine {
            id,
            state: RunState::new(),
            spawn_site,
            wait_reason: AtomicU8::new(WaitReason::None as u8),
            parked_at: AtomicU64::new(0),
            runtime,
            body: UnsafeCell::new(Body::Pending(body)),
            yielder: Cell::new(std::ptr::null()),
            on_worker_stack: Cell::new(false),
            switching: AtomicBool::new(false),
            stack_range: StackRange::default(),
            registry_slot: AtomicU64::new(u64::MAX),
            panic_info: Mutex::new(None),
            backtrace_request: AtomicBool::new(false),
            backtrace: Mutex::new(None),
            pinned,
            home: AtomicUsize::new(NO_HOME),
            waits_unseen: AtomicBool::new(false),
            park_epoch: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            ready_sample: AtomicU64::new(0),
            spans: GoSpan::new(span, id, spawn_site),
            labels: Mutex::new(None),
            labelled: AtomicBool::new(false),
        }))
    }

    pub(crate) fn into_raw(self) -> *const Goroutine {
        Arc::into_raw(self.0)
    }

    /// # Safety
    /// `ptr` must come from [`GoRef::into_raw`] and be consumed once.
    pub(crate) unsafe fn from_raw(ptr: *const Goroutine) -> GoRef {
        // SAFETY: per the contract, ptr is an Arc pointer whose count we now own.
        GoRef(unsafe { Arc::from_raw(ptr) })
    }

    /// # Safety
    /// `ptr` must point to a live goroutine (from [`GoRef::as_ptr`]).
    pub(crate) unsafe fn clone_from_ptr(ptr: *const Goroutine) -> GoRef {
        // SAFETY: per the contract the Arc is alive; we add the count we return.
        unsafe {
            Arc::increment_strong_count(ptr);
            GoRef::from_raw(ptr)
        }
    }

    pub(crate) fn as_ptr(&self) -> *const Goroutine {
        Arc::as_ptr(&self.0)
    }

    /// Make the goroutine runnable again if it is parked; otherwise leave it the token.
    pub(crate) fn unpark(&self) {
        // SAFETY: we hold a counted reference, so the goroutine is alive.
        unsafe { unpark_ptr(self.as_ptr()) }
    }
}

impl Goroutine {
    /// The state change of an unpark: true if the goroutine went from PARKED to
    /// RUNNABLE and the caller must queue it (with the park reference); false if it
    /// only got the token (or is done).
    #[inline]
    fn unpark_transition(&self) -> bool {
        match self.state.unpark() {
            Wake::Queue => {
                // For tokio-console: a wake that queues it uses up its waker.
                #[cfg(feature = "tracing")]
                self.spans.waker_op("waker.wake");
                if crate::diag::trace::enabled() {
                    // A PARKED goroutine is not DONE: its runtime is alive.
                    let rt = self.runtime();
                    crate::diag::trace::record_unpark(rt.id, rt.current_lane(), self.id);
                }
                true
            }
            Wake::Token => {
                // A wake that finds it still running: it will not park.
                #[cfg(feature = "tracing")]
                self.spans.waker_op("waker.wake_by_ref");
                false
            }
            Wake::Nothing => false,
        }
    }

    /// The goroutine's runtime; callers ensure the goroutine is not DONE (it is running,
    /// parked, or queued), which keeps the runtime alive (see the field's invariant).
    pub(crate) fn runtime(&self) -> &Shared {
        // SAFETY: per the field invariant and this method's contract.
        unsafe { &*self.runtime }
    }

    pub(crate) fn state(&self) -> u32 {
        self.state.get()
    }

    pub(crate) fn wait_reason(&self) -> WaitReason {
        WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed))
    }

    /// When it last parked, on the runtime's coarse clock (for the dump).
    pub(crate) fn parked_at_nanos(&self) -> u64 {
        self.parked_at.load(Ordering::Relaxed)
    }

    /// Worker side: take a popped goroutine to RUNNING, keeping its token.
    #[inline]
    pub(crate) fn set_running(&self) {
        self.state.set_running();
    }

    /// Worker side, after the goroutine switched out with `Switch::Yield`.
    #[inline]
    pub(crate) fn set_runnable(&self) {
        self.state.set_runnable();
    }

    /// Worker side, after `Switch::Park`: true if it is now parked, false if a token
    /// arrived first (then it is RUNNABLE again and must be requeued).
    ///
    /// On success the caller's counted reference becomes the *park reference*: a
    /// PARKED goroutine owns one reference to itself, which the unpark that moves it
    /// to RUNNABLE takes over and puts in a run queue (`unpark_ptr`). The goroutine
    /// may run elsewhere, finish and be freed the moment the exchange succeeds, so the
    /// caller must not touch it afterwards.
    #[inline]
    pub(crate) fn finish_park(&self) -> bool {
        self.state.finish_park()
    }

    /// Whether what it waits on had been used from outside its runtime when it parked
    /// (`park::sight`). Read after seeing it PARKED.
    pub(crate) fn waits_unseen(&self) -> bool {
        self.waits_unseen.load(Ordering::Relaxed)
    }

    /// Whether its [`waits_unseen`](Self::waits_unseen) note was taken at `epoch`, and
    /// so is still true. Read after seeing it PARKED.
    pub(crate) fn noted_at(&self, epoch: u64) -> bool {
        self.park_epoch.load(Ordering::Relaxed) == epoch
    }

    /// The worker it must resume on, if it is bound to one's thread.
    #[inline]
    pub(crate) fn home(&self) -> Option<usize> {
        let home = self.home.load(Ordering::Relaxed);
        (home != NO_HOME).then_some(home)
    }

    /// Worker side, as it first runs: a pinned goroutine makes this worker its home.
    #[inline]
    pub(crate) fn start_on(&self, worker: usize) {
        if self.pinned {
            self.home.store(worker, Ordering::Relaxed);
        }
    }

    /// Goroutine side, switching out while unwinding: stay on this thread, whose panic
    /// count (and the unwinder's thread-local state) the unwinding belongs to.
    #[cold]
    fn stay_on_this_thread(&self) {
        let (_, slot) = crate::sched::context::current_worker();
        if !slot.is_null() {
            // SAFETY: a worker thread's slot pointer is valid while the worker runs,
            // and this thread is that worker, running us.
            let index = unsafe { (*slot).index };
            self.home.store(index, Ordering::Relaxed);
        }
    }

    /// Feature `metrics`: start a latency sample (made runnable at `stamp - 1`). Only
    /// the thread that made it runnable writes, before it is queued.
    #[cfg(feature = "metrics")]
    pub(crate) fn start_ready_sample(&self, stamp: u64) {
        self.ready_sample.store(stamp, Ordering::Relaxed);
    }

    /// Feature `metrics`, worker side at a resume: the pending sample's stamp, or 0.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn take_ready_sample(&self) -> u64 {
        let stamp = self.ready_sample.load(Ordering::Relaxed);
        if stamp != 0 {
            self.ready_sample.store(0, Ordering::Relaxed);
        }
        stamp
    }

    pub(crate) fn set_done(&self) {
        self.state.set_done();
    }

    pub(crate) fn set_yielder(&self, y: &Yielder<(), Switch>) {
        self.yielder.set(y);
    }

    /// Goroutine side of `park::park` (token semantics, see `park`), for a wait the
    /// runtime sees whole.
    #[inline]
    pub(crate) fn park(&self, reason: WaitReason) {
        self.park_seen(reason, || false);
    }

    /// [`park`](Self::park) on a primitive that may have been used from outside the
    /// runtime: `unseen` says whether it has (`park::sight`; read after the epoch).
    /// Inlined into the channel wait, one frame fewer around the switch (see
    /// `worker::Worker::settle`).
    #[inline]
    pub(crate) fn park_seen(&self, reason: WaitReason, unseen: impl FnOnce() -> bool) {
        // Fast path: a token is already here.
        if self.state.take_token() {
            return;
        }
        // The epoch first, then the primitive's flag (`park::sight` module docs).
        self.park_epoch
            .store(crate::park::sight::epoch(), Ordering::Relaxed);
        self.waits_unseen.store(unseen(), Ordering::Relaxed);
        self.wait_reason.store(reason as u8, Ordering::Relaxed);
        self.parked_at
            .store(self.runtime().coarse_nanos(), Ordering::Relaxed);
        // For tokio-console: parking hands out a waker, which the wake consumes.
        #[cfg(feature = "tracing")]
        self.spans.waker_op("waker.clone");
        self.suspend(Switch::Park);
        // Woken only to record where it waits (for a dump): do so and wait on. A real
        // unpark meanwhile left its token, so the next suspend returns at once.
        while self.backtrace_request.load(Ordering::Relaxed)
            && self.backtrace_request.swap(false, Ordering::AcqRel)
        {
            let trace = crate::diag::own_backtrace();
            *self.backtrace.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace);
            self.suspend(Switch::Park);
        }
        self.wait_reason
            .store(WaitReason::None as u8, Ordering::Relaxed);
    }

    /// Run `f` on the stack of the worker thread running this goroutine instead of the
    /// goroutine's own. A deep call made often by thousands of goroutines (hyper
    /// polling a connection) then touches the worker's stack, hot in cache, instead of
    /// cold pages of one goroutine stack out of thousands. `f` must not switch away
    /// (park, yield, block): it runs below the worker's suspended frames, on its thread,
    /// and a switch tried there panics. Must be called by this goroutine; nested calls
    /// just run `f`.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn on_worker_stack<R>(&self, f: impl FnOnce() -> R + Send) -> R {
        if self.on_worker_stack.get() {
            return f();
        }
        let y = self.yielder.get();
        assert!(!y.is_null(), "on_worker_stack outside the goroutine's body");
        struct Back<'a>(&'a Cell<bool>);
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.on_worker_stack.set(true);
        let _back = Back(&self.on_worker_stack);
        self.begin_switch();
        // SAFETY: the yielder pointer is valid while the body runs, and we are on the
        // body's stack (the flag was clear and the caller is this goroutine). `f` cannot
        // switch (suspend refuses while the flag is set), so the worker's frames above
        // the borrowed region stay suspended and untouched until `f` returns; a panic
        // in `f` is carried back to this stack by corosensei.
        let result = unsafe { (*y).on_parent_stack(|| self.in_switched_frame(f)) };
        self.end_switch();
        result
    }

    /// Whether it runs on its worker's stack now (see `on_worker_stack`). Owner only.
    pub(crate) fn is_on_worker_stack(&self) -> bool {
        self.on_worker_stack.get()
    }

    /// Switch back to the worker. Must be called by this goroutine, on its own stack.
    /// Inlined into the waits, one frame fewer around the switch (see
    /// `worker::Worker::settle`).
    #[inline(always)]
    pub(crate) fn suspend(&self, why: Switch) {
        if self.on_worker_stack.get() {
            refuse_to_park_on_the_worker_stack();
        }
        if std::thread::panicking() {
            self.stay_on_this_thread();
        }
        let y = self.yielder.get();
        debug_assert!(!y.is_null());
        #[cfg(feature = "tracing")]
        self.spans.suspend();
        self.begin_switch();
        // SAFETY: the yielder pointer was set when the body started and stays valid
        // until it returns; we are running on that body's stack (caller contract).
        unsafe { (*y).suspend(why) };
        self.end_switch();
        #[cfg(feature = "tracing")]
        self.spans.resume();
    }

    /// A switch between its stack and its worker's starts now, on this thread (see
    /// `switching`). Called by whoever switches: its worker before a resume, the
    /// goroutine before it suspends.
    #[inline(always)]
    pub(crate) fn begin_switch(&self) {
        compiler_fence(Ordering::SeqCst);
        self.switching.store(true, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
    }

    /// The switch has landed (see `begin_switch`).
    #[inline(always)]
    pub(crate) fn end_switch(&self) {
        compiler_fence(Ordering::SeqCst);
        self.switching.store(false, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
    }

    /// Whether a switch is under way (see `switching`); for a signal handler on the
    /// thread running it.
    pub(crate) fn is_switching(&self) -> bool {
        self.switching.load(Ordering::Relaxed)
    }

    /// Run `f` as the first frame on the far side of a switch (its body, or what it
    /// runs on its worker's stack): the switch that came here has landed, and the one
    /// that goes back starts once `f` returns or unwinds.
    #[inline(always)]
    pub(crate) fn in_switched_frame<R>(&self, f: impl FnOnce() -> R) -> R {
        struct SwitchBack<'a>(&'a Goroutine);
        impl Drop for SwitchBack<'_> {
            fn drop(&mut self) {
                self.0.begin_switch();
            }
        }
        self.end_switch();
        let _back = SwitchBack(self);
        f()
    }

    /// Run the goroutine's body `f`, on its own stack, the first time it resumes: with
    /// feature `tracing`, inside its spans (`diag::span`), which it leaves when `f`
    /// returns or unwinds.
    #[inline(always)]
    pub(crate) fn run_body(&self, f: impl FnOnce()) {
        #[cfg(feature = "tracing")]
        {
            struct Leave<'a>(&'a GoSpan);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    self.0.suspend();
                }
            }
            self.spans.resume();
            let _leave = Leave(&self.spans);
            f();
        }
        #[cfg(not(feature = "tracing"))]
        f();
    }
}

/// Unpark the goroutine at `g` (see [`GoRef::unpark`]) without holding a count of
/// its own: a PARKED goroutine's park reference is what goes into the run queue.
///
/// # Safety
/// `g` is alive for the duration of the call: the caller holds a reference, or the
/// goroutine cannot finish before this call returns (it waits on the caller, as a
/// channel waiter waits for its `Selection` to be completed).
#[inline]
pub(crate) unsafe fn unpark_ptr(g: *const Goroutine) {
    // SAFETY: alive, per the contract.
    let goroutine = unsafe { &*g };
    if goroutine.unpark_transition() {
        // SAFETY: the transition out of PARKED gave us the park reference
        // (`Goroutine::finish_park`), which we hand to the run queue.
        let g = unsafe { GoRef::from_raw(g) };
        // A goroutine just moved out of PARKED is not DONE: its runtime is alive
        // (the field's invariant) while ready runs.
        let rt: *const Shared = goroutine.runtime();
        // SAFETY: see above.
        unsafe { (*rt).ready(g) };
    }
}

/// The goroutine running on this thread, if any.
///
/// `#[inline(never)]` so that no caller can keep a thread-local address across a
/// switch, after which the goroutine may be running on another thread.
#[inline(never)]
pub(crate) fn current_ptr() -> Option<*const Goroutine> {
    let p = crate::sched::context::current_goroutine();
    (!p.is_null()).then_some(p)
}

/// A counted reference to the goroutine running on this thread, if any.
#[inline(never)]
pub(crate) fn current() -> Option<GoRef> {
    // SAFETY: the running goroutine is kept alive by its worker's reference.
    current_ptr().map(|p| unsafe { GoRef::clone_from_ptr(p) })
}
