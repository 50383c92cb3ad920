//! The async bridge: run a future from blocking code, and let futures await goroutines.
//!
//! [`block_on`] polls a future on the calling goroutine (or thread). Between polls the
//! caller parks; the future's `Waker` unparks it. The waker is a [`Signal`]: a flag and
//! the caller's unparker. `wake` sets the flag, then unparks; the caller, after a
//! `Pending`, parks until it finds the flag set and clears it. Park's token semantics
//! carry a wake that comes between the poll and the park, so none is lost, and a
//! spurious return from `park` never causes a poll nobody asked for.
//!
//! Wakers escape the runtime's sight: a tokio task, a plain thread or a timer of another
//! runtime may hold one. So while a goroutine is parked in `block_on` (wait reason
//! `future`) the deadlock detector does not report its runtime. A deadlock that runs
//! through a future is missed rather than reported falsely.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::goroutine;
use crate::park::{self, Unparker, WaitReason};

/// The waker of one `block_on` call.
struct Signal {
    notified: AtomicBool,
    waiter: Unparker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake after a poll needs to unpark; later ones find the flag.
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.waiter.clone().unpark();
        }
    }
}

/// Run `fut` to completion on the calling goroutine and return its output.
///
/// Between polls the goroutine parks (the dump shows it as `[future]`) and its worker
/// runs other goroutines; on a plain thread the thread parks. The future may be woken
/// from anywhere: another goroutine, a plain thread, a tokio runtime. Code inside the
/// future may itself call blocking goru functions; they park the goroutine too.
///
/// ```
/// goru::run(|| {
///     let (tx, rx) = goru::chan::bounded::<u32>(0);
///     goru::go(move || tx.send(7).unwrap());
///     // A goroutine awaited, and a channel received from, inside one future.
///     let h = goru::go(|| 6);
///     let sum = goru::block_on(async move { h.await.unwrap() + rx.recv_async().await.unwrap() });
///     assert_eq!(sum, 13);
/// });
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_polling(fut, |fut, waker| fut.poll(&mut Context::from_waker(waker)))
}

/// [`block_on`], with each poll made by `poll` (which may poll on another stack, or
/// run work the future left for the goroutine's own stack).
pub(crate) fn block_on_polling<F: Future>(
    fut: F,
    mut poll: impl FnMut(std::pin::Pin<&mut F>, &Waker) -> Poll<F::Output>,
) -> F::Output {
    let mut fut = pin!(fut);
    let waiter = match goroutine::current() {
        Some(g) => Unparker::Goroutine(g),
        None => park::current(),
    };
    let signal = Arc::new(Signal {
        notified: AtomicBool::new(false),
        waiter,
    });
    let waker = Waker::from(signal.clone());
    loop {
        if let Poll::Ready(v) = poll(fut.as_mut(), &waker) {
            return v;
        }
        while !signal.notified.swap(false, Ordering::AcqRel) {
            park::park(WaitReason::Future);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A future that is pending until a plain thread completes it after `delay`.
    fn completed_by_thread(delay: Duration, value: u32) -> impl Future<Output = u32> {
        let shared = Arc::new(std::sync::Mutex::new((None::<u32>, None::<Waker>)));
        let s = shared.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let waker = {
                let mut st = s.lock().unwrap();
                st.0 = Some(value);
                st.1.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        });
        std::future::poll_fn(move |cx| {
            let mut st = shared.lock().unwrap();
            match st.0 {
                Some(v) => Poll::Ready(v),
                None => {
                    st.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    #[test]
    fn a_plain_thread_blocks_on_a_future() {
        assert_eq!(
            block_on(completed_by_thread(Duration::from_millis(20), 5)),
            5
        );
        assert_eq!(block_on(async { 3 }), 3);
    }

    #[test]
    fn a_wake_before_the_park_is_not_lost() {
        // The future wakes itself and returns Pending: block_on must poll again at once.
        let mut polls = 0;
        let v = block_on(std::future::poll_fn(|cx| {
            polls += 1;
            if polls < 1000 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(polls)
            }
        }));
        assert_eq!(v, 1000);
    }
}
