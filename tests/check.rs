//! goru::check: classic interleaving bugs are found, reproduce from their seed, and
//! their fixed versions pass.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::chan;
use goru::check::{self, Config, Strategy};
use goru::sync::{Mutex, WaitGroup};

/// Explore `test`; return the failure report (panicking if nothing was found).
fn find_bug<F: Fn() + Send + Sync + 'static>(cfg: Config, test: F) -> String {
    let err = panic::catch_unwind(AssertUnwindSafe(|| check::explore(cfg, test)))
        .expect_err("the bug was not found");
    common::panic_message(&*err)
}

/// The seed printed in a report.
fn seed_of(report: &str) -> u64 {
    let at = report.find("Config::seed(").expect("a seed in the report") + "Config::seed(".len();
    report[at..].split(')').next().unwrap().parse().unwrap()
}

/// Found within 1,000 iterations by both strategies; the printed seed replays the same
/// failure, byte for byte.
fn found_and_replayed<F: Fn() + Send + Sync + Clone + 'static>(test: F, expect: &str) {
    for strategy in [Strategy::Random, Strategy::Pct { depth: 3 }] {
        let report = find_bug(
            Config::new().iterations(1000).strategy(strategy),
            test.clone(),
        );
        assert!(report.contains(expect), "{strategy:?}: {report}");
        assert!(report.contains("schedule ("), "{report}");
        let seed = seed_of(&report);
        let replayed = find_bug(
            Config::new().iterations(1).seed(seed).strategy(strategy),
            test.clone(),
        );
        let tail = |r: &str| r[r.find("):\n\n").unwrap()..].to_string();
        assert_eq!(tail(&replayed), tail(&report), "replay differs");
    }
}

fn passes_10000<F: Fn() + Send + Sync + 'static>(test: F) {
    let report = check::explore(Config::new().iterations(10_000), test);
    assert_eq!(report.iterations, 10_000);
}

// ---- 1. A lost update: check-then-act across two lock sections.

fn lost_update(fixed: bool) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        let counter = Arc::new(Mutex::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                goru::go(move || {
                    if fixed {
                        *counter.lock() += 1;
                    } else {
                        let seen = *counter.lock();
                        *counter.lock() = seen + 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*counter.lock(), 2, "an update was lost");
    }
}

#[test]
fn finds_a_lost_update() {
    found_and_replayed(lost_update(false), "an update was lost");
}

#[test]
fn the_fixed_counter_passes() {
    passes_10000(lost_update(true));
}

// ---- 2. Dining philosophers: everyone takes the left fork first.

fn philosophers(fixed: bool) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        const N: usize = 3;
        let forks: Arc<Vec<Mutex<()>>> = Arc::new((0..N).map(|_| Mutex::new(())).collect());
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let forks = forks.clone();
                goru::go(move || {
                    let (left, right) = (i, (i + 1) % N);
                    let (first, second) = if fixed {
                        (left.min(right), left.max(right))
                    } else {
                        (left, right)
                    };
                    let _a = forks[first].lock();
                    let _b = forks[second].lock();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}

#[test]
fn finds_the_dining_philosophers_deadlock() {
    found_and_replayed(philosophers(false), "all goroutines are asleep - deadlock!");
    let report = find_bug(Config::new(), philosophers(false));
    assert!(report.contains("[sync.Mutex.Lock"), "{report}");
}

#[test]
fn philosophers_who_order_their_forks_pass() {
    passes_10000(philosophers(true));
}

// ---- 3. WaitGroup::add inside the goroutine it counts.

fn waitgroup_add(fixed: bool) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        let wg = WaitGroup::new();
        let done = Arc::new(AtomicU64::new(0));
        for _ in 0..3 {
            if fixed {
                wg.add(1);
            }
            let (wg, done) = (wg.clone(), done.clone());
            goru::go(move || {
                if !fixed {
                    wg.add(1);
                }
                done.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(done.load(Ordering::SeqCst), 3, "wait returned early");
    }
}

#[test]
fn finds_a_waitgroup_add_inside_the_goroutine() {
    found_and_replayed(waitgroup_add(false), "wait returned early");
}

#[test]
fn waitgroup_add_before_go_passes() {
    passes_10000(waitgroup_add(true));
}

// ---- 4. Double-checked initialisation that publishes the flag before the value.

struct Lazy {
    ready: AtomicBool,
    value: AtomicU64,
    lock: Mutex<()>,
}

impl Lazy {
    fn get(&self, fixed: bool) -> u64 {
        if self.ready.load(Ordering::Acquire) {
            return self.value.load(Ordering::Acquire);
        }
        let _guard = self.lock.lock();
        if !self.ready.load(Ordering::Acquire) {
            if fixed {
                self.value.store(42, Ordering::Release);
                check::point();
                self.ready.store(true, Ordering::Release);
            } else {
                self.ready.store(true, Ordering::Release);
                check::point(); // another goroutine may look now
                self.value.store(42, Ordering::Release);
            }
        }
        self.value.load(Ordering::Acquire)
    }
}

fn double_checked(fixed: bool) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        let lazy = Arc::new(Lazy {
            ready: AtomicBool::new(false),
            value: AtomicU64::new(0),
            lock: Mutex::new(()),
        });
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let lazy = lazy.clone();
                goru::go(move || lazy.get(fixed))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 42, "saw the flag before the value");
        }
    }
}

