//! `Semaphore`: a counting semaphore whose permits are guards.

use crate::park::waitlist::{WaitList, Waiter};
use crate::park::WaitReason;

/// Permits handed out in arrival order; a released permit goes straight to the first
/// waiter, so none is starved by newcomers.
///
/// ```
/// let sem = goru::sync::Semaphore::new(2);
/// let a = sem.acquire();
/// let _b = sem.acquire();
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert!(sem.try_acquire().is_some());
/// ```
pub struct Semaphore {
    list: WaitList<usize>,
}

/// One permit of a [`Semaphore`]; released when dropped.
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` available.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            list: WaitList::new(permits),
        }
    }

    /// Take a permit, parking until one is available.
    ///
    /// ```
    /// let sem = goru::sync::Semaphore::new(2);
    /// let a = sem.acquire();
    /// let _b = sem.acquire();
    /// assert!(sem.try_acquire().is_none(), "both permits are out");
    /// drop(a); // returns its permit
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        crate::sched::driver::switch_point("semaphore acquire");
        let mut list = self.list.lock();
        if *list.state() > 0 && list.is_empty() {
            *list.state() -= 1;
        } else {
            list.wait(&Waiter::new(0), WaitReason::SemAcquire); // a releaser hands us its permit
        }
        SemaphorePermit { sem: self }
    }

    /// Take a permit only if one is available now (and nobody is queued for one).
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        crate::sched::driver::switch_point("semaphore try_acquire");
        let mut list = self.list.lock();
        (*list.state() > 0 && list.is_empty()).then(|| {
            *list.state() -= 1;
            SemaphorePermit { sem: self }
        })
    }

    /// Permits available now.
    pub fn available_permits(&self) -> usize {
        *self.list.lock().state()
    }

    pub(crate) fn release(&self) {
        let mut list = self.list.lock();
        if !list.signal_front(1) {
            *list.state() += 1;
        }
    }
}

impl SemaphorePermit<'_> {
    /// Keep the permit taken for good (it is never released).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release();
        crate::sched::driver::switch_point("semaphore release");
    }
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available_permits())
            .finish()
    }
}

impl std::fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
