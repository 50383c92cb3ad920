//! Deadlock reports, the goroutine dump, SIGQUIT.

mod common;

use std::sync::Arc;
use std::time::Duration;

use goru::chan;
use goru::sync::{Mutex, WaitGroup};

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Run `main` expecting a deadlock report; returns the report and how long it took.
fn deadlock_report(workers: usize, main: impl FnOnce() + Send + 'static) -> (String, Duration) {
    common::deadlock_report(&runtime(workers), main)
}

/// The dump block of goroutine `id`.
fn block(report: &str, id: u64) -> &str {
    let start = report
        .find(&format!("goroutine {id} ["))
        .unwrap_or_else(|| panic!("no goroutine {id} in\n{report}"));
    let rest = &report[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn a_deadlock_is_confirmed_for_80_ms_before_it_is_reported() {
    // The figure the README and Builder::deadlock_detection give: reported once the
    // runtime has looked deadlocked for 80 ms (about 90 ms measured; the bound above
    // is generous for a loaded host), never before.
    for _ in 0..3 {
        let (_, took) = deadlock_report(2, || {
            let (_tx, rx) = chan::bounded::<u32>(0);
            let _ = rx.recv();
        });
        assert!(took >= Duration::from_millis(80), "reported after {took:?}");
    }
}

#[test]
fn a_send_nobody_receives() {
    let (report, _) = deadlock_report(2, || {
        let (tx, _rx) = chan::bounded::<u32>(0);
        tx.send(1).unwrap();
    });
    let main = block(&report, 1);
    assert!(main.contains("[chan send, "), "{main}");
    assert!(main.contains("tests/diag.rs"), "spawn site: {main}");
    // The backtrace names the test's own closure, below goru's send.
    assert!(main.contains("goru::chan::Sender"), "backtrace: {main}");
    assert!(
        main.contains("diag::a_send_nobody_receives"),
        "backtrace: {main}"
    );
}

#[test]
fn a_waitgroup_missing_a_done() {
    let (report, _) = deadlock_report(2, || {
        let wg = WaitGroup::new();
        for i in 0..3 {
            wg.add(1);
            let wg = wg.clone();
            goru::go(move || {
                if i != 1 {
                    wg.done(); // goroutine 1 forgets
                }
            });
        }
        wg.wait();
    });
    assert!(
        block(&report, 1).contains("[sync.WaitGroup.Wait, "),
        "{report}"
    );
    assert!(
        !report.contains("goroutine 3 ["),
        "finished goroutines are not listed"
    );
}

#[test]
fn two_mutexes_taken_in_opposite_orders() {
    let (report, _) = deadlock_report(2, || {
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        let (both_hold_tx, both_hold_rx) = chan::bounded::<()>(0);
        let h = {
            let (a, b) = (a.clone(), b.clone());
            goru::go(move || {
                let _b = b.lock();
                both_hold_rx.recv().unwrap();
                let _a = a.lock();
            })
        };
        let _a = a.lock();
        both_hold_tx.send(()).unwrap();
        let _b = b.lock();
        drop(h);
    });
    assert!(block(&report, 1).contains("[sync.Mutex.Lock, "), "{report}");
    assert!(block(&report, 2).contains("[sync.Mutex.Lock, "), "{report}");
}

#[test]
fn ranging_over_a_channel_nobody_closes() {
    let (report, elapsed) = deadlock_report(1, || {
        let (tx, rx) = chan::bounded::<u32>(4);
        goru::go(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
            std::mem::forget(tx); // never closed
        });
        let mut sum = 0;
        for v in &rx {
            sum += v;
        }
        assert_eq!(sum, 3);
    });
    assert!(block(&report, 1).contains("[chan receive, "), "{report}");
    eprintln!("deadlock noticed after {elapsed:?}");
}

#[test]
fn a_select_with_no_ready_case() {
    let (report, _) = deadlock_report(2, || {
        let (_tx, rx) = chan::bounded::<u32>(0);
        let (tx2, _rx2) = chan::bounded::<u32>(0);
        goru::select! {
            recv(rx) -> _ => {},
            send(tx2, 1) -> _ => {},
        }
    });
    assert!(block(&report, 1).contains("[select, "), "{report}");
}

#[test]
fn no_report_while_a_timer_is_pending() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        goru::go(move || {
            goru::time::sleep(Duration::from_millis(300));
            tx.send(7).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), 7);
        // A receive that only a timer channel can satisfy.
        let t = goru::time::after(Duration::from_millis(300));
        t.recv().unwrap();
    });
}

