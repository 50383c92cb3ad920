//! Loom model checks of goru's lock-free protocols, run by `scripts/loom.sh`:
//!
//! | protocol | goru's file | model |
//! | --- | --- | --- |
//! | the run queue's push, pop and steal | `src/sched/queue.rs` | `tests/run_queue.rs` |
//! | the goroutine state word and park token | `src/goroutine/state.rs` | `tests/goroutine_state.rs` |
//! | the `Selection` claim (select racing send, recv, close, timeout) | `src/chan/claim.rs` | `tests/select_claim.rs` |
//! | the timer claim (fire racing stop and reset) | `src/time/node.rs` | `tests/timer_claim.rs` |
//!
//! Each model includes goru's file itself with `#[path]`, so what is checked is the
//! code that ships. Those files take their atomics and cells from `crate::loom`,
//! which each model defines as loom's (goru's own `src/loom.rs` makes them std's), and
//! refer to nothing else but stubs the model provides. The files are compiled only
//! with `--cfg loom`; without it this crate is empty, so the workspace's builds and
//! lints pass over it.
