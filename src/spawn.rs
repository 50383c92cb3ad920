//! Starting goroutines (`go`), waiting for them (`JoinHandle`), and reporting panics
//! that nobody is waiting to receive.
//!
//! A goroutine's result goes into a [`JoinState`] shared with its handle. If the
//! goroutine panics and no handle will ever `join` it (the handle was dropped before or
//! after the panic), the panic is an *orphan*: as in Go, where an unrecovered panic in
//! any goroutine crashes the program, it is printed as
//! `panic in goroutine N (spawned at file:line): message` and makes `run` panic.

use std::any::Any;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use crate::diag::span::{SpawnSpan, INHERIT_SPAN};
use crate::goroutine::{self, PanicInfo, Switch, Task};
use crate::panics::{payload_message, take_panic_info};
use crate::park::{self, Unparker, WaitReason};
use crate::sched::Shared;

/// What happens to a panic nobody will join.
pub(crate) enum OrphanPolicy {
    /// Print it and end the runtime (plain `go`): the runtime of the goroutine that
    /// finds the orphan (the panicking goroutine itself, or the one dropping the handle).
    FailRuntime,
    /// Print it, as std prints a scoped thread's panic, and let the enclosing `scope`
    /// panic with the first such report once its goroutines are done.
    Scope(Arc<Mutex<Option<String>>>),
}

pub(crate) struct JoinState<T> {
    inner: Mutex<JoinInner<T>>,
    finished: AtomicBool,
    site: &'static Location<'static>,
    policy: OrphanPolicy,
}

struct JoinInner<T> {
    result: Option<thread::Result<T>>,
    waiter: Option<Unparker>,
    handle_alive: bool,
    /// Where and how it panicked (from the panic hook), for an orphan report.
    /// Boxed: a handle is held for every goroutine not yet joined, and this is rare.
    panic_info: Option<Box<PanicInfo>>,
}

impl<T> JoinState<T> {
    pub(crate) fn new(site: &'static Location<'static>, policy: OrphanPolicy) -> Self {
        JoinState {
            inner: Mutex::new(JoinInner {
                result: None,
                waiter: None,
                handle_alive: true,
                panic_info: None,
            }),
            finished: AtomicBool::new(false),
            site,
            policy,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JoinInner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by the goroutine itself: run its body, catching a panic, and deliver the
    /// outcome to the handle (or report it as an orphan).
    pub(crate) fn run_and_complete(&self, f: impl FnOnce() -> T) {
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let panic_info = result.is_err().then(take_panic_info).flatten();
        let mut inner = self.lock();
        let waiter = inner.waiter.take();
        let orphan = if inner.handle_alive {
            inner.result = Some(result);
            inner.panic_info = panic_info;
            None
        } else {
            result.err().map(|payload| (payload, panic_info))
        };
        self.finished.store(true, Ordering::Release);
        drop(inner);
        if let Some((payload, info)) = orphan {
            let id = crate::runtime::current_id().unwrap_or(0);
            self.report_orphan(id, &*payload, info);
        }
        if let Some(w) = waiter {
            w.unpark();
        }
    }

    pub(crate) fn join(&self) -> thread::Result<T> {
        loop {
            let mut inner = self.lock();
            if let Some(result) = inner.result.take() {
                return result;
            }
            inner.waiter = Some(park::current());
            drop(inner);
            park::park(WaitReason::Join);
        }
    }

    /// [`join`](Self::join) for a future: the waker stands in for the parked caller.
    pub(crate) fn poll_join(&self, cx: &mut std::task::Context<'_>) -> Poll<thread::Result<T>> {
        let mut inner = self.lock();
        if let Some(result) = inner.result.take() {
            return Poll::Ready(result);
        }
        assert!(
            !self.is_finished(),
            "a JoinHandle polled again after it returned its result"
        );
        match &inner.waiter {
            Some(Unparker::Waker(w)) if w.will_wake(cx.waker()) => {}
            _ => inner.waiter = Some(Unparker::Waker(cx.waker().clone())),
        }
        Poll::Pending
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// The handle goes away: a panic already waiting in it becomes an orphan.
    pub(crate) fn detach(&self, id: u64) {
        let mut inner = self.lock();
        inner.handle_alive = false;
        let orphan = match inner.result.take() {
            Some(Err(payload)) => Some((payload, inner.panic_info.take())),
            _ => None,
        };
        drop(inner);
        if let Some((payload, info)) = orphan {
            self.report_orphan(id, &*payload, info);
        }
    }

    fn report_orphan(&self, id: u64, payload: &(dyn Any + Send), info: Option<Box<PanicInfo>>) {
        let message = payload_message(payload);
        let report = format!(
            "panic in goroutine {id} (spawned at {}): {message}",
            self.site
        );
        match &info {
            Some(info) => eprintln!("{report}\n{info}"),
            None => eprintln!("{report}"),
        }
        match &self.policy {
            OrphanPolicy::Scope(first) => {
                // The scope's own panic carries it, place included, as one line.
                let location = info.as_ref().map_or("", |i| i.location.as_str());
                let line = format!(
                    "goroutine {id} (spawned at {}) panicked at {location}: {message}",
                    self.site
                );
                first
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(line);
            }
            OrphanPolicy::FailRuntime => {
                if let Some(g) = goroutine::current_ptr() {
                    // SAFETY: the running goroutine and hence its runtime are alive.
                    unsafe { (*g).runtime().record_failure(report) };
                }
            }
        }
    }
}

/// A goroutine started by [`go`]: its closure and its result slot in one allocation,
/// shared by the goroutine (as a [`Task`]) and its handle (as a [`HasJoinState`]).
struct TaskCell<F, T> {
    /// Taken once, by the goroutine's first (and only) `run`.
    f: UnsafeCell<Option<F>>,
    state: JoinState<T>,
}

// SAFETY: `f` is only touched by `run`, which the runtime calls exactly once, on the
// goroutine itself; F and T are Send, and `state` synchronises itself.
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}

impl<F, T> Task for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&self) {
        // SAFETY: see the Sync impl: we are the only caller, called once.
        let f = unsafe { (*self.f.get()).take() }.expect("a goroutine runs once");
        self.state.run_and_complete(f);
    }
}

