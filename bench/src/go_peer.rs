//! Go as a peer: `bench/go/main.go` built once, run per workload.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::Settings;

pub struct GoPeer {
    binary: PathBuf,
}

impl GoPeer {
    /// Build the Go program, or None (with a note) when `go` is unavailable.
    /// `BENCH_GO_BIN` names a prebuilt one instead, for a machine without Go (the
    /// program is statically linked, so it can be built elsewhere and copied).
    pub fn build() -> Option<GoPeer> {
        if let Some(binary) = std::env::var_os("BENCH_GO_BIN") {
            return Some(GoPeer {
                binary: binary.into(),
            });
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let source = root.join("go");
        let binary = root.join("go").join("bin").join("gobench");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&binary)
            .arg(".")
            .current_dir(&source)
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "on")
            .status();
        match status {
            Ok(s) if s.success() => Some(GoPeer { binary }),
            Ok(s) => {
                eprintln!("go build failed ({s}); Go is left out");
                None
            }
            Err(_) => None,
        }
    }

    /// Run one workload; the program prints one time per operation (ns) per run.
    pub fn run(&self, workload: &str, settings: &Settings) -> Option<Vec<Duration>> {
        let out = Command::new(&self.binary)
            .args([workload, &settings.reps.to_string()])
            .env("GOMAXPROCS", settings.workers.to_string())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "go {workload} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let samples: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse::<f64>().ok())
            .map(|ns| Duration::from_secs_f64(ns / 1e9))
            .collect();
        (!samples.is_empty()).then_some(samples)
    }
}
