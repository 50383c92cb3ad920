//! Shielding a sampling CPU profiler's signal handler (pprof-rs's `SIGPROF`) from
//! samples that land inside a goroutine switch.
//!
//! Such a profiler unwinds the interrupted thread from its signal handler. Through a
//! goroutine's frames that works (corosensei's trampoline carries the unwind
//! information that links a goroutine stack to its worker's), but not during the
//! switch itself: there the stack pointer and the running frame's unwind information
//! disagree, and libgcc's unwinder walks into memory that is not a frame and crashes
//! (`tests/pprof.rs`). goru cannot change the profiler's handler, so
//! [`guard_cpu_profiler`] puts its own in front of it: a sample that lands while the
//! thread is switching (`Goroutine::is_switching`) is dropped, and every other one goes
//! to the profiler's handler as before.
//!
//! The profiler's handler is kept in one of two slots, published by an index, so a
//! second call (after the profiler was restarted and installed its handler again)
//! never rewrites the slot that a handler running on another thread may be reading.

use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::sched::context;

/// The handlers found installed when we took `SIGPROF` (see the module docs).
static mut SLOTS: [MaybeUninit<libc::sigaction>; 2] = [MaybeUninit::uninit(); 2];
/// Which of `SLOTS` holds the handler to call now.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Samples dropped because they came mid-switch.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Serialises installs.
static INSTALL: Mutex<()> = Mutex::new(());

