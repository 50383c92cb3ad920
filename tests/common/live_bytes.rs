//! A global allocator that counts the bytes in use, for tests that measure memory
//! (each in a child process, where no other test allocates beside it). A test crate
//! installs it with `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

pub struct CountingAllocator;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// The bytes allocated and not yet freed, by every thread of the process.
pub fn live_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// How many more bytes are in use after `measured` than before it, once `warm` has run
/// (so that caches and pools filled on first use are not counted).
pub fn growth(warm: impl FnOnce(), measured: impl FnOnce()) -> i64 {
    warm();
    let before = live_bytes();
    measured();
    live_bytes() - before
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}