/// What a [`JoinHandle`] needs of its goroutine's allocation.
trait HasJoinState<T>: Send + Sync {
    fn join_state(&self) -> &JoinState<T>;
}

impl<F: Send, T: Send> HasJoinState<T> for TaskCell<F, T> {
    fn join_state(&self) -> &JoinState<T> {
        &self.state
    }
}

/// The runtime of the calling goroutine, or a panic that says to use `goru::run`.
///
/// The pointer is valid while the calling goroutine runs (see `Goroutine::runtime`).
#[track_caller]
pub(crate) fn current_runtime(what: &str) -> *const Shared {
    match goroutine::current_ptr() {
        // SAFETY: the running goroutine is alive while it runs.
        Some(g) => unsafe { (*g).runtime() as *const Shared },
        None => panic!(
            "goru::{what} called outside a goru runtime: goroutines need one; wrap the \
             program in goru::run(|| ...) or use #[goru::main]"
        ),
    }
}

/// Start a goroutine running `f`, as Go's `go f()`.
///
/// Returns a [`JoinHandle`]; dropping it detaches the goroutine. Must be called from
/// inside a runtime ([`run`](crate::run)); elsewhere it panics with a message that says so.
///
/// ```
/// goru::run(|| {
///     let h = goru::go(|| 6 * 7);
///     assert_eq!(h.join().unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_joinable("go", Location::caller(), f, None, INHERIT_SPAN)
}

/// Feature `tracing`: start a goroutine as [`go`] does, carrying `span` instead of the
/// span current here. The goroutine's code runs inside `span` (and events it emits
/// are recorded in it) however often it parks and whichever thread resumes it; the
/// span is entered at every resume and exited at every park, so it is never left
/// entered on a thread the goroutine has left. Spans the goroutine enters itself and
/// holds across a park follow it the same way. `go` carries the current span.
///
/// ```
/// goru::run(|| {
///     let span = tracing::info_span!("request", id = 7);
///     let h = goru::go_with_span(span.clone(), move || {
///         goru::time::sleep(std::time::Duration::from_millis(1));
///         tracing::Span::current().id() == span.id()
///     });
///     assert!(h.join().unwrap());
/// });
/// ```
#[cfg(feature = "tracing")]
#[track_caller]
pub fn go_with_span<F, T>(span: tracing::Span, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_joinable("go_with_span", Location::caller(), f, None, Some(span))
}

/// Start a pinned goroutine: as [`go`], but once it has started it is resumed only on
/// the OS thread it first ran on, whatever [`Builder::pin_goroutines`] says. Thread
/// locals and `!Send` values made inside it (an `Rc` from a thread-local, `rand`'s
/// `ThreadRng`, a `std::sync::MutexGuard`) stay valid across its parks.
///
/// [`Builder::pin_goroutines`]: crate::Builder::pin_goroutines
///
/// ```
/// goru::run(|| {
///     let h = goru::go_pinned(|| {
///         let thread = std::thread::current().id();
///         for _ in 0..50 {
///             goru::yield_now();
///             goru::time::sleep(std::time::Duration::from_micros(10));
///         }
///         std::thread::current().id() == thread
///     });
///     assert!(h.join().unwrap());
/// });
/// ```
#[track_caller]
pub fn go_pinned<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_joinable("go_pinned", Location::caller(), f, Some(true), INHERIT_SPAN)
}

