//! Goroutine stacks: reserved, guarded, pooled.
//!
//! A stack is `size` bytes of reserved address space with one guard page below it.
//! The memory is mapped `MAP_NORESERVE`, so the kernel commits a page only when the
//! goroutine first touches it: a goroutine that never goes deeper than one page costs
//! one page.
//!
//! The guard page is installed with `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+), which
//! marks the page as faulting *without splitting the mapping*: neighbouring stacks stay
//! one kernel VMA, so a million guarded stacks fit under the default
//! `vm.max_map_count` of 65530. On older kernels the guard falls back to
//! `mprotect(PROT_NONE)`, which costs two VMAs per stack; when the map limit is hit we
//! say so, naming the sysctl that raises it.
//!
//! Stacks are carved out of slabs of [`SLAB_STACKS`] per `mmap` and never unmapped:
//! unmapping single stacks out of a merged mapping would punch holes and multiply VMAs,
//! which is exactly the limit we are trying to stay under. A finished goroutine's stack
//! goes back to its worker's cache, overflowing in batches to a process-wide pool per
//! stack size. Stacks pooled beyond [`HOT_STACKS`] keep their pages while bursts come
//! and go; once they have sat unused for a while ([`StackPool::release_idle`], called
//! by every runtime's monitor about once a second and when a runtime goes quiet) their
//! pages are handed back to the kernel with `MADV_DONTNEED` (guard regions survive
//! it), so a burst of a million goroutines does not pin a million pages forever. Not
//! releasing at once is what lets the next burst reuse the pages instead of faulting
//! every one of them in again (and taking the address-space lock for each fault, which
//! the workers of a runtime then contend for).

pub(crate) mod overflow;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use corosensei::stack::StackPointer;

/// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13); not yet in every libc.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Stacks mapped by one `mmap` call.
const SLAB_STACKS: usize = 64;

/// Pooled stacks per size class kept with their pages committed; the rest are released.
const HOT_STACKS: usize = 4096;

/// Stacks a worker keeps for itself before handing a batch to the shared pool.
pub(crate) const WORKER_CACHE: usize = 128;

/// The smallest stack a goroutine may be given.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Set once `MADV_GUARD_INSTALL` has been refused: every later stack uses `mprotect`.
static GUARD_BY_MPROTECT: AtomicBool = AtomicBool::new(false);

pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize })
}

/// One goroutine stack: `[guard page][usable bytes]`, growing down from `top`.
///
/// Invariant: the range `[bottom, top)` is mapped read-write and owned exclusively by
/// this value, and the page below `bottom` faults on access.
pub(crate) struct Stack {
    bottom: usize,
    top: usize,
}

impl Stack {
    /// The usable size in bytes (excluding the guard page).
    pub(crate) fn size(&self) -> usize {
        self.top - self.bottom
    }

    /// The guard page's address range, for the overflow handler.
    pub(crate) fn guard_range(&self) -> (usize, usize) {
        (self.bottom - page_size(), self.bottom)
    }
}

/// Give the committed pages of pooled stacks back to the kernel, one `madvise` per run
/// of adjacent stacks (a slab's stacks are contiguous, guard pages between them).
/// Sorts `stacks` by address.
fn release_pages(stacks: &mut [Stack]) {
    stacks.sort_unstable_by_key(|s| s.bottom);
    let page = page_size();
    let mut i = 0;
    while i < stacks.len() {
        let start = stacks[i].bottom;
        let mut end = stacks[i].top;
        let mut j = i + 1;
        while j < stacks.len() && stacks[j].bottom == end + page {
            end = stacks[j].top;
            j += 1;
        }
        // SAFETY: [start, end) covers pooled stacks we own and the guard pages between
        // them (struct invariant). MADV_DONTNEED on private anonymous memory only zeroes
        // it; nothing lives on a pooled stack; guard regions survive it.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
        i = j;
    }
}

// SAFETY: `base` and `limit` describe the mapping owned by this value (see the struct
// invariant); both are page aligned, hence aligned to STACK_ALIGNMENT, and the limit
// includes the guard page below the usable range, as the trait requires.
unsafe impl corosensei::stack::Stack for Stack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.top).expect("stack top is never null")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.bottom - page_size()).expect("stack limit is never null")
    }
}

/// The pool for one stack size, shared by every runtime using that size.
pub(crate) struct StackPool {
    size: usize,
    free: Mutex<FreeStacks>,
    /// Every slab mapped for this pool, `(base, len)` (never unmapped), for
    /// [`committed_bytes`](Self::committed_bytes).
    slabs: Mutex<Vec<(usize, usize)>>,
}

