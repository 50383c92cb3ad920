//! sync: Mutex, RwLock, WaitGroup, Once, Cond, Semaphore, ErrGroup.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::sync::{Cond, ErrGroup, Mutex, Once, RwLock, Semaphore, WaitGroup};

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

#[test]
fn a_million_increments_behind_a_mutex_on_1_2_and_4_workers() {
    for workers in [1, 2, 4] {
        let total = runtime(workers).run(|| {
            let counter = Arc::new(Mutex::new(0u64));
            let wg = WaitGroup::new();
            for _ in 0..1000 {
                wg.add(1);
                let (counter, wg) = (counter.clone(), wg.clone());
                goru::go(move || {
                    for _ in 0..1000 {
                        *counter.lock() += 1;
                    }
                    wg.done();
                });
            }
            wg.wait();
            let total = *counter.lock();
            total
        });
        assert_eq!(total, 1_000_000, "on {workers} workers");
    }
}

/// On one worker, `wait` must park: a second goroutine has to run for it to finish.
fn waits_without_holding_the_worker(wait: impl FnOnce(Arc<AtomicUsize>) + Send + 'static) {
    runtime(1).run(move || {
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let ticker = goru::go(move || {
            for _ in 0..50 {
                p.fetch_add(1, Ordering::SeqCst);
                goru::yield_now();
            }
        });
        wait(progress.clone());
        ticker.join().unwrap();
        assert_eq!(progress.load(Ordering::SeqCst), 50);
    });
}

#[test]
fn waiting_on_a_mutex_parks() {
    waits_without_holding_the_worker(|progress| {
        let m = Arc::new(Mutex::new(()));
        let guard = m.lock();
        let m2 = m.clone();
        let waiter = goru::go(move || drop(m2.lock()));
        while progress.load(Ordering::SeqCst) < 50 {
            goru::yield_now();
        }
        drop(guard);
        waiter.join().unwrap();
    });
}

#[test]
fn waiting_on_a_waitgroup_parks() {
    waits_without_holding_the_worker(|progress| {
        let wg = WaitGroup::new();
        wg.add(1);
        let wg2 = wg.clone();
        goru::go(move || {
            while progress.load(Ordering::SeqCst) < 50 {
                goru::yield_now();
            }
            wg2.done();
        });
        wg.wait();
    });
}

#[test]
fn waiting_on_a_cond_parks() {
    waits_without_holding_the_worker(|progress| {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let s = state.clone();
        goru::go(move || {
            while progress.load(Ordering::SeqCst) < 50 {
                goru::yield_now();
            }
            *s.0.lock() = true;
            s.1.notify_one();
        });
        let mut ready = state.0.lock();
        while !*ready {
            ready = state.1.wait(ready);
        }
    });
}

#[test]
fn waiting_on_a_context_parks() {
    waits_without_holding_the_worker(|progress| {
        let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
        goru::go(move || {
            while progress.load(Ordering::SeqCst) < 50 {
                goru::yield_now();
            }
            cancel.cancel();
        });
        assert!(ctx.done().recv().is_err());
    });
}

#[test]
fn no_mutex_waiter_is_starved() {
    // Hammer one mutex from many goroutines; every acquisition completes within a
    // generous bound (starvation mode hands the lock over after 1 ms of waiting).
    let worst = runtime(2).run(|| {
        let m = Arc::new(Mutex::new(0u64));
        let stop = Arc::new(AtomicBool::new(false));
        let hammers: Vec<_> = (0..8)
            .map(|_| {
                let (m, stop) = (m.clone(), stop.clone());
                goru::go(move || {
                    let mut worst = Duration::ZERO;
                    while !stop.load(Ordering::Relaxed) {
                        let start = Instant::now();
                        let mut g = m.lock();
                        worst = worst.max(start.elapsed());
                        *g += 1;
                        let hold = Instant::now();
                        while hold.elapsed() < Duration::from_micros(20) {}
                        drop(g);
                    }
                    worst
                })
            })
            .collect();
        goru::time::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        hammers
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    });
    assert!(
        worst < Duration::from_millis(500),
        "a waiter waited {worst:?}"
    );
}

#[test]
fn mutex_basics() {
    let mut m = Mutex::new(vec![1]);
    m.lock().push(2);
    {
        let g = m.lock();
        assert!(m.try_lock().is_none(), "held");
        drop(g);
    }
    assert!(m.try_lock().is_some());
    m.get_mut().push(3);
    assert_eq!(m.into_inner(), vec![1, 2, 3]);
}

#[test]
fn a_panic_while_locked_unlocks() {
    runtime(2).run(|| {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let h = goru::go(move || {
            let _g = m2.lock();
            panic!("while holding the lock");
        });
        assert!(h.join().is_err());
        assert_eq!(*m.lock(), 1, "not poisoned: the next locker gets the data");
    });
}