#[test]
fn no_report_while_a_goroutine_waits_on_a_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(400));
        std::io::Write::write_all(&mut conn, b"x").unwrap();
    });
    runtime(2).run(move || {
        let (tx, rx) = chan::bounded::<u8>(0);
        goru::go(move || {
            let mut stream = goru::net::TcpStream::connect(addr).unwrap();
            let mut b = [0];
            std::io::Read::read_exact(&mut stream, &mut b).unwrap();
            tx.send(b[0]).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), b'x');
    });
    feeder.join().unwrap();
}

#[test]
fn no_report_while_a_blocking_call_runs() {
    runtime(1).run(|| {
        let v = goru::blocking(|| {
            std::thread::sleep(Duration::from_millis(400));
            3
        });
        assert_eq!(v, 3);
    });
}

#[test]
fn detection_can_be_turned_off_for_thread_fed_programs() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        tx.send(11).unwrap();
    });
    let rt = goru::Runtime::builder()
        .workers(1)
        .deadlock_detection(false)
        .build()
        .unwrap();
    assert_eq!(rt.run(move || rx.recv().unwrap()), 11);
    feeder.join().unwrap();
}

#[test]
fn finished_goroutines_leave_the_dump_at_once() {
    // Workers remove finished goroutines from the registry in batches; a dump must not
    // show the ones still waiting in a batch, nor lose the live ones.
    runtime(2).run(|| {
        let (_tx, rx) = chan::bounded::<u32>(0);
        let waiter = goru::go(move || rx.recv().map(|_| ()));
        let finished: Vec<u64> = (0..50)
            .map(|i| goru::go(move || i))
            .map(|h| {
                let id = h.id();
                h.join().unwrap();
                id
            })
            .collect();
        let dump = goru::runtime::dump();
        for id in finished {
            assert!(
                !dump.contains(&format!("goroutine {id} [")),
                "finished goroutine {id} in\n{dump}"
            );
        }
        assert!(block(&dump, 1).contains("[running]"), "{dump}");
        assert!(
            block(&dump, waiter.id()).contains("[chan receive, "),
            "{dump}"
        );
        drop(waiter);
    });
}

#[test]
fn a_deadlock_right_after_many_goroutines_finished() {
    // The finished goroutines may still sit in a worker's batch when everything else
    // blocks: they must not hide the deadlock.
    let (report, _) = deadlock_report(2, || {
        let wg = WaitGroup::new();
        for _ in 0..10 {
            let wg = wg.clone();
            wg.add(1);
            goru::go(move || wg.done());
        }
        wg.wait();
        let (tx, _rx) = chan::bounded::<u32>(0);
        tx.send(1).unwrap();
    });
    assert!(block(&report, 1).contains("[chan send, "), "{report}");
    assert!(
        !report.contains("goroutine 2 ["),
        "a finished goroutine: {report}"
    );
}

#[test]
fn the_dump_shows_state_reason_wait_time_and_spawn_site() {
    runtime(2).run(|| {
        let (_tx, rx) = chan::bounded::<u32>(0);
        let m = Arc::new(Mutex::new(()));
        let guard = m.lock();
        let receiver = goru::go(move || rx.recv().map(|_| ()));
        let locker = {
            let m = m.clone();
            goru::go(move || drop(m.lock()))
        };
        goru::time::sleep(Duration::from_millis(50));
        let dump = goru::runtime::dump();
        assert!(block(&dump, 1).contains("[running]"), "{dump}");
        let r = block(&dump, receiver.id());
        assert!(r.contains("[chan receive, "), "{r}");
        assert!(r.contains(" ms]"), "{r}");
        assert!(r.contains("spawned at tests/diag.rs:"), "{r}");
        let l = block(&dump, locker.id());
        assert!(l.contains("[sync.Mutex.Lock, "), "{l}");
        drop(guard);
        locker.join().unwrap();
        drop(receiver);
    });
}

/// A channel made inside and handed, unused, to a plain thread that sends on it after
/// 300 ms: a wait goru cannot see. `main` returns what was sent.
fn fed_by_a_thread_later() -> u32 {
    let (tx, rx) = chan::bounded::<u32>(0);
    let (hand_tx, hand_rx) = std::sync::mpsc::channel();
    let feeder = std::thread::spawn(move || {
        let tx: chan::Sender<u32> = hand_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        tx.send(7).unwrap();
    });
    hand_tx.send(tx).unwrap();
    let got = rx.recv().unwrap();
    feeder.join().unwrap();
    got
}

