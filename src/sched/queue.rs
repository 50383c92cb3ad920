//! The per-worker run queue: a bounded ring that one owner pushes to and pops from,
//! and that other workers steal from in batches of half.
//!
//! The algorithm is Go's `runq` (proc.go): `head` and `tail` are free-running `u32`
//! counters, the ring holds `tail - head` goroutines at `buf[i % CAP]`.
//!
//! - Only the owner writes `tail` and writes slots, always at `tail`, and only while
//!   `tail - head < CAP`.
//! - Consumers (the owner's `pop` and thieves' `grab`) claim slots by a CAS on `head`.
//!   A thief reads the slots *before* its CAS: if the CAS succeeds, `head` did not move
//!   meanwhile, so the owner cannot have overwritten those slots (it only writes at
//!   positions at least `CAP` away from `head`); if it fails, what it read is discarded.
//!   Slots are `AtomicPtr`s so that such a discarded read is not a data race.
//!
//! Model-checked with loom (`models/tests/run_queue.rs`, which includes this file with
//! a small capacity and a stub goroutine): it uses nothing but `crate::loom`'s atomics
//! and `GoRef`'s raw conversions.

use crate::goroutine::{GoRef, Goroutine};
use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Capacity of a worker's local run queue.
#[cfg(not(loom))]
pub(crate) const CAP: usize = 256;
/// Small enough for the model checker to fill, overflow and wrap around.
#[cfg(loom)]
pub(crate) const CAP: usize = 4;

pub(crate) struct RunQueue {
    head: AtomicU32,
    tail: AtomicU32,
    buf: Box<[AtomicPtr<Goroutine>]>,
}

impl RunQueue {
    pub(crate) fn new() -> RunQueue {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            buf: (0..CAP)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(CAP as u32) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owner only: a mark after everything queued so far, for [`RunQueue::passed`].
    pub(crate) fn mark(&self) -> u32 {
        self.tail.load(Ordering::Relaxed)
    }

    /// Whether everything queued before `mark` was taken (run, stolen or moved to the
    /// global queue): `head` has reached it. Marks within `u32::MAX / 2` of each other.
    pub(crate) fn passed(&self, mark: u32) -> bool {
        self.head.load(Ordering::Acquire).wrapping_sub(mark) as i32 >= 0
    }

    /// Owner only. Hands the goroutine back if the ring is full.
    pub(crate) fn push(&self, g: GoRef) -> Result<(), GoRef> {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) as usize >= CAP {
            return Err(g);
        }
        self.buf[tail as usize % CAP].store(g.into_raw() as *mut _, Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Owner only. Pushes `g`; if the ring is full, moves half of it plus `g` to `overflow`.
    pub(crate) fn push_or_overflow(&self, g: GoRef, overflow: impl FnOnce(Vec<GoRef>)) {
        let mut g = g;
        loop {
            match self.push(g) {
                Ok(()) => return,
                Err(back) => g = back,
            }
            let mut batch = Vec::with_capacity(CAP / 2 + 1);
            if self.grab(&mut batch, CAP / 2) > 0 {
                batch.push(g);
                overflow(batch);
                return;
            }
            // Thieves emptied it meanwhile: the push will now succeed.
        }
    }

    /// Owner only.
    pub(crate) fn pop(&self) -> Option<GoRef> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let tail = self.tail.load(Ordering::Relaxed);
            if head == tail {
                return None;
            }
            let ptr = self.buf[head as usize % CAP].load(Ordering::Relaxed);
            match self.head.compare_exchange_weak(
                head,
                head.wrapping_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                // SAFETY: the CAS gave us exclusive ownership of this slot's reference.
                Ok(_) => return Some(unsafe { GoRef::from_raw(ptr) }),
                Err(actual) => head = actual,
            }
        }
    }

    /// Any thread. Claims up to half of the queued goroutines (at most `max`) into `out`.
    pub(crate) fn grab(&self, out: &mut Vec<GoRef>, max: usize) -> usize {
        let mut tmp = [std::ptr::null_mut::<Goroutine>(); CAP / 2];
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(head) as usize;
            if available == 0 {
                return 0;
            }
            if available > CAP {
                continue; // read head and tail from different moments; retry
            }
            let n = (available - available / 2).min(max).min(CAP / 2);
            for (i, slot) in tmp.iter_mut().enumerate().take(n) {
                *slot =
                    self.buf[head.wrapping_add(i as u32) as usize % CAP].load(Ordering::Relaxed);
            }
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(n as u32),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                // SAFETY: the successful CAS transferred these n references to us, and
                // the owner did not overwrite the slots before it (module docs).
                out.extend(tmp[..n].iter().map(|&p| unsafe { GoRef::from_raw(p) }));
                return n;
            }
        }
    }

    /// Thief side: move half of `self` into `dst` (owned by the caller) and return one
    /// goroutine to run right away.
    pub(crate) fn steal_into(&self, dst: &RunQueue) -> Option<GoRef> {
        let mut batch = Vec::with_capacity(CAP / 2);
        if self.grab(&mut batch, CAP / 2) == 0 {
            return None;
        }
        let first = batch.pop();
        for g in batch {
            // dst is the thief's own queue, empty when it steals, and a batch is at
            // most half a ring, so every push fits.
            let pushed = dst.push(g);
            debug_assert!(
                pushed.is_ok(),
                "a thief steals only into its own empty queue"
            );
        }
        first
    }
}

impl Drop for RunQueue {
    fn drop(&mut self) {
        // Goroutines still queued are abandoned with their runtime: leak them (they are
        // never run or unwound, see `sched::Shared::shutdown`).
        let mut rest = Vec::new();
        while self.grab(&mut rest, CAP) > 0 {}
        rest.into_iter().for_each(std::mem::forget);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sched::test_goroutine;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn fifo_and_capacity() {
        let q = RunQueue::new();
        let gs: Vec<GoRef> = (0..CAP as u64).map(test_goroutine).collect();
        for g in &gs {
            assert!(q.push(g.clone()).is_ok());
        }
        assert!(q.push(test_goroutine(999)).is_err(), "a full ring refuses");
        for i in 0..CAP as u64 {
            assert_eq!(q.pop().unwrap().id, i);
        }
        assert!(q.pop().is_none());
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        // Fewer under Miri (scripts/miri.sh), which checks each access for races.
        const N: u64 = if cfg!(miri) { 600 } else { 200_000 };
        let q = Arc::new(RunQueue::new());
        let stolen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (q, stolen, done) = (q.clone(), stolen.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    while !done.load(Ordering::Acquire) || !q.is_empty() {
                        q.grab(&mut mine, CAP);
                    }
                    stolen
                        .lock()
                        .unwrap()
                        .extend(mine.into_iter().map(|g| g.id));
                })
            })
            .collect();
        let mut popped = Vec::new();
        for i in 0..N {
            let mut g = test_goroutine(i);
            while let Err(back) = q.push(g) {
                g = back;
                if let Some(p) = q.pop() {
                    popped.push(p.id);
                }
            }
        }
        while let Some(p) = q.pop() {
            popped.push(p.id);
        }
        done.store(true, Ordering::Release);
        for t in thieves {
            t.join().unwrap();
        }
        let mut all: Vec<u64> = popped;
        all.extend(stolen.lock().unwrap().iter());
        let set: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(all.len() as u64, N, "nothing duplicated");
        assert_eq!(set.len() as u64, N, "nothing lost");
    }
}
