//! Scoped goroutines that may borrow from the caller's stack, like `std::thread::scope`.
//!
//! Soundness rests on one invariant: [`scope`] does not return (or unwind) before every
//! goroutine started in it has finished, so the borrowed data outlives them. If the
//! runtime ends while they still run (another goroutine's panic, `main` returning), the
//! goroutine that called `scope` is abandoned with them and never resumes, and its stack
//! is never reclaimed, so the borrows stay valid for as long as anything could use them.

use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::park::{self, Unparker, WaitReason};
use crate::sched::Shared;
use crate::spawn::{current_runtime, JoinState, OrphanPolicy};

/// A scope to start goroutines that borrow non-`'static` data; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    /// The caller's runtime, alive while the caller (blocked in `scope`) is.
    rt: *const Shared,
    running: Arc<Running>,
    /// The report of the first scoped goroutine that panicked unjoined.
    first_panic: Arc<Mutex<Option<String>>>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

#[derive(Default)]
struct Running {
    count: AtomicUsize,
    waiter: Mutex<Option<Unparker>>,
}

impl Running {
    fn finished_one(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waiter = self
                .waiter
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(w) = waiter {
                w.unpark();
            }
        }
    }

    fn wait_all(&self) {
        loop {
            *self.waiter.lock().unwrap_or_else(|e| e.into_inner()) = Some(park::current());
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            park::park(WaitReason::Scope);
        }
    }
}

/// Run `f` with a [`Scope`] whose goroutines may borrow from the caller; returns once
/// all of them have finished.
///
/// If any scoped goroutine panicked and was not joined, `scope` panics after they
/// have all finished, naming the first: `a scoped goroutine panicked: goroutine 7
/// (spawned at src/x.rs:9:5) panicked at src/x.rs:10:9: boom`. Each such panic is
/// also printed when it happens, with its backtrace, as std prints a scoped thread's.
/// Must be called inside a runtime.
///
/// ```
/// goru::run(|| {
///     let mut counts = vec![0u64; 4];
///     let words = ["go", "goru", "chan", "select"];
///     goru::scope(|s| {
///         for (slot, word) in counts.iter_mut().zip(&words) {
///             s.go(move || *slot = word.len() as u64);
///         }
///     });
///     assert_eq!(counts, vec![2, 4, 4, 6]);
/// });
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        rt: current_runtime("scope"),
        running: Arc::new(Running::default()),
        first_panic: Arc::new(Mutex::new(None)),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.running.wait_all();
    match result {
        Err(payload) => panic::resume_unwind(payload),
        Ok(value) => {
            let first = scope
                .first_panic
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            match first {
                // The goroutine's own message and place, where std's scope relies on
                // its hook having printed them.
                Some(report) => panic!("a scoped goroutine panicked: {report}"),
                None => value,
            }
        }
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Start a goroutine that may borrow anything that outlives the scope.
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let site = Location::caller();
        let state: Arc<JoinState<T>> = Arc::new(JoinState::new(
            site,
            OrphanPolicy::Scope(self.first_panic.clone()),
        ));
        self.running.count.fetch_add(1, Ordering::AcqRel);
        let running = self.running.clone();
        let state_for_body = state.clone();
        let body: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || {
            state_for_body.run_and_complete(f);
            drop(state_for_body);
            running.finished_one();
        });
        // SAFETY: `scope` waits for `running` to reach zero before returning, and the
        // body decrements it only as its very last action, after every use of the
        // borrowed data (see the module docs for the abandoned-runtime case).
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(body) };
        // SAFETY: the goroutine that called `scope` is still inside it, so it and its
        // runtime are alive (`Goroutine::runtime`).
        let id = unsafe { (*self.rt).spawn(site, crate::goroutine::BoxTask::boxed(body)) };
        ScopedJoinHandle {
            state,
            id,
            _scope: PhantomData,
        }
    }
}

impl<'scope, 'env> std::fmt::Debug for Scope<'scope, 'env> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.running.count.load(Ordering::Relaxed))
            .finish()
    }
}

/// A handle to join one scoped goroutine.
pub struct ScopedJoinHandle<'scope, T> {
    state: Arc<JoinState<T>>,
    id: u64,
    _scope: PhantomData<&'scope ()>,
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    /// Wait for the goroutine; `Err` holds its panic payload.
    pub fn join(self) -> thread::Result<T> {
        self.state.join()
    }

    /// Whether the goroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// The goroutine's id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<'scope, T> Drop for ScopedJoinHandle<'scope, T> {
    fn drop(&mut self) {
        self.state.detach(self.id);
    }
}
