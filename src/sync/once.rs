//! `Once`: run an initialisation exactly once (Go's `sync.Once`).

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::park::waitlist::{WaitList, Waiter};
use crate::park::WaitReason;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Running,
    Done,
}

/// Runs a function once; concurrent callers park until that first call has finished.
///
/// If the function panics, the `Once` still counts as done (Go's rule: "if f panics, Do
/// considers it to have returned"): the panic propagates to the caller that ran it, the
/// waiters return normally, and later calls do nothing. Whatever the function managed
/// to initialise before panicking is what everyone sees.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// goru::run(|| {
///     let once = Arc::new(goru::sync::Once::new());
///     let runs = Arc::new(AtomicUsize::new(0));
///     let hs: Vec<_> = (0..10)
///         .map(|_| {
///             let (once, runs) = (once.clone(), runs.clone());
///             goru::go(move || once.call_once(|| drop(runs.fetch_add(1, Ordering::SeqCst))))
///         })
///         .collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(runs.load(Ordering::SeqCst), 1);
///     assert!(once.is_completed());
/// });
/// ```
pub struct Once {
    done: AtomicBool,
    list: WaitList<State>,
}

impl Once {
    /// A `Once` that has not run.
    pub const fn new() -> Once {
        Once {
            done: AtomicBool::new(false),
            list: WaitList::new(State::New),
        }
    }

    /// Run `f` if no call has run yet; otherwise wait for the first call to finish.
    ///
    /// ```
    /// let once = goru::sync::Once::new();
    /// let mut runs = 0;
    /// once.call_once(|| runs += 1);
    /// once.call_once(|| runs += 1);
    /// assert_eq!(runs, 1);
    /// assert!(once.is_completed());
    /// ```
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        crate::sched::driver::switch_point("sync.Once.Do");
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let mut list = self.list.lock();
        match *list.state() {
            State::Done => return,
            State::Running => {
                list.wait(&Waiter::new(0), WaitReason::OnceWait);
                return;
            }
            State::New => *list.state() = State::Running,
        }
        drop(list);
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        let mut list = self.list.lock();
        *list.state() = State::Done;
        self.done.store(true, Ordering::Release);
        list.signal_all(1);
        drop(list);
        if let Err(payload) = outcome {
            panic::resume_unwind(payload);
        }
    }

    /// Whether a call has finished.
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}
