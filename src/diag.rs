//! Diagnostics: the goroutine dump.
//!
//! The format follows Go's traceback header lines, one block per goroutine:
//!
//! ```text
//! goroutine 7 [chan receive, 12 ms]:
//!     spawned at src/main.rs:14:9
//! ```

use std::fmt::Write;

use crate::goroutine::{PARKED, RUNNING};
use crate::sched::Shared;

impl Shared {
    /// Every goroutine of this runtime: id, state or wait reason, spawn site.
    pub(crate) fn dump(&self) -> String {
        let now = self.now_nanos().max(self.coarse_nanos());
        let mut out = String::new();
        for g in self.goroutines() {
            let state = match g.state() {
                RUNNING => "running".to_string(),
                PARKED => {
                    let waited_ms = now.saturating_sub(g.parked_at_nanos()) / 1_000_000;
                    format!("{}, {waited_ms} ms", g.wait_reason())
                }
                _ => "runnable".to_string(),
            };
            let _ = writeln!(
                out,
                "goroutine {} [{state}]:\n    spawned at {}\n",
                g.id, g.spawn_site
            );
        }
        out
    }
}