#[test]
fn finds_a_broken_double_checked_initialisation() {
    found_and_replayed(double_checked(false), "saw the flag before the value");
}

#[test]
fn double_checked_initialisation_done_right_passes() {
    passes_10000(double_checked(true));
}

// ---- 5. A select! timeout that only fails when the timer fires first.

fn select_timeout(timeout: Duration) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        let (tx, rx) = chan::bounded::<u32>(1);
        goru::go(move || {
            goru::time::sleep(Duration::from_secs(1));
            tx.send(42).unwrap();
        });
        goru::select! {
            recv(rx) -> v => assert_eq!(v, Ok(42)),
            recv(goru::time::after(timeout)) -> _ => panic!("timed out waiting for the worker"),
        }
    }
}

#[test]
fn finds_a_select_timeout_that_races_its_timer() {
    found_and_replayed(
        select_timeout(Duration::from_secs(1)),
        "timed out waiting for the worker",
    );
}

#[test]
fn a_select_timeout_with_room_passes_in_virtual_time() {
    let start = Instant::now();
    passes_10000(select_timeout(Duration::from_secs(5)));
    // 10,000 runs of a program that waits one virtual second each.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "time is not virtual"
    );
}

// ---- The machinery itself.

#[test]
fn the_same_seed_gives_the_same_schedule_and_result() {
    let a = find_bug(Config::new().seed(7), lost_update(false));
    let b = find_bug(Config::new().seed(7), lost_update(false));
    assert_eq!(a, b);
}

/// How long each of `slow_sections`' sections really takes, in microseconds.
static SECTION_MICROS: AtomicU64 = AtomicU64::new(100);

