//! The global allocator each benchmark child runs with: the system allocator (what a
//! user gets) or mimalloc, chosen by `BENCH_CHILD_ALLOC` in the child's environment.
//!
//! The choice is made at the first allocation, before any thread but the main one
//! exists, and never changes, so every block is freed by the allocator that made it.
//! It reads the environment with libc's `getenv`, which does not allocate (std's
//! `env::var` would, from inside the allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicU8, Ordering};

/// The variable the harness sets for a child: `system` or `mimalloc`.
pub const CHILD_ALLOC_ENV: &str = "BENCH_CHILD_ALLOC";

/// The allocators `BENCH_ALLOC` may name, in the order their columns appear.
pub const NAMES: [&str; 2] = ["system", "mimalloc"];

pub struct Chosen;

const UNDECIDED: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

extern "C" {
    fn getenv(name: *const c_char) -> *const c_char;
}

fn choice() -> u8 {
    match CHOICE.load(Ordering::Relaxed) {
        UNDECIDED => {
            // SAFETY: the name is a NUL-terminated literal; the harness never changes
            // its environment, so the returned string is not freed under us.
            let value = unsafe { getenv(c"BENCH_CHILD_ALLOC".as_ptr()) };
            let chosen = if !value.is_null()
                // SAFETY: getenv returns a NUL-terminated string when not null.
                && unsafe { CStr::from_ptr(value) }.to_bytes() == b"mimalloc"
            {
                MIMALLOC
            } else {
                SYSTEM
            };
            // Every thread reads the same environment, so a race agrees on the value.
            CHOICE.store(chosen, Ordering::Relaxed);
            chosen
        }
        chosen => chosen,
    }
}

/// The allocator this process runs with.
pub fn name() -> &'static str {
    if choice() == MIMALLOC {
        "mimalloc"
    } else {
        "system"
    }
}

// SAFETY: every call goes to the one allocator chosen before the first allocation,
// which is never changed, so a block is always freed or resized by its own allocator.
unsafe impl GlobalAlloc for Chosen {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe {
            match choice() {
                MIMALLOC => mimalloc::MiMalloc.alloc(layout),
                _ => System.alloc(layout),
            }
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            match choice() {
                MIMALLOC => mimalloc::MiMalloc.alloc_zeroed(layout),
                _ => System.alloc_zeroed(layout),
            }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the same allocator (the choice never changes).
        unsafe {
            match choice() {
                MIMALLOC => mimalloc::MiMalloc.dealloc(ptr, layout),
                _ => System.dealloc(ptr, layout),
            }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`.
        unsafe {
            match choice() {
                MIMALLOC => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
                _ => System.realloc(ptr, layout, new_size),
            }
        }
    }
}
