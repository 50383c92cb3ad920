//! `runtime::metrics()` counts what is really there: parked goroutines by reason,
//! socket waiters, pending timers, blocking calls, steals, busy workers, stacks.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::runtime::{metrics, Metrics};
use goru::{chan, WaitReason};

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Poll `metrics()` until `done` holds (the goroutines reach their waits), at most 20 s.
fn metrics_until(what: &str, done: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = metrics();
        if done(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "{what}: never reached: {m:#?}");
        goru::time::sleep(Duration::from_millis(5));
    }
}

fn waiting(m: &Metrics, reason: WaitReason) -> usize {
    m.by_wait_reason
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |&(_, n)| n)
}

#[test]
fn a_thousand_parked_goroutines_are_counted_by_reason() {
    runtime(4).run(|| {
        let before = metrics();
        assert_eq!(before.goroutines, 1, "{before:#?}");
        assert_eq!(before.workers, 4);
        assert_eq!(before.per_worker.len(), 4);
        let (tx, rx) = chan::unbounded::<u32>();
        let (done_tx, done_rx) = chan::unbounded::<u32>();
        let lock = Arc::new(goru::sync::Mutex::new(()));
        let held = lock.lock();
        let mut handles = Vec::new();
        for i in 0..1000 {
            let (rx, done_tx) = (rx.clone(), done_tx.clone());
            handles.push(goru::go(move || {
                let v = rx.recv().unwrap();
                done_tx.send(v + i).unwrap();
            }));
        }
        for _ in 0..10 {
            let lock = lock.clone();
            handles.push(goru::go(move || drop(lock.lock())));
        }
        let m = metrics_until("1,010 parked", |m| m.parked >= 1010);
        assert_eq!(m.goroutines, 1011, "{m:#?}");
        assert_eq!(m.spawned, before.spawned + 1010);
        assert_eq!(waiting(&m, WaitReason::ChanReceive), 1000, "{m:#?}");
        assert_eq!(waiting(&m, WaitReason::MutexLock), 10, "{m:#?}");
        assert_eq!(m.by_wait_reason[0].0, WaitReason::ChanReceive, "most first");
        assert_eq!(m.parked, 1010, "main runs: {m:#?}");
        assert_eq!(m.running, 1, "main: {m:#?}");
        drop(held);
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        let mut sum = 0u64;
        for _ in 0..1000 {
            sum += u64::from(done_rx.recv().unwrap());
        }
        assert_eq!(sum, 2 * (999 * 1000 / 2));
        for h in handles {
            h.join().unwrap();
        }
        let after = metrics_until("all gone", |m| m.goroutines == 1);
        assert_eq!(after.parked, 0, "{after:#?}");
        assert!(after.by_wait_reason.is_empty(), "{after:#?}");
    });
}

#[test]
fn runnable_counts_goroutines_queued_behind_a_busy_worker() {
    runtime(1).run(|| {
        let handles: Vec<_> = (0..100).map(|i| goru::go(move || i)).collect();
        // One worker, and main has not switched out: all 100 wait in its queue.
        let m = metrics();
        assert_eq!(m.runnable, 100, "{m:#?}");
        assert_eq!(m.per_worker[0].queued, 100, "{m:#?}");
        assert_eq!(m.goroutines, 101);
        let sum: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 4950);
        assert_eq!(metrics().runnable, 0);
    });
}