#[derive(Default)]
struct FreeStacks {
    /// Stacks whose pages may still be committed, kept that way (cheap to reuse).
    hot: Vec<Stack>,
    /// Beyond `HOT_STACKS`: still committed, released once idle (`release_idle`).
    dirty: Vec<Stack>,
    /// Stacks whose pages were released (reuse faults them in again).
    cold: Vec<Stack>,
    /// The hot stacks ran out since the last `release_idle`: a burst is under way.
    dirty_taken: bool,
}

impl StackPool {
    /// The process-wide pool for stacks of `size` usable bytes (rounded up to pages).
    pub(crate) fn for_size(size: usize) -> Arc<StackPool> {
        static POOLS: Mutex<Vec<Arc<StackPool>>> = Mutex::new(Vec::new());
        let page = page_size();
        let size = size.max(MIN_STACK_SIZE).div_ceil(page) * page;
        let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.iter().find(|p| p.size == size) {
            return pool.clone();
        }
        let pool = Arc::new(StackPool {
            size,
            free: Mutex::new(FreeStacks::default()),
            slabs: Mutex::new(Vec::new()),
        });
        pools.push(pool.clone());
        pool
    }

    pub(crate) fn stack_size(&self) -> usize {
        self.size
    }

    /// Move up to `n` stacks into `out`, mapping a new slab if the pool is empty.
    pub(crate) fn take_batch(&self, out: &mut Vec<Stack>, n: usize) -> io::Result<()> {
        {
            let mut guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let free = &mut *guard;
            for list in [&mut free.hot, &mut free.dirty, &mut free.cold] {
                let k = n.saturating_sub(out.len()).min(list.len());
                out.extend(list.drain(list.len() - k..));
            }
            // Demand beyond the hot stacks: a burst is under way, keep the dirty ones.
            free.dirty_taken |= free.hot.is_empty();
        }
        if out.is_empty() {
            self.map_slab(out)?;
        }
        Ok(())
    }

    /// Return stacks to the pool.
    pub(crate) fn put_batch(&self, stacks: &mut Vec<Stack>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let room = HOT_STACKS.saturating_sub(free.hot.len());
        let to_hot = room.min(stacks.len());
        free.hot.extend(stacks.drain(..to_hot));
        free.dirty.append(stacks);
    }

    /// Release the pages of the dirty stacks unless the hot ones ran out since the last
    /// call (so the dirty ones have been idle for one interval between calls at least);
    /// with `now`, release them whatever happened (the runtime went quiet).
    pub(crate) fn release_idle(&self, now: bool) {
        let mut dirty = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let burst = std::mem::take(&mut free.dirty_taken);
            if (burst && !now) || free.dirty.is_empty() {
                return;
            }
            std::mem::take(&mut free.dirty)
        };
        // The madvise calls run outside the lock: workers may take and return stacks
        // meanwhile.
        release_pages(&mut dirty);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.cold.append(&mut dirty);
    }

    /// Bytes of this pool's stacks that are committed now (resident), in use or
    /// pooled: what the kernel says of every slab (`mincore`), not an estimate.
    pub(crate) fn committed_bytes(&self) -> usize {
        let slabs = self.slabs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        slabs
            .iter()
            .map(|&(base, len)| resident_pages(base, len) * page_size())
            .sum()
    }

    fn map_slab(&self, out: &mut Vec<Stack>) -> io::Result<()> {
        let page = page_size();
        let stride = self.size + page;
        let len = stride * SLAB_STACKS;
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // touches no existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(map_error("mmap", io::Error::last_os_error()));
        }
        let base = base as usize;
        self.slabs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((base, len));
        for i in 0..SLAB_STACKS {
            let guard = base + i * stride;
            install_guard(guard, page)?;
            out.push(Stack {
                bottom: guard + page,
                top: guard + stride,
            });
        }
        Ok(())
    }
}

/// Resident pages of the mapped range `[base, base + len)` (`base` page aligned), read
/// with `mincore` a bounded chunk at a time; 0 if the kernel refuses.
pub(crate) fn resident_pages(base: usize, len: usize) -> usize {
    const CHUNK_PAGES: usize = 4096;
    let page = page_size();
    let mut flags = vec![0u8; CHUNK_PAGES];
    let (mut addr, end, mut resident) = (base, base + len, 0);
    while addr < end {
        let pages = ((end - addr).div_ceil(page)).min(CHUNK_PAGES);
        // SAFETY: [addr, addr + pages * page) lies in a mapping that is never unmapped
        // (slabs live for the process), addr is page aligned, and `flags` has room for
        // one byte per page. mincore only reads the page tables.
        let rc = unsafe {
            libc::mincore(
                addr as *mut libc::c_void,
                pages * page,
                flags.as_mut_ptr() as *mut libc::c_uchar,
            )
        };
        if rc != 0 {
            return resident;
        }
        resident += flags[..pages].iter().filter(|&&f| f & 1 != 0).count();
        addr += pages * page;
    }
    resident
}

