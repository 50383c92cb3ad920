//! A spin lock for the runtime's own tiny critical sections (a channel's state, a
//! wait list), which never park while held.
//!
//! A channel's critical sections are a few dozen instructions and never park (the
//! waiter protocol releases the lock before any goroutine or thread waits), so a
//! contender is better off spinning briefly than sleeping in the kernel: a futex sleep
//! and wake-up costs microseconds, two orders of magnitude more than the wait. After a
//! short exponential back-off the contender yields its thread to the OS, which covers
//! the one case where spinning is wasted: the holder's thread was preempted.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
pub(crate) struct SpinLock {
    locked: AtomicBool,
}

/// Holds a [`SpinLock`] until dropped.
pub(crate) struct SpinGuard<'a> {
    lock: &'a SpinLock,
}

impl SpinLock {
    pub(crate) const fn new() -> SpinLock {
        SpinLock {
            locked: AtomicBool::new(false),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    /// Take the lock only if it is free now.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<SpinGuard<'_>> {
        // Look before the compare-exchange: a failed one still takes the line from the
        // holder, slowing the critical section we would rather see finish.
        (!self.locked.load(Ordering::Relaxed)
            && self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok())
        // `then`, not `then_some`: a guard built eagerly on failure would unlock
        // the holder's lock when dropped.
        .then(|| SpinGuard { lock: self })
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            // Test before test-and-set, so waiters share the line instead of bouncing it.
            while self.locked.load(Ordering::Relaxed) {
                if spins < 10 {
                    for _ in 0..(1u32 << spins) {
                        std::hint::spin_loop();
                    }
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl Drop for SpinGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::UnsafeCell;
    use std::sync::Arc;

    struct Counter {
        lock: SpinLock,
        value: UnsafeCell<u64>,
    }
    // SAFETY: `value` is only touched with `lock` held.
    unsafe impl Sync for Counter {}

    #[test]
    fn a_failed_try_lock_leaves_the_holder_locked() {
        let lock = SpinLock::default();
        let held = lock.lock();
        assert!(lock.try_lock().is_none());
        assert!(
            lock.try_lock().is_none(),
            "a failed try_lock released the holder's lock"
        );
        drop(held);
        let again = lock.try_lock();
        assert!(again.is_some());
        assert!(lock.try_lock().is_none());
    }

    #[test]
    fn mutual_exclusion_under_contention() {
        // Fewer rounds under Miri (scripts/miri.sh), which checks each access for races.
        const ROUNDS: u64 = if cfg!(miri) { 200 } else { 100_000 };
        let c = Arc::new(Counter {
            lock: SpinLock::default(),
            value: UnsafeCell::new(0),
        });
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let _g = c.lock.lock();
                        // SAFETY: the lock is held.
                        unsafe { *c.value.get() += 1 };
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let _g = c.lock.lock();
        // SAFETY: the lock is held.
        assert_eq!(unsafe { *c.value.get() }, 4 * ROUNDS);
    }
}