/// `go`, `go_pinned` and `go_with_span`: spawn `f` on the current runtime, pinned as
/// `pinned` says or as the runtime's default, carrying `span`.
fn spawn_joinable<F, T>(
    what: &str,
    site: &'static Location<'static>,
    f: F,
    pinned: Option<bool>,
    span: SpawnSpan,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: we are running in a goroutine of this runtime, which keeps it alive.
    let rt = unsafe { &*current_runtime(what) };
    let cell = Arc::new(TaskCell {
        f: UnsafeCell::new(Some(f)),
        state: JoinState::new(site, OrphanPolicy::FailRuntime),
    });
    let pinned = pinned.unwrap_or(rt.pin_goroutines);
    let id = rt.spawn_traced(site, cell.clone(), pinned, span);
    crate::sched::driver::switch_point("go");
    JoinHandle {
        cell,
        id,
        _not_clone: PhantomData,
    }
}

/// Start a detached goroutine on `rt` from outside its goroutines (a timer callback on
/// one of its workers): `go` without a handle. A panic in it is an orphan, as in Go.
pub(crate) fn go_detached(
    rt: &Shared,
    site: &'static Location<'static>,
    f: impl FnOnce() + Send + 'static,
) {
    let cell = Arc::new(TaskCell {
        f: UnsafeCell::new(Some(f)),
        state: JoinState::new(site, OrphanPolicy::FailRuntime),
    });
    let id = rt.spawn(site, cell.clone());
    cell.state.detach(id); // no handle: as a dropped JoinHandle
}

/// An owned permission to wait for a goroutine's result; dropping it detaches.
pub struct JoinHandle<T> {
    cell: Arc<dyn HasJoinState<T>>,
    id: u64,
    _not_clone: PhantomData<()>,
}

impl<T> JoinHandle<T> {
    /// Wait for the goroutine to finish; `Err` holds its panic payload.
    ///
    /// Parks the calling goroutine (or blocks the calling thread outside a runtime).
    ///
    /// ```
    /// goru::run(|| {
    ///     let ok = goru::go(|| 6 * 7);
    ///     assert_eq!(ok.join().unwrap(), 42);
    ///     let bad = goru::go(|| -> u32 { panic!("boom") });
    ///     assert!(bad.join().is_err(), "the panic comes back as Err");
    /// });
    /// ```
    pub fn join(self) -> thread::Result<T> {
        // A joined goroutine has finished and its result is taken, so there is nothing
        // for `Drop`'s detach to report: skip it (and its lock), dropping only the cell.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the cell is moved out once.
        let cell = unsafe { std::ptr::read(&this.cell) };
        cell.join_state().join()
    }

    /// Whether the goroutine has finished running.
    ///
    /// ```
    /// goru::run(|| {
    ///     let (tx, rx) = goru::chan::bounded::<()>(0);
    ///     let h = goru::go(move || rx.recv().unwrap());
    ///     assert!(!h.is_finished());
    ///     tx.send(()).unwrap();
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.join_state().is_finished()
    }

    /// The goroutine's id (the main goroutine is 1).
    ///
    /// ```
    /// goru::run(|| {
    ///     let h = goru::go(goru::runtime::current_id);
    ///     let id = h.id();
    ///     assert_eq!(h.join().unwrap(), Some(id));
    /// });
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Awaiting a `JoinHandle` waits for its goroutine as [`JoinHandle::join`] does, without
/// parking: a tokio task (or any future) can wait for a goroutine.
///
/// ```
/// goru::run(|| {
///     let h = goru::go(|| "done");
///     assert_eq!(goru::block_on(h).unwrap(), "done");
/// });
/// ```
impl<T> std::future::Future for JoinHandle<T> {
    type Output = thread::Result<T>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        self.cell.join_state().poll_join(cx)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.cell.join_state().detach(self.id);
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Let other goroutines run, as Go's `runtime.Gosched`: the caller goes to the back of
/// its worker's queue. On a plain thread it yields the thread.
///
/// ```
/// let order = goru::Runtime::builder().workers(1).build().unwrap().run(|| {
///     let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
///     let l = log.clone();
///     let h = goru::go(move || l.lock().unwrap().push("goroutine"));
///     goru::yield_now(); // the goroutine runs here
///     log.lock().unwrap().push("main");
///     h.join().unwrap();
///     let v = log.lock().unwrap().clone();
///     v
/// });
/// assert_eq!(order, ["goroutine", "main"]);
/// ```
pub fn yield_now() {
    match goroutine::current_ptr() {
        // SAFETY: the running goroutine is alive while it runs; we are on its stack
        // unless it is running on its worker's (then it cannot switch, and the thread
        // yields instead).
        Some(g) => unsafe {
            if (*g).is_on_worker_stack() {
                thread::yield_now();
            } else {
                (*g).suspend(Switch::Yield);
            }
        },
        None => thread::yield_now(),
    }
}
