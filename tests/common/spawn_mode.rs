//! How the ports of Go's channel programs (`tests/golang*.rs`) run: each program
//! twice, as crossbeam's `tests/golang.rs` does, its concurrent parts as goroutines
//! and then as plain threads, since goru's channels serve both.
#![allow(dead_code)] // each test file uses part of it

use std::time::Duration;

/// How a program starts its concurrent parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spawn {
    Goroutines,
    Threads,
}

impl Spawn {
    /// Start `f` concurrently; join the handle to wait for it, or drop it to let `f`
    /// run on alone (a generator, which ends when its consumers are gone).
    pub fn go(self, f: impl FnOnce() + Send + 'static) -> Joiner {
        match self {
            Spawn::Goroutines => Joiner::Goroutine(goru::go(f)),
            Spawn::Threads => Joiner::Thread(std::thread::spawn(f)),
        }
    }

    /// Pause the caller: a goroutine parks, a thread sleeps.
    pub fn nap(self) {
        match self {
            Spawn::Goroutines => goru::time::sleep(Duration::from_micros(100)),
            Spawn::Threads => std::thread::sleep(Duration::from_micros(100)),
        }
    }
}

pub enum Joiner {
    Goroutine(goru::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

impl Joiner {
    pub fn join(self) {
        match self {
            Joiner::Goroutine(h) => h.join().unwrap(),
            Joiner::Thread(h) => h.join().unwrap(),
        }
    }
}

/// Run `program` with goroutines (inside a 2-worker runtime), then with threads.
pub fn both(program: fn(Spawn)) {
    goru::Runtime::builder()
        .workers(2)
        .build()
        .unwrap()
        .run(move || program(Spawn::Goroutines));
    program(Spawn::Threads);
}
