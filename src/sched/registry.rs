//! The set of a runtime's live goroutines, for the dump and the deadlock check.
//!
//! Spawning must stay cheap, so this is a slab split into shards, one per worker slot
//! plus one for plain threads: a goroutine is inserted into the shard of the worker
//! that spawns it, which is in that worker's cache already, under a lock nobody else
//! is likely to hold. Removal is batched ([`Unregister`]): the worker that runs a
//! goroutine to completion keeps its reference in a short list and removes the whole
//! list under one lock per shard, instead of taking another core's shard line once per
//! goroutine. (Removing each goroutine at once from shards chosen by id cost a quarter
//! of a million-goroutine spawn-and-join.)
//!
//! The slab holds raw pointers, not counted references. A goroutine stays in the slab
//! until it is removed by whoever holds a reference to it for that purpose (the batch
//! keeps the references it removes), and readers only dereference entries under the
//! shard's lock, so every pointer read is to a live goroutine. Finished goroutines
//! still waiting in a batch are skipped by [`Registry::snapshot`]. Goroutines abandoned
//! with their runtime stay registered (and leaked), which is what the dump of a dead
//! runtime should show.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use crate::goroutine::{GoRef, Goroutine, DONE};

pub(crate) struct Registry {
    shards: Box<[Shard]>,
}

/// One shard, alone in its pair of cache lines: a worker spawning into its own shard
/// must not share a line with the next worker's.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Slab>);

#[derive(Default)]
struct Slab {
    entries: Vec<*const Goroutine>,
    free: Vec<u32>,
}

// SAFETY: the pointers are only dereferenced under the shard lock, while the goroutine
// is alive (module docs); Goroutine itself is Sync.
unsafe impl Send for Slab {}

/// Where a goroutine is registered, packed into its `registry_slot`.
fn pack(shard: usize, index: u32) -> u64 {
    ((shard as u64) << 32) | u64::from(index)
}

fn unpack(slot: u64) -> (usize, u32) {
    ((slot >> 32) as usize, slot as u32)
}

impl Registry {
    /// A registry with `shards` shards (the spawner picks one by its worker index).
    pub(crate) fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
        }
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Slab> {
        self.shards[shard]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Register `g` in shard `shard` (taken modulo the shard count).
    pub(crate) fn insert(&self, g: &GoRef, shard: usize) {
        let shard = shard % self.shards.len();
        let mut slab = self.lock(shard);
        let index = match slab.free.pop() {
            Some(i) => {
                slab.entries[i as usize] = g.as_ptr();
                i
            }
            None => {
                slab.entries.push(g.as_ptr());
                (slab.entries.len() - 1) as u32
            }
        };
        g.registry_slot.store(pack(shard, index), Ordering::Relaxed);
    }

    /// Remove every goroutine of `batch`, one lock per run of the same shard, and drop
    /// the references (which may free the goroutines).
    fn remove_all(&self, batch: &mut Vec<GoRef>) {
        let mut held: Option<(usize, std::sync::MutexGuard<'_, Slab>)> = None;
        for g in batch.iter() {
            let (shard, index) = unpack(g.registry_slot.load(Ordering::Relaxed));
            let slab = match &mut held {
                Some((s, slab)) if *s == shard => slab,
                _ => {
                    held = None; // unlock the previous shard first
                    &mut held.insert((shard, self.lock(shard))).1
                }
            };
            debug_assert!(std::ptr::eq(slab.entries[index as usize], g.as_ptr()));
            slab.entries[index as usize] = std::ptr::null();
            slab.free.push(index);
        }
        drop(held);
        batch.clear(); // after unlocking: a goroutine's drop may take other locks
    }

    /// Counted references to every registered goroutine that has not finished, ordered
    /// by id.
    pub(crate) fn snapshot(&self) -> Vec<GoRef> {
        let mut all = Vec::new();
        for shard in 0..self.shards.len() {
            let slab = self.lock(shard);
            for &p in slab.entries.iter().filter(|p| !p.is_null()) {
                // SAFETY: registered pointers are live while we hold the lock (module
                // docs); we take a new count for the snapshot.
                let g = unsafe { GoRef::clone_from_ptr(p) };
                if g.state() != DONE {
                    all.push(g);
                }
            }
        }
        all.sort_by_key(|g| g.id);
        all
    }
}

impl Registry {
    /// Call `f` on every registered goroutine that has not finished, shard by shard,
    /// under each shard's lock (so `f` must be quick and take no registry lock). No
    /// reference is counted: the cheap walk for counts (`diag::metrics`).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Goroutine)) {
        for shard in 0..self.shards.len() {
            let slab = self.lock(shard);
            for &p in slab.entries.iter().filter(|p| !p.is_null()) {
                // SAFETY: registered pointers are live while we hold the lock (module
                // docs), and `f` sees the goroutine only during the call.
                let g = unsafe { &*p };
                if g.state() != DONE {
                    f(g);
                }
            }
        }
    }
}

/// A worker's finished goroutines waiting to leave the registry (module docs).
#[derive(Default)]
pub(crate) struct Unregister {
    batch: Vec<GoRef>,
}

/// Finished goroutines a worker keeps before removing them together. Each holds its
/// goroutine's few hundred bytes (its stack is already back in the pool) until then.
const BATCH: usize = 32;

impl Unregister {
    /// `g` has finished (and is marked DONE): remove it with the next batch.
    pub(crate) fn push(&mut self, registry: &Registry, g: GoRef) {
        self.batch.push(g);
        if self.batch.len() >= BATCH {
            registry.remove_all(&mut self.batch);
        }
    }

    /// Remove everything waiting now (the worker is about to sleep or stop).
    pub(crate) fn flush(&mut self, registry: &Registry) {
        if !self.batch.is_empty() {
            registry.remove_all(&mut self.batch);
        }
    }
}

impl Drop for Unregister {
    fn drop(&mut self) {
        // Only reached without a flush if a worker's frame unwinds: keep the registry's
        // pointers valid by leaking the references.
        for g in self.batch.drain(..) {
            std::mem::forget(g);
        }
    }
}