#[test]
fn socket_waiters_are_counted_and_leave() {
    runtime(2).run(|| {
        let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let before = metrics().poll_waiters;
        // 50 silent clients: each accepted connection's reader parks on the socket.
        let clients: Vec<_> = (0..50)
            .map(|_| goru::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut readers = Vec::new();
        for _ in 0..50 {
            let (mut conn, _) = listener.accept().unwrap();
            readers.push(goru::go(move || {
                let mut buf = [0u8; 8];
                conn.read(&mut buf).unwrap()
            }));
        }
        let m = metrics_until("50 socket waiters", |m| m.poll_waiters >= before + 50);
        assert_eq!(m.poll_waiters, before + 50, "{m:#?}");
        assert_eq!(waiting(&m, WaitReason::IoWait), 50, "{m:#?}");
        drop(clients); // end of file for every reader
        for r in readers {
            assert_eq!(r.join().unwrap(), 0);
        }
        let m = metrics_until("waiters gone", |m| m.poll_waiters == before);
        assert_eq!(waiting(&m, WaitReason::IoWait), 0);
    });
}

#[test]
fn pending_timers_are_counted_and_stopped_ones_are_not() {
    runtime(2).run(|| {
        let base = metrics().timers;
        let sleepers: Vec<_> = (0..100)
            .map(|_| goru::go(|| goru::time::sleep(Duration::from_millis(800))))
            .collect();
        let funcs: Vec<_> = (0..10)
            .map(|_| goru::time::after_func(Duration::from_secs(3600), || {}))
            .collect();
        let m = metrics_until("110 timers", |m| m.timers >= base + 110);
        assert_eq!(m.timers, base + 110, "{m:#?}");
        assert_eq!(waiting(&m, WaitReason::Sleep), 100, "{m:#?}");
        for f in &funcs {
            assert!(f.stop(), "not fired yet");
        }
        assert_eq!(
            metrics().timers,
            base + 100,
            "stopped timers are not pending"
        );
        for s in sleepers {
            s.join().unwrap();
        }
        metrics_until("sleeps fired", |m| m.timers == base);
    });
}

#[test]
fn blocking_calls_are_counted() {
    runtime(2).run(|| {
        let release = Arc::new(AtomicBool::new(false));
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let release = release.clone();
                goru::go(move || {
                    goru::blocking(move || {
                        while !release.load(Ordering::Acquire) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    })
                })
            })
            .collect();
        let m = metrics_until("8 blocking calls", |m| {
            m.blocking_calls == 8 && waiting(m, WaitReason::Blocking) == 8
        });
        // The pool is the process's (other tests share it): at least ours run on it.
        assert!(m.blocking_threads >= 8, "{m:#?}");
        release.store(true, Ordering::Release);
        for c in calls {
            c.join().unwrap();
        }
        metrics_until("calls done", |m| m.blocking_calls == 0);
    });
}

#[test]
fn idle_workers_steal_from_a_busy_one() {
    runtime(4).run(|| {
        let before = metrics();
        // One goroutine spawns bursts of short ones (each well inside a time slice, so
        // the monitor never hands its queue to the global one); the idle workers can
        // only get them by stealing.
        let stolen_before = before.steals;
        let spawner = goru::go(move || {
            let mut done = 0;
            for _ in 0..20 {
                let work: Vec<_> = (0..200u64)
                    .map(|i| {
                        goru::go(move || {
                            let mut x = i;
                            for _ in 0..5_000 {
                                x = std::hint::black_box(x.wrapping_mul(6364136223846793005) + 1);
                            }
                            x
                        })
                    })
                    .collect();
                for h in work {
                    h.join().unwrap();
                    done += 1;
                }
                if metrics().steals > stolen_before {
                    break;
                }
            }
            done
        });
        assert!(spawner.join().unwrap() >= 200);
        let m = metrics();
        assert!(m.steals > before.steals, "no steal: {m:#?}");
        let per_worker: u64 = m.per_worker.iter().map(|w| w.steals).sum();
        assert!(per_worker <= m.steals && per_worker > 0, "{m:#?}");
    });
}

#[test]
fn busy_time_and_parks_follow_the_work() {
    runtime(2).run(|| {
        // Idle first: the other worker sleeps.
        goru::time::sleep(Duration::from_millis(50));
        let before = metrics();
        assert!(before.per_worker.iter().any(|w| w.parks > 0), "{before:#?}");
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(200) {
            std::hint::spin_loop();
        }
        let after = metrics();
        let busy = |m: &Metrics| m.per_worker.iter().map(|w| w.busy).sum::<Duration>();
        let gained = busy(&after) - busy(&before);
        assert!(
            gained >= Duration::from_millis(180),
            "200 ms of spinning counted {gained:?} busy"
        );
        assert!(after.uptime >= before.uptime + Duration::from_millis(200));
        // Neither worker can have been busy longer than the runtime has existed.
        for w in &after.per_worker {
            assert!(w.busy <= after.uptime, "{after:#?}");
        }
    });
}

