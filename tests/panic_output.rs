//! A goroutine's panic is printed when it happens, as std prints a thread's, and names
//! the goroutine (its id, spawn site and the panic's place), never the worker thread it
//! ran on: when its joiner gets the panic, when a `catch_unwind` inside it swallows it,
//! and for the main goroutine of `run` and of `#[goru::test]`. Each case runs in a child
//! process whose stderr is read.

mod common;

use std::process::Output;

fn stderr_of(name: &str) -> (Output, String) {
    let out = common::run_in_child(name, &[("RUST_BACKTRACE", "0")]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

/// `stderr` holds exactly one report by the goroutine named `who...` of a panic in
/// this file, and its message is `message`.
fn assert_printed_once(stderr: &str, who: &str, message: &str) {
    let headers: Vec<usize> = stderr
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(who) && l.contains(") panicked at tests/panic_output.rs:"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(headers.len(), 1, "one report by {who:?} in:\n{stderr}");
    assert_eq!(
        stderr.lines().nth(headers[0] + 1),
        Some(message),
        "{stderr}"
    );
    assert!(
        !stderr.contains("goru-worker"),
        "named after a worker:\n{stderr}"
    );
}

#[test]
fn a_joined_goroutines_panic_is_printed_when_it_happens() {
    if common::is_child() {
        goru::run(|| {
            let handle = goru::go(|| -> u32 { panic!("joined boom") });
            assert!(handle.join().is_err());
            eprintln!("joined: the joiner got the panic");
        });
        return;
    }
    let (out, stderr) = stderr_of("a_joined_goroutines_panic_is_printed_when_it_happens");
    assert!(out.status.success(), "{stderr}");
    assert_printed_once(
        &stderr,
        "goroutine 2 (spawned at tests/panic_output.rs:",
        "joined boom",
    );
    assert!(
        stderr.contains(") panicked at tests/panic_output.rs:"),
        "{stderr}"
    );
    // Printed at the panic, before the joiner went on.
    assert!(
        stderr.find("joined boom") < stderr.find("joined: the joiner"),
        "{stderr}"
    );
}

#[test]
fn a_panic_caught_inside_a_goroutine_is_still_printed() {
    if common::is_child() {
        goru::run(|| {
            goru::go(|| {
                let caught = std::panic::catch_unwind(|| panic!("caught boom"));
                assert!(caught.is_err());
            })
            .join()
            .unwrap();
        });
        return;
    }
    let (out, stderr) = stderr_of("a_panic_caught_inside_a_goroutine_is_still_printed");
    assert!(out.status.success(), "{stderr}");
    assert_printed_once(
        &stderr,
        "goroutine 2 (spawned at tests/panic_output.rs:",
        "caught boom",
    );
    assert!(
        stderr.contains("note: run with `RUST_BACKTRACE=1`"),
        "{stderr}"
    );
}

#[test]
fn the_main_goroutines_panic_names_goroutine_1_and_its_run() {
    if common::is_child() {
        goru::run(|| panic!("main boom"));
        return;
    }
    let (out, stderr) = stderr_of("the_main_goroutines_panic_names_goroutine_1_and_its_run");
    assert!(!out.status.success(), "the panic leaves run: {stderr}");
    assert_printed_once(
        &stderr,
        "goroutine 1 (main, run at tests/panic_output.rs:",
        "main boom",
    );
}

/// Run directly in the suite, it passes by panicking; the parent test below reads what
/// it printed as a child.
#[goru::test]
#[should_panic(expected = "boom in a goru test")]
fn a_goru_test_that_panics() {
    panic!("boom in a goru test");
}

#[test]
fn a_goru_tests_panic_names_the_test() {
    let (out, stderr) = stderr_of("a_goru_test_that_panics");
    assert!(out.status.success(), "should_panic is satisfied: {stderr}");
    assert_printed_once(
        &stderr,
        "goroutine 1 (main, run at tests/panic_output.rs:",
        "boom in a goru test",
    );
}

#[test]
fn with_rust_backtrace_the_goroutines_frames_follow() {
    if common::is_child() {
        goru::run(|| {
            let handle = goru::go(the_frame_that_panics);
            assert!(handle.join().is_err());
        });
        return;
    }
    let out = common::run_in_child(
        "with_rust_backtrace_the_goroutines_frames_follow",
        &[("RUST_BACKTRACE", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = &stderr[stderr.find("goroutine 2 (spawned at").expect("the report")..];
    assert!(report.contains("stack backtrace:"), "{stderr}");
    assert!(
        report.contains("panic_output::the_frame_that_panics"),
        "{stderr}"
    );
    assert!(
        !report.contains("goru::sched::worker"),
        "worker frames: {stderr}"
    );
}

#[inline(never)]
fn the_frame_that_panics() {
    panic!("deep boom");
}

// ---- Panics everywhere: each is reported, and nothing is left locked.

struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a destructor's panic");
    }
}

/// A destructor that panics while the goroutine unwinds from another panic: Rust
/// aborts the process (`panic in a destructor during cleanup`, a panic that cannot
/// unwind), as on a thread. All three panics are named after the goroutine, and the
/// end is an abort, not a crash.
#[test]
fn a_panic_in_drop_while_unwinding_aborts_with_both_panics_named() {
    if common::is_child() {
        goru::run(|| {
            let _ = goru::go(|| {
                let _guard = PanicsWhenDropped;
                panic!("the first panic");
            })
            .join();
        });
        return;
    }
    let (out, stderr) = stderr_of("a_panic_in_drop_while_unwinding_aborts_with_both_panics_named");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("\nthe first panic\n"), "{stderr}");
    assert!(stderr.contains("\na destructor's panic\n"), "{stderr}");
    assert_eq!(
        stderr
            .matches("goroutine 2 (spawned at tests/panic_output.rs:")
            .count(),
        3,
        "the first panic, the destructor's, and Rust's own: {stderr}"
    );
    assert!(
        stderr.contains("panic in a destructor during cleanup"),
        "{stderr}"
    );
}

/// A panic in a `select!` body happens after the select has finished with every
/// channel: the channels serve others at once, and the joiner gets the panic.
#[goru::test]
fn a_panic_in_a_select_body_leaves_the_channels_working() {
    let (a_tx, a_rx) = goru::chan::bounded::<u32>(0);
    let (b_tx, b_rx) = goru::chan::bounded::<u32>(1);
    for round in 0..20 {
        let (a, b) = (a_rx.clone(), b_rx.clone());
        let selector = goru::go(move || {
            goru::select! {
                recv(a) -> v => panic!("select body, round {round}: {v:?}"),
                recv(b) -> v => panic!("select body, round {round}: {v:?}"),
            }
        });
        if round % 2 == 0 {
            a_tx.send(round).unwrap();
        } else {
            b_tx.send(round).unwrap();
        }
        let panic = selector.join().unwrap_err();
        assert!(common::panic_message(&*panic).starts_with(&format!("select body, round {round}")));
        // Neither channel is held: a rendezvous and a buffered exchange go through.
        let echo = {
            let a = a_rx.clone();
            goru::go(move || a.recv().unwrap())
        };
        a_tx.send(7).unwrap();
        assert_eq!(echo.join().unwrap(), 7);
        b_tx.send(8).unwrap();
        assert_eq!(b_rx.recv(), Ok(8));
    }
}

/// A `Once` whose function panics while 1,000 goroutines wait on it: the caller that
/// ran it gets the panic, the others return (Go: "if f panics, Do considers it to have
/// returned"), later calls do nothing, and nothing hangs.
#[goru::test]
fn a_panicking_once_raced_by_a_thousand_goroutines_releases_them_all() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let once = Arc::new(goru::sync::Once::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..1_000)
        .map(|_| {
            let (once, runs) = (once.clone(), runs.clone());
            goru::go(move || {
                once.call_once(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    goru::time::sleep(std::time::Duration::from_millis(20));
                    panic!("initialisation failed");
                })
            })
        })
        .collect();
    let outcomes: Vec<_> = callers.into_iter().map(|h| h.join()).collect();
    let panicked: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "ran once");
    assert_eq!(panicked.len(), 1, "only the caller that ran it panics");
    assert_eq!(
        common::panic_message(&**panicked[0]),
        "initialisation failed"
    );
    assert!(once.is_completed());
    once.call_once(|| unreachable!("a later call runs nothing"));
}
