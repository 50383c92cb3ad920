//! What the deadlock detector can see: whether anything outside one runtime has ever
//! touched a channel, lock or wait group.
//!
//! A goroutine parked on a primitive that a plain thread (or a goroutine of another
//! runtime) has used may be woken by that thread, out of the runtime's sight, so the
//! detector must not count it as stuck. Each primitive carries a [`Sight`]: the id of
//! the one runtime whose goroutines have used it, or *foreign* once anything else
//! has. A primitive made on a plain thread starts foreign; one made by a `const fn`
//! (a `static Mutex`) starts unclaimed and belongs to its first user.
//!
//! # Why a report stays certain
//!
//! A goroutine notes, as it parks, whether what it waits on is foreign
//! (`Goroutine::park_seen`) and the [`epoch`]: the count of primitives that have
//! turned foreign in this process. A primitive may turn foreign after a goroutine
//! parked on it (a plain thread's failed `try_recv`, say, before its `send`); then the
//! epoch has moved past the goroutine's. The detector reports only when every parked
//! goroutine parked at the current epoch, so that each one's note is still true. The
//! flag is stored before the epoch is bumped, and a parker reads the epoch before the
//! flag (both `SeqCst`), so a parker that saw the flag clear saw an older epoch.
//!
//! The cost on every operation is one call reading a thread-local and one load from
//! the primitive; the slow path runs once per primitive and thread kind.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Not used by any runtime yet (a `const`-made primitive).
const UNCLAIMED: u64 = 0;
/// Used from outside a runtime, or from two of them.
const FOREIGN: u64 = u64::MAX;

/// Primitives that have turned foreign so far (see the module docs).
static EPOCH: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The id of the runtime whose worker this thread is; `FOREIGN` on other threads.
    static THREAD_RUNTIME: Cell<u64> = const { Cell::new(FOREIGN) };
}

/// The runtime the calling thread works for, or `FOREIGN`.
///
/// Inlined, unlike goru's other thread-local accessors (`sched::context`), because it
/// runs on every channel and lock operation. That is sound here: a goroutine only
/// ever moves between the worker threads of its own runtime, which all hold the same
/// value and outlive its every resume, so even an address the compiler kept across a
/// switch reads the right value from a live thread's slot, which nobody writes while
/// goroutines run.
#[inline]
fn thread_runtime() -> u64 {
    THREAD_RUNTIME.with(Cell::get)
}

/// A worker (or the deterministic driver) starts or stops serving runtime `id` on this
/// thread (0: none). Returns the previous value, to put back.
pub(crate) fn set_thread_runtime(id: u64) -> u64 {
    THREAD_RUNTIME.with(|c| c.replace(if id == 0 { FOREIGN } else { id }))
}

/// Undo [`set_thread_runtime`] with what it returned.
pub(crate) fn restore_thread_runtime(previous: u64) {
    THREAD_RUNTIME.with(|c| c.set(previous));
}

/// The process's count of primitives turned foreign.
pub(crate) fn epoch() -> u64 {
    EPOCH.load(Ordering::SeqCst)
}

/// Who has used one primitive (module docs).
#[derive(Debug)]
pub(crate) struct Sight(AtomicU64);

impl Sight {
    /// For a primitive made by a `const fn`: its first user claims it.
    pub(crate) const fn unclaimed() -> Sight {
        Sight(AtomicU64::new(UNCLAIMED))
    }

    /// For a primitive made now: it belongs to the caller's runtime, or is foreign if
    /// made on a plain thread.
    pub(crate) fn here() -> Sight {
        // No epoch for one born foreign: nobody can have parked on it before.
        Sight(AtomicU64::new(thread_runtime()))
    }

    /// Note a use by the calling thread.
    #[inline]
    pub(crate) fn touch(&self) {
        let me = thread_runtime();
        if self.0.load(Ordering::Relaxed) != me {
            self.touch_slow(me);
        }
    }

    #[cold]
    #[inline(never)]
    fn touch_slow(&self, me: u64) {
        if me != FOREIGN
            && self
                .0
                .compare_exchange(UNCLAIMED, me, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            return; // claimed by the first user's runtime
        }
        self.make_foreign();
    }

    /// Mark as used from outside (a context made on a plain thread hands this on).
    pub(crate) fn make_foreign(&self) {
        if self.0.load(Ordering::Relaxed) != FOREIGN
            && self.0.swap(FOREIGN, Ordering::SeqCst) != FOREIGN
        {
            EPOCH.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Whether something outside one runtime has used it (read as a goroutine parks,
    /// after [`epoch`]).
    pub(crate) fn is_foreign(&self) -> bool {
        self.0.load(Ordering::SeqCst) == FOREIGN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_thread_makes_it_foreign_and_moves_the_epoch() {
        let before = epoch();
        let made_here = Sight::here();
        assert!(made_here.is_foreign(), "made on a plain thread");
        let s = Sight::unclaimed();
        let previous = set_thread_runtime(7);
        s.touch();
        s.touch();
        assert!(!s.is_foreign(), "claimed by runtime 7");
        assert_eq!(epoch(), before, "a claim is no epoch");
        restore_thread_runtime(previous);
        s.touch(); // from a plain thread
        assert!(s.is_foreign());
        assert!(epoch() > before);
    }

    #[test]
    fn another_runtime_makes_it_foreign() {
        let previous = set_thread_runtime(3);
        let s = Sight::here();
        assert!(!s.is_foreign());
        set_thread_runtime(4);
        s.touch();
        assert!(s.is_foreign());
        restore_thread_runtime(previous);
    }
}
