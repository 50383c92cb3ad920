//! A worker thread: find a runnable goroutine, resume it until it switches out, repeat.
//!
//! The order in which a worker looks for work (Go's `findRunnable`):
//!
//! 1. every [`GLOBAL_POLL_INTERVAL`] rounds, due timers and the global queue first, so
//!    neither starves behind a busy local queue;
//! 2. its `runnext` slot (skipped once when the monitor asks for preemption);
//! 3. its local queue;
//! 4. due timers, the global queue;
//! 5. stealing half of another worker's queue, as a *searcher*;
//! 6. otherwise it parks (see [`idle`](super::idle)).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::context;
use super::queue::RunQueue;
use super::{Shared, Unregister, GLOBAL_POLL_INTERVAL};

use crate::diag::metrics::WorkerStats;
use crate::diag::thread_backtrace::ThreadHandle;
use crate::diag::trace::{self, RunEnd};
use crate::goroutine::{Body, GoRef, Goroutine, Switch};
use crate::park::ThreadParker;
use crate::stack::overflow::AltStack;
use crate::stack::{Stack, WORKER_CACHE};

/// Fruitless searches a worker makes (spinning briefly between them, tens of
/// microseconds in all) before it parks.
const IDLE_SPINS: u32 = 64;

/// How far past the next timer an idle worker may sleep (see `sleep`).
const TIMER_SLACK_NANOS: u64 = 200_000;

/// The part of a worker that other threads see. Aligned to its own cache lines so that
/// one worker's writes do not invalidate what its neighbours read.
#[repr(align(128))]
pub(crate) struct WorkerSlot {
    pub(crate) index: usize,
    pub(crate) queue: RunQueue,
    runnext: AtomicPtr<Goroutine>,
    /// Runnable goroutines bound to this worker's thread (pinned, or switched out while
    /// unwinding): nobody else runs them, so nobody steals from here. Invariant: the
    /// stealable `queue` and the global queue never receive a started goroutine with
    /// a home; `execute` sends one home should it get there anyway.
    inbox: Mutex<VecDeque<GoRef>>,
    inbox_len: AtomicUsize,
    /// Goroutines bound here that this worker requeued itself (a yield, the end of a
    /// time slice, a wake-up from a goroutine running here), each with the local
    /// queue's mark at that moment. Each runs once what was queued before it has left
    /// the queue, as if it had waited in the queue itself (where it cannot go, since
    /// thieves take from there). In the inbox it would run at the inbox's next turn,
    /// and a goroutine that yields after spawning would take half its worker.
    /// Pushed and popped by the owner only; the lock is for shutdown.
    requeued: Mutex<VecDeque<(GoRef, u32)>>,
    requeued_len: AtomicUsize,
    pub(crate) parker: ThreadParker,
    /// The id of the goroutine it is resuming now, 0 when none (ids start at 1): the
    /// monitor's "still running?" test and the name in its blocking-call report.
    pub(crate) running: AtomicU64,
    /// Goroutines spawned and finished on this worker (written by its thread only).
    spawned: AtomicU64,
    finished: AtomicU64,
    /// Bumped at every resume (the monitor's "still the same goroutine?" test).
    pub(crate) resumes: AtomicU64,
    /// Bumped at every new time slice (a goroutine from `runnext` inherits the slice).
    pub(crate) slices: AtomicU64,
    /// Set by the monitor when a time slice is used up: the running goroutine yields at
    /// its next preemption point, and the worker takes its next goroutine from the
    /// queue rather than `runnext`.
    pub(crate) preempt: AtomicBool,
    /// The monitor found this worker stuck in one goroutine and replaced it by a spare.
    pub(crate) stuck: AtomicBool,
    /// Regular workers are always active; spares only while activated.
    active: AtomicBool,
    pub(crate) thread_started: AtomicBool,
    /// What `runtime::metrics` reports of this worker (`diag::metrics`).
    pub(crate) stats: WorkerStats,
    /// Its thread, while it runs, for the blocking-call report's backtrace.
    pub(crate) thread: ThreadHandle,
}

