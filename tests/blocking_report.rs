//! The blocking-call report (`Builder::blocking_report`): a goroutine that holds its
//! worker without parking is named once on stderr, with its backtrace unless
//! `GORU_BLOCKING_BACKTRACE=0`; goroutines that park are never named. Each case runs
//! in a child process whose stderr is read, one test per process. (A capture that
//! lands in a stack switch is tested in `diag::thread_backtrace`.)

mod common;

use std::time::{Duration, Instant};

use goru::Runtime;

const REPORT: &str = "without parking";

fn reports(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(REPORT)).collect()
}

/// Run the test `name` in a child, with the default settings, and return its stderr,
/// asserting it passed.
fn child_stderr(name: &str) -> String {
    let out = common::run_in_child(name, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[inline(never)]
fn holds_the_worker_in_a_plain_sleep(d: Duration) {
    std::thread::sleep(d);
    std::hint::black_box(()); // not a tail call: its frame stays for the backtrace
}

/// 200 goroutines parking over and over for `d`: busy, never holding a worker long.
fn parkers(d: Duration) -> Vec<goru::JoinHandle<u32>> {
    (0..200)
        .map(|_| {
            goru::go(move || {
                let start = Instant::now();
                let mut rounds = 0;
                while start.elapsed() < d {
                    goru::time::sleep(Duration::from_millis(1));
                    rounds += 1;
                }
                rounds
            })
        })
        .collect()
}

#[test]
fn a_plain_sleep_is_reported_once_with_its_backtrace_and_parkers_never() {
    if !common::is_child() {
        let stderr =
            child_stderr("a_plain_sleep_is_reported_once_with_its_backtrace_and_parkers_never");
        let found = reports(&stderr);
        assert_eq!(found.len(), 1, "{stderr}");
        let line = found[0];
        assert!(line.starts_with("goru: goroutine "), "{line}");
        assert!(
            line.contains("(spawned at tests/blocking_report.rs:"),
            "{line}"
        );
        assert!(line.contains("has held worker "), "{line}");
        let ms: u64 = line
            .split(" for ")
            .nth(1)
            .and_then(|rest| rest.split(" ms").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no duration in {line}"));
        assert!((100..1000).contains(&ms), "{line}");
        // The backtrace is the sleeper's: where it blocks, then its own function.
        let after = stderr.split_once(line).unwrap().1;
        let sleep_at = after.find("sleep").expect("the sleep frame");
        let ours = after
            .find("holds_the_worker_in_a_plain_sleep")
            .unwrap_or_else(|| panic!("its function in the backtrace:\n{after}"));
        assert!(sleep_at < ours, "{after}");
        assert!(!after.contains("thread_backtrace::handler"), "{after}");
        return;
    }
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.run(|| {
        let busy = parkers(Duration::from_millis(600));
        let sleeper = goru::go(|| {
            holds_the_worker_in_a_plain_sleep(Duration::from_millis(300));
            // Parked, then holding the worker again: still reported only once.
            goru::time::sleep(Duration::from_millis(5));
            holds_the_worker_in_a_plain_sleep(Duration::from_millis(300));
        });
        sleeper.join().unwrap();
        for p in busy {
            assert!(p.join().unwrap() > 0);
        }
    });
}

#[test]
fn switched_off_or_under_the_threshold_nothing_is_reported() {
    if !common::is_child() {
        let stderr = child_stderr("switched_off_or_under_the_threshold_nothing_is_reported");
        assert!(reports(&stderr).is_empty(), "{stderr}");
        return;
    }
    let sleep_on_a_worker = || {
        let busy = parkers(Duration::from_millis(300));
        goru::go(|| holds_the_worker_in_a_plain_sleep(Duration::from_millis(250)))
            .join()
            .unwrap();
        for p in busy {
            p.join().unwrap();
        }
    };
    let off = Runtime::builder().workers(2).blocking_report(None);
    off.build().unwrap().run(sleep_on_a_worker);
    let high = Runtime::builder()
        .workers(2)
        .blocking_report(Some(Duration::from_secs(2)));
    high.build().unwrap().run(sleep_on_a_worker);
}

#[test]
fn a_long_computation_is_reported_too() {
    if !common::is_child() {
        let stderr = child_stderr("a_long_computation_is_reported_too");
        let found = reports(&stderr);
        assert_eq!(found.len(), 1, "{stderr}");
        assert!(
            stderr.contains("spins_without_a_preemption_point"),
            "{stderr}"
        );
        return;
    }
    #[inline(never)]
    fn spins_without_a_preemption_point(d: Duration) -> u64 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < d {
            n = std::hint::black_box(n.wrapping_add(1));
        }
        n
    }
    let rt = Runtime::builder()
        .workers(2)
        .blocking_report(Some(Duration::from_millis(50)))
        .build()
        .unwrap();
    let n = rt.run(|| {
        goru::go(|| spins_without_a_preemption_point(Duration::from_millis(300)))
            .join()
            .unwrap()
    });
    assert!(n > 0);
}

#[test]
fn with_backtraces_off_the_report_still_names_the_goroutine() {
    if !common::is_child() {
        let out = common::run_in_child(
            "with_backtraces_off_the_report_still_names_the_goroutine",
            &[("GORU_BLOCKING_BACKTRACE", "0")],
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert_eq!(reports(&stderr).len(), 1, "{stderr}");
        assert!(
            stderr.contains("(GORU_BLOCKING_BACKTRACE=0 left out its backtrace)"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("::holds_the_worker_in_a_plain_sleep"),
            "{stderr}"
        );
        return;
    }
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.run(|| {
        goru::go(|| holds_the_worker_in_a_plain_sleep(Duration::from_millis(300)))
            .join()
            .unwrap();
    });
}

#[test]
fn a_bad_backtrace_setting_is_refused_when_the_runtime_is_built() {
    if !common::is_child() {
        common::run_passing_child(
            "a_bad_backtrace_setting_is_refused_when_the_runtime_is_built",
            &[("GORU_BLOCKING_BACKTRACE", "yes")],
        );
        return;
    }
    let err = Runtime::builder().build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("GORU_BLOCKING_BACKTRACE must be 1 or 0, not \"yes\""),
        "{err}"
    );
    // Without a report there is no backtrace to take, and nothing to refuse.
    assert!(Runtime::builder().blocking_report(None).build().is_ok());
}
