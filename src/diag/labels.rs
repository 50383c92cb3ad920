//! Goroutine labels, as Go's `pprof.Do`: key-value pairs a goroutine carries for a
//! while, shown in the dump, the goroutine profile and the trace, and inherited by the
//! goroutines it spawns meanwhile (`runtime::with_labels`).
//!
//! A goroutine's labels sit behind a mutex, since the dump reads them from another
//! thread; `labelled` says whether there are any without the lock, so a spawn from an
//! unlabelled goroutine (nearly all of them) pays one relaxed load.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::goroutine::Goroutine;

/// A set of labels, sorted by key, each key once.
pub(crate) type Labels = Arc<[(String, String)]>;

/// `labels` as the dump and the profile print them: `key=value` pairs, space-separated.
pub(crate) fn format(labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

impl Goroutine {
    /// Its labels now, if any (any thread).
    pub(crate) fn labels(&self) -> Option<Labels> {
        if !self.labelled.load(Ordering::Acquire) {
            return None;
        }
        self.labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replace its labels (the goroutine itself, or its spawner before it is seen).
    pub(crate) fn set_labels(&self, labels: Option<Labels>) {
        let mut slot = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        self.labelled.store(labels.is_some(), Ordering::Release);
        *slot = labels;
    }
}

/// The labels a goroutine spawned here inherits: the running goroutine's.
pub(crate) fn inherited() -> Option<Labels> {
    let g = crate::sched::context::current_goroutine();
    if g.is_null() {
        return None;
    }
    // SAFETY: the running goroutine is alive while it runs, and it is running here.
    let g = unsafe { &*g };
    g.labels()
}

/// `current` with `add` laid over it: a key in both takes `add`'s value.
pub(crate) fn merge(current: Option<&[(String, String)]>, add: &[(&str, &str)]) -> Labels {
    let mut all: Vec<(String, String)> = current.map(<[_]>::to_vec).unwrap_or_default();
    for (k, v) in add {
        match all.iter_mut().find(|(key, _)| key == k) {
            Some(pair) => pair.1 = v.to_string(),
            None => all.push((k.to_string(), v.to_string())),
        }
    }
    all.sort();
    all.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_replaces_keys_and_keeps_them_sorted() {
        let base = merge(None, &[("user", "ann"), ("request", "7")]);
        assert_eq!(format(&base), "request=7 user=ann");
        let more = merge(Some(&base), &[("request", "8"), ("phase", "read")]);
        assert_eq!(format(&more), "phase=read request=8 user=ann");
        assert_eq!(format(&merge(None, &[])), "");
    }
}
