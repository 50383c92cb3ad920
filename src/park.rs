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
}

impl WaitReason {
    pub(crate) fn from_u8(v: u8) -> WaitReason {
        const ALL: [WaitReason; 17] = [
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

/// A handle that wakes one parked goroutine or thread. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Unparker {
    Goroutine(GoRef),
    Thread(Arc<ThreadParker>),
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        match self {
            Unparker::Goroutine(g) => g.unpark(),
            Unparker::Thread(t) => t.unpark(),
        }
    }

    /// The goroutine this unparker wakes, if it wakes a goroutine.
    #[allow(dead_code)]
    pub(crate) fn goroutine_id(&self) -> Option<u64> {
        match self {
            Unparker::Goroutine(g) => Some(g.id),
            Unparker::Thread(_) => None,
        }
    }
}

/// The unparker of the calling goroutine, or of the calling thread outside goroutines.
pub(crate) fn current() -> Unparker {
    match goroutine::current() {
        Some(g) => Unparker::Goroutine(g),
        None => Unparker::Thread(THREAD_PARKER.with(Arc::clone)),
    }
}

/// Suspend the caller until its unparker is used (see the module contract).
pub(crate) fn park(reason: WaitReason) {
    match goroutine::current_ptr() {
        // SAFETY: current_ptr returns the goroutine running on this thread, which is
        // alive for as long as it runs (the worker holds a reference).
        Some(g) => unsafe { (*g).park(reason) },
        None => THREAD_PARKER.with(|p| p.clone()).park(),
    }
}
