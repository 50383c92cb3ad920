//! How a connection's goroutine drives hyper: [`block_on`](crate::block_on), with every
//! poll made on the worker's stack.
//!
//! A goroutine's stack is cold: with a thousand connections, each poll of hyper's deep
//! call chain would touch a few pages of one stack out of a thousand (measured: 22 KiB
//! resident per idle connection, against tokio's 8). Polled on the worker's stack,
//! those frames stay hot in cache, as a tokio task's do, and the goroutine's own stack
//! holds only the shallow `block_on` frame.
//!
//! Code on the worker's stack must not park. hyper's poll does not; a handler may. So
//! a handler that would run in the connection's goroutine is *deferred*: its answer
//! future hands the work to [`defer`] and reports `Pending`; once the poll is back on
//! the goroutine's stack, the driver runs the work there (where it may block) and
//! polls again at once, finding the answer ready.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Work a poll left for the goroutine's own stack: run once, by the driver.
pub(crate) trait DeferredJob: Send + Sync {
    fn run(&self);
}

pub(crate) type Job = Arc<dyn DeferredJob>;

/// The jobs one poll deferred: HTTP/1 has at most one request in flight, so the first
/// needs no allocation.
#[derive(Default)]
struct Jobs {
    first: Option<Job>,
    more: Vec<Job>,
}

impl Jobs {
    fn push(&mut self, job: Job) {
        if self.first.is_none() {
            self.first = Some(job);
        } else {
            self.more.push(job);
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn run_all(self) {
        for job in self.first.into_iter().chain(self.more) {
            job.run();
        }
    }
}

thread_local! {
    /// The jobs deferred by the poll running on this thread's worker stack, if a
    /// driver is polling here (`None`: nobody would run a deferred job).
    static DEFERRED: RefCell<Option<Jobs>> = const { RefCell::new(None) };
}

/// Leave `job` for the driver polling on this thread, if there is one; otherwise hand
/// it back to be run by the caller.
pub(crate) fn defer(job: Job) -> Result<(), Job> {
    DEFERRED.with(|d| match &mut *d.borrow_mut() {
        Some(jobs) => {
            jobs.push(job);
            Ok(())
        }
        None => Err(job),
    })
}

/// Run `fut` to completion on the calling goroutine (as `block_on`), polling it on the
/// worker's stack and running deferred jobs on the goroutine's.
pub(crate) fn drive<F: Future + Send>(fut: F) -> F::Output {
    let Some(g) = crate::goroutine::current() else {
        return crate::block_on(fut);
    };
    crate::future::block_on_polling(fut, |mut fut, waker| loop {
        let (poll, jobs) = g.on_worker_stack(|| poll_collecting(fut.as_mut(), waker));
        if jobs.is_empty() {
            return poll;
        }
        // Back on the goroutine's stack: run what the poll left, then poll again, as
        // the deferred answers are now ready.
        jobs.run_all();
        if let Poll::Ready(v) = poll {
            return Poll::Ready(v);
        }
    })
}

/// One poll, collecting the jobs it defers.
fn poll_collecting<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> (Poll<F::Output>, Jobs) {
    /// Puts back whoever collected before (none, as drives do not nest on one
    /// worker stack), also when the poll panics.
    struct Collecting(Option<Option<Jobs>>);
    impl Collecting {
        fn finish(mut self) -> Jobs {
            let outer = self.0.take().unwrap_or_default();
            DEFERRED
                .with(|d| std::mem::replace(&mut *d.borrow_mut(), outer))
                .unwrap_or_default()
        }
    }
    impl Drop for Collecting {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                DEFERRED.with(|d| *d.borrow_mut() = outer);
            }
        }
    }
    let collecting = Collecting(Some(
        DEFERRED.with(|d| d.borrow_mut().replace(Jobs::default())),
    ));
    let poll = fut.poll(&mut Context::from_waker(waker));
    (poll, collecting.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    struct SleepThenSet(Arc<AtomicBool>);

    impl DeferredJob for SleepThenSet {
        fn run(&self) {
            crate::time::sleep(Duration::from_millis(5)); // parks: fine here
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_deferred_job_runs_on_the_goroutine_stack_where_it_may_park() {
        crate::run(|| {
            let done = Arc::new(AtomicBool::new(false));
            let mut handed_over = false;
            let flag = done.clone();
            let polls = drive(std::future::poll_fn(move |_| {
                if !handed_over {
                    handed_over = true;
                    defer(Arc::new(SleepThenSet(flag.clone())))
                        .unwrap_or_else(|_| panic!("no driver collecting"));
                    return Poll::Pending; // no waker stored: the driver polls again
                }
                assert!(
                    flag.load(Ordering::SeqCst),
                    "polled again only after the job"
                );
                Poll::Ready(2)
            }));
            assert_eq!(polls, 2);
            assert!(done.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn outside_a_driver_nothing_is_deferred() {
        let job = || Arc::new(SleepThenSet(Arc::new(AtomicBool::new(false))));
        assert!(defer(job()).is_err());
        crate::run(move || {
            let deferred = crate::block_on(async { defer(job()).is_ok() });
            assert!(!deferred, "plain block_on collects nothing");
        });
    }

    #[test]
    fn parking_on_the_worker_stack_is_refused_with_a_clear_panic() {
        crate::run(|| {
            let h = crate::go(|| {
                drive(async {
                    crate::time::sleep(Duration::from_millis(1));
                })
            });
            let payload = h.join().unwrap_err();
            let message = crate::panics::payload_message(&*payload);
            assert!(
                message.contains("park while running on its worker's stack"),
                "{message}"
            );
            // A yield there falls back to the thread's: no panic.
            crate::go(|| drive(async { crate::yield_now() }))
                .join()
                .unwrap();
        });
    }

    #[test]
    fn deep_polls_and_panics_cross_the_stack_switch() {
        fn depth(n: u32) -> u32 {
            let pad = std::hint::black_box([n as u8; 512]);
            if n == 0 {
                pad[0] as u32
            } else {
                depth(n - 1) + 1
            }
        }
        crate::run(|| {
            // ~1 MiB of frames at least: more than a goroutine's stack (256 KiB by
            // default), within the worker's (8 MiB).
            assert_eq!(drive(async { depth(2000) }), 2000);
            let caught =
                std::panic::catch_unwind(|| drive(async { panic!("from the worker stack") }));
            assert!(caught.is_err());
            assert_eq!(drive(async { 7 }), 7, "still usable after a panic");
        });
    }
}
