//! The one way anything in goru waits.
//!
//! [`park`] suspends the caller until some other party calls [`Unparker::unpark`] on the
//! caller's unparker (obtained beforehand with [`current`]). Inside a goroutine only the
//! goroutine is suspended and its worker thread runs other goroutines; on a plain OS
//! thread the thread itself blocks. Channels, locks, timers and sockets are all built on
//! this pair, so each of them works from goroutines and threads alike.
//!
//! # Contract
//!
//! The pair has *token* semantics, like `std::thread::park`: an `unpark` that happens
//! before the `park` makes that `park` return at once, several unparks before one park
//! count as one, and `park` may also return spuriously. Every caller therefore waits in
//! a loop around its own condition:
//!
//! ```text
//! register current() where the waker will find it
//! while !condition() { park(reason) }
//! ```
//!
//! This is what makes it immune to lost wake-ups: the waker may run at any moment
//! between the registration and the suspension, and the token carries the news across.
//!
//! Every park names a [`WaitReason`] (in Go's words) for the goroutine dump.

pub(crate) mod sight;
pub(crate) mod spin;
pub(crate) mod waitlist;

use std::sync::{Arc, Condvar, Mutex};

use crate::goroutine::{self, GoRef};

/// Why a goroutine is parked, in the words Go's own goroutine dump uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not waiting.
    None = 0,
    /// Waiting in `JoinHandle::join`.
    Join,
    /// Waiting in `goru::scope` for its goroutines.
    Scope,
    /// Waiting in `time::sleep`.
    Sleep,
    /// Waiting to receive from a channel.
    ChanReceive,
    /// Waiting to send on a channel.
    ChanSend,
    /// Waiting in `select!`.
    Select,
    /// Waiting in `select!` with no cases.
    SelectNoCases,
    /// Waiting for a `sync::Mutex`.
    MutexLock,
    /// Waiting for a `sync::RwLock` read lock.
    RwLockRLock,
    /// Waiting for a `sync::RwLock` write lock.
    RwLockLock,
    /// Waiting in `WaitGroup::wait`.
    WaitGroupWait,
    /// Waiting in `Cond::wait`.
    CondWait,
    /// Waiting for another caller of `Once::call_once`.
    OnceWait,
    /// Waiting for a semaphore permit.
    SemAcquire,
    /// Waiting for a socket to become ready.
    IoWait,
    /// Waiting for a call running on the blocking pool.
    Blocking,
    /// Waiting in `goru::block_on` for a future to be woken.
    Future,
}

impl WaitReason {
    /// How many reasons there are (`None` included).
    pub(crate) const COUNT: usize = 18;

    pub(crate) fn from_u8(v: u8) -> WaitReason {
        const ALL: [WaitReason; WaitReason::COUNT] = [
            WaitReason::None,
            WaitReason::Join,
            WaitReason::Scope,
            WaitReason::Sleep,
            WaitReason::ChanReceive,
            WaitReason::ChanSend,
            WaitReason::Select,
            WaitReason::SelectNoCases,
            WaitReason::MutexLock,
            WaitReason::RwLockRLock,
            WaitReason::RwLockLock,
            WaitReason::WaitGroupWait,
            WaitReason::CondWait,
            WaitReason::OnceWait,
            WaitReason::SemAcquire,
            WaitReason::IoWait,
            WaitReason::Blocking,
            WaitReason::Future,
        ];
        ALL.get(v as usize).copied().unwrap_or(WaitReason::None)
    }

    /// The reason as Go's goroutine dump prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "",
            WaitReason::Join => "join",
            WaitReason::Scope => "scope wait",
            WaitReason::Sleep => "sleep",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::MutexLock => "sync.Mutex.Lock",
            WaitReason::RwLockRLock => "sync.RWMutex.RLock",
            WaitReason::RwLockLock => "sync.RWMutex.Lock",
            WaitReason::WaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::CondWait => "sync.Cond.Wait",
            WaitReason::OnceWait => "sync.Once.Do",
            WaitReason::SemAcquire => "semacquire",
            WaitReason::IoWait => "IO wait",
            WaitReason::Blocking => "blocking call",
            WaitReason::Future => "future",
        }
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parks and unparks a plain OS thread (also a worker thread that has nothing to run).
#[derive(Default)]
pub(crate) struct ThreadParker {
    token: Mutex<bool>,
    cvar: Condvar,
}