#[test]
fn stack_bytes_follow_the_stacks_goroutines_touch() {
    goru::Runtime::builder()
        .workers(2)
        .stack_size(256 * 1024)
        .build()
        .unwrap()
        .run(|| {
            let before = metrics().stack_bytes;
            assert!(before > 0, "main's stack is committed");
            let (tx, rx) = chan::bounded::<()>(0);
            let handles: Vec<_> = (0..200)
                .map(|_| {
                    let rx = rx.clone();
                    goru::go(move || {
                        // Touch 128 KiB of this goroutine's stack, then wait.
                        let mut deep = [0u8; 128 * 1024];
                        std::hint::black_box(&mut deep);
                        for i in (0..deep.len()).step_by(4096) {
                            deep[i] = 1;
                        }
                        std::hint::black_box(&mut deep);
                        rx.recv().unwrap();
                    })
                })
                .collect();
            let m = metrics_until("200 parked", |m| m.parked >= 200);
            let grown = m.stack_bytes.saturating_sub(before);
            assert!(
                grown >= 200 * 120 * 1024,
                "200 x 128 KiB touched, committed grew by {grown} bytes"
            );
            // The dump gives each goroutine's high-water mark.
            let dump = goru::runtime::dump();
            let deep = dump
                .lines()
                .filter_map(|l| l.trim().strip_prefix("stack "))
                .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
                .filter(|&kib| (128..=256).contains(&kib))
                .count();
            assert!(deep >= 200, "{deep} deep stacks in the dump:\n{dump}");
            for _ in 0..200 {
                tx.send(()).unwrap();
            }
            for h in handles {
                h.join().unwrap();
            }
        });
}

#[test]
fn metrics_outside_a_runtime_panics_clearly() {
    let err = std::panic::catch_unwind(|| metrics()).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("outside a goru runtime"), "{msg}");
}

#[test]
fn the_prometheus_text_names_every_series() {
    runtime(2).run(|| {
        let (_tx, rx) = chan::bounded::<()>(0);
        let parked = goru::go(move || {
            let _ = rx.recv();
        });
        let m = metrics_until("one parked", |m| m.parked == 1);
        let text = m.to_prometheus();
        let rt = format!("runtime=\"{}\"", m.runtime);
        for line in [
            format!("goru_goroutines{{{rt}}} 2"),
            format!("goru_goroutines_parked{{{rt}}} 1"),
            format!("goru_workers{{{rt}}} 2"),
            format!("goru_goroutines_waiting{{{rt},reason=\"chan receive\"}} 1"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(text.contains("# TYPE goru_steals_total counter"), "{text}");
        assert!(text.contains("goru_worker_busy_seconds_total{"), "{text}");
        drop(_tx);
        parked.join().unwrap();
    });
}

/// Feature `metrics`: how long woken goroutines wait before they run.
#[cfg(feature = "metrics")]
#[test]
fn the_latency_histogram_samples_wake_ups() {
    runtime(2).run(|| {
        let (ping, pong) = (chan::bounded::<u32>(0), chan::bounded::<u32>(0));
        let (ping_rx, pong_tx) = (ping.1.clone(), pong.0.clone());
        let echo = goru::go(move || {
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v).unwrap();
            }
        });
        for i in 0..10_000 {
            ping.0.send(i).unwrap();
            assert_eq!(pong.1.recv().unwrap(), i);
        }
        drop(ping);
        echo.join().unwrap();
        let h = metrics().sched_latency;
        // 20,000 wake-ups, one in 8 sampled per worker (and every spawn's by chance).
        assert!(h.samples() >= 1_000, "{h:?}");
        assert_eq!(h.counts.len(), h.bounds.len() + 1);
        let median = h.quantile(0.5).unwrap();
        assert!(median < Duration::from_millis(100), "median {median:?}");
        assert!(h.quantile(0.5) <= h.quantile(0.99));
    });
}

#[cfg(not(feature = "metrics"))]
#[test]
fn without_feature_metrics_the_latency_histogram_is_empty() {
    runtime(1).run(|| {
        goru::go(|| ()).join().unwrap();
        let h = metrics().sched_latency;
        assert_eq!(h.samples(), 0);
        assert_eq!(h.quantile(0.5), None);
    });
}
