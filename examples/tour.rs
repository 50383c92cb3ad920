//! A narrated tour of goru. Run it with `cargo run --release --all-features --example tour`.
//!
//! Each stop prints what it shows and what happened: goroutines, channels, select,
//! sync, context, traces, a crawler, an HTTPS server and client, deadlock reports, `goru::check`, and the
//! scheduling policies of the notes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::{chan, context};

// Programs of their own, shared with the tour.
#[allow(dead_code)]
#[path = "concurrency_parallelism.rs"]
mod concurrency_parallelism;
#[allow(dead_code)]
#[path = "crawler.rs"]
mod crawler;
#[allow(dead_code)]
#[path = "scheduling_policies.rs"]
mod scheduling_policies;
#[allow(dead_code)]
#[path = "worker_pool.rs"]
mod worker_pool;

/// Run `f`, catching its panic without printing it (the tour prints what it wants).
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::thread::Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    result
}

/// A self-signed HTTPS server whose handler sleeps, and twenty clients at once: the
/// handlers overlap, each on its own goroutine, and every TLS handshake runs in its
/// connection's goroutine.
fn https_server_and_client() {
    use goru::http::{Body, Response};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = goru::tls::TlsAcceptor::new(Arc::new(config));
    goru::go(move || {
        goru::http::serve_tls(listener, tls, |req| {
            goru::time::sleep(Duration::from_millis(100)); // plain blocking code
            Response::new(Body::from(format!(
                "{} over {:?}",
                req.uri().path(),
                req.version()
            )))
        })
        .unwrap()
    });
    let roots = ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(
        cert.cert.der(),
    )
    .to_owned()]));
    let agent = goru::http::agent_with(
        ureq::Agent::config_builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build(),
    );
    let start = Instant::now();
    let clients: Vec<_> = (0..20)
        .map(|i| {
            let agent = agent.clone();
            goru::go(move || {
                let url = format!("https://localhost:{port}/client-{i}");
                agent
                    .get(&url)
                    .call()
                    .unwrap()
                    .body_mut()
                    .read_to_string()
                    .unwrap()
            })
        })
        .collect();
    let replies: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    println!("  first reply: {:?}", replies[0]);
    println!(
        "  20 https requests, each handler sleeping 100 ms, done in {:?} (one after another: 2 s)",
        start.elapsed()
    );
}

fn stop(title: &str) {
    println!("\n== {title} ==");
}

fn print_message(msg: &str, times: usize) {
    for i in 0..times {
        println!("  {msg} {i}");
        goru::time::sleep(Duration::from_millis(20));
    }
}