impl WorkerSlot {
    pub(crate) fn new(index: usize, active: bool) -> WorkerSlot {
        WorkerSlot {
            index,
            queue: RunQueue::new(),
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            inbox: Mutex::new(VecDeque::new()),
            inbox_len: AtomicUsize::new(0),
            requeued: Mutex::new(VecDeque::new()),
            requeued_len: AtomicUsize::new(0),
            parker: ThreadParker::default(),
            running: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
            slices: AtomicU64::new(0),
            preempt: AtomicBool::new(false),
            stuck: AtomicBool::new(false),
            active: AtomicBool::new(active),
            thread_started: AtomicBool::new(active),
            stats: WorkerStats::default(),
            thread: ThreadHandle::default(),
        }
    }

    /// Owner only: count a spawn (a plain store: only this thread writes it).
    pub(crate) fn count_spawn(&self) {
        self.spawned
            .store(self.spawned.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    fn count_finish(&self) {
        self.finished
            .store(self.finished.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    pub(crate) fn spawned(&self) -> u64 {
        self.spawned.load(Ordering::Acquire)
    }

    pub(crate) fn finished(&self) -> u64 {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    pub(crate) fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Release);
    }

    /// Owner only: queue `g` at the tail, overflowing half the queue to the global one.
    /// A goroutine bound to a thread goes to its home's inbox instead, where no other
    /// worker takes it.
    #[inline]
    pub(crate) fn push_local(&self, g: GoRef, shared: &Shared) {
        if g.home().is_some() {
            return self.push_homed(g, shared);
        }
        self.queue
            .push_or_overflow(g, |batch| shared.push_global(batch));
    }

    #[cold]
    #[inline(never)]
    fn push_homed(&self, g: GoRef, shared: &Shared) {
        match g.home() {
            Some(home) if home != self.index => shared.send_home(home, g),
            _ => self.push_requeued(g),
        }
    }

    /// Owner only: queue `g`, bound here, behind what the local queue holds now.
    fn push_requeued(&self, g: GoRef) {
        let mark = self.queue.mark();
        let mut requeued = self.requeued.lock().unwrap_or_else(|e| e.into_inner());
        requeued.push_back((g, mark));
        self.requeued_len.store(requeued.len(), Ordering::Release);
    }

    /// Owner only: the oldest requeued goroutine, once the queue has passed its mark
    /// (marks grow front to back, so only the front can be due).
    #[inline]
    fn pop_requeued(&self) -> Option<GoRef> {
        if self.requeued_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.pop_requeued_due()
    }

    #[cold]
    #[inline(never)]
    fn pop_requeued_due(&self) -> Option<GoRef> {
        let mut requeued = self.requeued.lock().unwrap_or_else(|e| e.into_inner());
        if !self.queue.passed(requeued.front()?.1) {
            return None;
        }
        let (g, _) = requeued.pop_front()?;
        self.requeued_len.store(requeued.len(), Ordering::Release);
        Some(g)
    }

    /// Any thread: queue `g`, bound to this worker, in its inbox (the caller wakes the
    /// worker if it is not the caller).
    pub(crate) fn push_inbox(&self, g: GoRef) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox.push_back(g);
        self.inbox_len.store(inbox.len(), Ordering::Release);
    }

    /// Owner only: the oldest goroutine in the inbox.
    fn pop_inbox(&self) -> Option<GoRef> {
        if self.inbox_len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        let g = inbox.pop_front();
        self.inbox_len.store(inbox.len(), Ordering::Release);
        g
    }

    /// Goroutines waiting to run here now: queue, inbox, requeued and `runnext` (for
    /// metrics).
    pub(crate) fn queued(&self) -> usize {
        let next = !self.runnext.load(Ordering::Relaxed).is_null();
        self.queue.len()
            + self.inbox_len.load(Ordering::Relaxed)
            + self.requeued_len.load(Ordering::Relaxed)
            + usize::from(next)
    }

    /// Whether goroutines bound here wait to run (inbox or requeued).
    pub(crate) fn has_inbox(&self) -> bool {
        self.inbox_len.load(Ordering::Acquire) > 0 || self.requeued_len.load(Ordering::Acquire) > 0
    }

    /// Shutdown: leak what waits in the inbox or requeued, abandoned with the runtime.
    pub(crate) fn abandon_inbox(&self) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox.drain(..).for_each(std::mem::forget);
        self.inbox_len.store(0, Ordering::Release);
        let mut requeued = self.requeued.lock().unwrap_or_else(|e| e.into_inner());
        requeued.drain(..).for_each(|(g, _)| std::mem::forget(g));
        self.requeued_len.store(0, Ordering::Release);
    }

    /// Owner only: make `g` the next to run. Returns true if a previous occupant was
    /// moved to the queue (where others may steal it).
    pub(crate) fn push_next(&self, g: GoRef, shared: &Shared) -> bool {
        let old = self.runnext.swap(g.into_raw() as *mut _, Ordering::AcqRel);
        if old.is_null() {
            return false;
        }
        // SAFETY: runnext holds an owned reference; the swap gave it to us.
        self.push_local(unsafe { GoRef::from_raw(old) }, shared);
        true
    }

    /// The monitor: ask the goroutine running here to yield at its next preemption
    /// point, and the worker to take its next goroutine from the queue.
    pub(crate) fn request_preempt(&self) {
        if !self.preempt.swap(true, Ordering::Relaxed) {
            super::PREEMPT_REQUESTS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Owner: consume a preemption request; true if there was one.
    fn take_preempt(&self) -> bool {
        if self.preempt.load(Ordering::Relaxed) && self.preempt.swap(false, Ordering::Relaxed) {
            super::PREEMPT_REQUESTS.fetch_sub(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Any thread: take the `runnext` goroutine.
    pub(crate) fn take_next(&self) -> Option<GoRef> {
        if self.runnext.load(Ordering::Relaxed).is_null() {
            return None; // the common case, without a read-modify-write
        }
        let p = self.runnext.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: as in push_next, the swap transferred the reference to us.
        (!p.is_null()).then(|| unsafe { GoRef::from_raw(p) })
    }

    /// Any thread: move everything queued here to the global queue, except goroutines
    /// bound to this worker's thread, which wait for it in the inbox.
    pub(crate) fn hand_off_queue(&self, shared: &Shared) -> usize {
        let mut batch = Vec::new();
        if let Some(g) = self.take_next() {
            match g.home() {
                Some(home) => shared.send_home(home, g),
                None => batch.push(g),
            }
        }
        while self.queue.grab(&mut batch, usize::MAX) > 0 {}
        let n = batch.len();
        if n > 0 {
            shared.push_global(batch);
        }
        n
    }
}

/// The thread-private part of a worker.
struct Worker<'a> {
    shared: &'a Shared,
    slot: &'a WorkerSlot,
    index: usize,
    stacks: Vec<Stack>,
    searching: bool,
    round: u32,
    rng: u32,
    /// The goroutine being resumed came from `runnext` (it inherits the time slice).
    inherit_slice: bool,
    /// Fruitless searches in a row (see `IDLE_SPINS`).
    idle_spins: u32,
    /// Goroutines finished here, waiting to leave the registry together.
    finished: Unregister,
}

/// How a goroutine's run ended, its state transition complete (for the workers and
/// the deterministic driver alike).
pub(crate) enum Stepped {
    /// It yielded and is runnable.
    Yielded(GoRef),
    /// It parked, for this reason (and nothing woke it before it was fully parked).
    Parked(crate::park::WaitReason),
    /// An unpark raced with its park: runnable again.
    Requeue(GoRef),
    /// Its body returned.
    Exited,
}

/// Worker 0 of a deterministic runtime, run by the driver on the caller's thread
/// (which may itself be a worker running a goroutine that called `explore`: its
/// thread-local facts are put back when the driver is done).
pub(crate) struct DriverWorker<'a> {
    worker: Worker<'a>,
    _alt_stack: AltStack,
    outer_worker: (*const Shared, *const WorkerSlot),
    outer_goroutine: *const Goroutine,
    outer_runtime: u64,
}

impl<'a> DriverWorker<'a> {
    pub(crate) fn new(shared: &'a Arc<Shared>) -> DriverWorker<'a> {
        let alt_stack = AltStack::ensure();
        let outer_worker = context::current_worker();
        let outer_goroutine = context::current_goroutine();
        context::set_current_worker(Arc::as_ptr(shared), &shared.slots[0]);
        let outer_runtime = crate::park::sight::set_thread_runtime(shared.id);
        DriverWorker {
            outer_runtime,
            _alt_stack: alt_stack,
            outer_worker,
            outer_goroutine,
            worker: Worker {
                rng: 1,
                shared,
                slot: &shared.slots[0],
                index: 0,
                stacks: Vec::new(),
                searching: false,
                round: 0,
                inherit_slice: false,
                idle_spins: 0,
                finished: Unregister::default(),
            },
        }
    }

    /// Run `g` until it switches out.
    pub(crate) fn step(&mut self, g: GoRef) -> Stepped {
        let result = self.worker.run_goroutine(&g);
        self.worker.settle(g, result)
    }
}

impl Drop for DriverWorker<'_> {
    fn drop(&mut self) {
        let worker = &mut self.worker;
        worker.shared.flush_finished(&mut worker.finished);
        self.worker.shared.stacks.put_batch(&mut self.worker.stacks);
        context::set_current_worker(self.outer_worker.0, self.outer_worker.1);
        context::set_current_goroutine(self.outer_goroutine);
        crate::park::sight::restore_thread_runtime(self.outer_runtime);
    }
}

pub(crate) fn run(shared: Arc<Shared>, index: usize) {
    let _alt_stack = AltStack::ensure();
    /// The thread stops answering for backtraces before it exits, however it exits.
    struct Gone<'a>(&'a ThreadHandle);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            self.0.clear();
        }
    }
    shared.slots[index].thread.set_current();
    let _gone = Gone(&shared.slots[index].thread);
    shared.slots[index].stats.thread_started(shared.now_nanos());
    context::set_current_worker(Arc::as_ptr(&shared), &shared.slots[index]);
    crate::park::sight::set_thread_runtime(shared.id);
    // The worker borrows `shared` from this frame instead of cloning the Arc in its
    // loops: an Arc clone is an atomic on a line every worker shares.
    let mut worker = Worker {
        rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
        shared: &shared,
        slot: &shared.slots[index],
        index,
        stacks: Vec::new(),
        searching: false,
        round: 0,
        inherit_slice: false,
        idle_spins: 0,
        finished: Unregister::default(),
    };
    worker.main_loop();
    shared.flush_finished(&mut worker.finished);
    shared.stacks.put_batch(&mut worker.stacks);
    context::set_current_worker(std::ptr::null(), std::ptr::null());
}

impl<'a> Worker<'a> {
    fn is_spare(&self) -> bool {
        self.index >= self.shared.workers
    }

