//! goru::process: waits and pipes park the goroutine; cancellation kills.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::process::{Command, Stdio};

mod common;

#[test]
fn wait_parks_the_goroutine_not_the_worker() {
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    rt.run(|| {
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let (ctx, stop) = goru::context::with_cancel(&goru::context::background());
        goru::go(move || {
            while ctx.err().is_none() {
                goru::time::sleep(Duration::from_millis(10));
                t.fetch_add(1, Ordering::SeqCst);
            }
        });
        let start = Instant::now();
        let status = Command::new("sleep").arg("0.3").status().unwrap();
        assert!(status.success());
        assert!(start.elapsed() >= Duration::from_millis(250));
        assert!(
            ticks.load(Ordering::SeqCst) >= 10,
            "the one worker kept ticking"
        );
        stop.cancel();
    });
}

#[test]
fn wait_context_kills_the_child_on_cancellation() {
    goru::run(|| {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
        goru::go(move || {
            goru::time::sleep(Duration::from_millis(50));
            cancel.cancel();
        });
        let start = Instant::now();
        let err = child.wait_context(&ctx).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_secs(2),
            "killed promptly: {waited:?}"
        );
        // Killed and reaped: its status is known, and it is a signal's.
        let status = child.try_wait().unwrap().expect("reaped");
        assert!(!status.success());
    });
}

#[test]
fn a_mebibyte_through_cat() {
    goru::run(|| {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
        let expected = data.clone();
        let feeder = goru::go(move || {
            stdin.write_all(&data).unwrap(); // parks whenever the pipe is full
        }); // stdin drops here: cat sees end of file
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        feeder.join().unwrap();
        assert!(child.wait().unwrap().success());
        assert!(out == expected, "1 MiB came back intact");
    });
}

fn spawn_and_wait_many(n: usize) {
    goru::run(move || {
        let children: Vec<_> = (0..n)
            .map(|i| {
                goru::go(move || {
                    let code = i % 3;
                    Command::new("sh")
                        .args(["-c", &format!("exit {code}")])
                        .status()
                        .unwrap()
                        .code()
                        == Some(code as i32)
                })
            })
            .collect();
        assert!(children.into_iter().all(|c| c.join().unwrap()));
    });
}

#[test]
fn a_hundred_children_from_a_hundred_goroutines() {
    spawn_and_wait_many(100);
}

#[test]
#[ignore = "heavy: run with --release --include-ignored"]
fn five_hundred_children_from_five_hundred_goroutines() {
    spawn_and_wait_many(500);
}

#[test]
fn output_captures_both_streams_and_errors_are_std_kinds() {
    goru::run(|| {
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 7"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        let missing = Command::new("/nonexistent/goru-program")
            .spawn()
            .unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        let big = Command::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2",
            ])
            .output()
            .unwrap();
        assert_eq!(
            (big.stdout.len(), big.stderr.len()),
            (300_000, 300_000),
            "neither pipe stalled"
        );
    });
}

#[test]
fn no_descriptor_is_left_open() {
    if !common::is_child() {
        common::run_passing_child("no_descriptor_is_left_open", &[]);
        return;
    }
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    goru::run(|| drop(Command::new("true").status())); // first runtime's own set-up
    let before = count();
    goru::run(|| {
        for _ in 0..20 {
            let out = Command::new("echo").arg("x").output().unwrap();
            assert_eq!(out.stdout, b"x\n");
            let mut c = Command::new("sleep").arg("5").spawn().unwrap();
            c.kill().unwrap();
            c.wait().unwrap();
        }
    });
    assert_eq!(count(), before, "descriptors leaked");
}
