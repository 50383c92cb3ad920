//! Which workers sleep, which search for work, and who wakes whom.
//!
//! The protocol must never leave a runnable goroutine queued while every worker
//! sleeps. Two counters and a list carry it:
//!
//! - `searching`: workers out of local work that are looking in the global queue and
//!   stealing. Whoever makes work available calls [`Idle::notify_work`], which does
//!   nothing if someone is already searching (that searcher will find the work) and
//!   otherwise wakes one sleeper, counting it as searching.
//! - `sleepers`: the parked workers.
//!
//! A worker that gives up searching first registers as a sleeper and stops counting
//! as searching, *then* (after a `SeqCst` fence) looks at every queue once more before it
//! parks. A producer pushes *then* (after a `SeqCst` fence) reads the counters. In the
//! single total order of `SeqCst` operations, either the producer reads the counters
//! after the worker's registration, and wakes a sleeper, or the worker's re-check comes
//! after the push and sees the goroutine. Either way the goroutine is not stranded.
//!
//! `wake_ups` counts departures from the sleepers, so that the monitor can tell
//! whether any worker woke since it judged the runtime (`monitor::run`).

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::Shared;

pub(crate) struct Idle {
    sleepers: Mutex<Vec<usize>>,
    num_sleeping: AtomicUsize,
    searching: AtomicUsize,
    /// Workers that have left the sleepers so far (module docs).
    wake_ups: AtomicU64,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            sleepers: Mutex::new(Vec::new()),
            num_sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            wake_ups: AtomicU64::new(0),
        }
    }

    /// Work became available: make sure some worker will look for it.
    pub(crate) fn notify_work(&self, shared: &Shared) {
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::SeqCst) != 0
            || self.num_sleeping.load(Ordering::SeqCst) == 0
        {
            return;
        }
        self.wake_one(shared);
    }

    /// Wake one sleeping worker as a searcher; false if none sleeps.
    pub(crate) fn wake_one(&self, shared: &Shared) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(index) = sleepers.pop() else {
            return false;
        };
        self.leave_sleepers();
        drop(sleepers);
        shared.wake_worker(index);
        true
    }

    /// Try to start searching; refused when half the workers already search.
    pub(crate) fn try_start_searching(&self, active_workers: usize) -> bool {
        let n = self.searching.load(Ordering::SeqCst);
        if 2 * n >= active_workers.max(2) {
            return false;
        }
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searcher found work. If it was the last searcher, wake another so the rest of
    /// the work (if any) is found too.
    pub(crate) fn stop_searching(&self, shared: &Shared) {
        if self.searching.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.notify_work(shared);
        }
    }

    /// Register as a sleeper (and stop searching). Follow with a re-check of the queues.
    pub(crate) fn register_sleeper(&self, index: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        sleepers.push(index);
        self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        if searching {
            self.searching.fetch_sub(1, Ordering::SeqCst);
        }
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// After waking (or deciding not to sleep): leave the sleepers if still there.
    /// The worker is a searcher afterwards either way: a waker counted it, or we do.
    pub(crate) fn unregister_sleeper(&self, index: usize) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = sleepers.iter().position(|&i| i == index) {
            sleepers.swap_remove(pos);
            self.leave_sleepers();
        }
    }

    /// One worker leaves the sleepers, as a searcher (the caller holds `sleepers`).
    fn leave_sleepers(&self) {
        self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
        self.wake_ups.fetch_add(1, Ordering::SeqCst);
        self.searching.fetch_add(1, Ordering::SeqCst);
    }

    /// Departures from the sleepers so far.
    pub(crate) fn wake_ups(&self) -> u64 {
        self.wake_ups.load(Ordering::SeqCst)
    }

    pub(crate) fn sleeping(&self) -> usize {
        self.num_sleeping.load(Ordering::SeqCst)
    }
}