    fn main_loop(&mut self) {
        loop {
            if self.shared.is_shutdown() {
                return;
            }
            if self.is_spare() && !self.spare_still_needed() {
                if !self.retire() {
                    return;
                }
                continue;
            }
            match self.find_work() {
                Some(g) => {
                    self.idle_spins = 0;
                    self.execute(g);
                }
                None if self.searching && self.idle_spins < IDLE_SPINS => {
                    // Stay a searcher a little longer before paying for a futex sleep
                    // and, worse, the futex wake of whoever brings the next goroutine:
                    // a producer that spawns in a loop finds us still searching.
                    self.idle_spins += 1;
                    for _ in 0..32 {
                        std::hint::spin_loop();
                    }
                }
                None => {
                    self.idle_spins = 0;
                    self.sleep();
                }
            }
        }
    }

    fn find_work(&mut self) -> Option<GoRef> {
        let (shared, slot) = (self.shared, self.slot);
        self.round = self.round.wrapping_add(1);
        if self.round % GLOBAL_POLL_INTERVAL == 0 {
            shared.fire_own_timers(self.index);
            if let Some(g) = shared.pop_global(&slot.queue) {
                self.inherit_slice = false;
                return Some(g);
            }
        }
        if slot.take_preempt() {
            // Our time slice is over: the runnext goroutine waits its turn in the queue.
            if let Some(g) = slot.take_next() {
                slot.push_local(g, shared);
            }
        } else if let Some(g) = slot.take_next() {
            self.inherit_slice = true;
            return Some(g);
        }
        self.inherit_slice = false;
        if let Some(g) = slot.pop_requeued() {
            return Some(g);
        }
        // The inbox and the local queue take turns, so that neither goroutines woken
        // from elsewhere nor a stream of spawns starves the other.
        if self.round % 2 == 0 {
            if let Some(g) = slot.pop_inbox().or_else(|| slot.queue.pop()) {
                return Some(g);
            }
        } else if let Some(g) = slot.queue.pop().or_else(|| slot.pop_inbox()) {
            return Some(g);
        }
        // Out of local work: our own timers first, then everyone's (Go looks at other
        // P's timers only when it would steal).
        if shared.fire_own_timers(self.index) > 0 || shared.fire_timers() > 0 {
            if let Some(g) = self.take_local() {
                return Some(g);
            }
        }
        if let Some(g) = shared.pop_global(&slot.queue) {
            return Some(g);
        }
        if shared.poll_ready_sockets() > 0 {
            if let Some(g) = self.take_local() {
                return Some(g);
            }
        }
        self.steal()
    }