#[test]
fn a_waiting_writer_is_not_starved_by_a_stream_of_readers() {
    let wrote_after = runtime(2).run(|| {
        let lock = Arc::new(RwLock::new(0u64));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (lock, stop) = (lock.clone(), stop.clone());
                goru::go(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let g = lock.read();
                        let hold = Instant::now();
                        while hold.elapsed() < Duration::from_micros(50) {}
                        drop(g);
                        goru::yield_now();
                    }
                })
            })
            .collect();
        goru::time::sleep(Duration::from_millis(20));
        let start = Instant::now();
        *lock.write() += 1;
        let took = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        readers.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*lock.read(), 1);
        took
    });
    assert!(
        wrote_after < Duration::from_secs(1),
        "the writer waited {wrote_after:?}"
    );
}

#[test]
fn readers_share_and_writers_exclude() {
    runtime(4).run(|| {
        let lock = Arc::new(RwLock::new(()));
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let writers_inside = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..40)
            .map(|i| {
                let (lock, inside, max_inside, writers_inside) = (
                    lock.clone(),
                    inside.clone(),
                    max_inside.clone(),
                    writers_inside.clone(),
                );
                goru::go(move || {
                    for _ in 0..200 {
                        if i % 10 == 0 {
                            let _w = lock.write();
                            assert_eq!(writers_inside.fetch_add(1, Ordering::SeqCst), 0);
                            assert_eq!(inside.load(Ordering::SeqCst), 0, "a writer is alone");
                            writers_inside.fetch_sub(1, Ordering::SeqCst);
                        } else {
                            let _r = lock.read();
                            assert_eq!(writers_inside.load(Ordering::SeqCst), 0);
                            let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            max_inside.fetch_max(n, Ordering::SeqCst);
                            goru::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert!(
            max_inside.load(Ordering::SeqCst) > 1,
            "readers never overlapped"
        );
    });
}

#[test]
fn waitgroup_is_reusable_and_panics_below_zero() {
    runtime(2).run(|| {
        let wg = WaitGroup::new();
        for round in 0..3 {
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..100 {
                wg.add(1);
                let (wg, done) = (wg.clone(), done.clone());
                goru::go(move || {
                    done.fetch_add(1, Ordering::SeqCst);
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(done.load(Ordering::SeqCst), 100, "round {round}");
            assert_eq!(wg.count(), 0);
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done()));
        let payload = outcome.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"sync: negative WaitGroup counter")
        );
        wg.wait(); // still usable
    });
}

#[test]
fn waitgroup_never_wraps_and_its_waiters_still_wake() {
    runtime(2).run(|| {
        let wg = WaitGroup::new();
        wg.add(2);
        // rustc's hint for `add(-1)` leads here: it would wrap the counter to 1, and a
        // second one to 0 without waking anybody.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.add(usize::MAX)));
        let payload = outcome.unwrap_err();
        let message = common::panic_message(&*payload);
        assert!(
            message.starts_with("sync: WaitGroup counter overflow") && message.contains("done()"),
            "{message}"
        );
        assert_eq!(wg.count(), 2, "a refused add leaves the counter as it was");
        let waiter = {
            let wg = wg.clone();
            goru::go(move || wg.wait())
        };
        goru::yield_now();
        wg.done();
        wg.done();
        waiter.join().unwrap();
    });
}

#[test]
fn waitgroup_panics_point_at_the_caller() {
    // #[track_caller]: the location is this file's line, not waitgroup.rs.
    runtime(1).run(|| ()); // goru's own hook first, so that restoring ours keeps it
    let location = Arc::new(std::sync::Mutex::new(None));
    let seen = location.clone();
    let me = std::thread::current().id();
    let previous = std::panic::take_hook();
    // The hook is the process's: note only this thread's panic (tests run side by side).
    std::panic::set_hook(Box::new(move |info| {
        if let Some(l) = info
            .location()
            .filter(|_| std::thread::current().id() == me)
        {
            *seen.lock().unwrap() = Some((l.file().to_owned(), l.line()));
        }
    }));
    let wg = WaitGroup::new();
    let line = line!() + 1;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done()));
    std::panic::set_hook(previous);
    assert!(outcome.is_err());
    let (file, at) = location.lock().unwrap().clone().unwrap();
    assert!(
        file.ends_with("sync.rs") && file.contains("tests") && at == line,
        "{file}:{at}"
    );
}

#[test]
fn waitgroup_waiters_race_the_last_done_without_losing_a_wake_up() {
    // The counter is an atomic and waiters check it again under the wait list's lock:
    // goroutine and thread waiters arriving while the last `done`s run must all return.
    // A lost wake-up would end the run with a deadlock report.
    runtime(2).run(|| {
        for round in 0..2000 {
            let wg = WaitGroup::new();
            wg.add(3);
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let wg = wg.clone();
                    goru::go(move || wg.wait())
                })
                .collect();
            let thread_waiter = (round % 100 == 0).then(|| {
                let wg = wg.clone();
                std::thread::spawn(move || wg.wait())
            });
            for _ in 0..3 {
                let wg = wg.clone();
                goru::go(move || wg.done());
            }
            wg.wait();
            assert_eq!(wg.count(), 0, "round {round}");
            for w in waiters {
                w.join().unwrap();
            }
            if let Some(t) = thread_waiter {
                goru::blocking(|| t.join().unwrap());
            }
        }
    });
}

#[test]
fn once_runs_once_for_1000_goroutines() {
    runtime(4).run(|| {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let seen_done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..1000)
            .map(|_| {
                let (once, runs, seen_done) = (once.clone(), runs.clone(), seen_done.clone());
                goru::go(move || {
                    once.call_once(|| {
                        goru::time::sleep(Duration::from_millis(10));
                        runs.fetch_add(1, Ordering::SeqCst);
                    });
                    // Every caller returns only after the initialisation finished.
                    if runs.load(Ordering::SeqCst) == 1 {
                        seen_done.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(seen_done.load(Ordering::SeqCst), 1000);
    });
}

#[test]
fn once_counts_a_panic_as_done() {
    let once = Once::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        once.call_once(|| panic!("init failed"))
    }));
    assert!(r.is_err());
    assert!(once.is_completed());
    once.call_once(|| unreachable!("not run again"));
}

#[test]
fn cond_producer_consumer() {
    let got = runtime(2).run(|| {
        let queue = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
        let q = queue.clone();
        let consumer = goru::go(move || {
            let mut got = Vec::new();
            let mut items = q.0.lock();
            while got.len() < 100 {
                while items.is_empty() {
                    items = q.1.wait(items);
                }
                got.append(&mut items);
            }
            got
        });
        for i in 0..100 {
            queue.0.lock().push(i);
            queue.1.notify_one();
            if i % 7 == 0 {
                goru::yield_now();
            }
        }
        consumer.join().unwrap()
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn semaphore_limits_concurrency() {
    runtime(4).run(|| {
        let sem = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
                goru::go(move || {
                    let _permit = sem.acquire();
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    goru::time::sleep(Duration::from_millis(1));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(max.load(Ordering::SeqCst), 3);
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn errgroup_returns_the_first_error_and_cancels_the_context() {
    runtime(2).run(|| {
        let (group, ctx) = ErrGroup::<String>::with_context(&goru::context::background());
        let cancelled_seen = Arc::new(AtomicUsize::new(0));
        for i in 0..10 {
            let ctx = ctx.clone();
            let seen = cancelled_seen.clone();
            group.go(move || {
                if i == 4 {
                    return Err("job 4".to_string());
                }
                // Others wait for the cancellation the error causes.
                let _ = ctx.done().recv();
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(group.wait(), Err("job 4".to_string()));
        assert_eq!(cancelled_seen.load(Ordering::SeqCst), 9);
        assert!(ctx.err().is_some());
    });
}

#[test]
fn errgroup_limit_bounds_running_goroutines() {
    runtime(4).run(|| {
        let mut group = ErrGroup::<()>::new();
        group.set_limit(2);
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let (inside, max) = (inside.clone(), max.clone());
            group.go(move || {
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                goru::time::sleep(Duration::from_millis(2));
                inside.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(group.wait(), Ok(()));
        assert!(max.load(Ordering::SeqCst) <= 2);
    });
}

#[test]
fn sync_types_work_from_plain_threads() {
    let m = Arc::new(Mutex::new(0));
    let wg = WaitGroup::new();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (m, wg) = (m.clone(), wg.clone());
            wg.add(1);
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    *m.lock() += 1;
                }
                wg.done();
            })
        })
        .collect();
    wg.wait();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*m.lock(), 40_000);
}

#[test]
fn owned_permits_bound_goroutines_started_in_a_loop() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    goru::run(|| {
        let sem = Arc::new(goru::sync::Semaphore::new(3));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..30)
            .map(|_| {
                let permit = sem.clone().acquire_owned(); // acquire before go
                let (running, peak) = (running.clone(), peak.clone());
                goru::go(move || {
                    let _permit = permit;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    goru::time::sleep(std::time::Duration::from_millis(2));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for j in jobs {
            j.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(sem.available_permits(), 3, "every permit came back");
        let held = sem.clone().try_acquire_owned().unwrap();
        let _two = (sem.clone().acquire_owned(), sem.clone().acquire_owned());
        assert!(sem.clone().try_acquire_owned().is_none());
        drop(held);
        assert!(sem.clone().try_acquire_owned().is_some());
    });
}

#[test]
fn errgroup_try_go_refuses_past_the_limit_without_running_f() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    goru::run(|| {
        let mut group = goru::sync::ErrGroup::<&'static str>::new();
        group.set_limit(1);
        let (release, gate) = goru::chan::bounded::<()>(0);
        assert!(group.try_go(move || {
            gate.recv().unwrap();
            Err("first")
        }));
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        assert!(!group.try_go(move || {
            r.store(true, Ordering::SeqCst);
            Ok(())
        }));
        release.send(()).unwrap();
        assert_eq!(group.wait(), Err("first"));
        assert!(!ran.load(Ordering::SeqCst), "a refused f never runs");
        // Without a limit, try_go always starts.
        let group = goru::sync::ErrGroup::<()>::new();
        assert!((0..10).all(|_| group.try_go(|| Ok(()))));
        assert_eq!(group.wait(), Ok(()));
    });
}
