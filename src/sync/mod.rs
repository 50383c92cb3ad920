//! Synchronisation: Go's `sync` package (and `errgroup`), parking goroutines, never
//! their worker threads, and working from plain threads too.
//!
//! Every waiting type is built on the runtime's one waiting mechanism, a FIFO of parked
//! waiters (`park::waitlist`), so a goroutine blocked on any of them frees its worker.

mod cond;
mod errgroup;
mod mutex;
mod once;
mod rwlock;
mod semaphore;
mod waitgroup;

pub use cond::Cond;
pub use errgroup::ErrGroup;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use waitgroup::WaitGroup;
