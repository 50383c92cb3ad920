//! `runtime::metrics()`: a snapshot of a runtime's counters (Go's `runtime/metrics`,
//! tokio's `RuntimeMetrics`).
//!
//! Nothing here costs the hot paths a lock or a shared write. What the scheduler counts
//! anyway is read where it lies: spawns and exits per worker, queue lengths, the
//! poller's waiter count, the timer heaps. What it counts for us is counted per worker
//! in [`WorkerStats`], written only by that worker's thread with plain stores, and only
//! on paths that are slow already: a steal, a worker falling asleep and waking. The
//! goroutine states come from one walk of the registry, and the committed stack bytes
//! from the kernel (`mincore`), at read time.
//!
//! The runnable-to-running latency histogram needs a clock read at the wake-up and at
//! the resume, so it is built only with feature `metrics`, and samples one wake-up in
//! [`LATENCY_SAMPLE_EVERY`] per worker (every one from plain threads).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::park::WaitReason;
use crate::sched::Shared;

/// What `runtime::metrics` reports of one worker, written by its thread alone.
#[derive(Default)]
pub(crate) struct WorkerStats {
    /// Goroutines taken from other workers' queues (steal operations that found work).
    steals: AtomicU64,
    /// Times it fell asleep (parker or poller) for want of work.
    parks: AtomicU64,
    /// Nanoseconds asleep, sleeps that have ended.
    idle_nanos: AtomicU64,
    /// When the current sleep began, plus one; 0 while awake.
    asleep_since: AtomicU64,
    /// When its thread started, plus one; 0 if it never did.
    started_at: AtomicU64,
    #[cfg(feature = "metrics")]
    latency: latency::Counts,
}

/// Owner-only counter bump: a load and a store, no read-modify-write.
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

impl WorkerStats {
    pub(crate) fn count_steal(&self) {
        bump(&self.steals, 1);
    }

    pub(crate) fn thread_started(&self, now: u64) {
        if self.started_at.load(Ordering::Relaxed) == 0 {
            self.started_at.store(now + 1, Ordering::Relaxed);
        }
    }

    pub(crate) fn fall_asleep(&self, now: u64) {
        bump(&self.parks, 1);
        self.asleep_since.store(now + 1, Ordering::Relaxed);
    }

    pub(crate) fn wake_up(&self, now: u64) {
        let since = self.asleep_since.swap(0, Ordering::Relaxed);
        if since != 0 {
            bump(&self.idle_nanos, now.saturating_sub(since - 1));
        }
    }

    /// Time awake since its thread started (running goroutines, or looking for some).
    fn busy(&self, now: u64) -> Duration {
        let started = self.started_at.load(Ordering::Relaxed);
        if started == 0 {
            return Duration::ZERO;
        }
        let mut idle = self.idle_nanos.load(Ordering::Relaxed);
        let since = self.asleep_since.load(Ordering::Relaxed);
        if since != 0 {
            idle += now.saturating_sub(since - 1);
        }
        Duration::from_nanos(now.saturating_sub(started - 1).saturating_sub(idle))
    }

    /// Feature `metrics`, at a resume: close the latency sample `g` carries, if any.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn record_latency(&self, g: &crate::goroutine::Goroutine, shared: &Shared) {
        let readied = g.take_ready_sample();
        if readied != 0 {
            self.latency
                .record(shared.now_nanos().saturating_sub(readied - 1));
        }
    }
}

/// Wake-ups a worker lets pass between two latency samples (feature `metrics`).
#[cfg(feature = "metrics")]
const LATENCY_SAMPLE_EVERY: u32 = 8;

/// The runnable-to-running latency histogram's buckets: bucket `i` holds waits below
/// `256 ns << i`; the last one, everything longer than about 2 s.
#[cfg(feature = "metrics")]
const LATENCY_BUCKETS: usize = 24;

#[cfg(feature = "metrics")]
fn bucket_bound(i: usize) -> Duration {
    Duration::from_nanos(256 << i)
}