fn install_guard(addr: usize, page: usize) -> io::Result<()> {
    if !GUARD_BY_MPROTECT.load(Ordering::Relaxed) {
        // SAFETY: `addr` is the first page of a slab we just mapped and own.
        let rc = unsafe { libc::madvise(addr as *mut libc::c_void, page, MADV_GUARD_INSTALL) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINVAL) {
            return Err(map_error("madvise(MADV_GUARD_INSTALL)", err));
        }
        // An older kernel: fall back to mprotect from now on.
        GUARD_BY_MPROTECT.store(true, Ordering::Relaxed);
    }
    // SAFETY: as above, the page belongs to a slab we own.
    let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, page, libc::PROT_NONE) };
    if rc != 0 {
        return Err(map_error("mprotect", io::Error::last_os_error()));
    }
    Ok(())
}

/// Name the map limit when the kernel runs out of mappings, since that is the usual cause.
fn map_error(call: &str, err: io::Error) -> io::Error {
    if err.raw_os_error() != Some(libc::ENOMEM) {
        return io::Error::new(
            err.kind(),
            format!("goru: cannot map a goroutine stack ({call}): {err}"),
        );
    }
    if let Some(limit) = address_space_limit() {
        // Under a finite `ulimit -v`, that limit is what a failed map hits first.
        return io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "goru: cannot map a goroutine stack ({call}): {err}: the process's \
                 address-space limit (RLIMIT_AS, `ulimit -v`) is {} MiB, and each \
                 goroutine reserves Builder::stack_size of it; raise the limit, lower \
                 the stack size, or run fewer goroutines",
                limit >> 20
            ),
        );
    }
    let max_maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let hint = match (GUARD_BY_MPROTECT.load(Ordering::Relaxed), max_maps) {
        (true, Some(m)) => format!(
            "this kernel lacks MADV_GUARD_INSTALL, so each guarded stack takes 2 of the \
             vm.max_map_count={m} mappings (about {} goroutines); raise it with \
             `sysctl -w vm.max_map_count=N` or lower the goroutine count",
            m / 2
        ),
        (_, Some(m)) => format!(
            "out of memory or mappings (vm.max_map_count={m}); raise it with \
             `sysctl -w vm.max_map_count=N`, or lower Builder::stack_size"
        ),
        (_, None) => "out of memory or mappings; see vm.max_map_count".to_string(),
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("goru: cannot map a goroutine stack ({call}): {err}: {hint}"),
    )
}

/// The soft address-space limit in bytes, if finite.
fn address_space_limit() -> Option<u64> {
    // SAFETY: getrlimit fills the struct it is given.
    let limit = unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_AS, &mut limit) == 0).then_some(limit)
    }?;
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_mappings_the_error_names_the_map_limit() {
        if address_space_limit().is_some() {
            return; // under `ulimit -v` the address-space limit is named instead
        }
        let err = map_error("mmap", io::Error::from_raw_os_error(libc::ENOMEM));
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        let text = err.to_string();
        assert!(
            text.starts_with("goru: cannot map a goroutine stack (mmap): "),
            "{text}"
        );
        assert!(text.contains("vm.max_map_count="), "{text}");
        assert!(text.contains("sysctl -w vm.max_map_count=N"), "{text}");
    }

    #[test]
    fn stacks_are_reused_not_remapped() {
        let pool = StackPool::for_size(64 * 1024);
        let mut batch = Vec::new();
        pool.take_batch(&mut batch, 8).unwrap();
        let first: Vec<usize> = batch.iter().map(|s| s.top).collect();
        assert!(batch.iter().all(|s| s.size() == 64 * 1024));
        pool.put_batch(&mut batch);
        assert!(batch.is_empty());
        pool.take_batch(&mut batch, 8).unwrap();
        assert!(
            batch.iter().all(|s| first.contains(&s.top)),
            "pooled stacks come back"
        );
        pool.put_batch(&mut batch);
    }

    #[test]
    fn sizes_round_up_to_pages_and_minimum() {
        assert_eq!(StackPool::for_size(1).stack_size(), MIN_STACK_SIZE);
        assert_eq!(
            StackPool::for_size(MIN_STACK_SIZE + 1).stack_size() % page_size(),
            0
        );
    }
}
