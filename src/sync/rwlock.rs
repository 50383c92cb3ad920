//! `RwLock`: many readers or one writer; a waiting writer stops new readers.
//!
//! All state sits under the wait list's spin lock: `readers` holding, whether a
//! `writer` holds, and how many writers wait. A reader enters only when no writer holds
//! *or waits*, so a stream of readers cannot starve a writer (Go's `RWMutex` rule).
//! Waiters are served in arrival order: on release, a writer at the front gets the
//! lock alone, or the readers at the front get it together. Ownership is handed over
//! under the lock (the granter updates the counts), so a woken waiter has nothing to
//! race for.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use crate::park::waitlist::{Locked, WaitList, Waiter};
use crate::park::WaitReason;

const READER: u8 = 0;
const WRITER: u8 = 1;
const GRANTED: u8 = 1;

#[derive(Default)]
struct State {
    readers: usize,
    writer: bool,
    writers_waiting: usize,
}

/// A reader-writer lock whose waiters park (as Go's `sync.RWMutex`, holding the data).
///
/// ```
/// let lock = goru::sync::RwLock::new(vec![1, 2]);
/// {
///     let a = lock.read();
///     let b = lock.read(); // readers share
///     assert_eq!(a.len() + b.len(), 4);
/// }
/// lock.write().push(3);
/// assert_eq!(*lock.read(), vec![1, 2, 3]);
/// ```
pub struct RwLock<T: ?Sized> {
    list: WaitList<State>,
    data: UnsafeCell<T>,
}

// SAFETY: readers share &T (T: Sync), a writer gets &mut T alone; T moves with
// holders across threads (T: Send).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to a [`RwLock`]'s data.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive access to a [`RwLock`]'s data.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T> RwLock<T> {
    /// A new unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            list: WaitList::new(State {
                readers: 0,
                writer: false,
                writers_waiting: 0,
            }),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Lock for reading; parks while a writer holds or waits.
    ///
    /// ```
    /// let lock = goru::sync::RwLock::new(5);
    /// {
    ///     let (a, b) = (lock.read(), lock.read()); // readers share
    ///     assert_eq!(*a + *b, 10);
    /// }
    /// *lock.write() += 1; // a writer is alone
    /// assert_eq!(*lock.read(), 6);
    /// ```
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        crate::sched::driver::switch_point("sync.RWMutex.RLock");
        let mut list = self.list.lock();
        let st = list.state();
        if !st.writer && st.writers_waiting == 0 {
            st.readers += 1;
        } else {
            list.wait(&Waiter::new(READER), WaitReason::RwLockRLock);
        }
        RwLockReadGuard { lock: self }
    }

    /// Lock for writing; parks while anyone holds it.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        crate::sched::driver::switch_point("sync.RWMutex.Lock");
        let mut list = self.list.lock();
        let st = list.state();
        if !st.writer && st.readers == 0 {
            st.writer = true;
        } else {
            st.writers_waiting += 1;
            list.wait(&Waiter::new(WRITER), WaitReason::RwLockLock);
        }
        RwLockWriteGuard { lock: self }
    }

    /// Lock for reading only if possible now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        crate::sched::driver::switch_point("sync.RWMutex.TryRLock");
        let mut list = self.list.lock();
        let st = list.state();
        (!st.writer && st.writers_waiting == 0).then(|| {
            st.readers += 1;
            RwLockReadGuard { lock: self }
        })
    }

    /// Lock for writing only if possible now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        crate::sched::driver::switch_point("sync.RWMutex.TryLock");
        let mut list = self.list.lock();
        let st = list.state();
        (!st.writer && st.readers == 0).then(|| {
            st.writer = true;
            RwLockWriteGuard { lock: self }
        })
    }

    /// The data, without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> std::fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard means no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        let mut list = self.lock.list.lock();
        list.state().readers -= 1;
        if list.state().readers == 0 {
            grant_next(&mut list);
        }
        drop(list);
        crate::sched::driver::switch_point("sync.RWMutex.RUnlock");
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard means we hold the lock alone.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard means we hold the lock alone.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        let mut list = self.lock.list.lock();
        list.state().writer = false;
        grant_next(&mut list);
        drop(list);
        crate::sched::driver::switch_point("sync.RWMutex.Unlock");
    }
}

/// On release: hand the lock to the waiters at the front (module docs).
fn grant_next(list: &mut Locked<'_, State>) {
    match list.front() {
        Some((WRITER, _)) => {
            let st = list.state();
            if st.readers == 0 && !st.writer {
                st.writer = true;
                st.writers_waiting -= 1;
                list.signal_front(GRANTED);
            }
        }
        Some(_) => {
            // Admit the readers at the front, together.
            while let Some((READER, _)) = list.front() {
                list.state().readers += 1;
                list.signal_front(GRANTED);
            }
        }
        None => {}
    }
}
