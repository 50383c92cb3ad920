//! Pinned goroutines: once started, a pinned goroutine resumes only on the OS thread
//! it first ran on; and in every mode a goroutine that parks while unwinding keeps
//! its thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

use goru::chan;
use goru::sync::{Mutex, WaitGroup};

fn runtime(workers: usize, pinned: bool) -> goru::Runtime {
    goru::Runtime::builder()
        .workers(workers)
        .pin_goroutines(pinned)
        .build()
        .unwrap()
}

/// Park `rounds` times, each time in another way, and count the resumes that found
/// the goroutine on a thread other than `home`.
fn park_every_way(rounds: usize, shared: &Mutex<u64>, peer: &chan::Sender<u64>) -> usize {
    let home = std::thread::current().id();
    let mut moved = 0;
    let check = |moved: &mut usize| {
        if std::thread::current().id() != home {
            *moved += 1;
        }
    };
    for round in 0..rounds {
        match round % 7 {
            0 => goru::yield_now(),
            1 => goru::time::sleep(Duration::from_micros(50)),
            2 => {
                // A channel hand-off to a goroutine that drains them all.
                peer.send(round as u64).unwrap();
            }
            3 => {
                *shared.lock() += 1; // contended by every goroutine
                goru::yield_now();
            }
            4 => {
                let (tx, rx) = chan::bounded::<u64>(0);
                goru::go(move || tx.send(7).unwrap());
                assert_eq!(rx.recv().unwrap(), 7);
            }
            5 => {
                let wg = WaitGroup::new();
                wg.add(1);
                let done = wg.clone();
                goru::go(move || {
                    goru::time::sleep(Duration::from_micros(20));
                    done.done();
                });
                wg.wait();
            }
            _ => {
                assert_eq!(goru::blocking(|| 5), 5);
            }
        }
        check(&mut moved);
    }
    moved
}

