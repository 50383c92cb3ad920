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
//! same goroutine. The backtrace comes from the worker's thread itself, interrupted by
//! a signal (`thread_backtrace`); it is kept only if the goroutine was still in that
//! same resume once the frames were taken. `GORU_BLOCKING_BACKTRACE=0` leaves it out
//! (`ReportSettings::backtrace`).

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::thread_backtrace::{self, NoFrames};
use crate::sched::worker::WorkerSlot;
use crate::sched::Shared;

/// Goroutines remembered as reported before the dead ones are forgotten.
const PRUNE_AT: usize = 4096;

/// What the report does, fixed when the runtime is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportSettings {
    /// Report goroutines holding a worker this long (`Builder::blocking_report`).
    pub(crate) threshold: Duration,
    /// Take the goroutine's backtrace (`GORU_BLOCKING_BACKTRACE`, on unless `0`).
    pub(crate) backtrace: bool,
}

/// The monitor's state for the report.
pub(crate) struct BlockingReport {
    settings: Option<ReportSettings>,
    /// Goroutines already reported (each is reported once in its life).
    reported: HashSet<u64>,
}

impl BlockingReport {
    pub(crate) fn new(settings: Option<ReportSettings>) -> BlockingReport {
        BlockingReport {
            settings,
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
        let backtrace = match self.settings {
            Some(settings) if held >= settings.threshold => settings.backtrace,
            _ => return,
        };
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
        let frames = if backtrace {
            Some(thread_backtrace::capture(&slot.thread))
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
            Some(Ok(frames)) if still_there => Ok(frames),
            Some(Ok(_) | Err(NoFrames::MidSwitch)) => {
                Err("    (it switched out before its backtrace was taken)\n")
            }
            Some(Err(NoFrames::NoAnswer)) => {
                Err("    (its thread did not answer for a backtrace)\n")
            }
            None => Err("    (GORU_BLOCKING_BACKTRACE=0 left out its backtrace)\n"),
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
