//! The backtrace of *another* thread, as it runs: for the blocking-call report, which
//! names where a goroutine holding its worker is stuck (Go's sysmon does the same with
//! a signal).
//!
//! The monitor asks for one by sending `SIGURG` (Go's choice too: its default action
//! is to ignore it, and programs rarely use it) to the worker's thread. The handler,
//! running on that thread's alternate signal stack, walks the interrupted frames into a
//! static table of return addresses, and the monitor symbolizes them afterwards,
//! outside signal context.
//!
//! Protocol (one request at a time in the process, under [`REQUEST`]):
//! `IDLE -> ASKED` (monitor, naming the target thread) `-> TAKING -> TAKEN` (the
//! handler, on the target thread only) `-> IDLE` (monitor, after reading the table).
//! A monitor that gives up waiting moves `ASKED -> IDLE`; if the handler won that race
//! (`TAKING`), the monitor waits for `TAKEN` instead, so the table is never read while
//! written nor written after the monitor left. A `SIGURG` that finds no request for its
//! thread goes to the handler installed before ours.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

const IDLE: u8 = 0;
const ASKED: u8 = 1;
const TAKING: u8 = 2;
const TAKEN: u8 = 3;

use super::frames::MAX_FRAMES;

/// How long the monitor waits for the target thread to answer.
const ANSWER_WAIT: Duration = Duration::from_millis(200);

static REQUEST: Mutex<()> = Mutex::new(());
static STATE: AtomicU8 = AtomicU8::new(IDLE);
/// The `pthread_t` asked, valid while `STATE` is `ASKED`.
static TARGET: AtomicU64 = AtomicU64::new(0);
static DEPTH: AtomicUsize = AtomicUsize::new(0);
/// The signal came during a stack switch: no frames were taken
/// (`Goroutine::is_switching`).
static MID_SWITCH: AtomicBool = AtomicBool::new(false);
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];

static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();
static INSTALL: Once = Once::new();

/// Install the `SIGURG` handler (once per process).
fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a fully initialised struct; PREVIOUS is written here,
        // once, before our handler (the only reader) is installed by the same call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            // SA_RESTART: the interrupted system call (the blocking call being reported)
            // resumes as if nothing happened.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS;
            libc::sigaction(libc::SIGURG, &action, (*previous).as_mut_ptr());
        }
    });
}

extern "C" fn handler(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // The interrupted code may be between a failed call and its read of errno, which
    // the unwinder (or the previous handler) may overwrite.
    // SAFETY: __errno_location is async-signal-safe and points at this thread's errno.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above; the pointer is valid for the thread's lifetime.
    let saved_errno = unsafe { *errno };
    take_or_pass_on(signum, info, context);
    // SAFETY: as above.
    unsafe { *errno = saved_errno };
}

fn take_or_pass_on(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: pthread_self is async-signal-safe.
    let me = unsafe { libc::pthread_self() } as u64;
    if TARGET.load(Ordering::Acquire) == me
        && STATE
            .compare_exchange(ASKED, TAKING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        let running = crate::sched::context::current_goroutine();
        // SAFETY: the goroutine this thread is resuming stays alive while it resumes
        // it (its worker holds a reference), and the handler runs inside that resume.
        if !running.is_null() && unsafe { (*running).is_switching() } {
            // Mid-switch, the unwind information does not describe the stack: walking
            // it can crash. The goroutine is switching out anyway.
            MID_SWITCH.store(true, Ordering::Relaxed);
            STATE.store(TAKEN, Ordering::Release);
            return;
        }
        let mut depth = 0;
        // SAFETY: the unwinder is called from a signal handler. It allocates nothing
        // and, with glibc's `_dl_find_object` (2.35 and later, used by libgcc 12 and
        // later), finds unwind tables without the loader lock; the only state it
        // touches is this thread's stacks and the static table, which the protocol
        // gives to us alone while `TAKING`.
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                FRAMES[depth].store(frame.ip() as usize, Ordering::Relaxed);
                depth += 1;
                depth < MAX_FRAMES
            });
        }
        DEPTH.store(depth, Ordering::Relaxed);
        STATE.store(TAKEN, Ordering::Release);
        return;
    }
    // Not ours: behave as the handler installed before us would; SIGURG's default
    // action is to ignore it, so a default one has nothing to do.
    // SAFETY: PREVIOUS was initialised before this handler was installed, and we are
    // in the handler for SIGURG with the arguments it was given.
    unsafe {
        let previous: &libc::sigaction = &*(&raw const PREVIOUS).cast::<libc::sigaction>();
        crate::sigchain::call_previous(previous, signum, info, context);
    }
}

/// A thread that may be asked for its backtrace: its `pthread_t`, present only while
/// the thread lives. The thread clears it (under the lock) before it exits, and
/// [`capture`] signals under the same lock, so no signal is sent to a thread gone.
#[derive(Default)]
pub(crate) struct ThreadHandle(Mutex<Option<u64>>);

impl ThreadHandle {
    /// Called by the thread itself: it may be signalled until [`ThreadHandle::clear`].
    pub(crate) fn set_current(&self) {
        install_handler();
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as u64;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(me);
    }

