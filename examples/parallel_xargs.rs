//! `find DIR -type f | xargs -P 8 wc -l`, the goroutine way: one goroutine walks the
//! tree with `goru::fs`, a pool of goroutines runs one `wc -l` process per file with
//! `goru::process` (each wait parks on a pidfd), and the counts come back over a
//! channel. At most JOBS processes run at once (an `ErrGroup` with a limit).
//!
//! `cargo run --example parallel_xargs -- [dir] [jobs]` (default: `src`, 8).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use goru::chan;
use goru::process::Command;
use goru::sync::ErrGroup;

/// Every regular file below `dir`, sorted.
pub fn find_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in goru::fs::read_dir(&d)? {
            let path = entry.path();
            if goru::fs::metadata(&path)?.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The line count of each file, counted by `wc -l` processes, `jobs` at a time.
pub fn count_lines(files: Vec<PathBuf>, jobs: usize) -> Result<BTreeMap<PathBuf, u64>, String> {
    let (tx, rx) = chan::unbounded();
    let mut group = ErrGroup::new();
    group.set_limit(jobs);
    for file in files {
        let tx = tx.clone();
        group.go(move || {
            let out = Command::new("wc")
                .arg("-l")
                .arg(&file)
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("wc {}: {}", file.display(), out.status));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let lines = text.split_whitespace().next().and_then(|n| n.parse().ok());
            let lines =
                lines.ok_or_else(|| format!("wc {}: odd output {text:?}", file.display()))?;
            tx.send((file, lines))
                .map_err(|_| "the collector went away".to_string())
        });
    }
    drop(tx);
    group.wait()?;
    Ok(rx.iter().collect())
}

#[goru::main]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("src", String::as_str));
    let jobs = args.get(2).and_then(|j| j.parse().ok()).unwrap_or(8);
    let files = find_files(&dir).expect("walk the directory");
    let counts = count_lines(files, jobs).expect("count");
    let total: u64 = counts.values().sum();
    for (path, lines) in &counts {
        println!("{lines:>8} {}", path.display());
    }
    println!(
        "{total:>8} total ({} files, {jobs} at a time)",
        counts.len()
    );
}