impl ThreadParker {
    pub(crate) fn park(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        while !*token {
            token = self.cvar.wait(token).unwrap_or_else(|e| e.into_inner());
        }
        *token = false;
    }

    /// Park for at most `timeout`; returns early on an unpark (or spuriously).
    pub(crate) fn park_timeout(&self, timeout: std::time::Duration) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !*token {
            token = self
                .cvar
                .wait_timeout(token, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *token = false;
    }

    /// Consume a pending token without blocking; true if there was one.
    pub(crate) fn try_take_token(&self) -> bool {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *token, false)
    }

    pub(crate) fn unpark(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !*token {
            *token = true;
            self.cvar.notify_one();
        }
    }
}

thread_local! {
    static THREAD_PARKER: Arc<ThreadParker> = Arc::new(ThreadParker::default());
}

/// A handle that wakes one parked goroutine or thread, or one future's task. Cheap to
/// clone.
#[derive(Clone)]
pub(crate) enum Unparker {
    Goroutine(GoRef),
    Thread(Arc<ThreadParker>),
    /// A future waiting through its `Waker` (an async receive or send, a join awaited,
    /// socket readiness polled): whoever polls it learns the news.
    Waker(std::task::Waker),
}

impl Unparker {
    /// Wake the waiter (consuming the handle, which is done with).
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Goroutine(g) => g.unpark(),
            Unparker::Thread(t) => t.unpark(),
            Unparker::Waker(w) => w.wake(),
        }
    }
}

/// The calling goroutine or thread, named without a count on the goroutine: for a
/// wait record that the waiter keeps on its own stack and cannot leave before the
/// counterpart is done with it (a channel `Selection`, which saves a reference-count
/// increment and decrement per wait on the hottest path goru has).
pub(crate) enum RawUnparker {
    Goroutine(*const goroutine::Goroutine),
    Thread(Arc<ThreadParker>),
    Waker(std::task::Waker),
}

impl RawUnparker {
    #[inline]
    pub(crate) fn current() -> RawUnparker {
        match goroutine::current_ptr() {
            Some(g) => RawUnparker::Goroutine(g),
            None => RawUnparker::Thread(thread_parker()),
        }
    }

    /// # Safety
    /// A goroutine named here has not finished and cannot finish before this call
    /// returns (its wait is not over until the caller says so).
    #[inline]
    pub(crate) unsafe fn unpark(self) {
        match self {
            // SAFETY: per the contract.
            RawUnparker::Goroutine(g) => unsafe { goroutine::unpark_ptr(g) },
            RawUnparker::Thread(t) => t.unpark(),
            RawUnparker::Waker(w) => w.wake(),
        }
    }
}

/// The calling thread's parker. In a thread-local's destructor, once `THREAD_PARKER`
/// is gone, one kept for the thread by its kernel id: a blocking channel operation in
/// such a destructor then works (crossbeam's does) instead of aborting the process
/// with "cannot access a Thread Local Storage value during or after destruction".
#[inline]
fn thread_parker() -> Arc<ThreadParker> {
    THREAD_PARKER
        .try_with(Arc::clone)
        .unwrap_or_else(|_| parker_after_destruction())
}

#[cold]
#[inline(never)]
fn parker_after_destruction() -> Arc<ThreadParker> {
    // One per thread id ever seen here: a later thread with a reused id gets the
    // same parker, whose stale token at worst wakes it spuriously (callers re-check).
    static PARKERS: Mutex<Vec<(libc::c_long, Arc<ThreadParker>)>> = Mutex::new(Vec::new());
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    let mut parkers = PARKERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, parker)) = parkers.iter().find(|(t, _)| *t == tid) {
        return parker.clone();
    }
    let parker = Arc::new(ThreadParker::default());
    parkers.push((tid, parker.clone()));
    parker
}

