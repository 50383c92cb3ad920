//! The standard library around goroutines, against Go: child processes, small files,
//! name lookups and a Unix-socket ping-pong. Each is timed per operation.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{goru_runtime, Workload};
use crate::Settings;

const PROCESSES: usize = 1000;
const PROCESS_SLOTS: usize = 16;
const FILES: usize = 10_000;
const FILE_READERS: usize = 8;
const LOOKUPS: usize = 1000;
const LOOKUP_GOROUTINES: usize = 100;
const ROUND_TRIPS: u32 = 100_000;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "process: 1,000 x true, 16 at once",
            unit: "per process",
            go_name: "processes",
            runs: vec![("goru", processes)],
        },
        Workload {
            name: "fs::read: 10,000 small files, 8 goroutines",
            unit: "per file",
            go_name: "files",
            runs: vec![("goru", files)],
        },
        Workload {
            name: "lookup_host localhost x1,000, 100 goroutines",
            unit: "per lookup",
            go_name: "lookups",
            runs: vec![("goru", lookups)],
        },
        Workload {
            name: "unix socket ping-pong",
            unit: "per round trip",
            go_name: "unixpingpong",
            runs: vec![("goru", unix_ping_pong)],
        },
    ]
}

fn processes(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let slots: Vec<_> = (0..PROCESS_SLOTS)
            .map(|_| {
                goru::go(|| {
                    for _ in 0..PROCESSES / PROCESS_SLOTS {
                        let status = goru::process::Command::new("true").status().unwrap();
                        assert!(status.success());
                    }
                })
            })
            .collect();
        for s in slots {
            s.join().unwrap();
        }
        start.elapsed() / (PROCESSES / PROCESS_SLOTS * PROCESS_SLOTS) as u32
    })
}

/// A directory of small files, made once per process (outside the timing).
fn small_files() -> Arc<Vec<PathBuf>> {
    let dir = std::env::temp_dir().join(format!("goru-bench-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(
        (0..FILES)
            .map(|i| {
                let path = dir.join(format!("{i}.txt"));
                std::fs::write(&path, format!("file {i}: {}", "x".repeat(100))).unwrap();
                path
            })
            .collect(),
    )
}

fn files(s: &Settings) -> Duration {
    let paths = small_files();
    let elapsed = goru_runtime(s).run(move || {
        let start = Instant::now();
        let readers: Vec<_> = (0..FILE_READERS)
            .map(|r| {
                let paths = paths.clone();
                goru::go(move || {
                    let mut bytes = 0;
                    for path in paths.iter().skip(r).step_by(FILE_READERS) {
                        bytes += goru::fs::read(path).unwrap().len();
                    }
                    bytes
                })
            })
            .collect();
        let total: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(total > FILES * 100);
        start.elapsed() / FILES as u32
    });
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("goru-bench-files-{}", std::process::id())),
    );
    elapsed
}

fn lookups(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let start = Instant::now();
        let workers: Vec<_> = (0..LOOKUP_GOROUTINES)
            .map(|_| {
                goru::go(|| {
                    for _ in 0..LOOKUPS / LOOKUP_GOROUTINES {
                        assert!(!goru::net::lookup_host("localhost:80").unwrap().is_empty());
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        start.elapsed() / LOOKUPS as u32
    })
}

fn unix_ping_pong(s: &Settings) -> Duration {
    goru_runtime(s).run(|| {
        let (a, b) = goru::net::UnixStream::pair().unwrap();
        let echo = goru::go(move || {
            let mut buf = [0u8; 1];
            for _ in 0..ROUND_TRIPS {
                (&b).read_exact(&mut buf).unwrap();
                (&b).write_all(&buf).unwrap();
            }
        });
        let start = Instant::now();
        let mut buf = [7u8; 1];
        for _ in 0..ROUND_TRIPS {
            (&a).write_all(&buf).unwrap();
            (&a).read_exact(&mut buf).unwrap();
        }
        let elapsed = start.elapsed();
        echo.join().unwrap();
        elapsed / ROUND_TRIPS
    })
}
