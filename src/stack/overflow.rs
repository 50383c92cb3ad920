//! Turning a goroutine stack overflow into a message instead of a bare SIGSEGV.
//!
//! Each goroutine records the guard page of its stack and the stack's size when it
//! first runs, and a worker names the goroutine it runs in a thread-local
//! (`sched::context`). A SIGSEGV handler running on an alternate signal stack (the
//! faulting stack is exhausted, so the handler cannot run on it) compares the fault
//! address with the running goroutine's guard page. On a
//! match it writes `goroutine N (spawned at FILE:LINE:COL) stack overflow (stack size
//! S KiB): raise it with Builder::stack_size` to stderr, then where it overflowed
//! (the innermost frames, printed by the monitor thread: see `FRAMES_STATE`), and
//! aborts. Any other fault is chained to the handler
//! that was installed before ours (Rust's own overflow handler, or the default action).
//!
//! Everything the handler touches is async-signal-safe: a `const`-initialised
//! thread-local `Cell`, the running goroutine's fields, `write(2)` from a stack
//! buffer, and `abort`.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

static mut PREVIOUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
static INSTALL: Once = Once::new();

/// Install the process-wide handler (once).
pub(crate) fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a fully initialised struct; PREVIOUS is written here
        // exactly once, before the handler that reads it can run.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS;
            libc::sigaction(libc::SIGSEGV, &action, (*previous).as_mut_ptr());
        }
    });
}

/// An alternate signal stack for the current thread, kept for the thread's lifetime.
///
/// Threads made by `std::thread` have one already, but of `SIGSTKSZ` (8 KiB): enough
/// to write a message, too little for the unwinder that the overflow report and the
/// blocking-call report run on it. A thread gets ours, of [`ALT_STACK_SIZE`], unless
/// it has one at least that large; the one it had comes back when ours is dropped.
pub(crate) struct AltStack {
    mapping: Option<(usize, usize)>,
    previous: Option<libc::stack_t>,
}

/// Room for a signal handler that unwinds (libgcc's unwinder takes a few KiB).
const ALT_STACK_SIZE: usize = 64 * 1024;

impl AltStack {
    pub(crate) fn ensure() -> AltStack {
        // SAFETY: querying and setting this thread's signal stack with valid pointers;
        // the mapping stays alive until `Drop` disables the signal stack first.
        unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(std::ptr::null(), &mut old);
            let has_one = old.ss_flags & libc::SS_DISABLE == 0;
            if has_one && old.ss_size >= ALT_STACK_SIZE {
                return AltStack {
                    mapping: None,
                    previous: None,
                };
            }
            let size = libc::SIGSTKSZ.max(ALT_STACK_SIZE);
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if ptr == libc::MAP_FAILED {
                return AltStack {
                    mapping: None,
                    previous: None,
                };
            }
            let stack = libc::stack_t {
                ss_sp: ptr,
                ss_flags: 0,
                ss_size: size,
            };
            libc::sigaltstack(&stack, std::ptr::null_mut());
            AltStack {
                mapping: Some((ptr as usize, size)),
                previous: has_one.then_some(old),
            }
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if let Some((ptr, size)) = self.mapping {
            // SAFETY: switch the thread to its previous signal stack (still mapped: its
            // owner, std, unmaps it at thread exit) or none, before unmapping ours.
            unsafe {
                let restore = self.previous.unwrap_or(libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                });
                libc::sigaltstack(&restore, std::ptr::null_mut());
                libc::munmap(ptr as *mut libc::c_void, size);
            }
        }
    }
}

extern "C" fn handler(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let g = crate::sched::context::current_goroutine();
    // SAFETY: the goroutine this thread runs is alive while it runs (its worker holds a
    // reference), and the fault interrupted this very thread; `stack_range` was written
    // before the goroutine was resumed and is not written while it runs.
    let running = (!g.is_null())
        .then(|| unsafe { ((*g).id, (*g).spawn_site, (*g).stack_range.get()) })
        .and_then(|(id, site, range)| range.map(|r| (id, site, r)));
    let page = super::page_size();
    let overflowed = running.filter(|&(_, _, (bottom, _))| addr >= bottom - page && addr < bottom);
    if let Some((id, site, (bottom, top))) = overflowed {
        let stack_size = top - bottom;
        let mut buf = MessageBuf::new();
        buf.push(b"goroutine ");
        buf.push_number(id);
        // The spawn site is static data: copying it allocates nothing.
        buf.push(b" (spawned at ");
        buf.push(site.file().as_bytes());
        buf.push(b":");
        buf.push_number(site.line().into());
        buf.push(b":");
        buf.push_number(site.column().into());
        buf.push(b") stack overflow (stack size ");
        buf.push_number((stack_size / 1024) as u64);
        buf.push(b" KiB): raise it with Builder::stack_size\n");
        // SAFETY: write(2) is async-signal-safe.
        unsafe { libc::write(libc::STDERR_FILENO, buf.bytes.as_ptr().cast(), buf.len) };
        hand_frames_to_the_monitor();
        // SAFETY: abort(3) is async-signal-safe.
        unsafe { libc::abort() };
    }
    // Not ours: hand the fault to whoever was there before.
    // SAFETY: PREVIOUS was initialised by install_handler before this handler existed.
    unsafe {
        let previous: &libc::sigaction = &*(&raw const PREVIOUS).cast::<libc::sigaction>();
        if !crate::sigchain::call_previous(previous, signum, info, context) {
            // Restore the default and return: the faulting instruction runs again and
            // the default action (a core dump) happens with the right signal and address.
            libc::sigaction(libc::SIGSEGV, previous, std::ptr::null_mut());
        }
    }
}

