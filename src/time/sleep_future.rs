//! A sleep as a future, for async code driven by [`block_on`](crate::block_on): hyper's
//! timer (header read timeouts, HTTP/2 keep-alive pings) is built on it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::clock::Clock;
use super::timers::{TimerAction, TimerKey};

/// Completes at its deadline. The timer lives on the runtime of the goroutine that made
/// it (the global timer thread elsewhere); dropping the future stops it.
pub(crate) struct Sleep {
    deadline: Instant,
    shared: Arc<Fired>,
    key: TimerKey,
}

/// What the timer's callback and the future share.
#[derive(Default)]
struct Fired {
    /// Set (Release) by the callback before it takes the waker; read (Acquire) by poll
    /// after it stores one, so one of the two always sees the other.
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Sleep {
    pub(crate) fn until(deadline: Instant) -> Sleep {
        let shared = Arc::new(Fired::default());
        let fired = shared.clone();
        let key = Clock::current().add(
            deadline,
            TimerAction::Call(Box::new(move || {
                fired.done.store(true, Ordering::Release);
                let waker = fired.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(w) = waker {
                    w.wake();
                }
            })),
        );
        Sleep {
            deadline,
            shared,
            key,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *self.shared.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        // The callback may have run between the check and the store: look again.
        if self.shared.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.key.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn completes_at_its_deadline_in_a_goroutine_and_on_a_thread() {
        let start = Instant::now();
        crate::block_on(Sleep::until(start + Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        crate::run(|| {
            let start = Instant::now();
            crate::block_on(Sleep::until(start + Duration::from_millis(20)));
            assert!(start.elapsed() >= Duration::from_millis(20));
        });
    }

    #[test]
    fn a_dropped_sleep_stops_its_timer() {
        let sleep = Sleep::until(Instant::now() + Duration::from_secs(3600));
        let fired = sleep.shared.clone();
        drop(sleep);
        assert!(!fired.done.load(Ordering::Acquire));
        assert_eq!(Arc::strong_count(&fired), 1, "the stopped callback is gone");
    }
}
