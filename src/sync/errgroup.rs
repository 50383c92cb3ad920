//! `ErrGroup`: goroutines that return `Result`, after Go's `errgroup`.

use std::sync::{Arc, Mutex};

use super::{Semaphore, WaitGroup};
use crate::context::{self, CancelFn, Context};

/// Runs goroutines that may fail; [`wait`](ErrGroup::wait) returns the first error.
///
/// With [`with_context`](ErrGroup::with_context), the first error also cancels a context
/// the goroutines can watch. With [`set_limit`](ErrGroup::set_limit), at most that many
/// run at once: [`go`](ErrGroup::go) parks until one finishes.
///
/// ```
/// use goru::sync::ErrGroup;
/// goru::run(|| {
///     let mut group = ErrGroup::new();
///     group.set_limit(2);
///     for i in 0..5 {
///         group.go(move || if i == 3 { Err(format!("job {i} failed")) } else { Ok(()) });
///     }
///     assert_eq!(group.wait(), Err("job 3 failed".to_string()));
/// });
/// ```
pub struct ErrGroup<E: Send + 'static> {
    wg: WaitGroup,
    first_error: Arc<Mutex<Option<E>>>,
    cancel: Option<Arc<CancelFn>>,
    limit: Option<Arc<Semaphore>>,
}

impl<E: Send + 'static> ErrGroup<E> {
    /// A group without a context or a limit.
    pub fn new() -> Self {
        ErrGroup {
            wg: WaitGroup::new(),
            first_error: Arc::new(Mutex::new(None)),
            cancel: None,
            limit: None,
        }
    }

    /// A group and a context derived from `parent` that is cancelled at the first error
    /// (or when `wait` returns).
    pub fn with_context(parent: &Context) -> (Self, Context) {
        let (ctx, cancel) = context::with_cancel(parent);
        let mut group = ErrGroup::new();
        group.cancel = Some(Arc::new(cancel));
        (group, ctx)
    }

    /// Run at most `n` goroutines of this group at once (call before `go`).
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn set_limit(&mut self, n: usize) {
        assert!(n > 0, "errgroup: a limit must be positive");
        self.limit = Some(Arc::new(Semaphore::new(n)));
    }

    /// Start `f` in a goroutine (parking first while the limit is reached).
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        if let Some(limit) = &self.limit {
            limit.acquire().forget(); // released by the goroutine below
        }
        self.start(f);
    }

    /// Start `f` in a goroutine only if the limit allows one more now (Go's `TryGo`);
    /// false, and `f` dropped unrun, if it does not.
    ///
    /// ```
    /// use goru::sync::ErrGroup;
    /// goru::run(|| {
    ///     let mut group = ErrGroup::<String>::new();
    ///     group.set_limit(1);
    ///     let (tx, rx) = goru::chan::bounded::<()>(0);
    ///     assert!(group.try_go(move || { rx.recv().unwrap(); Ok(()) }));
    ///     assert!(!group.try_go(|| Ok(())), "the one slot is taken");
    ///     tx.send(()).unwrap();
    ///     assert_eq!(group.wait(), Ok(()));
    /// });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        if let Some(limit) = &self.limit {
            match limit.try_acquire() {
                Some(permit) => permit.forget(), // released by the goroutine
                None => return false,
            }
        }
        self.start(f);
        true
    }

    #[track_caller]
    fn start<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        self.wg.add(1);
        let finish = Finish {
            wg: self.wg.clone(),
            limit: self.limit.clone(),
        };
        let first_error = self.first_error.clone();
        let cancel = self.cancel.clone();
        drop(crate::go(move || {
            let _finish = finish; // done() and the permit, even if `f` panics
            if let Err(e) = f() {
                let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                if first.is_none() {
                    *first = Some(e);
                    drop(first);
                    if let Some(c) = cancel {
                        c.cancel();
                    }
                }
            }
        }));
    }

    /// Wait for every goroutine of the group; the first error, if any.
    pub fn wait(self) -> Result<(), E> {
        self.wg.wait();
        if let Some(c) = &self.cancel {
            c.cancel();
        }
        match self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    fn default() -> Self {
        ErrGroup::new()
    }
}

impl<E: Send + 'static> std::fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrGroup")
            .field("running", &self.wg.count())
            .finish_non_exhaustive()
    }
}

/// Marks one goroutine of the group finished, however it ends.
struct Finish {
    wg: WaitGroup,
    limit: Option<Arc<Semaphore>>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if let Some(limit) = &self.limit {
            limit.release();
        }
        self.wg.done();
    }
}