#[cfg(feature = "metrics")]
pub(crate) mod latency {
    use super::{bump, LATENCY_BUCKETS, LATENCY_SAMPLE_EVERY};
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    /// One worker's histogram, plus its sampling tick (owner only).
    pub(crate) struct Counts {
        buckets: [AtomicU64; LATENCY_BUCKETS + 1],
        tick: AtomicU32,
    }

    impl Default for Counts {
        fn default() -> Counts {
            Counts {
                buckets: std::array::from_fn(|_| AtomicU64::new(0)),
                tick: AtomicU32::new(0),
            }
        }
    }

    impl Counts {
        pub(crate) fn record(&self, nanos: u64) {
            let i = (64 - (nanos >> 8).leading_zeros() as usize).min(LATENCY_BUCKETS);
            bump(&self.buckets[i], 1);
        }

        pub(crate) fn read(&self, into: &mut [u64]) {
            for (sum, b) in into.iter_mut().zip(&self.buckets) {
                *sum += b.load(Ordering::Relaxed);
            }
        }

        /// Owner only: whether this wake-up is one to sample.
        pub(crate) fn sample_now(&self) -> bool {
            let t = self.tick.load(Ordering::Relaxed).wrapping_add(1);
            self.tick.store(t, Ordering::Relaxed);
            t % LATENCY_SAMPLE_EVERY == 0
        }
    }
}

/// A snapshot of one runtime, taken by [`runtime::metrics`](crate::runtime::metrics).
///
/// Counts are read one after another while the runtime runs, so they are each exact
/// but not taken at one instant: `parked + runnable` may differ from `goroutines` by
/// the goroutines that changed state meanwhile (and by the ones running now).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Metrics {
    /// The runtime's number in the process (from 1), as in traces and exported labels.
    pub runtime: u64,
    /// GOMAXPROCS: workers running goroutines at once (spares aside).
    pub workers: usize,
    /// The program's live goroutines now, `main` included.
    pub goroutines: usize,
    /// Goroutines spawned since the runtime started.
    pub spawned: u64,
    /// Live goroutines parked now.
    pub parked: usize,
    /// Goroutines queued to run now (spawned and not started, woken, or yielded).
    pub runnable: usize,
    /// Goroutines running on a worker now.
    pub running: usize,
    /// Times a worker out of work took goroutines from another's queue.
    pub steals: u64,
    /// Threads of the blocking pool now (the pool serves every runtime of the process).
    pub blocking_threads: usize,
    /// Calls queued for a blocking-pool thread now (process-wide, as the pool).
    pub blocking_queue: usize,
    /// This runtime's goroutines parked in `goru::blocking` (and the calls built on it:
    /// `fs`, `lookup_host`, ...) now.
    pub blocking_calls: usize,
    /// Timers pending: sleeps, timeouts, tickers, `after_func`s not yet fired or stopped.
    pub timers: usize,
    /// Goroutines waiting on a socket or fd.
    pub poll_waiters: usize,
    /// Goroutine stack memory committed now, pooled stacks included, as the kernel
    /// reports it (the pool is shared by every runtime with the same stack size).
    pub stack_bytes: usize,
    /// Time since the runtime started.
    pub uptime: Duration,
    /// Parked goroutines by what they wait for, most common first; reasons with none
    /// are left out.
    pub by_wait_reason: Vec<(WaitReason, usize)>,
    /// One entry per worker, in index order.
    pub per_worker: Vec<WorkerMetrics>,
    /// How long woken goroutines waited in a queue before they ran (Go's
    /// `/sched/latencies:seconds`); empty without feature `metrics`.
    pub sched_latency: LatencyHistogram,
}

/// One worker's share of [`Metrics`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Its index, as in the `goru-worker-N` thread name.
    pub index: usize,
    /// Time awake since its thread started: running goroutines or looking for some.
    pub busy: Duration,
    /// Times it fell asleep for want of work.
    pub parks: u64,
    /// Times it took goroutines from another worker's queue.
    pub steals: u64,
    /// Goroutines waiting in its queues now.
    pub queued: usize,
}