    /// Send `signum` to the thread, if it still lives (for tests of signal handlers).
    #[cfg(test)]
    pub(crate) fn signal(&self, signum: libc::c_int) -> bool {
        let handle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a thread named here is alive: it clears the handle, under this lock,
        // before it exits.
        handle.is_some_and(|t| unsafe { libc::pthread_kill(t as libc::pthread_t, signum) } == 0)
    }

    /// Called by the thread itself before it exits.
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Why [`capture`] brought no frames back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoFrames {
    /// The thread did not answer in time, or is gone.
    NoAnswer,
    /// The signal came while the thread switched stacks, where it is not safe to walk.
    MidSwitch,
}

/// The return addresses of `thread`'s stack as it runs now, innermost first (our
/// handler's own frames included).
pub(crate) fn capture(thread: &ThreadHandle) -> Result<Vec<usize>, NoFrames> {
    let _one_at_a_time = REQUEST.lock().unwrap_or_else(|e| e.into_inner());
    {
        let handle = thread.0.lock().unwrap_or_else(|e| e.into_inner());
        let target = (*handle).ok_or(NoFrames::NoAnswer)?;
        MID_SWITCH.store(false, Ordering::Relaxed);
        TARGET.store(target, Ordering::Release);
        STATE.store(ASKED, Ordering::Release);
        // SAFETY: `target` is a live thread: it clears the handle, under this lock,
        // before it exits.
        let sent = unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGURG) };
        if sent != 0 {
            STATE.store(IDLE, Ordering::Release);
            return Err(NoFrames::NoAnswer);
        }
    }
    let deadline = Instant::now() + ANSWER_WAIT;
    while STATE.load(Ordering::Acquire) != TAKEN {
        if Instant::now() >= deadline
            && STATE
                .compare_exchange(ASKED, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Err(NoFrames::NoAnswer); // signal blocked there, or thread stopped
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let answer = if MID_SWITCH.load(Ordering::Relaxed) {
        Err(NoFrames::MidSwitch)
    } else {
        let depth = DEPTH.load(Ordering::Relaxed);
        Ok(FRAMES[..depth]
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .collect())
    };
    STATE.store(IDLE, Ordering::Release);
    answer
}

/// `ips` from [`capture`] as report lines, from the interrupted frame (past the
/// signal handler and the kernel's trampoline) down to where the goroutine's body starts.
pub(crate) fn format_goroutine_frames(ips: &[usize]) -> String {
    let frames = super::frames::symbolize(ips);
    super::frames::format_goroutine(&frames, |name| {
        name.starts_with("backtrace::")
            || name.contains("diag::thread_backtrace::")
            || name.contains("goru::stack::overflow::")
            || name.contains("restore_rt")
            || name == "<unknown>"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::context;

    /// A worker switching goroutines as fast as it can is asked for its backtrace
    /// thousands of times: some signals land inside a stack switch, where the unwinder
    /// must not walk (it crashed there before the handler learned to check).
    #[test]
    fn backtraces_taken_mid_switch_never_crash() {
        const CAPTURES: usize = 5_000;
        let rt = crate::Runtime::builder()
            .workers(1)
            .blocking_report(None)
            .build()
            .unwrap();
        rt.run(|| {
            let slot = context::current_worker().1 as usize;
            let (stop_tx, stop_rx) = crate::chan::bounded::<()>(1);
            let (ping_tx, ping_rx) = crate::chan::bounded::<u64>(0);
            let (pong_tx, pong_rx) = crate::chan::bounded::<u64>(0);
            let echo = crate::go(move || {
                for v in ping_rx {
                    if pong_tx.send(v).is_err() {
                        break;
                    }
                }
            });
            let (done_tx, done_rx) = crate::chan::bounded::<(usize, usize, usize)>(1);
            let asker = std::thread::spawn(move || {
                // SAFETY: the slot lives as long as the runtime, which waits for
                // `done_rx` below before it returns.
                let slot = unsafe { &*(slot as *const crate::sched::worker::WorkerSlot) };
                let (mut frames, mut mid_switch, mut no_answer) = (0, 0, 0);
                for _ in 0..CAPTURES {
                    match capture(&slot.thread) {
                        Ok(ips) => frames += usize::from(!ips.is_empty()),
                        Err(NoFrames::MidSwitch) => mid_switch += 1,
                        // Not scheduled within 200 ms: a loaded machine, rarely.
                        Err(NoFrames::NoAnswer) => no_answer += 1,
                    }
                }
                done_tx.send((frames, mid_switch, no_answer)).unwrap();
            });
            let pinger = crate::go(move || {
                let mut n = 0;
                loop {
                    crate::select! {
                        recv(stop_rx) -> _ => break,
                        send(ping_tx, n) -> _ => {}
                    }
                    n = pong_rx.recv().unwrap() + 1;
                }
                n
            });
            let (frames, mid_switch, no_answer) = done_rx.recv().unwrap();
            stop_tx.send(()).unwrap();
            let rounds = pinger.join().unwrap();
            echo.join().unwrap();
            asker.join().unwrap();
            assert!(rounds > 1_000, "only {rounds} ping-pong rounds ran");
            assert_eq!(frames + mid_switch + no_answer, CAPTURES);
            assert!(
                no_answer < CAPTURES / 100,
                "{no_answer} requests unanswered"
            );
            assert!(frames > CAPTURES / 2, "{frames} of {CAPTURES} had frames");
            eprintln!("{mid_switch} of {CAPTURES} signals came mid-switch");
        });
    }
}
