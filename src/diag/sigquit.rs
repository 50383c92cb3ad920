//! SIGQUIT (Ctrl-\) prints every runtime's goroutine dump to stderr, as Go does; the
//! program keeps running.
//!
//! The signal handler only writes a byte to a pipe (async-signal-safe); a thread of
//! ours reads it and does the dumping.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};

use crate::sched::Shared;

static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// The pipe's write end, for the handler (-1 until installed).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Make `shared` part of what SIGQUIT dumps (while it lives).
pub(crate) fn register_runtime(shared: &Arc<Shared>) {
    let mut runtimes = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    runtimes.retain(|w| w.strong_count() > 0);
    runtimes.push(Arc::downgrade(shared));
}

extern "C" fn on_sigquit(_: libc::c_int) {
    let byte = 1u8;
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    // SAFETY: writes one byte from a live local; write(2) and atomic loads are
    // async-signal-safe, and a full pipe (a dump already pending) just drops it.
    unsafe {
        libc::write(fd, &byte as *const u8 as *const libc::c_void, 1);
    }
}

/// Install the SIGQUIT handler and its dumping thread, once per process.
pub(crate) fn install_sigquit_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        // SAFETY: plain fcntl on a descriptor we own; the write end must not block the
        // signal handler.
        unsafe {
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
        // SAFETY: fds[0] is a fresh descriptor owned by nobody else.
        let mut reader = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        let spawned = std::thread::Builder::new()
            .name("goru-sigquit".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                while reader.read(&mut byte).is_ok_and(|n| n == 1) {
                    eprint!("{}", dump_all());
                }
            });
        if spawned.is_err() {
            return;
        }
        // Through signal-hook's registry, which keeps any handler installed before us
        // and calls it too, and lets goru::signal::notify(SIGQUIT) coexist with the dump.
        // SAFETY: the action only calls write(2) and an atomic load, both
        // async-signal-safe; it allocates nothing and takes no lock.
        let _ = unsafe { signal_hook::low_level::register(libc::SIGQUIT, || on_sigquit(0)) };
    });
}

/// The dump of every live runtime, with backtraces.
fn dump_all() -> String {
    let runtimes: Vec<Arc<Shared>> = RUNTIMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|rt| !rt.is_shutdown())
        .collect();
    let mut out = String::from("SIGQUIT: goroutine dump\n\n");
    for rt in runtimes {
        out.push_str(&format!(
            "runtime with {} workers, {} goroutines:\n\n",
            rt.workers,
            rt.live_goroutines()
        ));
        out.push_str(&rt.dump_with(true));
    }
    out
}
