//! Timers that nobody can receive from are collected at once, as Go 1.23 collects
//! unreferenced timers: a `time::after` whose every receiver is dropped stops its timer,
//! which frees the timer's entry and its channel long before the deadline.

mod common;
#[path = "common/live_bytes.rs"]
mod live_bytes;

use std::time::Duration;

use goru::{chan, time};

#[global_allocator]
static GLOBAL: live_bytes::CountingAllocator = live_bytes::CountingAllocator;

/// Far beyond any test's length: a timer with this deadline that fires is a bug.
const LONG: Duration = Duration::from_secs(30);

/// The timeout idiom in a loop, where the other case is always ready first, so every
/// `after` is dropped unfired.
fn timeout_selects(n: usize) {
    let (tx, rx) = chan::bounded(1);
    for i in 0..n {
        tx.send(i).unwrap();
        let got = goru::select! {
            recv(rx) -> v => v.unwrap(),
            recv(time::after(LONG)) -> _ => panic!("a 30 s timeout fired"),
        };
        assert_eq!(got, i);
    }
}

#[test]
fn an_after_whose_receivers_are_dropped_is_no_longer_pending() {
    goru::run(|| {
        assert_eq!(goru::runtime::metrics().timers, 0, "a fresh runtime");
        timeout_selects(10_000);
        let pending = goru::runtime::metrics().timers;
        assert_eq!(pending, 0, "abandoned `after` timers still pending");
    });
}

#[test]
fn an_after_still_fires_for_a_clone_of_its_receiver() {
    goru::run(|| {
        let rx = time::after(Duration::from_millis(20));
        let clone = rx.clone();
        drop(rx);
        assert_eq!(goru::runtime::metrics().timers, 1, "one receiver is left");
        assert!(clone.recv().is_ok(), "the clone receives the time");
    });
    // Outside a runtime, on the process's timer thread, the same.
    let rx = time::after(Duration::from_millis(20));
    let clone = rx.clone();
    drop(rx);
    assert!(clone.recv().is_ok());
}

#[test]
fn an_after_dropped_after_it_fired_is_freed_too() {
    goru::run(|| {
        let rx = time::after(Duration::from_millis(1));
        goru::time::sleep(Duration::from_millis(20));
        assert_eq!(goru::runtime::metrics().timers, 0, "it fired");
        drop(rx);
        // The value it holds is dropped with the channel; nothing else happens.
        assert_eq!(goru::runtime::metrics().timers, 0);
    });
}

/// Bytes still in use after `n` more abandoned timeouts, once 1,000 have run.
fn growth_over(n: usize) -> i64 {
    live_bytes::growth(|| timeout_selects(1_000), || timeout_selects(n))
}

#[test]
fn a_hundred_thousand_abandoned_timeouts_keep_no_memory() {
    if !common::is_child() {
        common::run_passing_child("a_hundred_thousand_abandoned_timeouts_keep_no_memory", &[]);
        return;
    }
    // Before timers were stopped with their last receiver, each of these kept its
    // channel and timer entry until the deadline: about 400 bytes a timeout.
    const N: usize = 100_000;
    const BOUND: i64 = 1 << 20;
    let in_goroutine = goru::run(|| growth_over(N));
    eprintln!("{in_goroutine} more bytes in use after {N} timeouts in a goroutine");
    assert!(
        in_goroutine < BOUND,
        "{in_goroutine} more bytes in use after {N} abandoned timeouts in a goroutine"
    );
    let on_thread = growth_over(N);
    eprintln!("{on_thread} more bytes in use after {N} timeouts on a plain thread");
    assert!(
        on_thread < BOUND,
        "{on_thread} more bytes in use after {N} abandoned timeouts on a plain thread"
    );
}
