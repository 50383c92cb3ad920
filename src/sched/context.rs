//! Thread-local facts about the current thread: which worker it is, and which goroutine
//! it is running.
//!
//! Every accessor that goroutine code calls is `#[inline(never)]` and returns a value,
//! never a reference into thread-local storage: a goroutine may suspend and resume on
//! another worker thread, and a thread-local address computed before the switch would
//! belong to the old one. `set_current_goroutine` is the exception: only the scheduler
//! calls it, from a worker's (or the driver's) own frame, which never changes threads,
//! and it runs at every resume.

use std::cell::Cell;

use crate::goroutine::Goroutine;
use crate::sched::worker::WorkerSlot;
use crate::sched::Shared;

thread_local! {
    static CURRENT_GOROUTINE: Cell<*const Goroutine> = const { Cell::new(std::ptr::null()) };
    static CURRENT_WORKER: Cell<(*const Shared, *const WorkerSlot)> =
        const { Cell::new((std::ptr::null(), std::ptr::null())) };
}

#[inline(never)]
pub(crate) fn current_goroutine() -> *const Goroutine {
    CURRENT_GOROUTINE.with(Cell::get)
}

#[inline]
pub(crate) fn set_current_goroutine(g: *const Goroutine) {
    CURRENT_GOROUTINE.with(|c| c.set(g));
}

/// The runtime and worker slot this thread serves, or nulls on other threads.
#[inline(never)]
pub(crate) fn current_worker() -> (*const Shared, *const WorkerSlot) {
    CURRENT_WORKER.with(Cell::get)
}

#[inline(never)]
pub(crate) fn set_current_worker(shared: *const Shared, slot: *const WorkerSlot) {
    CURRENT_WORKER.with(|c| c.set((shared, slot)));
}
