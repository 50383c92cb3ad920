//! A runtime's timers: per-worker min-heaps of deadlines, each with an action.
//!
//! Each regular worker owns one heap (Go's per-P timers): a goroutine adds its timers to
//! the heap of the worker it runs on, so workers do not contend for one lock; timers
//! added from other threads go to heap 0. A busy worker fires its own heap's due timers
//! from its scheduling loop; a worker out of work fires every heap's (Go's
//! `checkTimers`: another P's timers are looked at only when stealing), the idle
//! worker that holds the "timer keeper" role sleeps only until the earliest deadline
//! of all heaps, and the monitor thread fires timers that are overdue because every
//! worker is busy. Each heap mirrors its earliest deadline in an atomic, so checking
//! for due timers takes no lock.
//!
//! A node's action is owned by whoever claims it (`node`): fire and stop race for it,
//! and the winner publishes `FIRED` or `STOPPED` once it holds the action, touching the
//! node no more. So a node may live on the stack of a goroutine that waits for `FIRED`
//! before it returns (a [`StackTimer`], what `sleep` uses: no allocation, no reference
//! counts). The action (an unpark) runs after that, with a reference of its own.
//!
//! A stopped timer stays in its heap, marked, and is dropped when it surfaces or when
//! stopped timers outnumber live ones (the heap is then rebuilt), so cancelling many
//! long timers does not grow memory without bound.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::node::{TimerNode, FIRED, STOPPED};
use crate::park::Unparker;

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    /// Wake a parked goroutine or thread (sleeps, timeouts): no allocation beyond the node.
    Unpark(Unparker),
    /// Run a callback (timer channels, context deadlines).
    Call(Box<dyn FnOnce() + Send>),
}

impl TimerAction {
    fn run(self) {
        match self {
            TimerAction::Unpark(u) => u.unpark(),
            TimerAction::Call(f) => f(),
        }
    }
}

/// A timer that lives in its waiter's stack frame, for a wait that never stops it
/// (`sleep`): added with [`Timers::add_on_stack`], it must stay where it is until
/// [`has_fired`](StackTimer::has_fired).
pub(crate) struct StackTimer {
    node: TimerNode,
}

impl StackTimer {
    pub(crate) fn new(action: TimerAction) -> StackTimer {
        StackTimer {
            node: TimerNode::new(action),
        }
    }

    /// Whether the timer has fired: once true, no heap refers to it any more.
    pub(crate) fn has_fired(&self) -> bool {
        self.node.has_fired()
    }
}

/// How a heap entry reaches its node.
enum NodeRef {
    /// Shared with a [`TimerKey`].
    Counted(Arc<TimerNode>),
    /// A [`StackTimer`], alive and unmoved until it has fired (the contract of
    /// [`Timers::add_on_stack`]); the entry leaves the heap when it fires.
    OnStack(std::ptr::NonNull<TimerNode>),
}

impl std::ops::Deref for NodeRef {
    type Target = TimerNode;
    fn deref(&self) -> &TimerNode {
        match self {
            NodeRef::Counted(node) => node,
            // SAFETY: per `add_on_stack`'s contract the node outlives its entry (which
            // is popped, under the heap lock, by the claim that fires it).
            NodeRef::OnStack(node) => unsafe { node.as_ref() },
        }
    }
}

// SAFETY: a node is Sync (see TimerNode); the stack pointer is only dereferenced under
// the heap's lock or by the claim's winner, while the node is alive (NodeRef::OnStack).
unsafe impl Send for NodeRef {}

/// A handle on one scheduled timer.
pub(crate) struct TimerKey {
    node: Arc<TimerNode>,
    heap: Arc<TimerHeap>,
}

impl TimerKey {
    /// Stop the timer; true if it had not fired yet (its action will never run).
    pub(crate) fn stop(&self) -> bool {
        let action = {
            // Under the heap lock, so that the stopped count agrees with the heap.
            let mut heap = self.heap.heap.lock().unwrap_or_else(|e| e.into_inner());
            let action = self.node.claim(STOPPED);
            if action.is_some() {
                heap.stopped += 1;
                self.heap.maybe_compact(&mut heap);
            }
            action
        };
        action.is_some() // dropped here, outside the lock
    }

    /// Whether the timer has fired (its action has run or is running).
    #[cfg(test)]
    pub(crate) fn has_fired(&self) -> bool {
        self.node.has_fired()
    }
}