    /// What events just made runnable here: `runnext`, the local queue, the inbox.
    fn take_local(&self) -> Option<GoRef> {
        let slot = self.slot;
        slot.take_next()
            .or_else(|| slot.queue.pop())
            .or_else(|| slot.pop_inbox())
            .or_else(|| slot.pop_requeued())
    }

    fn steal(&mut self) -> Option<GoRef> {
        let shared = self.shared;
        if !self.searching {
            let active = shared.workers + shared.active_spares.load(Ordering::Relaxed);
            if !shared.idle.try_start_searching(active) {
                return None;
            }
            self.searching = true;
        }
        let n = shared.slots.len();
        for _ in 0..3 {
            let start = self.next_random() as usize % n;
            for k in 0..n {
                let victim = &shared.slots[(start + k) % n];
                if victim.index == self.index || !victim.is_active() {
                    continue;
                }
                if let Some(g) = victim.queue.steal_into(&self.slot.queue) {
                    self.slot.stats.count_steal();
                    if trace::enabled() {
                        trace::record_steal(shared.id, self.index, g.id, victim.index);
                    }
                    return Some(g);
                }
            }
            if let Some(g) = shared.pop_global(&self.slot.queue) {
                return Some(g);
            }
        }
        None
    }

    fn next_random(&mut self) -> u32 {
        // xorshift32: only spreads the steal start point.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        self.rng
    }

