//! The blocking-call report: a goroutine that holds its worker without parking for
//! longer than `Builder::blocking_report` says (a blocking system call, a long loop)
//! is named on stderr, once, with the backtrace of where it runs:
//!
//! ```text
//! goru: goroutine 17 (spawned at src/x.rs:9) has held worker 2 for 250 ms without parking
//!     std::thread::sleep
//!         at .../std/src/thread/functions.rs:327
//!     my_app::handler
//!         at src/x.rs:12
//! ```
//!
//! The monitor sees it: a worker whose resume counter has not moved while it runs the
//! same goroutine. With `GORU_BLOCKING_BACKTRACE=1` (see `backtraces_wanted`) the
//! backtrace comes from the worker's thread itself, interrupted by
//! a signal (`thread_backtrace`); it is kept only if the goroutine was still in that
//! same resume once the frames were taken.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::thread_backtrace;
use crate::sched::worker::WorkerSlot;
use crate::sched::Shared;

/// Goroutines remembered as reported before the dead ones are forgotten.
const PRUNE_AT: usize = 4096;

/// The monitor's state for the report.
pub(crate) struct BlockingReport {
    threshold: Option<Duration>,
    /// Goroutines already reported (each is reported once in its life).
    reported: HashSet<u64>,
}

impl BlockingReport {
    pub(crate) fn new(threshold: Option<Duration>) -> BlockingReport {
        BlockingReport {
            threshold,
            reported: HashSet::new(),
        }
    }

    /// The monitor, for a worker that has been in resume number `resumes` of
    /// goroutine `id` for `held`: report it if that is past the threshold, once.
    pub(crate) fn check(
        &mut self,
        shared: &Shared,
        slot: &WorkerSlot,
        id: u64,
        resumes: u64,
        held: Duration,
    ) {
        match self.threshold {
            Some(threshold) if held >= threshold => {}
            _ => return,
        }
        if !self.reported.insert(id) {
            return;
        }
        if self.reported.len() > PRUNE_AT {
            let mut live = HashSet::new();
            shared.for_each_goroutine(|g| {
                live.insert(g.id);
            });
            self.reported.retain(|id| live.contains(id));
        }
        let frames = if backtraces_wanted() {
            thread_backtrace::capture(&slot.thread)
        } else {
            None
        };
        let still_there = slot.resumes.load(Ordering::Acquire) == resumes
            && slot.running.load(Ordering::Acquire) == id;
        let mut site = None;
        shared.for_each_goroutine(|g| {
            if g.id == id {
                site = Some(g.spawn_site);
            }
        });
        let Some(site) = site else {
            return; // it finished meanwhile
        };
        let header = format!(
            "goru: goroutine {id} (spawned at {site}) has held worker {} for {} ms \
             without parking\n",
            slot.index,
            held.as_millis()
        );
        let frames = match frames {
            Some(frames) if still_there => Ok(frames),
            Some(_) => Err("    (it switched out before its backtrace was taken)\n"),
            None if backtraces_wanted() => Err("    (its thread did not answer for a backtrace)\n"),
            None => Err("    (GORU_BLOCKING_BACKTRACE=1 adds its backtrace)\n"),
        };
        // Symbolizing reads the binary's debug info, the first time for a second or
        // more: a thread of its own does it, so the monitor goes on with its rounds.
        // The runtime's shutdown waits for it (`finish_reports`).
        let write = move || {
            let backtrace = match frames {
                Ok(frames) => {
                    let text = thread_backtrace::format_goroutine_frames(&frames);
                    // The parsed debug info stays cached otherwise: ~90 MB resident
                    // for a release binary with debug info, for reports that come
                    // once per goroutine at most.
                    backtrace::clear_symbol_cache();
                    text
                }
                Err(why) => why.to_string(),
            };
            // One write, so that reports from several runtimes do not interleave.
            let report = header + &backtrace;
            let _ = std::io::stderr().lock().write_all(report.as_bytes());
        };
        let writer = std::thread::Builder::new().name("goru-report".into());
        let mut writers = shared
            .report_writers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        writers.retain(|w| !w.is_finished());
        match writer.spawn(write.clone()) {
            Ok(handle) => writers.push(handle),
            Err(_) => write(), // no thread to spare: on the monitor, then
        }
    }
}

/// Whether reports take the goroutine's backtrace (`GORU_BLOCKING_BACKTRACE=1`). Off
/// by default: the handler's unwinder (libgcc's) can crash if the signal lands inside
/// a goroutine's stack switch, whose unwind information does not describe the stack
/// mid-switch; pprof-rs, which unwinds the same way from SIGPROF, was seen to
/// (`tests/pprof.rs`). The goroutine reported is usually in a blocking call, not
/// switching, but it may park just as the signal comes. The report itself sends no
/// signal.
fn backtraces_wanted() -> bool {
    static WANTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WANTED.get_or_init(|| std::env::var_os("GORU_BLOCKING_BACKTRACE").is_some_and(|v| v == "1"))
}

/// How long a runtime's shutdown waits for its reports to be written.
const REPORT_WAIT: Duration = Duration::from_secs(10);

/// The runtime is shutting down: let the reports it has started reach stderr.
pub(crate) fn finish_reports(shared: &Shared) {
    let writers = std::mem::take(
        &mut *shared
            .report_writers
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    let deadline = Instant::now() + REPORT_WAIT;
    for writer in writers {
        while !writer.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if writer.is_finished() {
            let _ = writer.join();
        }
    }
}
