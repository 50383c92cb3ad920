//! Goroutine stacks: overflow reporting, reuse, and a million parked goroutines.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{is_child, rss_bytes, run_in_child, run_passing_child};

#[inline(never)]
fn recurse(depth: u64, sink: &AtomicUsize) -> u64 {
    let buf = [depth as u8; 512];
    sink.fetch_add(buf[(depth % 512) as usize] as usize, Ordering::Relaxed);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1, sink) + std::hint::black_box(buf)[0] as u64
}

#[test]
fn stack_overflow_names_the_goroutine_and_the_setting() {
    if is_child() {
        let rt = goru::Runtime::builder()
            .workers(1)
            .stack_size(64 * 1024)
            .build()
            .unwrap();
        rt.run(|| {
            let sink = AtomicUsize::new(0);
            goru::go(move || recurse(0, &sink)).join().unwrap();
        });
        return;
    }
    let out = run_in_child("stack_overflow_names_the_goroutine_and_the_setting", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("goroutine 2 (spawned at tests/stacks.rs:"),
        "stderr was: {stderr}"
    );
    assert!(
        stderr.contains(") stack overflow (stack size 64 KiB): raise it with Builder::stack_size"),
        "stderr was: {stderr}"
    );
    // Then where: the recursing function, innermost first.
    assert!(
        stderr.contains("Builder::stack_size\n  where it overflowed:\n    stacks::recurse\n"),
        "stderr was: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "the process aborts: {:?}",
        out.status
    );
}

fn libc_sigabrt() -> i32 {
    6
}

#[test]
fn a_fault_that_is_not_a_stack_overflow_is_passed_on() {
    if is_child() {
        goru::run(|| {
            // SAFETY: deliberately faulting outside any goroutine guard page (test only).
            unsafe { std::ptr::write_volatile(std::ptr::dangling_mut::<u64>(), 1) };
        });
        return;
    }
    let out = run_in_child("a_fault_that_is_not_a_stack_overflow_is_passed_on", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("stack overflow (stack size"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(11),
        "SIGSEGV as usual: {:?}",
        out.status
    );
}

#[test]
fn no_memory_growth_across_rounds_of_100k_goroutines() {
    if !is_child() {
        run_passing_child("no_memory_growth_across_rounds_of_100k_goroutines", &[]);
        return;
    }
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    let mut after_round = Vec::new();
    for _ in 0..10 {
        rt.run(|| {
            let hs: Vec<_> = (0..100_000u64)
                .map(|i| {
                    goru::go(move || {
                        // Touch a little stack so stacks are really used.
                        let buf = std::hint::black_box([i as u8; 2048]);
                        buf[100] as u64 + i
                    })
                })
                .collect();
            let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(
                sum,
                (0..100_000u64).map(|i| (i as u8) as u64 + i).sum::<u64>()
            );
        });
        after_round.push(rss_bytes());
    }
    let growth = after_round[9] as i64 - after_round[2] as i64;
    println!(
        "rss after each round (MiB): {:?}",
        after_round.iter().map(|b| b >> 20).collect::<Vec<_>>()
    );
    assert!(
        growth < 48 << 20,
        "RSS grew by {} MiB between rounds 3 and 10",
        growth >> 20
    );
}

#[test]
fn idle_stacks_give_their_pages_back() {
    if !is_child() {
        run_passing_child("idle_stacks_give_their_pages_back", &[]);
        return;
    }
    const N: usize = 50_000;
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    let (before, peak, after) = rt.run(|| {
        let before = rss_bytes();
        // A burst: N goroutines each dirty 8 KiB of stack and wait together.
        let (release_tx, release_rx) = goru::chan::bounded::<()>(0);
        let wg = goru::sync::WaitGroup::new();
        let started = std::sync::Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let (rx, wg, started) = (release_rx.clone(), wg.clone(), started.clone());
            wg.add(1);
            goru::go(move || {
                let mut buf = [0u8; 8192];
                std::hint::black_box(&mut buf).fill(7);
                started.fetch_add(1, Ordering::Relaxed);
                let _ = rx.recv();
                std::hint::black_box(&buf);
                wg.done();
            });
        }
        while started.load(Ordering::Relaxed) < N {
            goru::time::sleep(std::time::Duration::from_millis(1));
        }
        let peak = rss_bytes();
        drop(release_tx); // closing wakes them all
        wg.wait();
        // Quiet now: the monitor hands the burst's stack pages back within a tick or
        // two. Wait for it with a generous bound (other tests may load the machine).
        let released = before + (peak - before) / 2;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rss_bytes() >= released && std::time::Instant::now() < deadline {
            goru::time::sleep(std::time::Duration::from_millis(20));
        }
        (before, peak, rss_bytes())
    });
    println!(
        "rss before / at the burst / after (MiB): {} / {} / {}",
        before >> 20,
        peak >> 20,
        after >> 20
    );
    assert!(
        peak > before + (N * 8192 / 2),
        "the burst did not use stack pages"
    );
    assert!(
        after < before + (peak - before) / 2,
        "idle stack pages were not released: {} MiB kept of {} MiB",
        (after - before) >> 20,
        (peak - before) >> 20
    );
}