#[test]
fn the_report_says_what_the_detector_cannot_see_and_how_to_turn_it_off() {
    if common::is_child() {
        // GORU_DEADLOCK_DETECTION=0, as a #[goru::main] program would set it.
        match goru::Runtime::builder().build() {
            Ok(rt) => println!("received {}", rt.run(fed_by_a_thread_later)),
            Err(err) => println!("error: {err}"),
        }
        return;
    }
    // With detection on, that wait is out of sight and the report names the way out.
    let (report, _) = deadlock_report(2, || {
        fed_by_a_thread_later();
    });
    let tail = &report[report.rfind("goru: each goroutine above").expect(&report)..];
    for needed in [
        "a plain thread or another runtime",
        "a channel handed to a plain thread that has not used it yet",
        "Builder::deadlock_detection(false)",
        "GORU_DEADLOCK_DETECTION=0",
    ] {
        assert!(tail.contains(needed), "{needed:?} missing from:\n{tail}");
    }
    // Turned off by the variable, the program runs to its end; a bad value is a
    // clear error, not a silent default.
    for (value, expected) in [
        ("0", "received 7"),
        (
            "maybe",
            "error: goru: GORU_DEADLOCK_DETECTION must be 1 or 0, not \"maybe\"",
        ),
    ] {
        let out = common::run_in_child(
            "the_report_says_what_the_detector_cannot_see_and_how_to_turn_it_off",
            &[("GORU_DEADLOCK_DETECTION", value)],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(expected),
            "{value}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The dump is written by a thread of goru's (symbolizing takes a while, the first
/// time, on a loaded machine), so the child goes on only once the parent has read the
/// dump from its stderr and said so on its stdin.
#[test]
fn sigquit_prints_the_dump_and_the_program_goes_on() {
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};
    if common::is_child() {
        // Made outside the runtime, and fed by a plain thread: the detector knows the
        // main goroutine's wait on it may end.
        let (go_on_tx, go_on) = chan::bounded::<()>(1);
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            go_on_tx.send(()).unwrap();
        });
        runtime(2).run(move || {
            let (tx, rx) = chan::bounded::<u32>(0);
            let waiter = goru::go(move || rx.recv().unwrap());
            goru::time::sleep(Duration::from_millis(50));
            // SAFETY: raising a signal at ourselves; goru handles SIGQUIT.
            unsafe { libc::raise(libc::SIGQUIT) };
            go_on.recv().unwrap();
            tx.send(5).unwrap();
            assert_eq!(waiter.join().unwrap(), 5);
            println!("still running after SIGQUIT");
        });
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigquit_prints_the_dump_and_the_program_goes_on",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(common::CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let stderr = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let dumped = |s: &str| {
        s.contains("goroutine 1 [chan receive") && s.contains("goroutine 2 [chan receive")
    };
    while !dumped(&stderr.lock().unwrap()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go on\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = stderr.lock().unwrap().clone();
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("still running after SIGQUIT"), "{stdout}");
    assert!(stderr.contains("SIGQUIT: goroutine dump"), "{stderr}");
    assert!(
        dumped(&stderr),
        "both goroutines, each in its wait: {stderr}"
    );
}

#[inline(never)]
fn explode_in_a_goroutine() {
    panic!("kaboom");
}

#[test]
fn a_detached_panic_is_printed_with_its_backtrace() {
    if common::is_child() {
        runtime(2).run(|| {
            goru::go(explode_in_a_goroutine);
            goru::time::sleep(Duration::from_millis(200));
        });
        return;
    }
    let out = common::run_in_child("a_detached_panic_is_printed_with_its_backtrace", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "run panics");
    assert!(
        stderr.contains("panic in goroutine 2 (spawned at tests/diag.rs:"),
        "{stderr}"
    );
    assert!(stderr.contains(": kaboom"), "{stderr}");
    assert!(
        stderr.contains("diag::explode_in_a_goroutine"),
        "backtrace: {stderr}"
    );
}

#[inline(never)]
fn waits_for_the_other(other: goru::JoinHandle<()>) {
    other.join().unwrap();
    std::hint::black_box(()); // not a tail call: its frame stays for the dump
}

#[test]
fn a_goroutine_parked_in_join_shows_where_it_joins() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<()>(0);
        let inner = goru::go(move || rx.recv().unwrap());
        let joiner = goru::go(move || waits_for_the_other(inner));
        goru::time::sleep(Duration::from_millis(50));
        let dump = goru::runtime::dump_with_backtraces();
        let block = dump
            .split("\n\n")
            .find(|b| b.contains("[join"))
            .unwrap_or_else(|| panic!("no goroutine in join:\n{dump}"));
        assert!(
            block.contains("goru::spawn::JoinHandle<T>::join"),
            "{block}"
        );
        assert!(block.contains("diag::waits_for_the_other"), "{block}");
        // The body's own entry (the spawn wrapper) stays out, as for other waits.
        assert!(!block.contains("run_and_complete"), "{block}");
        tx.send(()).unwrap();
        joiner.join().unwrap();
    });
}