/// Mutex sections that take real time: 4 goroutines x 8 sections, each sleeping
/// `SECTION_MICROS` of wall-clock time, with a switch point inside so that the others
/// queue on the lock. It always fails, to print its schedule and the lock's order.
fn slow_sections() -> impl Fn() + Send + Sync + Clone + 'static {
    || {
        let order = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..4)
            .map(|who| {
                let order = order.clone();
                goru::go(move || {
                    for _ in 0..8 {
                        let mut held = order.lock();
                        std::thread::sleep(Duration::from_micros(
                            SECTION_MICROS.load(Ordering::Relaxed),
                        ));
                        goru::check::point(); // the others run, and queue on the lock
                        held.push(who);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        panic!("lock order {:?}", *order.lock());
    }
}

#[test]
fn every_program_replays_its_schedules_exactly() {
    // Twice per seed, each of the five bug programs (broken and fixed) and one whose
    // critical sections take real time: the same steps, the same report. Nothing the
    // explorer runs may read the wall clock (Mutex's starvation test once did, so the
    // lock's hand-off depended on how long the sections really took).
    fn twice<F: Fn() + Send + Sync + Clone + 'static>(name: &str, test: F, iterations: usize) {
        let run = |test: F| {
            let cfg = Config::new().seed(11).iterations(iterations);
            match panic::catch_unwind(AssertUnwindSafe(|| check::explore(cfg, test))) {
                Ok(report) => format!("passed, {} steps", report.steps),
                Err(err) => common::panic_message(&*err),
            }
        };
        assert_eq!(run(test.clone()), run(test), "{name}: the replay differs");
    }
    for fixed in [false, true] {
        twice("lost update", lost_update(fixed), 200);
        twice("philosophers", philosophers(fixed), 200);
        twice("waitgroup add", waitgroup_add(fixed), 200);
        twice("double-checked", double_checked(fixed), 200);
    }
    twice(
        "select timeout",
        select_timeout(Duration::from_millis(1)),
        200,
    );
    twice(
        "select timeout",
        select_timeout(Duration::from_secs(1)),
        200,
    );
    // The same schedule whether the sections take 0.1 ms or 0.7 ms of real time (1 ms
    // is the lock's starvation time: on the wall clock, the slow run crossed it first).
    for seed in 1..=5 {
        let with_sections_of = |micros| {
            SECTION_MICROS.store(micros, Ordering::Relaxed);
            find_bug(Config::new().seed(seed).iterations(1), slow_sections())
        };
        assert_eq!(
            with_sections_of(100),
            with_sections_of(700),
            "slow sections, seed {seed}: the schedule depends on the wall clock"
        );
    }
}

#[test]
fn time_is_virtual_and_jumps_to_the_next_timer() {
    let report = check::explore(Config::new().iterations(20), || {
        let start = goru::time::now();
        goru::time::sleep(Duration::from_secs(3600));
        let waited = goru::time::now() - start;
        assert!(waited >= Duration::from_secs(3600), "{waited:?}");
        assert!(waited < Duration::from_secs(3601), "{waited:?}");
        let (_tx, rx) = chan::bounded::<u8>(0);
        assert!(rx.recv_timeout(Duration::from_secs(60)).is_err());
    });
    assert_eq!(report.iterations, 20);
}

#[test]
fn sockets_are_refused_inside_explore() {
    let report = find_bug(Config::new().iterations(1), || {
        let _ = goru::net::TcpListener::bind("127.0.0.1:0");
    });
    assert!(
        report.contains("goru::net is not supported inside goru::check::explore"),
        "{report}"
    );
}

#[test]
fn blocking_runs_in_place_inside_explore() {
    check::explore(Config::new().iterations(50), || {
        let h = goru::go(|| goru::blocking(|| 6 * 7));
        assert_eq!(h.join().unwrap(), 42);
    });
}

#[test]
fn a_detached_goroutines_panic_is_a_failure() {
    let report = find_bug(Config::new().iterations(10), || {
        goru::go(|| panic!("boom in a goroutine"));
        goru::time::sleep(Duration::from_millis(1));
    });
    assert!(report.contains("boom in a goroutine"), "{report}");
    assert!(report.contains("panic in goroutine 2"), "{report}");
}

#[test]
fn every_schedule_of_a_small_program_is_reachable() {
    // Two goroutines append to a log; across runs both orders must show up.
    let orders = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let seen = orders.clone();
    check::explore(Config::new().iterations(200), move || {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let log = log.clone();
                goru::go(move || log.lock().push(i))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        seen.lock().unwrap().insert(log.lock().clone());
    });
    assert_eq!(orders.lock().unwrap().len(), 2);
}

#[test]
fn goru_check_seed_replays_without_editing_the_test() {
    if common::is_child() {
        // Runs with GORU_CHECK_SEED set by the parent: exactly one run, that seed.
        let report = find_bug(Config::new().iterations(1000), lost_update(false));
        println!("{report}");
        return;
    }
    let report = find_bug(Config::new(), lost_update(false));
    let seed = seed_of(&report);
    let out = common::run_in_child(
        "goru_check_seed_replays_without_editing_the_test",
        &[("GORU_CHECK_SEED", &seed.to_string())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("iteration 0"), "{stdout}");
    assert!(stdout.contains(&format!("seed {seed})")), "{stdout}");
}

#[goru::test(workers = 2)]
fn explore_works_from_inside_a_goroutine() {
    let report = check::explore(Config::new().iterations(50), || {
        let h = goru::go(|| 1);
        assert_eq!(h.join().unwrap(), 1);
    });
    assert_eq!(report.iterations, 50);
    // This goroutine is still one afterwards: it can park and be woken.
    let h = goru::go(|| 2);
    assert_eq!(h.join().unwrap(), 2);
    assert!(goru::runtime::current_id().is_some());
}