    /// Inlined into the worker loop, as `settle` is (see there); a retired spare's
    /// loop has its own copy.
    #[inline(always)]
    fn execute(&mut self, g: GoRef) {
        let (shared, slot) = (self.shared, self.slot);
        if self.searching {
            self.searching = false;
            shared.idle.stop_searching(shared);
        }
        if shared.is_shutdown() {
            std::mem::forget(g); // abandoned with the runtime (Shared::shutdown)
            return;
        }
        if g.home().is_some_and(|home| home != self.index) {
            // Bound to another thread and got here anyway (stolen, say): send it home
            // rather than resume it on the wrong thread.
            send_home_cold(shared, g);
            return;
        }
        let result = self.run_goroutine(&g);
        if slot.stuck.load(Ordering::Relaxed) && slot.stuck.swap(false, Ordering::AcqRel) {
            shared.stuck.fetch_sub(1, Ordering::AcqRel);
        }
        match self.settle(g, result) {
            Stepped::Yielded(g) if slot.preempt.load(Ordering::Relaxed) => {
                requeue_preempted(shared, slot, g)
            }
            Stepped::Yielded(g) => slot.push_local(g, shared),
            // Unparked before it was fully parked: runnable again at once.
            Stepped::Requeue(g) => {
                slot.push_next(g, shared);
            }
            Stepped::Parked(_) | Stepped::Exited => {}
        }
    }