/// Where it overflowed: the handler may not symbolize (that allocates and may take
/// locks the overflowing code holds), so it takes the return addresses, as
/// `diag::thread_backtrace`'s handler does, and waits, at most [`FRAMES_WAIT_MS`], for
/// a runtime's monitor thread to symbolize and print them ([`print_pending_frames`])
/// before the process aborts. If the unwinder itself faults, the kernel ends the
/// process (SIGSEGV is blocked in its own handler), after the message above.
///
/// Protocol, one overflow at a time: `IDLE -> TAKING -> TAKEN` (the handler), `TAKEN ->
/// PRINTING -> PRINTED` (a monitor). A second overflow meanwhile aborts without frames.
static FRAMES_STATE: AtomicU8 = AtomicU8::new(IDLE);
static FRAMES_DEPTH: AtomicUsize = AtomicUsize::new(0);
static FRAMES: [AtomicUsize; OVERFLOW_FRAMES] = [const { AtomicUsize::new(0) }; OVERFLOW_FRAMES];
const IDLE: u8 = 0;
const TAKING: u8 = 1;
const TAKEN: u8 = 2;
const PRINTING: u8 = 3;
const PRINTED: u8 = 4;
/// Return addresses taken: the handler's own few, then the goroutine's innermost
/// (a runaway recursion would fill any number with one function).
const OVERFLOW_FRAMES: usize = 24;
const FRAMES_WAIT_MS: u64 = 2_000;

fn hand_frames_to_the_monitor() {
    if FRAMES_STATE
        .compare_exchange(IDLE, TAKING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    let mut depth = 0;
    // SAFETY: as in `diag::thread_backtrace`'s handler: the unwinder allocates nothing
    // and reads only this thread's stacks (the alternate one we run on, then the
    // goroutine's, whose frames are intact up to the faulting one); the static table
    // is ours alone while TAKING.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            FRAMES[depth].store(frame.ip() as usize, Ordering::Relaxed);
            depth += 1;
            depth < OVERFLOW_FRAMES
        });
    }
    FRAMES_DEPTH.store(depth, Ordering::Relaxed);
    FRAMES_STATE.store(TAKEN, Ordering::Release);
    for _ in 0..FRAMES_WAIT_MS / 5 {
        if FRAMES_STATE.load(Ordering::Acquire) == PRINTED {
            return;
        }
        let nap = libc::timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        // SAFETY: nanosleep is async-signal-safe; a null remainder is allowed.
        unsafe { libc::nanosleep(&nap, std::ptr::null_mut()) };
    }
}

/// The monitor, at each tick: print the frames of a goroutine that overflowed, if
/// its handler is waiting for that (see [`FRAMES_STATE`]).
pub(crate) fn print_pending_frames() {
    if FRAMES_STATE.load(Ordering::Relaxed) != TAKEN
        || FRAMES_STATE
            .compare_exchange(TAKEN, PRINTING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return;
    }
    let depth = FRAMES_DEPTH.load(Ordering::Relaxed);
    let ips: Vec<usize> = FRAMES[..depth]
        .iter()
        .map(|f| f.load(Ordering::Relaxed))
        .collect();
    let mut text = crate::diag::thread_backtrace::format_goroutine_frames(&ips);
    if depth == OVERFLOW_FRAMES {
        text += "    ...\n";
    }
    let report = format!("  where it overflowed:\n{text}");
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), report.as_bytes());
    FRAMES_STATE.store(PRINTED, Ordering::Release);
}

/// A fixed buffer for formatting inside the signal handler (no allocation).
struct MessageBuf {
    bytes: [u8; 512],
    len: usize,
}

impl MessageBuf {
    fn new() -> Self {
        MessageBuf {
            bytes: [0; 512],
            len: 0,
        }
    }

    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn push_number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}
