//! `goru::blocking`: run a call that blocks its thread on a pool of threads while the
//! calling goroutine parks.
//!
//! The pool is process-wide and grows on demand: a call is given to an idle pool thread
//! if there is one, else a new thread starts, up to [`MAX_THREADS`]; beyond that calls
//! queue. A thread idle for [`KEEP_ALIVE`] exits. The call itself lives on the parked
//! goroutine's stack, which stays put until the call is done, so `f` may borrow from
//! the caller like a scoped thread.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::goroutine;
use crate::park::{self, Unparker, WaitReason};

/// Most pool threads alive at once.
const MAX_THREADS: usize = 512;

/// How long an idle pool thread waits for work before it exits.
const KEEP_ALIVE: Duration = if cfg!(test) {
    Duration::from_millis(100)
} else {
    Duration::from_secs(10)
};

/// Run `f` off the runtime's workers and return its result; the calling goroutine parks
/// meanwhile, so its worker runs other goroutines. Use it for calls that block a thread
/// and that goru cannot park on: file I/O, DNS lookups, `std::process`, C libraries.
///
/// Outside a goroutine `f` simply runs on the calling thread, and so it does inside
/// [`check::explore`](crate::check::explore), where it counts as one step. A panic in
/// `f` resumes in the caller.
///
/// ```
/// goru::run(|| {
///     let path = std::env::temp_dir();
///     let entries = goru::blocking(|| std::fs::read_dir(&path).map(|d| d.count()));
///     assert!(entries.is_ok());
/// });
/// ```
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let Some(g) = goroutine::current() else {
        return f();
    };
    if crate::sched::driver::current_driver().is_some() {
        // Inside `check::explore` the call is simulated: it runs in place, as one step
        // of the deterministic schedule.
        return f();
    }
    let mut call = Call {
        f: Some(f),
        result: None,
        done: AtomicBool::new(false),
        waiter: Unparker::Goroutine(g.clone()),
    };
    let runtime = g.runtime();
    runtime.blocking_calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `call` stays on this goroutine's stack, untouched by us, until `done` is
    // set; we do not return (or unwind) before that: the loop below waits for it, and
    // a goroutine abandoned meanwhile is never resumed and its stack never unmapped.
    // The pool thread reads `f` and writes `result` before it sets `done` (Release),
    // and we read `result` after seeing `done` (Acquire).
    unsafe { pool().submit(Job::new(&mut call)) };
    while !call.done.load(Ordering::Acquire) {
        park::park(WaitReason::Blocking);
    }
    runtime.blocking_calls.fetch_sub(1, Ordering::SeqCst);
    match call.result.take().expect("a finished call has a result") {
        Ok(v) => v,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Counts the calling goroutine as waiting on the blocking pool while it lives, as a
/// `blocking` call does, for a wait whose waker is a pool call, possibly of another
/// runtime (a lookup slot held by someone else's lookup): the deadlock detector must
/// not take it for a deadlock.
pub(crate) struct PoolWait(Option<*const crate::sched::Shared>);

impl PoolWait {
    pub(crate) fn enter() -> PoolWait {
        PoolWait(goroutine::current_ptr().map(|g| {
            // SAFETY: the running goroutine keeps its runtime alive; the guard lives on
            // this goroutine's stack, so the runtime outlives it too.
            let rt = unsafe { (*g).runtime() };
            rt.blocking_calls.fetch_add(1, Ordering::SeqCst);
            rt as *const crate::sched::Shared
        }))
    }
}

impl Drop for PoolWait {
    fn drop(&mut self) {
        if let Some(rt) = self.0 {
            // SAFETY: as in `enter`.
            unsafe { (*rt).blocking_calls.fetch_sub(1, Ordering::SeqCst) };
        }
    }
}

struct Call<F, T> {
    f: Option<F>,
    result: Option<std::thread::Result<T>>,
    done: AtomicBool,
    waiter: Unparker,
}

/// A type-erased pointer to a [`Call`] and the function that runs it.
struct Job {
    call: *mut (),
    run: unsafe fn(*mut ()),
}

// SAFETY: the call it points to is `Send` (F and T are) and is used by one thread at a
// time: the pool thread until `done`, the goroutine after.
unsafe impl Send for Job {}

impl Job {
    /// # Safety
    /// `call` must stay valid and unused by others until the job sets `done`.
    unsafe fn new<F: FnOnce() -> T + Send, T: Send>(call: &mut Call<F, T>) -> Job {
        unsafe fn run<F: FnOnce() -> T, T>(p: *mut ()) {
            // SAFETY: `p` is the `Call<F, T>` this job was made from, valid until we
            // set `done` (contract of `Job::new`).
            let call = unsafe { &mut *(p as *mut Call<F, T>) };
            let f = call.f.take().expect("a job runs once");
            call.result = Some(panic::catch_unwind(AssertUnwindSafe(f)));
            let waiter = call.waiter.clone();
            call.done.store(true, Ordering::Release);
            // `call` may be gone from here on: only our clone of the waiter is used.
            waiter.unpark();
        }
        Job {
            call: call as *mut Call<F, T> as *mut (),
            run: run::<F, T>,
        }
    }
}

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: Pool = Pool {
        state: Mutex::new(PoolState {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        work: Condvar::new(),
    };
    &POOL
}

impl Pool {
    /// # Safety
    /// As [`Job::new`]: the job's call stays valid until it has run.
    unsafe fn submit(&'static self, job: Job) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.queue.push_back(job);
        // Idle threads not yet woken cover that many queued jobs; beyond, start one.
        if st.queue.len() > st.idle && st.threads < MAX_THREADS {
            st.threads += 1;
            let spawned = std::thread::Builder::new()
                .name("goru-blocking".into())
                .spawn(move || self.thread_main());
            if spawned.is_err() {
                st.threads -= 1;
                if st.threads == 0 {
                    // No thread at all can run it: run it here rather than hang.
                    let job = st.queue.pop_back().expect("just pushed");
                    drop(st);
                    // SAFETY: per this function's contract.
                    unsafe { (job.run)(job.call) };
                }
            }
        } else {
            self.work.notify_one();
        }
    }

    fn thread_main(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                // SAFETY: the submitter keeps the call valid until it has run.
                unsafe { (job.run)(job.call) };
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.idle += 1;
            let (guard, waited) = self
                .work
                .wait_timeout(st, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if waited.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

/// The pool's threads alive now and the calls queued for one (for metrics; the pool
/// serves every runtime of the process).
pub(crate) fn pool_load() -> (usize, usize) {
    let st = pool().state.lock().unwrap_or_else(|e| e.into_inner());
    (st.threads, st.queue.len())
}

/// Pool threads alive now.
#[cfg(test)]
fn pool_threads() -> usize {
    pool()
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .threads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_grows_on_demand_and_retires_idle_threads() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        let overlapped = rt.run(|| {
            let start = std::time::Instant::now();
            let handles: Vec<_> = (0..8)
                .map(|_| crate::go(|| blocking(|| std::thread::sleep(Duration::from_millis(100)))))
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed()
        });
        assert!(
            overlapped < Duration::from_millis(700),
            "{overlapped:?}: no overlap"
        );
        assert!(
            pool_threads() >= 2,
            "eight concurrent calls used one thread"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool_threads() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pool_threads(), 0, "idle threads were not retired");
    }
}
