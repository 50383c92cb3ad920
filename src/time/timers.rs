//! A runtime's timers: a min-heap of deadlines with an action each.
//!
//! Workers fire due timers from their scheduling loop; the idle worker that holds the
//! "timer keeper" role sleeps only until the earliest deadline; the monitor thread fires
//! them too, so a runtime whose workers are all busy still delivers timers on time.
//! `next` mirrors the earliest deadline in an atomic so that the scheduler can check for
//! due timers without taking the lock.
//!
//! A stopped timer stays in the heap, marked, and is dropped when it surfaces or when
//! stopped timers outnumber live ones (the heap is then rebuilt), so cancelling many
//! long timers does not grow memory without bound.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const STOPPED: u8 = 2;

type Action = Box<dyn FnOnce() + Send>;

struct TimerNode {
    state: AtomicU8,
    action: Mutex<Option<Action>>,
}

/// A handle on one scheduled timer.
pub(crate) struct TimerKey {
    node: Arc<TimerNode>,
    timers: Arc<Timers>,
}

impl TimerKey {
    /// Stop the timer; true if it had not fired yet (its action will never run).
    pub(crate) fn stop(&self) -> bool {
        // Under the heap lock, so that the stopped count agrees with the heap.
        let mut heap = self.timers.heap.lock().unwrap_or_else(|e| e.into_inner());
        let stopped = self
            .node
            .state
            .compare_exchange(PENDING, STOPPED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if stopped {
            heap.stopped += 1;
            self.timers.maybe_compact(&mut heap);
        }
        drop(heap);
        if stopped {
            self.node.action.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        stopped
    }
}

struct Entry {
    deadline: u64,
    seq: u64,
    node: Arc<TimerNode>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest deadline on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Entry>,
    seq: u64,
    /// Entries in `entries` that were stopped but not yet removed.
    stopped: usize,
}

/// Timers keyed by nanoseconds on the runtime's clock.
pub(crate) struct Timers {
    heap: Mutex<Heap>,
    /// Earliest deadline in the heap, `u64::MAX` when empty.
    next: AtomicU64,
}

impl Timers {
    pub(crate) fn new() -> Arc<Timers> {
        Arc::new(Timers {
            heap: Mutex::new(Heap::default()),
            next: AtomicU64::new(u64::MAX),
        })
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let n = self.next.load(Ordering::Acquire);
        (n != u64::MAX).then_some(n)
    }

    /// Timers in the heap that have neither fired nor been stopped.
    pub(crate) fn pending(&self) -> usize {
        let heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.entries.len() - heap.stopped
    }

    /// Schedule `action` at `deadline`; returns its key and whether it is now the earliest.
    pub(crate) fn add(self: &Arc<Self>, deadline: u64, action: Action) -> (TimerKey, bool) {
        let node = Arc::new(TimerNode { state: AtomicU8::new(PENDING), action: Mutex::new(Some(action)) });
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.seq += 1;
        let seq = heap.seq;
        heap.entries.push(Entry { deadline, seq, node: node.clone() });
        let earliest = deadline < self.next.load(Ordering::Relaxed);
        if earliest {
            self.next.store(deadline, Ordering::Release);
        }
        drop(heap);
        (TimerKey { node, timers: self.clone() }, earliest)
    }

    /// Run the actions of every timer due at `now`; returns how many fired.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        if self.next.load(Ordering::Acquire) > now {
            return 0;
        }
        let mut due = Vec::new();
        {
            let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            while heap.entries.peek().is_some_and(|e| e.deadline <= now) {
                let entry = heap.entries.pop().expect("peeked");
                if entry
                    .node
                    .state
                    .compare_exchange(PENDING, FIRED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    due.push(entry.node);
                } else {
                    heap.stopped -= 1;
                }
            }
            self.publish_next(&heap);
        }
        let fired = due.len();
        for node in due {
            let action = node.action.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(action) = action {
                action();
            }
        }
        fired
    }

    fn publish_next(&self, heap: &Heap) {
        let next = heap.entries.peek().map_or(u64::MAX, |e| e.deadline);
        self.next.store(next, Ordering::Release);
    }

    /// Rebuild the heap without stopped entries once they are the majority.
    fn maybe_compact(&self, heap: &mut Heap) {
        if heap.stopped > 64 && heap.stopped * 2 > heap.entries.len() {
            let entries = std::mem::take(&mut heap.entries);
            heap.entries = entries
                .into_iter()
                .filter(|e| e.node.state.load(Ordering::Acquire) == PENDING)
                .collect();
            heap.stopped = 0;
            self.publish_next(heap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn fires_in_deadline_order_and_skips_stopped() {
        let timers = Timers::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut keys = Vec::new();
        for d in [30u64, 10, 20, 40] {
            let order = order.clone();
            keys.push(timers.add(d, Box::new(move || order.lock().unwrap().push(d))).0);
        }
        assert_eq!(timers.next_deadline(), Some(10));
        assert!(keys[3].stop(), "40 had not fired");
        assert_eq!(timers.fire_due(25), 2);
        assert!(!keys[1].stop(), "10 already fired");
        assert_eq!(timers.fire_due(100), 1);
        assert_eq!(*order.lock().unwrap(), vec![10, 20, 30]);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn stopping_many_timers_compacts_the_heap() {
        let timers = Timers::new();
        let count = Arc::new(AtomicUsize::new(0));
        let keys: Vec<TimerKey> = (0..10_000u64)
            .map(|i| {
                let count = count.clone();
                timers.add(1_000_000 + i, Box::new(move || drop(count.fetch_add(1, Ordering::Relaxed)))).0
            })
            .collect();
        for k in &keys[..9_990] {
            assert!(k.stop());
        }
        assert!(timers.heap.lock().unwrap().entries.len() < 5_000, "stopped timers were compacted");
        assert_eq!(timers.pending(), 10);
        timers.fire_due(u64::MAX - 1);
        assert_eq!(count.load(Ordering::Relaxed), 10);
    }
}
