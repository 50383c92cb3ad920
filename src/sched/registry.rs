//! The set of a runtime's live goroutines, for the dump.
//!
//! Spawning must stay cheap, so this is a slab split into shards by goroutine id: an
//! insert or a removal is one uncontended lock, a vector store and a free-list push.
//! The slab holds raw pointers, not counted references: a goroutine is removed by the
//! worker that ran it to completion while that worker still holds a reference, and
//! readers only dereference entries under the shard's lock, so every pointer read is
//! to a live goroutine. Goroutines abandoned with their runtime stay registered (and
//! leaked), which is what the dump of a dead runtime should show.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use crate::goroutine::{GoRef, Goroutine};

const SHARDS: usize = 64;

pub(crate) struct Registry {
    shards: Box<[Mutex<Slab>]>,
}

#[derive(Default)]
struct Slab {
    entries: Vec<*const Goroutine>,
    free: Vec<u32>,
}

// SAFETY: the pointers are only dereferenced under the shard lock, while the goroutine
// is alive (module docs); Goroutine itself is Sync.
unsafe impl Send for Slab {}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::new(Slab::default())).collect(),
        }
    }

    fn shard(&self, g: &Goroutine) -> std::sync::MutexGuard<'_, Slab> {
        self.shards[g.id as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, g: &GoRef) {
        let mut slab = self.shard(g);
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
        g.registry_slot.store(index, Ordering::Relaxed);
    }

    pub(crate) fn remove(&self, g: &GoRef) {
        let mut slab = self.shard(g);
        let index = g.registry_slot.load(Ordering::Relaxed);
        debug_assert!(std::ptr::eq(slab.entries[index as usize], g.as_ptr()));
        slab.entries[index as usize] = std::ptr::null();
        slab.free.push(index);
    }

    /// Counted references to every registered goroutine, ordered by id.
    pub(crate) fn snapshot(&self) -> Vec<GoRef> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let slab = shard.lock().unwrap_or_else(|e| e.into_inner());
            for &p in slab.entries.iter().filter(|p| !p.is_null()) {
                // SAFETY: registered pointers are live while we hold the lock (module
                // docs); we take a new count for the snapshot.
                all.push(unsafe { GoRef::clone_from_ptr(p) });
            }
        }
        all.sort_by_key(|g| g.id);
        all
    }
}
