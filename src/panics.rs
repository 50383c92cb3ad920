//! Panics in goroutines: the process's panic hook, which prints a goroutine's panic
//! as std prints a thread's, naming the goroutine instead of the worker thread it
//! happened to run on, and keeps where it happened for the report of a panic nobody
//! joins (`spawn::JoinState`).
//!
//! ```text
//! goroutine 7 (spawned at src/main.rs:14:9) panicked at src/main.rs:20:13:
//! index out of bounds: the len is 3 but the index is 5
//! note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
//! ```
//!
//! As with std, the panic is printed when it happens, whoever catches it later: its
//! joiner, a `catch_unwind` inside the goroutine, or `run` for the main goroutine
//! (named `goroutine 1 (main, run at ...)`, the call to `run` or the
//! `#[goru::test]` it came from). With `RUST_BACKTRACE=1` the goroutine's frames
//! follow, from the panic down to its body. Panics outside goroutines go to the hook
//! installed before goru's, unchanged; inside `goru::check` the failure report tells
//! it all, once, so nothing is printed here. A hook set after the first runtime starts
//! replaces goru's, as any `set_hook` does.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::io::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::goroutine::{self, Goroutine, PanicInfo};

/// The text of a panic payload (`&str` or `String`), as std prints it.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// Install goru's panic hook (once per process; see the module docs).
pub(crate) fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| match goroutine::current_ptr() {
            // SAFETY: the running goroutine is alive while it runs.
            Some(g) => on_goroutine_panic(unsafe { &*g }, info),
            None => previous(info),
        }));
    });
}

fn on_goroutine_panic(g: &Goroutine, info: &PanicHookInfo<'_>) {
    let location = info.location().map(|l| l.to_string()).unwrap_or_default();
    if let Some(driver) = &g.runtime().driver {
        *g.panic_info.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(PanicInfo {
            location: location.clone(),
            backtrace: None,
        }));
        driver.record_panic_location(g.id, location);
        return;
    }
    let main = g.id == 1;
    // What RUST_BACKTRACE (or RUST_LIB_BACKTRACE) asks for, as std's hook reads it.
    let wanted = Backtrace::capture().status() == BacktraceStatus::Captured;
    // A panic nobody joins is reported with the goroutine's stack whatever the
    // setting, as Go prints it: captured unresolved (cheap), resolved if printed.
    let backtrace = (wanted || !main).then(Backtrace::force_capture);
    let who = if main {
        format!("goroutine 1 (main, run at {})", g.spawn_site)
    } else {
        format!("goroutine {} (spawned at {})", g.id, g.spawn_site)
    };
    let message = payload_message(info.payload());
    let mut report = format!("{who} panicked at {location}:\n{message}\n");
    match &backtrace {
        Some(bt) if wanted => {
            let frames = crate::diag::goroutine_frames(bt, is_panic_machinery);
            report += &format!("stack backtrace:\n{}\n", frames.trim_end());
        }
        _ => {
            static NOTED: AtomicBool = AtomicBool::new(false);
            if !NOTED.swap(true, Ordering::Relaxed) {
                report += "note: run with `RUST_BACKTRACE=1` environment variable to display \
                           a backtrace\n";
            }
        }
    }
    // One write, so that panics on several workers do not interleave.
    let _ = std::io::stderr().lock().write_all(report.as_bytes());
    if !main {
        *g.panic_info.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(PanicInfo {
            location,
            backtrace,
        }));
    }
}

/// Frames of the panic machinery itself, left out of printed backtraces.
pub(crate) fn is_panic_machinery(symbol: &str) -> bool {
    symbol.contains("panicking") || symbol.contains("rust_begin_unwind")
}

/// The panic the running goroutine recorded, for its join state.
pub(crate) fn take_panic_info() -> Option<Box<PanicInfo>> {
    let g = goroutine::current_ptr()?;
    // SAFETY: the running goroutine is alive while it runs.
    let g = unsafe { &*g };
    let info = g
        .panic_info
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    info
}
