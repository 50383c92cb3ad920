//! The run queue (`src/sched/queue.rs`, capacity 4 under loom): the owner's push, pop
//! and overflow racing thieves' steals. Every goroutine is taken exactly once.
#![cfg(loom)]

#[path = "common/loom.rs"]
mod loom;

/// What the queue needs of a goroutine: a pointer that travels through its slots.
mod goroutine {
    pub struct Goroutine {
        pub id: u64,
    }

    /// Owns its goroutine; never freed, so that a goroutine taken twice (the bug the
    /// models look for) is reported by the assertions, not by a double free.
    pub struct GoRef(*const Goroutine);

    // SAFETY: the pointee is immutable once made.
    unsafe impl Send for GoRef {}

    impl GoRef {
        pub fn new(id: u64) -> GoRef {
            GoRef(Box::into_raw(Box::new(Goroutine { id })))
        }

        pub fn into_raw(self) -> *const Goroutine {
            self.0
        }

        /// # Safety
        /// `ptr` comes from `into_raw`.
        pub unsafe fn from_raw(ptr: *const Goroutine) -> GoRef {
            assert!(
                !ptr.is_null(),
                "took a slot before its goroutine was written"
            );
            GoRef(ptr)
        }

        pub fn id(&self) -> u64 {
            // SAFETY: never freed.
            unsafe { (*self.0).id }
        }
    }
}

#[path = "../../src/sched/queue.rs"]
#[allow(dead_code)]
mod queue;

use ::loom::sync::Arc;
use ::loom::thread;
use goroutine::GoRef;
use queue::{RunQueue, CAP};

fn ids(gs: Vec<GoRef>) -> Vec<u64> {
    gs.iter().map(GoRef::id).collect()
}

fn assert_each_once(mut taken: Vec<u64>, n: u64) {
    taken.sort_unstable();
    assert_eq!(taken, (0..n).collect::<Vec<_>>(), "lost or taken twice");
}

#[test]
fn owner_pops_while_a_thief_steals() {
    ::loom::model(|| {
        let q = Arc::new(RunQueue::new());
        let thief = {
            let q = q.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                q.grab(&mut out, CAP);
                ids(out)
            })
        };
        for i in 0..3 {
            assert!(q.push(GoRef::new(i)).is_ok(), "3 fit in 4");
        }
        let mut taken = Vec::new();
        while let Some(g) = q.pop() {
            taken.push(g.id());
        }
        taken.extend(thief.join().unwrap());
        assert_each_once(taken, 3);
    });
}

#[test]
fn overflow_to_the_global_queue_while_a_thief_steals_into_its_own() {
    ::loom::model(|| {
        let q = Arc::new(RunQueue::new());
        let thief = {
            let q = q.clone();
            thread::spawn(move || {
                let own = RunQueue::new();
                let mut out: Vec<GoRef> = q.steal_into(&own).into_iter().collect();
                while let Some(g) = own.pop() {
                    out.push(g);
                }
                ids(out)
            })
        };
        let mut global = Vec::new();
        for i in 0..(CAP as u64 + 2) {
            q.push_or_overflow(GoRef::new(i), |batch| global.extend(ids(batch)));
        }
        let mut taken = global;
        while let Some(g) = q.pop() {
            taken.push(g.id());
        }
        taken.extend(thief.join().unwrap());
        assert_each_once(taken, CAP as u64 + 2);
    });
}

#[test]
fn two_thieves_and_the_owner_share_one_queue() {
    ::loom::model(|| {
        let q = Arc::new(RunQueue::new());
        for i in 0..3 {
            assert!(q.push(GoRef::new(i)).is_ok());
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut out = Vec::new();
                    q.grab(&mut out, CAP);
                    ids(out)
                })
            })
            .collect();
        let mut taken: Vec<u64> = q.pop().map(|g| g.id()).into_iter().collect();
        for t in thieves {
            taken.extend(t.join().unwrap());
        }
        while let Some(g) = q.pop() {
            taken.push(g.id());
        }
        assert_each_once(taken, 3);
    });
}
