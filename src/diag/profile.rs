//! The goroutine profile: the live goroutines grouped by where they were spawned, their
//! labels and what they are doing, as folded stacks (one `frame;frame;frame count`
//! line per group: the input of inferno's and Brendan Gregg's flame graph tools), so a
//! leak of ten thousand goroutines parked at one `recv` is one wide bar.
//!
//! ```text
//! spawned at src/main.rs:14:9;[chan receive] 10000
//! spawned at src/server.rs:40:13;request=7;[IO wait] 2
//! spawned at src/main.rs:3:5;[running] 1
//! ```
//!
//! Stacks are not walked: that would wake every parked goroutine to record its own
//! backtrace (see the dump), which a profile taken from a live server must not do.

use std::collections::HashMap;
use std::fmt::Write;

use crate::goroutine::{PARKED, RUNNING};
use crate::sched::Shared;

impl Shared {
    /// The goroutine profile of this runtime (module docs), biggest groups first.
    pub(crate) fn goroutine_profile(&self) -> String {
        let mut groups: HashMap<String, usize> = HashMap::new();
        for g in self.goroutines() {
            let state = match g.state() {
                RUNNING => "running".to_string(),
                PARKED => g.wait_reason().to_string(),
                _ => "runnable".to_string(),
            };
            let mut stack = format!("spawned at {}", g.spawn_site);
            if let Some(labels) = g.labels() {
                for (k, v) in labels.iter() {
                    let _ = write!(stack, ";{}={}", frame_text(k), frame_text(v));
                }
            }
            let _ = write!(stack, ";[{state}]");
            *groups.entry(stack).or_default() += 1;
        }
        let mut lines: Vec<(String, usize)> = groups.into_iter().collect();
        lines.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut out = String::new();
        for (stack, count) in lines {
            let _ = writeln!(out, "{stack} {count}");
        }
        out
    }
}

/// `text` safe inside a frame: a `;` would split the frame, a line break end the line.
fn frame_text(text: &str) -> String {
    text.replace(';', ",").replace(['\n', '\r'], " ")
}