fn main() {
    stop("1. go starts a goroutine; main does not wait for it");
    goru::run(|| {
        goru::go(|| print_message("goroutine", 6));
        print_message("main", 3);
        // main returns here: the goroutine is abandoned mid-way, as in Go.
    });
    println!("  run returned when main did: the goroutine never printed its last lines");

    stop("2. joining: wait for a goroutine and take its result");
    let answer = goru::run(|| goru::go(|| 6 * 7).join().unwrap());
    println!("  the goroutine returned {answer}");

    stop("3. a WaitGroup worker pool: main waits for every worker");
    goru::run(|| {
        let wg = goru::sync::WaitGroup::new();
        for id in 1..=5u64 {
            wg.add(1); // before `go`, as in Go
            let wg = wg.clone();
            goru::go(move || {
                println!("  worker {id} starting");
                goru::time::sleep(Duration::from_millis(10 * (6 - id)));
                println!("  worker {id} done");
                wg.done();
            });
        }
        wg.wait();
        println!("  all five done; results can also come back through join:");
        let squares: Vec<u64> = (1..=5u64)
            .map(|id| goru::go(move || id * id))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        println!("  results in job order: {squares:?}");
    });

    stop("4. goroutines are cheap: 100,000 of them");
    let (count, took) = goru::run(|| {
        let start = Instant::now();
        let handles: Vec<_> = (0..100_000u64).map(|i| goru::go(move || i)).collect();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        (sum, start.elapsed())
    });
    println!("  spawned and joined 100,000 goroutines (sum {count}) in {took:?}");

    stop("5. sleeping parks the goroutine, not the thread");
    let took = goru::run(|| {
        let start = Instant::now();
        let sleepers: Vec<_> = (0..10_000)
            .map(|_| goru::go(|| goru::time::sleep(Duration::from_millis(100))))
            .collect();
        sleepers.into_iter().for_each(|h| h.join().unwrap());
        start.elapsed()
    });
    println!(
        "  10,000 goroutines slept 100 ms each on {} workers: {took:?} in all",
        goru::Runtime::builder()
            .build()
            .map(|rt| rt.run(goru::runtime::workers))
            .unwrap_or(0)
    );

    stop("6. scoped goroutines borrow from the caller's stack");
    goru::run(|| {
        let words = ["goroutine", "channel", "select", "mutex"];
        let mut lengths = [0usize; 4];
        goru::scope(|s| {
            for (word, len) in words.iter().zip(lengths.iter_mut()) {
                s.go(move || *len = word.len());
            }
        });
        println!("  lengths of {words:?}: {lengths:?}");
    });

    stop("7. concurrency vs parallelism: the same work on 1 worker and on 2, traced");
    let dir = std::env::temp_dir();
    for workers in [1, 2] {
        let (svg, lanes, took) = concurrency_parallelism::traced_run(workers, &dir);
        println!(
            "  two CPU-bound goroutines on {workers} worker(s): done in {took:?}, {lanes} lane(s) busy"
        );
        println!(
            "    timeline: {} (and the Perfetto trace beside it: .json)",
            svg.display()
        );
    }
    println!(
        "  one worker interleaves them (concurrency); two run them side by side (parallelism)"
    );

    stop("8. yield_now interleaves goroutines on one worker");
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    let order = rt.run(|| {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let pair: Vec<_> = ["ping", "pong"]
            .into_iter()
            .map(|word| {
                let log = log.clone();
                goru::go(move || {
                    for _ in 0..3 {
                        log.lock().unwrap().push(word);
                        goru::yield_now();
                    }
                })
            })
            .collect();
        pair.into_iter().for_each(|h| h.join().unwrap());
        let order = log.lock().unwrap().join(" ");
        order
    });
    println!("  {order}");

    stop("9. a panicking goroutine: join hands back the panic");
    let caught = goru::run(|| {
        let h = goru::go(|| -> u32 { panic!("boom") });
        h.join().is_err()
    });
    println!("  join returned Err: {caught}");

    stop("10. num_goroutine counts what is alive");
    goru::run(|| {
        let live = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let live = live.clone();
                goru::go(move || {
                    live.fetch_add(1, Ordering::SeqCst);
                    goru::time::sleep(Duration::from_millis(30));
                })
            })
            .collect();
        goru::time::sleep(Duration::from_millis(10));
        println!(
            "  while 10 sleep: num_goroutine = {}",
            goru::runtime::num_goroutine()
        );
        handles.into_iter().for_each(|h| h.join().unwrap());
        goru::time::sleep(Duration::from_millis(5));
        println!(
            "  after joining them: num_goroutine = {}",
            goru::runtime::num_goroutine()
        );
    });
    stop("11. channels: unbuffered (a rendezvous) and buffered");
    goru::run(|| {
        let (tx, rx) = chan::bounded::<&str>(0);
        goru::go(move || tx.send("task finished").unwrap());
        println!("  unbuffered: {}", rx.recv().unwrap());
        let (tx, rx) = chan::bounded(2);
        tx.send(10).unwrap();
        tx.send(20).unwrap(); // no receiver needed while there is room
        println!(
            "  buffered: {} then {}",
            rx.recv().unwrap(),
            rx.recv().unwrap()
        );
    });

    stop("12. multiply over a channel, then range until close");
    goru::run(|| {
        let (tx, rx) = chan::bounded::<u64>(0);
        goru::go(move || {
            for i in 1..=5 {
                tx.send(i * 3).unwrap();
            }
            tx.close(); // like Go's close(ch): the range below ends
        });
        let products: Vec<u64> = rx.iter().collect();
        println!("  received {products:?}, then the channel was closed");
    });

    stop("13. select with default, and an abort channel");
    goru::run(|| {
        let (tx, rx) = chan::bounded::<u32>(1);
        goru::select! {
            recv(rx) -> _ => println!("  (unexpected)"),
            default => println!("  nothing ready: default taken at once"),
        }
        let (abort_tx, abort_rx) = chan::bounded::<()>(0);
        goru::go(move || {
            goru::time::sleep(Duration::from_millis(30));
            abort_tx.send(()).unwrap();
        });
        let mut ticks = 0;
        let ticker = goru::time::tick(Duration::from_millis(10));
        loop {
            goru::select! {
                recv(ticker) -> _ => ticks += 1,
                recv(abort_rx) -> _ => break,
            }
        }
        tx.send(1).unwrap();
        println!("  {ticks} ticks before the abort arrived");
    });

    stop("14. a mutex-protected counter, and the lost updates it prevents");
    goru::run(|| {
        let safe = Arc::new(goru::sync::Mutex::new(0u64));
        let racy = Arc::new(AtomicUsize::new(0));
        let wg = goru::sync::WaitGroup::new();
        for _ in 0..1000 {
            wg.add(1);
            let (safe, racy, wg) = (safe.clone(), racy.clone(), wg.clone());
            goru::go(move || {
                for _ in 0..100 {
                    *safe.lock() += 1;
                    // Read-modify-write in two steps, as `counter++` does without a lock:
                    let v = racy.load(Ordering::Relaxed);
                    goru::yield_now();
                    racy.store(v + 1, Ordering::Relaxed);
                }
                wg.done();
            });
        }
        wg.wait();
        println!(
            "  with the mutex: {}; without it: {} (updates lost)",
            *safe.lock(),
            racy.load(Ordering::Relaxed)
        );
    });

    stop("15. Once, and Cond");
    goru::run(|| {
        let once = Arc::new(goru::sync::Once::new());
        let hs: Vec<_> = (0..5)
            .map(|i| {
                let once = once.clone();
                goru::go(move || {
                    once.call_once(|| println!("  initialised once, by goroutine {i}'s call"))
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        let state = Arc::new((
            goru::sync::Mutex::new(None::<&str>),
            goru::sync::Cond::new(),
        ));
        let s = state.clone();
        goru::go(move || {
            *s.0.lock() = Some("ready");
            s.1.notify_all();
        });
        let mut guard = state.0.lock();
        while guard.is_none() {
            guard = state.1.wait(guard);
        }
        println!("  the Cond waiter saw {:?}", guard.unwrap());
    });

    stop("16. context: a timeout cancels the work");
    goru::run(|| {
        let (ctx, _cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(50));
        let (_worker, slow) = chan::bounded::<()>(0); // a result that never comes
        goru::select! {
            recv(slow) -> _ => println!("  (unexpected)"),
            recv(ctx.done()) -> _ => println!("  gave up: {}", ctx.err().unwrap()),
        }
    });

    stop("17. a pipeline of stages");
    goru::run(|| {
        let (nums_tx, nums_rx) = chan::bounded::<u64>(0);
        let (sq_tx, sq_rx) = chan::bounded::<u64>(0);
        goru::go(move || (1..=5).for_each(|n| nums_tx.send(n).unwrap()));
        goru::go(move || nums_rx.iter().for_each(|n| sq_tx.send(n * n).unwrap()));
        println!(
            "  generate -> square -> print: {:?}",
            sq_rx.iter().collect::<Vec<_>>()
        );
    });

    stop("18. a worker pool collecting results over a channel");
    goru::run(|| {
        let results = worker_pool::run_pool(3, 9);
        let by_worker: std::collections::BTreeMap<usize, usize> =
            results.iter().fold(Default::default(), |mut m, r| {
                *m.entry(r.2).or_default() += 1;
                m
            });
        println!("  9 jobs, 3 workers: jobs done per worker {by_worker:?}");
    });

    stop("19. a concurrent crawler: a goroutine per URL, against a local HTTP server");
    let pages = goru::run(crawler::crawl_site);
    for (path, status, links) in &pages {
        println!("  {status} {path} ({links} links)");
    }

    stop("20. HTTPS: goru::http::serve_tls (hyper + rustls) and a ureq client");
    goru::run(https_server_and_client);

    stop("21. a deadlock, caught and explained");
    let report = quietly(|| {
        goru::run(|| {
            let (tx, _rx) = chan::bounded::<i32>(0);
            tx.send(42).unwrap(); // nobody receives: main waits forever
        })
    })
    .expect_err("reported");
    let report = report.downcast_ref::<String>().cloned().unwrap_or_default();
    for line in report.lines().take(3) {
        println!("  | {line}");
    }
    println!("  main sent on an unbuffered channel nobody receives from; goru noticed that");
    println!("  nothing could ever wake it and said so, with where each goroutine waits.");

    stop("22. an interleaving bug found by goru::check");
    let found = quietly(|| {
        goru::check::explore(goru::check::Config::new(), || {
            let balance = Arc::new(goru::sync::Mutex::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let balance = balance.clone();
                    goru::go(move || {
                        let seen = *balance.lock(); // read in one lock section...
                        *balance.lock() = seen + 10; // ...write in another
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(*balance.lock(), 20, "a deposit was lost");
        })
    })
    .expect_err("found");
    let text = found.downcast_ref::<String>().cloned().unwrap_or_default();
    for line in text.lines().take(4) {
        println!("  | {line}");
    }
    println!("  (the full report lists the schedule step by step; the seed replays it)");

    stop("23. scheduling policies of the notes, simulated side by side");
    let schedules = goru::run(scheduling_policies::simulate_all);
    for s in schedules {
        let order: Vec<&str> = s.timeline.iter().map(|t| t.0).collect();
        println!(
            "  {:<26} avg wait {:>4.1}  {}",
            s.policy.name(),
            s.average_wait,
            order.join(" ")
        );
    }

    println!("\nEnd of the tour.");
}
