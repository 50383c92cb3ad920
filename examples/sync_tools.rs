//! The notes' table of synchronisation tools, each in action: Mutex, RWMutex,
//! WaitGroup, Once, Cond, channels and context.
//!
//! `cargo run --example sync_tools`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goru::chan;
use goru::context;
use goru::sync::{Cond, Mutex, Once, RwLock, WaitGroup};

#[goru::main]
fn main() {
    // sync.Mutex: one goroutine at a time in the critical section.
    let balance = Arc::new(Mutex::new(0));
    let wg = WaitGroup::new();
    for _ in 0..10 {
        wg.add(1);
        let (balance, wg) = (balance.clone(), wg.clone());
        goru::go(move || {
            *balance.lock() += 10;
            wg.done();
        });
    }
    wg.wait(); // sync.WaitGroup: wait for the group
    println!("Mutex + WaitGroup: balance {}", *balance.lock());

    // sync.RWMutex: many readers at once, or one writer.
    let config = Arc::new(RwLock::new("v1".to_string()));
    let readers_inside = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (config, inside, most) =
                (config.clone(), readers_inside.clone(), most_at_once.clone());
            goru::go(move || {
                let guard = config.read();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                goru::time::sleep(Duration::from_millis(20)); // readers overlap
                inside.fetch_sub(1, Ordering::SeqCst);
                guard.len()
            })
        })
        .collect();
    readers.into_iter().for_each(|h| {
        h.join().unwrap();
    });
    *config.write() = "v2".to_string();
    println!(
        "RWMutex: up to {} readers at once, then a writer set {}",
        most_at_once.load(Ordering::SeqCst),
        *config.read()
    );

    // sync.Once: initialisation that runs once.
    let once = Arc::new(Once::new());
    let inits = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let (once, inits) = (once.clone(), inits.clone());
            goru::go(move || {
                once.call_once(|| {
                    inits.fetch_add(1, Ordering::SeqCst);
                })
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!("Once: initialised {} time(s)", inits.load(Ordering::SeqCst));

    // sync.Cond: wait for a condition another goroutine signals.
    let state = Arc::new((Mutex::new(false), Cond::new()));
    let waiter = {
        let state = state.clone();
        goru::go(move || {
            let (ready, cond) = &*state;
            let mut guard = ready.lock();
            while !*guard {
                guard = cond.wait(guard);
            }
            "woken with the condition true"
        })
    };
    goru::time::sleep(Duration::from_millis(10));
    *state.0.lock() = true;
    state.1.notify_all();
    println!("Cond: {}", waiter.join().unwrap());

    // Channels: synchronisation by communication.
    let (done_tx, done_rx) = chan::bounded::<&str>(0);
    goru::go(move || done_tx.send("work handed over").unwrap());
    println!("channel: {}", done_rx.recv().unwrap());

    // context: cancellation and timeouts.
    let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(30));
    let worker = {
        let ctx = ctx.clone();
        goru::go(move || {
            goru::select! {
                recv(goru::time::after(Duration::from_secs(10))) -> _ => "finished",
                recv(ctx.done()) -> _ => "stopped by the context",
            }
        })
    };
    println!(
        "context: {} ({})",
        worker.join().unwrap(),
        ctx.err().unwrap()
    );
}
