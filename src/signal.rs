//! Signals on channels, as Go's `os/signal` (on signal-hook).
//!
//! [`notify`] returns a channel that receives the signals asked for, the first thing a
//! Go server sets up to shut down gracefully; [`context::with_signals`] is Go's
//! `signal.NotifyContext`. Handlers are installed through signal-hook's registry,
//! which chains to handlers installed before (goru's SIGQUIT dump among them).
//!
//! ```no_run
//! goru::run(|| {
//!     let signals = goru::signal::notify(&[libc::SIGINT, libc::SIGTERM]);
//!     // ... start the server ...
//!     let sig = signals.recv().unwrap();
//!     println!("got signal {sig}, shutting down");
//! });
//! ```
//!
//! [`context::with_signals`]: crate::context::with_signals

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::chan::{self, Receiver, Sender};

/// Subscriptions alive now. While there is one, a goroutine waiting for a signal may be
/// woken from outside the runtime, so the deadlock detector stays quiet.
static SUBSCRIPTIONS: AtomicUsize = AtomicUsize::new(0);

/// Whether some `notify` is still delivering (for the deadlock detector).
pub(crate) fn subscribed() -> bool {
    SUBSCRIPTIONS.load(Ordering::SeqCst) > 0
}

/// Deliver each of `signals` that arrives to the returned channel, as Go's
/// `signal.Notify`. A signal that arrives while nobody is receiving is kept, one per
/// signal (more of the same coalesce, as in Go's runtime), never queued without bound:
/// at most the one being handed over plus one pending of each signal. None is lost.
/// Dropping the receiver stops the delivery. Works in goroutines and on plain threads.
///
/// # Panics
/// For a signal that cannot be caught or must not be (SIGKILL, SIGSTOP, SIGSEGV,
/// SIGBUS, SIGILL, SIGFPE), naming it.
pub fn notify(signals: &[i32]) -> Receiver<i32> {
    for &sig in signals {
        if signal_hook::consts::FORBIDDEN.contains(&sig) {
            panic!(
                "goru::signal::notify: signal {} ({sig}) cannot be caught",
                name(sig)
            );
        }
    }
    let mut iter = signal_hook::iterator::Signals::new(signals)
        .unwrap_or_else(|e| panic!("goru::signal::notify: cannot install handlers: {e}"));
    let handle = iter.handle();
    let pending = Arc::new(Pending::new(signals));
    let (tx, rx) = chan::bounded(0);
    SUBSCRIPTIONS.fetch_add(1, Ordering::SeqCst);
    // The listener: coalesces what arrives into the pending flags.
    let listening = pending.clone();
    std::thread::Builder::new()
        .name("goru-signal".into())
        .spawn(move || {
            for sig in iter.forever() {
                listening.raise(sig);
            }
            listening.close(); // the relay below closed our handle
        })
        .expect("goru::signal::notify: cannot start its thread");
    // The relay: hands pending signals over one at a time, until the receiver goes.
    std::thread::Builder::new()
        .name("goru-signal-relay".into())
        .spawn(move || {
            relay(&pending, &tx);
            handle.close(); // stop listening: the listener thread ends
            SUBSCRIPTIONS.fetch_sub(1, Ordering::SeqCst);
        })
        .expect("goru::signal::notify: cannot start its thread");
    rx
}

/// Send pending signals until the receiver is dropped.
fn relay(pending: &Pending, tx: &Sender<i32>) {
    while let Some(sig) = pending.take(|| !tx.has_receivers()) {
        if tx.send(sig).is_err() {
            return; // every receiver is gone
        }
    }
}

/// The signals of one subscription, raised but not yet handed over (one flag each).
struct Pending {
    flags: Vec<(i32, AtomicBool)>,
    state: Mutex<bool>, // true once the listener has ended
    wake: Condvar,
}

impl Pending {
    fn new(signals: &[i32]) -> Pending {
        Pending {
            flags: signals
                .iter()
                .map(|&s| (s, AtomicBool::new(false)))
                .collect(),
            state: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    fn raise(&self, sig: i32) {
        if let Some((_, flag)) = self.flags.iter().find(|(s, _)| *s == sig) {
            let _guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            flag.store(true, Ordering::SeqCst);
            self.wake.notify_all();
        }
    }

    fn close(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    /// The next raised signal, waiting for one; `None` once the listener ended or
    /// `gone` says nobody receives (checked every 100 ms while waiting).
    fn take(&self, gone: impl Fn() -> bool) -> Option<i32> {
        let mut closed = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some((sig, flag)) = self.flags.iter().find(|(_, f)| f.load(Ordering::SeqCst)) {
                flag.store(false, Ordering::SeqCst);
                return Some(*sig);
            }
            if *closed || gone() {
                return None;
            }
            closed = self
                .wake
                .wait_timeout(closed, std::time::Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A signal's name, for messages.
fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        _ => "this signal",
    }
}