/// A histogram of durations with power-of-two buckets.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    /// Upper bounds (exclusive) of the buckets but the last, ascending.
    pub bounds: Vec<Duration>,
    /// Samples per bucket: `counts[i]` fell below `bounds[i]` (and at or above the bound
    /// before); the last, one longer than `bounds`, holds those beyond every bound.
    pub counts: Vec<u64>,
}

impl LatencyHistogram {
    /// Samples in all.
    pub fn samples(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The bound below which a fraction `q` (0 to 1) of the samples fell; `None` with no
    /// samples, `Duration::MAX` if that is beyond the last bound.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.samples();
        if total == 0 {
            return None;
        }
        let want = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(self.bounds.get(i).copied().unwrap_or(Duration::MAX));
            }
        }
        Some(Duration::MAX)
    }
}

impl Shared {
    /// The snapshot behind `runtime::metrics`.
    pub(crate) fn metrics(&self) -> Metrics {
        let now = self.now_nanos();
        let (mut parked, mut runnable, mut running) = (0, 0, 0);
        let mut reasons = [0usize; WaitReason::COUNT];
        self.for_each_goroutine(|g| match g.state() {
            crate::goroutine::PARKED => {
                parked += 1;
                reasons[g.wait_reason() as usize] += 1;
            }
            crate::goroutine::RUNNING => running += 1,
            _ => runnable += 1,
        });
        let mut by_wait_reason: Vec<(WaitReason, usize)> = reasons
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(r, &n)| (WaitReason::from_u8(r as u8), n))
            .collect();
        by_wait_reason.sort_by(|a, b| b.1.cmp(&a.1).then((a.0 as u8).cmp(&(b.0 as u8))));
        let per_worker: Vec<WorkerMetrics> = self.slots[..self.workers]
            .iter()
            .map(|slot| WorkerMetrics {
                index: slot.index,
                busy: slot.stats.busy(now),
                parks: slot.stats.parks.load(Ordering::Relaxed),
                steals: slot.stats.steals.load(Ordering::Relaxed),
                queued: slot.queued(),
            })
            .collect();
        let steals = self
            .slots
            .iter()
            .map(|s| s.stats.steals.load(Ordering::Relaxed))
            .sum();
        let (blocking_threads, blocking_queue) = crate::blocking::pool_load();
        Metrics {
            runtime: self.id,
            workers: self.workers,
            goroutines: self.live_goroutines(),
            spawned: self.spawned_total(),
            parked,
            runnable,
            running,
            steals,
            blocking_threads,
            blocking_queue,
            blocking_calls: self.blocking_calls.load(Ordering::Relaxed),
            timers: self.timers.pending(),
            poll_waiters: self.poller.waiters(),
            stack_bytes: self.stacks.committed_bytes(),
            uptime: Duration::from_nanos(now),
            by_wait_reason,
            per_worker,
            sched_latency: self.latency_histogram(),
        }
    }

    fn latency_histogram(&self) -> LatencyHistogram {
        #[cfg(feature = "metrics")]
        {
            let mut counts = vec![0; LATENCY_BUCKETS + 1];
            self.slots
                .iter()
                .for_each(|s| s.stats.latency.read(&mut counts));
            LatencyHistogram {
                bounds: (0..LATENCY_BUCKETS).map(bucket_bound).collect(),
                counts,
            }
        }
        #[cfg(not(feature = "metrics"))]
        LatencyHistogram::default()
    }

    /// Feature `metrics`: a goroutine was made runnable by the calling thread (a worker
    /// when `slot` is its slot); maybe start a latency sample on it.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn sample_ready(
        &self,
        g: &crate::goroutine::Goroutine,
        slot: Option<&crate::sched::worker::WorkerSlot>,
    ) {
        if slot.is_none_or(|s| s.stats.latency.sample_now()) {
            g.start_ready_sample(self.now_nanos() + 1);
        }
    }
}