struct Entry {
    deadline: u64,
    seq: u64,
    node: NodeRef,
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

/// One heap of timers keyed by nanoseconds on the runtime's clock.
struct TimerHeap {
    heap: Mutex<Heap>,
    /// Earliest deadline in the heap, `u64::MAX` when empty.
    next: AtomicU64,
}

impl TimerHeap {
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
                .filter(|e| e.node.is_pending())
                .collect();
            heap.stopped = 0;
            self.publish_next(heap);
        }
    }

    /// Claim the timers due at `now`, until `due` holds `limit` actions (their actions
    /// are run by the caller, unlocked). Stopped entries met on the way are dropped.
    fn take_due(&self, now: u64, due: &mut Vec<TimerAction>, limit: usize) {
        if self.next.load(Ordering::Acquire) > now {
            return;
        }
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        while due.len() < limit && heap.entries.peek().is_some_and(|e| e.deadline <= now) {
            let entry = heap.entries.pop().expect("peeked");
            match entry.node.claim(FIRED) {
                Some(action) => due.push(action),
                None => heap.stopped -= 1,
            }
        }
        self.publish_next(&heap);
    }
}

/// All timer heaps of a runtime.
pub(crate) struct Timers {
    heaps: Box<[Arc<TimerHeap>]>,
}

impl Timers {
    pub(crate) fn new(heaps: usize) -> Timers {
        Timers {
            heaps: (0..heaps.max(1))
                .map(|_| {
                    Arc::new(TimerHeap {
                        heap: Mutex::new(Heap::default()),
                        next: AtomicU64::new(u64::MAX),
                    })
                })
                .collect(),
        }
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let n = self
            .heaps
            .iter()
            .map(|h| h.next.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX);
        (n != u64::MAX).then_some(n)
    }

    /// Timers that have neither fired nor been stopped (deadlock detection asks
    /// whether any timer can still wake a goroutine).
    pub(crate) fn pending(&self) -> usize {
        self.heaps
            .iter()
            .map(|h| {
                let heap = h.heap.lock().unwrap_or_else(|e| e.into_inner());
                heap.entries.len() - heap.stopped
            })
            .sum()
    }

    /// Schedule `action` at `deadline` in heap `hint` (the calling worker's index).
    /// Returns its key and whether it is now the earliest timer of all.
    pub(crate) fn add(&self, hint: usize, deadline: u64, action: TimerAction) -> (TimerKey, bool) {
        let heap = &self.heaps[hint % self.heaps.len()];
        let node = Arc::new(TimerNode::new(action));
        let earliest = self.push(heap, deadline, NodeRef::Counted(node.clone()));
        (
            TimerKey {
                node,
                heap: heap.clone(),
            },
            earliest,
        )
    }

    /// Schedule `timer` at `deadline` in heap `hint`, without a key (it cannot be
    /// stopped) or an allocation; returns whether it is now the earliest of all.
    ///
    /// # Safety
    /// `timer` stays alive and at its address until its `has_fired` returns true (the
    /// heap refers to it until then).
    pub(crate) unsafe fn add_on_stack(
        &self,
        hint: usize,
        deadline: u64,
        timer: &StackTimer,
    ) -> bool {
        let heap = &self.heaps[hint % self.heaps.len()];
        self.push(heap, deadline, NodeRef::OnStack((&timer.node).into()))
    }

    /// Put `node` in `heap`; returns whether it is now the earliest timer of all.
    fn push(&self, heap: &TimerHeap, deadline: u64, node: NodeRef) -> bool {
        // Not before this heap's own earliest: certainly not the earliest of all, and
        // the other heaps' mirrors (other workers' lines) need not be read.
        let earliest = deadline < heap.next.load(Ordering::Acquire)
            && self.next_deadline().is_none_or(|n| deadline < n);
        let mut h = heap.heap.lock().unwrap_or_else(|e| e.into_inner());
        h.seq += 1;
        let seq = h.seq;
        h.entries.push(Entry {
            deadline,
            seq,
            node,
        });
        if deadline < heap.next.load(Ordering::Relaxed) {
            heap.next.store(deadline, Ordering::Release);
        }
        drop(h);
        earliest
    }

