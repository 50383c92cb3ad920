//! The atomics and cells that goru's lock-free protocols are written against, so that
//! the model checks in `models/` can compile those same files with loom's instead.
//!
//! Each protocol file listed there (the run queue, the goroutine state word, the
//! `Selection` claim, the timer claim) takes its atomics from `crate::loom::atomic`
//! and its cells from `crate::loom::cell`, and nothing else that is not a stub away:
//! `models/` includes the file with `#[path]` beside its own `loom` module, which
//! re-exports `loom::sync::atomic` and `loom::cell`. Here they are std's, at no cost:
//! the cell wrapper's closures inline to a plain pointer access.

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};
}

pub(crate) mod cell {
    /// `std::cell::UnsafeCell` with loom's access API (`with_mut`), through
    /// which loom checks that no two threads touch the value at once.
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Write through the pointer `f` is given; the caller's protocol excludes
        /// every other access meanwhile.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
