//! Turning a goroutine stack overflow into a message instead of a bare SIGSEGV.
//!
//! Each goroutine records the guard page of its stack and the stack's size when it
//! first runs, and a worker names the goroutine it runs in a thread-local
//! (`sched::context`). A SIGSEGV handler running on an alternate signal stack (the
//! faulting stack is exhausted, so the handler cannot run on it) compares the fault
//! address with the running goroutine's guard page. On a
//! match it writes `goroutine N (spawned at FILE:LINE:COL) stack overflow (stack size
//! S KiB): raise it with Builder::stack_size` to stderr and aborts. (Where in the
//! goroutine it overflowed is not said: naming the frame means symbolizing, which
//! allocates and may take locks the overflowing code holds, in a handler that must
//! end the process.) Any other fault is chained to the handler
//! that was installed before ours (Rust's own overflow handler, or the default action).
//!
//! Everything the handler touches is async-signal-safe: a `const`-initialised
//! thread-local `Cell`, the running goroutine's fields, `write(2)` from a stack
//! buffer, and `abort`.

use std::mem::MaybeUninit;
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
/// Threads made by `std::thread` usually have one already; we add one only if not.
pub(crate) struct AltStack {
    mapping: Option<(usize, usize)>,
}

impl AltStack {
    pub(crate) fn ensure() -> AltStack {
        // SAFETY: querying and setting this thread's signal stack with valid pointers;
        // the mapping stays alive until `Drop` disables the signal stack first.
        unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(std::ptr::null(), &mut old);
            if old.ss_flags & libc::SS_DISABLE == 0 {
                return AltStack { mapping: None };
            }
            let size = libc::SIGSTKSZ.max(64 * 1024);
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if ptr == libc::MAP_FAILED {
                return AltStack { mapping: None };
            }
            let stack = libc::stack_t {
                ss_sp: ptr,
                ss_flags: 0,
                ss_size: size,
            };
            libc::sigaltstack(&stack, std::ptr::null_mut());
            AltStack {
                mapping: Some((ptr as usize, size)),
            }
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if let Some((ptr, size)) = self.mapping {
            // SAFETY: disable the signal stack before unmapping the memory it uses.
            unsafe {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&disable, std::ptr::null_mut());
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
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(libc::STDERR_FILENO, buf.bytes.as_ptr().cast(), buf.len);
            libc::abort();
        }
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