/// The unparker of the calling goroutine, or of the calling thread outside goroutines.
pub(crate) fn current() -> Unparker {
    match goroutine::current() {
        Some(g) => Unparker::Goroutine(g),
        None => Unparker::Thread(thread_parker()),
    }
}

/// Block the calling plain thread until unparked or until `d` has passed.
pub(crate) fn park_thread_timeout(d: std::time::Duration) {
    thread_parker().park_timeout(d);
}

/// Suspend the caller until its unparker is used (see the module contract).
pub(crate) fn park(reason: WaitReason) {
    match goroutine::current_ptr() {
        // SAFETY: current_ptr returns the goroutine running on this thread, which is
        // alive for as long as it runs (the worker holds a reference).
        Some(g) => unsafe { (*g).park(reason) },
        None => thread_parker().park(),
    }
}

/// [`park`] on a primitive with a [`Sight`](sight::Sight): a goroutine parked on one
/// used from outside its runtime is never reported as deadlocked.
pub(crate) fn park_on(reason: WaitReason, sight: &sight::Sight) {
    match goroutine::current_ptr() {
        // SAFETY: as in `park`.
        Some(g) => unsafe { (*g).park_seen(reason, || sight.is_foreign()) },
        None => thread_parker().park(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// A one-slot mailbox built directly on park/unpark: the receiver registers its
    /// unparker, then parks until the value is there. A lost wake-up hangs it, so every
    /// round runs under a watchdog.
    struct Mailbox {
        value: AtomicU64,
        waiter: Mutex<Option<Unparker>>,
    }

    impl Mailbox {
        fn put(&self, v: u64) {
            self.value.store(v, Ordering::Release);
            let waiter = self.waiter.lock().unwrap().take();
            if let Some(w) = waiter {
                w.unpark();
            }
        }

        fn take(&self, reason: WaitReason) -> u64 {
            loop {
                *self.waiter.lock().unwrap() = Some(current());
                let v = self.value.swap(0, Ordering::AcqRel);
                if v != 0 {
                    return v;
                }
                park(reason);
            }
        }
    }

    fn ping_pong(rounds: u64, workers: usize, pong_on_thread: bool) {
        // On a thread of its own, so that a lost wake-up fails the test (its thread
        // gives up waiting) rather than hanging it, as a watchdog that panics on a
        // thread of its own would.
        let (finished_tx, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let rt = crate::Runtime::builder().workers(workers).build().unwrap();
            rt.run(move || {
                let ping = std::sync::Arc::new(Mailbox {
                    value: AtomicU64::new(0),
                    waiter: Mutex::new(None),
                });
                let pong = std::sync::Arc::new(Mailbox {
                    value: AtomicU64::new(0),
                    waiter: Mutex::new(None),
                });
                let (ping2, pong2) = (ping.clone(), pong.clone());
                let echo = move || {
                    for _ in 0..rounds {
                        let v = ping2.take(WaitReason::ChanReceive);
                        pong2.put(v + 1);
                    }
                };
                let thread = if pong_on_thread {
                    Some(std::thread::spawn(echo))
                } else {
                    crate::go(echo);
                    None
                };
                for i in 1..=rounds {
                    ping.put(i * 2);
                    assert_eq!(pong.take(WaitReason::ChanReceive), i * 2 + 1);
                }
                if let Some(t) = thread {
                    t.join().unwrap();
                }
            });
            let _ = finished_tx.send(());
        });
        match finished.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("ping-pong hung: a wake-up was lost")
            }
            // Its panic (a wrong value) was printed by the thread.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("ping-pong failed"),
        }
    }

    #[test]
    fn no_lost_wakeups_between_goroutines() {
        for workers in [1, 2, 4] {
            ping_pong(50_000, workers, false);
        }
    }

    #[test]
    fn no_lost_wakeups_between_a_goroutine_and_a_thread() {
        ping_pong(20_000, 2, true);
    }

    #[test]
    fn reasons_round_trip() {
        for v in 0..=17u8 {
            assert_eq!(WaitReason::from_u8(v) as u8, v);
        }
        assert_eq!(WaitReason::ChanReceive.to_string(), "chan receive");
    }
}
