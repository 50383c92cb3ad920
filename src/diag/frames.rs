//! A goroutine's part of a backtrace, formatted for a report, from either source: a
//! std `Backtrace` (panics, park points) or return addresses taken elsewhere (by
//! `thread_backtrace`'s signal handler, where nothing may allocate), which std cannot
//! symbolize, hence the `backtrace` crate.

use std::fmt::Write;

/// The frames taken at most (the deepest are the scheduler's, cut from reports anyway).
pub(crate) const MAX_FRAMES: usize = 128;

/// One frame of a backtrace, symbolized (inlined functions are frames of their own).
pub(crate) struct Frame {
    pub(crate) name: String,
    /// Where it is (`at file:line`), as far as the debug info says.
    pub(crate) places: Vec<String>,
}

/// Return addresses, innermost first, as frames.
pub(crate) fn symbolize(ips: &[usize]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for &ip in ips {
        let before = frames.len();
        // Return addresses point after the call: look up the call itself.
        backtrace::resolve(ip.saturating_sub(1) as *mut std::ffi::c_void, |symbol| {
            let name = symbol
                .name()
                .map_or_else(|| "<unknown>".to_string(), |n| format!("{n:#}"));
            let places = match (symbol.filename(), symbol.lineno()) {
                (Some(file), Some(line)) => vec![format!("at {}:{line}", file.display())],
                _ => Vec::new(),
            };
            frames.push(Frame { name, places });
        });
        if frames.len() == before {
            frames.push(Frame {
                name: "<unknown>".to_string(),
                places: Vec::new(),
            });
        }
    }
    frames
}

/// A goroutine's part of `frames`, as report lines (`    name`, then `        at
/// file:line`): past the first run of frames that `machinery` recognises (how the
/// backtrace was taken: the park point, a signal handler), up to where the goroutine's
/// body is entered.
pub(crate) fn format_goroutine(frames: &[Frame], machinery: impl Fn(&str) -> bool) -> String {
    let mut first = frames.iter().position(|f| machinery(&f.name)).unwrap_or(0);
    while first < frames.len() && machinery(&frames[first].name) {
        first += 1;
    }
    let mut out = String::new();
    for frame in &frames[first..] {
        if is_goroutine_entry(&frame.name) {
            break;
        }
        let _ = writeln!(out, "    {}", frame.name);
        for place in &frame.places {
            let _ = writeln!(out, "        {place}");
        }
    }
    out
}

/// Whether a frame's symbol is where a goroutine's body is entered (the spawn wrapper,
/// the coroutine entry): a report's backtrace ends above it. Only the entry itself:
/// the rest of `goru::spawn` (`JoinHandle::join`) is where a goroutine may wait.
fn is_goroutine_entry(symbol: &str) -> bool {
    symbol.contains("goru::spawn::JoinState<T>::run_and_complete")
        || (symbol.starts_with("<goru::spawn::") && symbol.contains("goru::goroutine::Task>::run"))
        || symbol.starts_with("goru::runtime::")
        || symbol.starts_with("<core::panic::unwind_safe")
        || symbol.starts_with("corosensei::")
        || symbol.starts_with("std::panic")
        || symbol.contains("__rust_try")
}

/// [`format_goroutine`] for a std `Backtrace` (symbolized here, if not yet).
pub(crate) fn goroutine_frames(
    bt: &std::backtrace::Backtrace,
    machinery: impl Fn(&str) -> bool,
) -> String {
    let text = bt.to_string();
    // std prints "  N: symbol" lines, each followed by "             at file:line".
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match trimmed.split_once(": ") {
            Some((n, symbol)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                frames.push(Frame {
                    name: symbol.to_string(),
                    places: Vec::new(),
                });
            }
            _ => {
                if let Some(frame) = frames.last_mut() {
                    frame.places.push(trimmed.to_string());
                }
            }
        }
    }
    format_goroutine(&frames, machinery)
}