/// Put goru's guard in front of the `SIGPROF` handler a sampling profiler has just
/// installed, so that its samples never unwind a stack in the middle of a goroutine
/// switch (see the module docs). Call it after each start of the profiler (pprof-rs:
/// after `ProfilerGuardBuilder::build`); a call when the guard is already in front does
/// nothing. Samples that land mid-switch are dropped: [`mid_switch_samples_dropped`]
/// counts them.
///
/// ```
/// // No profiler installed: nothing to guard, and nothing changes.
/// assert!(goru::runtime::guard_cpu_profiler().is_ok());
/// ```
pub fn guard_cpu_profiler() -> io::Result<()> {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: sigaction with a null new action only reads the current one.
    let installed = unsafe {
        let mut now = MaybeUninit::<libc::sigaction>::zeroed();
        if libc::sigaction(libc::SIGPROF, std::ptr::null(), now.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        now.assume_init()
    };
    if installed.sa_sigaction == guard as *const () as usize
        || installed.sa_sigaction == libc::SIG_DFL
        || installed.sa_sigaction == libc::SIG_IGN
    {
        return Ok(()); // guarded already, or no profiler to guard
    }
    let next = 1 - CURRENT.load(Ordering::Relaxed);
    // SAFETY: only installs write the slots, one at a time (INSTALL); the slot written
    // is not the published one, which is the only one a running guard reads, and it
    // is published (Release) only once written.
    unsafe {
        let slots = &raw mut SLOTS;
        (*slots)[next].write(installed);
    }
    CURRENT.store(next, Ordering::Release);
    // The profiler's own flags and mask, with our function in front.
    let mut ours = installed;
    ours.sa_sigaction = guard as *const () as usize;
    ours.sa_flags |= libc::SA_SIGINFO;
    // SAFETY: a fully initialised action; the guard it installs reads only what was
    // published above.
    if unsafe { libc::sigaction(libc::SIGPROF, &ours, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How many profiler samples [`guard_cpu_profiler`] has dropped because they landed in
/// a goroutine switch, in this process.
pub fn mid_switch_samples_dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

extern "C" fn guard(signum: libc::c_int, info: *mut libc::siginfo_t, ucontext: *mut libc::c_void) {
    let running = context::current_goroutine();
    // SAFETY: the goroutine this thread is resuming stays alive while it resumes it (its
    // worker holds a reference), and this handler runs inside that resume.
    if !running.is_null() && unsafe { (*running).is_switching() } {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let slot = CURRENT.load(Ordering::Acquire);
    // SAFETY: a slot is written before it is published, and next written two installs
    // later (see `guard_cpu_profiler`), long after a handler that read this index has
    // returned; we are in the handler for SIGPROF, with the arguments the kernel gave.
    unsafe {
        let slots = &raw const SLOTS;
        let previous = (*slots)[slot].assume_init_ref();
        crate::sigchain::call_previous(previous, signum, info, ucontext);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Samples the stand-in profiler has unwound, and whether it still should.
    static UNWOUND: AtomicU64 = AtomicU64::new(0);
    /// Signals the stand-in handled, unwound or not.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    static PROFILING: AtomicBool = AtomicBool::new(false);

    /// A stand-in for pprof-rs's handler: it unwinds the interrupted thread with the
    /// same unwinder (libgcc's, through the `backtrace` crate).
    extern "C" fn unwinding_profiler(
        _: libc::c_int,
        _: *mut libc::siginfo_t,
        _: *mut libc::c_void,
    ) {
        if !PROFILING.load(Ordering::Relaxed) {
            return;
        }
        let mut depth = 0usize;
        // SAFETY: as in `thread_backtrace`'s handler: the unwinder allocates nothing and
        // reads only this thread's stacks.
        unsafe {
            backtrace::trace_unsynchronized(|_| {
                depth += 1;
                depth < 64
            });
        }
        if depth > 0 {
            UNWOUND.fetch_add(1, Ordering::Relaxed);
        }
        CALLS.fetch_add(1, Ordering::Release);
    }

    /// A worker switching goroutines as fast as it can gets thousands of profiler
    /// signals: behind the guard, those landing mid-switch are dropped and the rest
    /// unwound. Without the guard this test dies of SIGSEGV (checked by hand: the
    /// unwinder crashes on a mid-switch stack, as in `thread_backtrace`'s test).
    #[test]
    fn a_guarded_unwinding_profiler_survives_signals_mid_switch() {
        const SIGNALS: usize = 5_000;
        // SAFETY: a fully initialised action for SIGPROF, whose handler touches only
        // atomics and this thread's stacks.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = unwinding_profiler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()),
                0
            );
        }
        guard_cpu_profiler().unwrap();
        guard_cpu_profiler().unwrap(); // a second call finds the guard in front
        PROFILING.store(true, Ordering::Relaxed);
        let dropped_before = mid_switch_samples_dropped();
        let rt = crate::Runtime::builder()
            .workers(1)
            .blocking_report(None)
            .build()
            .unwrap();
        let rounds = rt.run(|| {
            let slot = context::current_worker().1 as usize;
            let (ping_tx, ping_rx) = crate::chan::bounded::<u64>(0);
            let (pong_tx, pong_rx) = crate::chan::bounded::<u64>(0);
            let (done_tx, done_rx) = crate::chan::bounded::<()>(1);
            crate::go(move || {
                for v in ping_rx {
                    if pong_tx.send(v).is_err() {
                        break;
                    }
                }
            });
            let sender = std::thread::spawn(move || {
                // SAFETY: the slot lives as long as the runtime, which waits for
                // `done_rx` below before it returns.
                let slot = unsafe { &*(slot as *const crate::sched::worker::WorkerSlot) };
                // One at a time: a signal sent while the last is still pending would
                // merge with it (on a loaded machine, often), so each waits for its
                // sample, unwound or dropped.
                let handled = || CALLS.load(Ordering::Acquire) + mid_switch_samples_dropped();
                for _ in 0..SIGNALS {
                    let before = handled();
                    assert!(slot.thread.signal(libc::SIGPROF));
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    while handled() == before {
                        assert!(
                            std::time::Instant::now() < deadline,
                            "a signal went unhandled"
                        );
                        std::thread::sleep(std::time::Duration::from_micros(20));
                    }
                }
                done_tx.send(()).unwrap();
            });
            let mut n = 0u64;
            loop {
                crate::select! {
                    recv(done_rx) -> _ => break,
                    send(ping_tx, n) -> _ => {}
                }
                n = pong_rx.recv().unwrap() + 1;
            }
            sender.join().unwrap();
            n
        });
        PROFILING.store(false, Ordering::Relaxed);
        let (unwound, dropped) = (
            UNWOUND.load(Ordering::Relaxed),
            mid_switch_samples_dropped() - dropped_before,
        );
        eprintln!("{unwound} samples unwound, {dropped} dropped mid-switch");
        assert!(rounds > 1_000, "only {rounds} ping-pong rounds ran");
        let calls = CALLS.load(Ordering::Relaxed);
        assert_eq!(
            calls + dropped,
            SIGNALS as u64,
            "every sample accounted for"
        );
        assert!(
            unwound > SIGNALS as u64 / 2,
            "{unwound} of {SIGNALS} unwound"
        );
    }
}
