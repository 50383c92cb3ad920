//! Diagnostics: the goroutine dump, deadlock detection, SIGQUIT, traces.
//!
//! The dump follows Go's traceback header lines, one block per goroutine:
//!
//! ```text
//! goroutine 7 [chan receive, 12 ms]:
//!     spawned at src/main.rs:14:9
//!     goru::chan::Receiver<T>::recv
//!         at src/chan/mod.rs:120:5
//!     my_app::worker
//!         at src/main.rs:20:13
//! ```
//!
//! Backtraces come from the goroutines themselves: a parked goroutine asked for one
//! is woken, records `Backtrace::force_capture()` at its park point, and parks again
//! (`Goroutine::park`). That perturbs the program a little, so plain
//! [`runtime::dump`](crate::runtime::dump) omits them; the deadlock report and the
//! SIGQUIT dump, taken when the program is stuck anyway, include them.

mod deadlock;
mod sigquit;
mod svg;
pub mod trace;

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::goroutine::{GoRef, PARKED, RUNNING};
use crate::sched::Shared;

pub(crate) use deadlock::Detector;
pub(crate) use sigquit::{install_sigquit_handler, register_runtime};

/// Goroutines whose backtraces one dump collects at most (each costs a symbolization).
const MAX_BACKTRACES: usize = 64;

/// How long a dump waits for the goroutines to record their backtraces.
const BACKTRACE_WAIT: Duration = Duration::from_secs(2);

impl Shared {
    /// Every goroutine of this runtime: id, state or wait reason, spawn site, and with
    /// `backtraces`, where each parked goroutine waits.
    pub(crate) fn dump_with(&self, backtraces: bool) -> String {
        let goroutines = self.goroutines();
        if backtraces {
            collect_backtraces(&goroutines);
        }
        let now = self.now_nanos().max(self.coarse_nanos());
        let mut out = String::new();
        for g in &goroutines {
            let state = match g.state() {
                RUNNING => "running".to_string(),
                PARKED => {
                    let waited = format_wait(now.saturating_sub(g.parked_at_nanos()));
                    format!("{}, {waited}", g.wait_reason())
                }
                _ => "runnable".to_string(),
            };
            let _ = writeln!(
                out,
                "goroutine {} [{state}]:\n    spawned at {}",
                g.id, g.spawn_site
            );
            if let Some(trace) = g.backtrace.lock().unwrap_or_else(|e| e.into_inner()).take() {
                out.push_str(&trace);
            }
            out.push('\n');
        }
        out
    }

    /// Go's deadlock message followed by the dump (`backtraces` as for
    /// [`dump_with`](Self::dump_with)).
    pub(crate) fn deadlock_report(&self, backtraces: bool) -> String {
        format!(
            "all goroutines are asleep - deadlock!\n\n{}",
            self.dump_with(backtraces)
        )
    }

    /// The dump without backtraces (cheap, no goroutine is disturbed).
    pub(crate) fn dump(&self) -> String {
        self.dump_with(false)
    }
}

/// "12 ms", "3 s", "2 minutes": how Go words the time a goroutine has waited.
fn format_wait(nanos: u64) -> String {
    let ms = nanos / 1_000_000;
    match ms {
        0..=9_999 => format!("{ms} ms"),
        10_000..=119_999 => format!("{} s", ms / 1000),
        _ => format!("{} minutes", ms / 60_000),
    }
}

/// Ask parked goroutines to record their backtraces, and wait (bounded) until they have.
fn collect_backtraces(goroutines: &[GoRef]) {
    let asked: Vec<&GoRef> = goroutines
        .iter()
        .filter(|g| g.state() == PARKED)
        .take(MAX_BACKTRACES)
        .collect();
    for g in &asked {
        g.backtrace_request.store(true, Ordering::Release);
        g.unpark();
    }
    // Done when each has recorded its trace and parked again (one woken for real
    // meanwhile may not park again soon: the wait is bounded).
    let deadline = Instant::now() + BACKTRACE_WAIT;
    let pending = |g: &&GoRef| {
        g.backtrace_request.load(Ordering::Acquire)
            || g.state() == RUNNING
            || g.backtrace
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none()
    };
    while Instant::now() < deadline && asked.iter().any(pending) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The calling goroutine's backtrace, from the caller of the goru primitive it is
/// parked in down to its closure, formatted for the dump.
pub(crate) fn own_backtrace() -> String {
    let bt = std::backtrace::Backtrace::force_capture();
    goroutine_frames(&bt, |symbol| {
        symbol.starts_with("goru::park::park") || symbol.contains("Goroutine::park")
    })
}

/// A goroutine's frames of `bt`, formatted for a report: those after the first run of
/// frames that `machinery` recognises (the panic or park internals), up to where the
/// goroutine's own body starts (the spawn wrapper and the coroutine entry).
pub(crate) fn goroutine_frames(
    bt: &std::backtrace::Backtrace,
    machinery: impl Fn(&str) -> bool,
) -> String {
    let text = bt.to_string();
    // std prints "  N: symbol" lines, each followed by "             at file:line".
    let mut frames: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match trimmed.split_once(": ") {
            Some((n, symbol)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                frames.push((symbol.to_string(), Vec::new()));
            }
            _ => {
                if let Some(frame) = frames.last_mut() {
                    frame.1.push(trimmed.to_string());
                }
            }
        }
    }
    // Skip to the first run of machinery frames, then past it.
    let mut first = frames.iter().position(|(s, _)| machinery(s)).unwrap_or(0);
    while first < frames.len() && machinery(&frames[first].0) {
        first += 1;
    }
    let mut out = String::new();
    for (symbol, locations) in &frames[first..] {
        if symbol.starts_with("goru::spawn::")
            || symbol.starts_with("goru::runtime::")
            || symbol.starts_with("<core::panic::unwind_safe")
            || symbol.starts_with("corosensei::")
            || symbol.starts_with("std::panic")
            || symbol.contains("__rust_try")
        {
            break;
        }
        let _ = writeln!(out, "    {symbol}");
        for loc in locations {
            let _ = writeln!(out, "        {loc}");
        }
    }
    out
}
