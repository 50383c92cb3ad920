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

pub(crate) mod blocking_report;
mod deadlock;
mod export;
mod frames;
pub(crate) mod labels;
pub(crate) mod metrics;
mod profile;
pub(crate) mod profiler_signal;
mod sigquit;
pub(crate) mod span;
mod svg;
pub(crate) mod thread_backtrace;
pub mod trace;

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::goroutine::{GoRef, PARKED, RUNNING};
use crate::sched::Shared;

pub(crate) use deadlock::Detector;
pub(crate) use frames::goroutine_frames;
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
        // The recorded frames, symbolized together; a goroutine taking the dump does
        // that in the blocking pool, since it reads the binary's debug info.
        let taken: Vec<Option<std::backtrace::Backtrace>> = goroutines
            .iter()
            .map(|g| g.backtrace.lock().unwrap_or_else(|e| e.into_inner()).take())
            .collect();
        let mut traces = if taken.iter().any(Option::is_some) {
            crate::blocking(move || park_point_frames(taken))
        } else {
            Vec::new()
        }
        .into_iter();
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
            if let Some(labels) = g.labels() {
                let _ = writeln!(out, "    labels: {}", labels::format(&labels));
            }
            // Not under goru::check, whose reports replay byte for byte: what a pooled
            // stack has committed depends on the runs before.
            let stack = g.stack_range.get().filter(|_| self.driver.is_none());
            if let Some((bottom, top)) = stack {
                // Its high-water mark, as committed pages (a reused stack keeps what
                // earlier goroutines touched until the pool releases it).
                let committed = crate::stack::resident_pages(bottom, top - bottom);
                let _ = writeln!(
                    out,
                    "    stack {} KiB committed of {} KiB",
                    committed * crate::stack::page_size() / 1024,
                    (top - bottom) / 1024
                );
            }
            if let Some(trace) = traces.next() {
                out.push_str(&trace);
            }
            out.push('\n');
        }
        out
    }

    /// Go's deadlock message, the dump (`backtraces` as for
    /// [`dump_with`](Self::dump_with)) and what the detector saw, so that a reader can
    /// tell what it cannot see.
    pub(crate) fn deadlock_report(&self, backtraces: bool) -> String {
        format!(
            "all goroutines are asleep - deadlock!\n\n{}{DEADLOCK_EXPLAINED}",
            self.dump_with(backtraces)
        )
    }

    /// The dump without backtraces (cheap, no goroutine is disturbed).
    pub(crate) fn dump(&self) -> String {
        self.dump_with(false)
    }
}

/// The end of a deadlock report.
const DEADLOCK_EXPLAINED: &str = "\
goru: each goroutine above waits on a channel, lock, wait group or context that only \
this runtime's goroutines have used, and for 80 ms no timer, socket, blocking call, \
future or signal could wake one. Waits on anything a plain thread or another runtime \
has used are never counted. If something goru cannot see will wake one of these (a \
channel handed to a plain thread that has not used it yet, a raw futex, a callback \
from C), turn detection off: \
Builder::deadlock_detection(false), or GORU_DEADLOCK_DETECTION=0 for #[goru::main] \
and #[goru::test].\n";

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
        // A goroutine taking the dump (the debug page's) parks here rather than hold
        // its worker, where the goroutines it woke may be queued.
        crate::time::sleep(Duration::from_millis(1));
    }
}

/// The calling goroutine's backtrace, taken at its park point for a dump. Not yet
/// symbolized: std does that when it is first formatted, which the dump does
/// ([`park_point_frames`]), so the goroutine holds its worker only for the unwinding.
pub(crate) fn own_backtrace() -> std::backtrace::Backtrace {
    std::backtrace::Backtrace::force_capture()
}

/// Backtraces taken by [`own_backtrace`], formatted for the dump: from the caller of
/// the goru primitive each goroutine is parked in down to its closure.
fn park_point_frames(traces: Vec<Option<std::backtrace::Backtrace>>) -> Vec<String> {
    traces
        .iter()
        .map(|bt| match bt {
            Some(bt) => goroutine_frames(bt, |symbol| {
                symbol.starts_with("goru::park::park") || symbol.contains("Goroutine::park")
            }),
            None => String::new(),
        })
        .collect()
}