    /// Run the action of the earliest timer due at `now` (the deterministic driver
    /// fires timers one at a time); false if none is due.
    pub(crate) fn fire_first_due(&self, now: u64) -> bool {
        let mut due = Vec::with_capacity(1);
        loop {
            let Some(heap) = self
                .heaps
                .iter()
                .filter(|h| h.next.load(Ordering::Acquire) <= now)
                .min_by_key(|h| h.next.load(Ordering::Acquire))
            else {
                return false;
            };
            // Either claims a live timer or clears this heap's due, stopped ones.
            heap.take_due(now, &mut due, 1);
            if let Some(action) = due.pop() {
                action.run();
                return true;
            }
        }
    }

    /// Run the actions of every timer due at `now`; returns how many fired.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        Self::fire_due_of(self.heaps.iter().map(|h| &**h), now)
    }

    /// Whether heap `index` (a worker's own) has a timer due at `now`: one load.
    pub(crate) fn has_due_in(&self, index: usize, now: u64) -> bool {
        self.heaps[index % self.heaps.len()]
            .next
            .load(Ordering::Acquire)
            <= now
    }

    /// [`fire_due`](Timers::fire_due) for heap `index` alone (a worker's own, which
    /// no other worker is then made to share).
    pub(crate) fn fire_due_in(&self, index: usize, now: u64) -> usize {
        Self::fire_due_of(std::iter::once(&*self.heaps[index % self.heaps.len()]), now)
    }

    /// Claim the due timers of `heaps` under each heap's lock, then run their actions
    /// with no lock held; returns how many fired.
    fn fire_due_of<'h>(heaps: impl Iterator<Item = &'h TimerHeap>, now: u64) -> usize {
        let mut due = Vec::new();
        for heap in heaps {
            heap.take_due(now, &mut due, usize::MAX);
        }
        let fired = due.len();
        due.into_iter().for_each(TimerAction::run);
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn call(f: impl FnOnce() + Send + 'static) -> TimerAction {
        TimerAction::Call(Box::new(f))
    }

    #[test]
    fn fires_in_deadline_order_across_heaps_and_skips_stopped() {
        let timers = Timers::new(3);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut keys = Vec::new();
        for (i, d) in [30u64, 10, 20, 40].into_iter().enumerate() {
            let order = order.clone();
            keys.push(
                timers
                    .add(i, d, call(move || order.lock().unwrap().push(d)))
                    .0,
            );
        }
        assert_eq!(timers.next_deadline(), Some(10));
        assert!(keys[3].stop(), "40 had not fired");
        assert!(!keys[3].stop(), "stopping twice reports false");
        assert_eq!(timers.fire_due(25), 2);
        assert!(keys[1].has_fired() && !keys[0].has_fired());
        assert!(!keys[1].stop(), "10 already fired");
        assert_eq!(timers.fire_due(100), 1);
        let mut fired = order.lock().unwrap().clone();
        fired.sort();
        assert_eq!(fired, vec![10, 20, 30]);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn a_stack_timer_fires_once_and_leaves_the_heap() {
        let timers = Timers::new(2);
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let timer = StackTimer::new(call(move || {
            c.fetch_add(1, Ordering::Relaxed);
        }));
        let (_key, _) = timers.add(1, 80, call(|| {}));
        // SAFETY: `timer` lives to the end of the test, past its firing.
        let earliest = unsafe { timers.add_on_stack(1, 50, &timer) };
        assert!(earliest, "before the keyed timer");
        assert!(!timer.has_fired());
        assert_eq!(timers.fire_due(49), 0);
        assert_eq!(timers.fire_due(50), 1);
        assert!(timer.has_fired());
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert_eq!(
            timers.next_deadline(),
            Some(80),
            "only the keyed timer is left"
        );
        assert_eq!(timers.fire_due(100), 1);
        assert_eq!(count.load(Ordering::Relaxed), 1, "fired once");
        assert_eq!(timers.pending(), 0);
    }

    #[test]
    fn stopping_many_timers_compacts_the_heap() {
        let timers = Timers::new(1);
        let count = Arc::new(AtomicUsize::new(0));
        let keys: Vec<TimerKey> = (0..10_000u64)
            .map(|i| {
                let count = count.clone();
                let bump = move || {
                    count.fetch_add(1, Ordering::Relaxed);
                };
                timers.add(0, 1_000_000 + i, call(bump)).0
            })
            .collect();
        for k in &keys[..9_990] {
            assert!(k.stop());
        }
        assert!(
            timers.heaps[0].heap.lock().unwrap().entries.len() < 5_000,
            "stopped timers were compacted"
        );
        assert_eq!(timers.pending(), 10);
        timers.fire_due(u64::MAX - 1);
        assert_eq!(count.load(Ordering::Relaxed), 10);
    }
}