    /// Complete the state transition of a goroutine that switched out with `result`;
    /// what remains is to queue it, if it is runnable.
    ///
    /// This, `run_goroutine` and `resume` are inlined into the worker loop so that no
    /// call frames stand between the loop and the stack switch. A return executed right
    /// after a switch is mispredicted (the processor's return-stack buffer holds the
    /// other stack's calls), so every frame around the switch costs a misprediction per
    /// resume. Inlining these three, with `Goroutine::park` and `set_current_goroutine`,
    /// took a channel ping-pong from 389-438 ns to 216-256 ns a round trip on a 16-core
    /// Xeon, while its instructions fell only from 1,074 to 897.
    #[inline(always)]
    fn settle(&mut self, g: GoRef, result: Option<Switch>) -> Stepped {
        match result {
            Some(Switch::Yield) => {
                g.set_runnable();
                Stepped::Yielded(g)
            }
            Some(Switch::Park) => {
                let reason = g.wait_reason();
                let g = g.into_raw();
                // SAFETY: `g` is our counted reference until finish_park succeeds,
                // when it becomes the park reference (Goroutine::finish_park) and
                // must not be touched again.
                if unsafe { (*g).finish_park() } {
                    Stepped::Parked(reason)
                } else {
                    // SAFETY: not parked, so the reference is still ours.
                    Stepped::Requeue(unsafe { GoRef::from_raw(g) })
                }
            }
            None => {
                self.finish(g);
                Stepped::Exited
            }
        }
    }