/// 2,000 goroutines park 50 times each, seven ways, while others keep spawning work
/// for the idle workers to steal: count the resumes on another thread.
fn migrations(rt: &goru::Runtime, pinned_by_go: bool) -> (usize, u64) {
    rt.run(move || {
        let shared = Arc::new(Mutex::new(0u64));
        let (peer_tx, peer_rx) = chan::bounded::<u64>(16);
        let drain = goru::go(move || peer_rx.iter().count() as u64);
        let moved = Arc::new(AtomicUsize::new(0));
        // Stealing pressure: bursts of short goroutines spawned all along.
        let (stop_tx, stop_rx) = chan::bounded::<()>(0);
        let pressure = goru::go(move || loop {
            for _ in 0..64 {
                goru::go(|| std::hint::black_box((0..200).sum::<u64>()));
            }
            goru::select! {
                recv(stop_rx) -> _ => break,
                default => goru::yield_now(),
            }
        });
        let handles: Vec<_> = (0..2_000)
            .map(|_| {
                let (shared, peer, moved) = (shared.clone(), peer_tx.clone(), moved.clone());
                let body = move || {
                    moved.fetch_add(park_every_way(50, &shared, &peer), Ordering::Relaxed);
                };
                if pinned_by_go {
                    goru::go_pinned(body)
                } else {
                    goru::go(body)
                }
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        drop(stop_tx);
        pressure.join().unwrap();
        drop(peer_tx);
        let sent = drain.join().unwrap();
        assert_eq!(
            *shared.lock(),
            2_000 * 7,
            "every contended increment counted"
        );
        (moved.load(Ordering::Relaxed), sent)
    })
}

#[test]
fn pinned_runtime_never_moves_a_started_goroutine() {
    let (moved, sent) = migrations(&runtime(4, true), false);
    assert_eq!(sent, 2_000 * 7, "every hand-off delivered");
    assert_eq!(moved, 0, "resumes on another thread in pinned mode");
}

#[test]
fn go_pinned_never_moves_in_an_unpinned_runtime() {
    let (moved, _) = migrations(&runtime(4, false), true);
    assert_eq!(
        moved, 0,
        "resumes of go_pinned goroutines on another thread"
    );
}

/// The check above can fail: without pinning, the same load moves goroutines.
#[test]
fn unpinned_goroutines_do_migrate_under_the_same_load() {
    let rt = runtime(4, false);
    let mut moved = 0;
    for _ in 0..5 {
        moved += migrations(&rt, false).0;
        if moved > 0 {
            break;
        }
    }
    assert!(
        moved > 0,
        "no goroutine ever changed threads: the test above proves nothing"
    );
}

/// A pinned goroutine that yields waits behind what its worker has queued, as an
/// unpinned one does: it once took every other turn of its worker, so a loop that
/// spawns a burst and yields ran ahead of its own goroutines without bound (the
/// pressure goroutine above grew to millions of them, and gigabytes, on 2 cores).
#[test]
fn a_yielding_pinned_goroutine_waits_behind_the_queue() {
    for workers in [1, 2] {
        let most_waiting = runtime(workers, true).run(|| {
            let waiting = Arc::new(AtomicUsize::new(0));
            let mut most = 0;
            for _ in 0..300 {
                for _ in 0..64 {
                    waiting.fetch_add(1, Ordering::Relaxed);
                    let waiting = waiting.clone();
                    goru::go(move || {
                        waiting.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                goru::yield_now();
                most = most.max(waiting.load(Ordering::Relaxed));
            }
            most
        });
        // Behind the queue, a yield finds at most the last burst still waiting (and
        // whatever a busy host delayed); taking turns with it, ~32 more per round.
        assert!(
            most_waiting <= 64 * 4,
            "{most_waiting} goroutines still waited after a yield ({workers} workers)"
        );
    }
}

/// A `!Send` value from a thread-local, held across parks, as a pinned goroutine may.
#[test]
fn a_thread_local_rc_stays_valid_across_parks() {
    use std::cell::RefCell;
    use std::rc::Rc;
    thread_local!(static LOG: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(Vec::new())));
    let rt = runtime(4, true);
    rt.run(|| {
        let handles: Vec<_> = (0..200u64)
            .map(|id| {
                goru::go(move || {
                    let log = LOG.with(Rc::clone);
                    for i in 0..20 {
                        log.borrow_mut().push(id * 100 + i);
                        goru::time::sleep(Duration::from_micros(100));
                        // Same thread, so the same thread-local as the Rc we hold.
                        assert!(LOG.with(|l| Rc::ptr_eq(l, &log)));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// Where each of `n` parks inside a destructor run by unwinding resumed.
struct ParksWhileUnwinding {
    parks: usize,
    threads: chan::Sender<Vec<ThreadId>>,
}

impl Drop for ParksWhileUnwinding {
    fn drop(&mut self) {
        assert!(std::thread::panicking());
        let mut seen = vec![std::thread::current().id()];
        for i in 0..self.parks {
            if i % 2 == 0 {
                goru::time::sleep(Duration::from_micros(100));
            } else {
                goru::yield_now();
            }
            seen.push(std::thread::current().id());
        }
        self.threads.send(seen).unwrap();
    }
}

fn unwinding_keeps_its_thread(pinned: bool) {
    let rt = runtime(4, pinned);
    rt.run(|| {
        let (tx, rx) = chan::unbounded();
        let handles: Vec<_> = (0..300)
            .map(|_| {
                let threads = tx.clone();
                goru::go(move || {
                    let _guard = ParksWhileUnwinding { parks: 20, threads };
                    goru::yield_now(); // started, and possibly moved, before the panic
                    panic!("unwind through a parking destructor");
                })
            })
            .collect();
        // Keep the idle workers stealing meanwhile.
        for _ in 0..2_000 {
            goru::go(goru::yield_now);
        }
        for h in handles {
            assert!(h.join().is_err(), "the panic reaches join");
        }
        drop(tx);
        let mut count = 0;
        for seen in rx.iter() {
            count += 1;
            assert!(
                seen.iter().all(|t| *t == seen[0]),
                "a goroutine parked while unwinding resumed on another thread: {seen:?}"
            );
        }
        assert_eq!(count, 300);
    });
}

#[test]
fn parking_while_unwinding_keeps_the_thread_unpinned() {
    unwinding_keeps_its_thread(false);
}

#[test]
fn parking_while_unwinding_keeps_the_thread_pinned() {
    unwinding_keeps_its_thread(true);
}

/// A goroutine that started on a spare worker (brought in while a worker was stuck in
/// a thread-blocking call) is still run, on that spare's thread, after the spare has
/// retired.
#[test]
fn a_goroutine_pinned_to_a_retired_spare_still_runs() {
    let rt = runtime(1, true);
    rt.run(|| {
        let (start_tx, start_rx) = chan::bounded::<ThreadId>(1);
        let (wake_tx, wake_rx) = chan::bounded::<()>(0);
        // The only worker runs the hog first and gets stuck in its blocking sleep; the
        // monitor hands the queued waiter to a spare, whose thread it then belongs to.
        let hog = goru::go(|| {
            std::thread::sleep(Duration::from_millis(300));
            std::thread::current().id()
        });
        let waiter = goru::go(move || {
            let first = std::thread::current().id();
            start_tx.send(first).unwrap();
            wake_rx.recv().unwrap(); // parks; the spare retires meanwhile
            (first, std::thread::current().id())
        });
        let waiter_thread = start_rx.recv().unwrap();
        let hog_thread = hog.join().unwrap();
        assert_ne!(
            waiter_thread, hog_thread,
            "the waiter was to start on a spare"
        );
        // Give the spare time to see it is no longer needed and retire.
        goru::time::sleep(Duration::from_millis(100));
        wake_tx.send(()).unwrap();
        let (first, last) = waiter.join().unwrap();
        assert_eq!(first, last, "resumed on another thread");
    });
}