/// Goroutine `depth` of a chain: spawns the next and waits for it, so that at the
/// bottom every goroutine of the chain is parked in `join` at once.
fn chain(depth: usize, total: usize, report: &'static std::sync::Mutex<Option<(usize, usize)>>) {
    if depth == total {
        *report.lock().unwrap() = Some((goru::runtime::num_goroutine(), rss_bytes()));
        return;
    }
    goru::go(move || chain(depth + 1, total, report))
        .join()
        .unwrap();
}

#[test]
#[ignore = "a million goroutines: run in release by .ci/run (--include-ignored)"]
fn one_million_parked_goroutines() {
    const N: usize = 1_000_000;
    static REPORT: std::sync::Mutex<Option<(usize, usize)>> = std::sync::Mutex::new(None);
    let before = rss_bytes();
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    rt.run(|| chain(0, N, &REPORT));
    let (live, rss) = REPORT.lock().unwrap().take().unwrap();
    let per_goroutine = (rss - before) / N;
    println!(
        "{live} goroutines alive at once; RSS {} MiB; {per_goroutine} bytes per parked goroutine",
        rss >> 20
    );
    assert_eq!(live, N + 1, "all of the chain (and main) alive at once");
    assert!(
        per_goroutine < 8 * 1024,
        "{per_goroutine} bytes per parked goroutine"
    );
}

/// Out of address space (a lowered `RLIMIT_AS`, as `ulimit -v` sets): spawning goes on
/// until a stack cannot be mapped, and then the process ends as Go's does on running
/// out of memory, with a fatal error naming the limit, not a bare SIGSEGV.
#[test]
fn out_of_address_space_ends_with_a_message_naming_the_limit() {
    const NAME: &str = "out_of_address_space_ends_with_a_message_naming_the_limit";
    if is_child() {
        let rt = goru::Runtime::builder()
            .workers(2)
            .stack_size(256 * 1024)
            .build()
            .unwrap();
        rt.run(|| {
            // The threads are up; now leave 256 MiB of address space to grow into.
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let vm_kib: u64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap();
            // SAFETY: plain get/setrlimit calls on a struct we own.
            unsafe {
                let mut limit: libc::rlimit = std::mem::zeroed();
                assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut limit), 0);
                limit.rlim_cur = (vm_kib << 10) + (256 << 20);
                assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &limit), 0);
            }
            let (_tx, rx) = goru::chan::bounded::<()>(0);
            for _ in 0..100_000 {
                let rx = rx.clone();
                drop(goru::go(move || {
                    let _ = rx.recv();
                }));
                goru::yield_now(); // let it take its stack
            }
            unreachable!("100,000 stacks of 256 KiB fit in 256 MiB");
        });
        return;
    }
    let out = run_in_child(NAME, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc_sigabrt()), "{stderr}");
    assert!(
        stderr.contains("fatal error: goru: cannot map a goroutine stack"),
        "{stderr}"
    );
    assert!(stderr.contains("(RLIMIT_AS, `ulimit -v`) is "), "{stderr}");
}