    /// Run `g` until it switches out, with the bookkeeping around a resume (state,
    /// counters for the monitor, the current-goroutine pointer, the trace). Inlined:
    /// see `settle`.
    #[inline(always)]
    fn run_goroutine(&mut self, g: &GoRef) -> Option<Switch> {
        let (shared, slot) = (self.shared, self.slot);
        g.set_running();
        // Only this thread writes its counters: plain stores, no read-modify-write.
        slot.resumes
            .store(slot.resumes.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        if !self.inherit_slice {
            slot.slices
                .store(slot.slices.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        slot.running.store(g.id, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        slot.stats.record_latency(g, shared);
        context::set_current_goroutine(g.as_ptr());
        let span_start = trace::span_start();
        let result = self.resume(g);
        context::set_current_goroutine(std::ptr::null());
        if span_start != 0 {
            let end = match &result {
                Some(Switch::Yield) => RunEnd::Yield,
                Some(Switch::Park) => RunEnd::Park(g.wait_reason()),
                None => RunEnd::Exit,
            };
            trace::record_run(shared.id, self.index, g.id, span_start, end);
        }
        slot.running.store(0, Ordering::Relaxed);
        result
    }

    /// Resume `g` until it switches out; None when its body has returned. Inlined: see
    /// `settle`.
    #[inline(always)]
    fn resume(&mut self, g: &GoRef) -> Option<Switch> {
        // SAFETY: this worker moved `g` to RUNNING, which gives it exclusive use of the
        // body until the goroutine switches out (goroutine module docs).
        let body = unsafe { &mut *g.body.get() };
        if let Body::Pending(_) = body {
            let Body::Pending(f) = std::mem::replace(body, Body::Finished) else {
                unreachable!()
            };
            g.start_on(self.index);
            let stack = self.take_stack();
            g.stack_range.set(&stack);
            let gptr = g.as_ptr() as usize;
            *body = Body::Running(Coroutine::with_stack(
                stack,
                move |y: &Yielder<(), Switch>, ()| {
                    // SAFETY: the goroutine outlives its body: the worker resuming it holds
                    // a reference for the whole resume.
                    let g = unsafe { &*(gptr as *const Goroutine) };
                    g.in_switched_frame(|| {
                        g.set_yielder(y);
                        g.run_body(|| f.run());
                    });
                },
            ));
        }
        let Body::Running(co) = body else {
            unreachable!("a finished goroutine was scheduled")
        };
        // Marked for a signal handler that would unwind (the goroutine ends the mark
        // once it lands, and begins it again before it switches back).
        g.begin_switch();
        let result = co.resume(());
        g.end_switch();
        match result {
            CoroutineResult::Yield(why) => Some(why),
            CoroutineResult::Return(()) => None,
        }
    }

    fn finish(&mut self, g: GoRef) {
        // SAFETY: still the exclusive owner of the body (the goroutine has returned).
        let body = unsafe { &mut *g.body.get() };
        if let Body::Running(co) = std::mem::replace(body, Body::Finished) {
            self.stacks.push(co.into_stack());
            if self.stacks.len() > WORKER_CACHE {
                let mut half = self.stacks.split_off(WORKER_CACHE / 2);
                self.shared.stacks.put_batch(&mut half);
            }
        }
        self.slot.count_finish();
        g.set_done();
        self.shared.goroutine_finished(g, &mut self.finished);
    }

    fn take_stack(&mut self) -> Stack {
        if let Some(stack) = self.stacks.pop() {
            return stack;
        }
        if let Err(err) = self
            .shared
            .stacks
            .take_batch(&mut self.stacks, WORKER_CACHE / 4)
        {
            // Like Go's "fatal error: out of memory": no goroutine can run without a stack.
            eprintln!("fatal error: {err}");
            std::process::abort();
        }
        self.stacks
            .pop()
            .expect("take_batch yields at least one stack")
    }

    /// Park until there may be work. On return the worker counts as searching.
    fn sleep(&mut self) {
        let (shared, slot) = (self.shared, self.slot);
        shared.flush_finished(&mut self.finished);
        shared.idle.register_sleeper(self.index, self.searching);
        self.searching = false;
        let due_timer = shared
            .timers
            .next_deadline()
            .is_some_and(|d| d <= shared.now_nanos());
        if shared.has_queued_work() || slot.has_inbox() || due_timer || shared.is_shutdown() {
            shared.idle.unregister_sleeper(self.index);
            self.searching = true;
            return;
        }
        let keeper = shared
            .timers
            .next_deadline()
            .and_then(|d| shared.try_become_timer_keeper(self.index).then_some(d));
        // Sleep a little past the deadline so that timers due close together fire in
        // one batch instead of one wake-up each (Go rounds up to 1 ms).
        let timeout = keeper.map(|deadline| {
            Duration::from_nanos(deadline.saturating_sub(shared.now_nanos()) + TIMER_SLACK_NANOS)
        });
        slot.stats.fall_asleep(shared.now_nanos());
        let poller = &shared.poller;
        if poller.has_waiters() && poller.try_own(self.index) {
            // Dekker pair with Shared::wake_worker: ownership is claimed (SeqCst)
            // before we look for a wake-up that may have come before it.
            if !slot.parker.try_take_token() {
                // Leave the sleepers before the events are handled, so that the
                // goroutines they wake do not make us wake ourselves.
                poller.poll(timeout, shared.now_nanos(), || {
                    shared.idle.unregister_sleeper(self.index);
                });
                slot.parker.try_take_token(); // a wake-up that went to the poller too
            }
            poller.disown(self.index);
        } else {
            match timeout {
                Some(timeout) => slot.parker.park_timeout(timeout),
                None => slot.parker.park(),
            }
        }
        slot.stats.wake_up(shared.now_nanos());
        if keeper.is_some() {
            shared.release_timer_keeper(self.index);
        }
        shared.idle.unregister_sleeper(self.index);
        self.searching = true;
        // Dekker pair with monitor::sleep_until_workers_run: we left the sleepers
        // (SeqCst) before this load; it announces itself before counting sleepers.
        if shared.monitor_sleeping.load(Ordering::SeqCst) {
            shared.monitor_parker.unpark();
        }
    }

    fn spare_still_needed(&self) -> bool {
        let shared = self.shared;
        shared.active_spares.load(Ordering::Acquire) <= shared.stuck.load(Ordering::Acquire)
    }

    /// A spare whose stuck worker came back: hand its work to the others and wait to be
    /// needed again. Returns false on shutdown.
    fn retire(&mut self) -> bool {
        let (shared, slot) = (self.shared, self.slot);
        shared.flush_finished(&mut self.finished);
        {
            let _guard = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
            if self.spare_still_needed() {
                return true;
            }
            slot.set_active(false);
            shared.active_spares.fetch_sub(1, Ordering::AcqRel);
        }
        if self.searching {
            self.searching = false;
            shared.idle.stop_searching(shared);
        }
        if slot.hand_off_queue(shared) > 0 {
            shared.idle.notify_work(shared);
        }
        // Goroutines bound to this thread still need it: it runs them while retired
        // (beyond the workers count for a while, as Go runs a locked thread's
        // goroutine), and sleeps otherwise. Whoever fills the inbox wakes it.
        while !slot.is_active() {
            if shared.is_shutdown() {
                return false;
            }
            // (The queue was just handed off, so whatever was requeued is due.)
            match slot.pop_inbox().or_else(|| slot.pop_requeued()) {
                Some(g) => {
                    self.execute(g);
                    // What it readied, spawned or yielded landed in our queues, which
                    // nobody steals from while we are inactive: pass it on (a
                    // goroutine bound here comes back through the inbox).
                    if slot.hand_off_queue(shared) > 0 {
                        shared.idle.notify_work(shared);
                    }
                }
                None => slot.parker.park(),
            }
        }
        true
    }
}

/// A goroutine that yielded at the end of its time slice goes to the global queue, as
/// Go's `goschedImpl` puts it: back in the local queue it would run again at once, and
/// a goroutine readied off-worker (onto the global queue, polled every
/// `GLOBAL_POLL_INTERVAL` rounds) would wait 61 of its slices. One bound to this
/// thread cannot go there; it waits behind the local queue instead.
#[cold]
#[inline(never)]
fn requeue_preempted(shared: &Shared, slot: &WorkerSlot, g: GoRef) {
    if g.home().is_some() {
        return slot.push_local(g, shared);
    }
    shared.push_global(vec![g]);
    shared.idle.notify_work(shared);
}

/// [`Shared::send_home`] out of the worker loop's way.
#[cold]
#[inline(never)]
fn send_home_cold(shared: &Shared, g: GoRef) {
    let home = g.home().expect("a goroutine with a home");
    shared.send_home(home, g);
}

impl Shared {
    fn try_become_timer_keeper(&self, index: usize) -> bool {
        self.timer_keeper
            .compare_exchange(usize::MAX, index, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn release_timer_keeper(&self, index: usize) {
        let _ = self.timer_keeper.compare_exchange(
            index,
            usize::MAX,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}
