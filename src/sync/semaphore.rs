//! `Semaphore`: a counting semaphore whose permits are guards.

use std::sync::Arc;

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

    /// [`acquire`](Self::acquire) on a shared semaphore, for a permit that outlives the
    /// borrow: taken before `go`, moved into the goroutine, released when it finishes
    /// (Go's `sem <- struct{}{}` before `go`; tokio's `acquire_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goru::sync::Semaphore;
    /// goru::run(|| {
    ///     let sem = Arc::new(Semaphore::new(2));
    ///     let jobs: Vec<_> = (0..6)
    ///         .map(|i| {
    ///             let permit = sem.clone().acquire_owned(); // parks while two run
    ///             goru::go(move || {
    ///                 let _permit = permit;
    ///                 i * i
    ///             })
    ///         })
    ///         .collect();
    ///     assert_eq!(jobs.into_iter().map(|j| j.join().unwrap()).sum::<i32>(), 55);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> OwnedSemaphorePermit {
        self.acquire().forget();
        OwnedSemaphorePermit { sem: self }
    }

    /// [`try_acquire`](Self::try_acquire) for an owned permit.
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_acquire()?.forget();
        Some(OwnedSemaphorePermit { sem: self })
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

/// A permit of a shared [`Semaphore`] that owns its reference to it
/// ([`Semaphore::acquire_owned`]), so it may move into a goroutine; released when
/// dropped.
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
}

impl OwnedSemaphorePermit {
    /// Keep the permit taken for good (it is never released).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release();
        crate::sched::driver::switch_point("semaphore release");
    }
}

impl std::fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .finish_non_exhaustive()
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
