//! Deadlock reports are certain: a goroutine that waits on something a plain thread
//! (or another runtime) has a hand in is never reported, and real deadlocks still are.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use goru::chan;
use goru::context;
use goru::sync::{Mutex, WaitGroup};

/// Longer than the detector takes to confirm (about 100 ms), with room to spare.
const LATER: Duration = Duration::from_millis(300);

fn runtime() -> goru::Runtime {
    goru::Runtime::builder().workers(2).build().unwrap()
}

/// Run `main`, expecting a deadlock report.
fn expect_deadlock(main: impl FnOnce() + Send + 'static) -> String {
    common::deadlock_report(&runtime(), main).0
}

#[test]
fn no_false_deadlock_while_a_plain_thread_will_send() {
    let (tx, rx) = chan::bounded::<u32>(0); // made on this plain thread
    let feeder = thread::spawn(move || {
        thread::sleep(LATER);
        tx.send(1).unwrap();
    });
    assert_eq!(runtime().run(move || rx.recv().unwrap()), 1);
    feeder.join().unwrap();
}

#[test]
fn no_false_deadlock_on_a_channel_a_plain_thread_has_used() {
    let got = runtime().run(|| {
        // Made inside the runtime; the thread uses it at once, then again later.
        let (tx, rx) = chan::bounded::<u32>(1);
        let feeder = thread::spawn(move || {
            tx.send(1).unwrap();
            thread::sleep(LATER);
            tx.send(2).unwrap();
        });
        let got = [rx.recv().unwrap(), rx.recv().unwrap()];
        feeder.join().unwrap();
        got
    });
    assert_eq!(got, [1, 2]);
}

#[test]
fn no_false_deadlock_on_a_select_over_a_thread_fed_channel() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let feeder = thread::spawn(move || {
        thread::sleep(LATER);
        tx.send(5).unwrap();
    });
    let got = runtime().run(move || {
        let (_keep, quiet) = chan::bounded::<u32>(0); // in sight, never ready
        goru::select! {
            recv(quiet) -> _ => 0,
            recv(rx) -> v => v.unwrap(),
        }
    });
    assert_eq!(got, 5);
    feeder.join().unwrap();
}

#[test]
fn no_false_deadlock_on_a_mutex_a_plain_thread_holds() {
    let lock = Arc::new(Mutex::new(0u32));
    let held = lock.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = thread::spawn(move || {
        let mut guard = held.lock();
        locked_tx.send(()).unwrap();
        thread::sleep(LATER);
        *guard = 7;
    });
    locked_rx.recv().unwrap();
    let got = runtime().run(move || *lock.lock());
    assert_eq!(got, 7);
    holder.join().unwrap();
}

#[test]
fn no_false_deadlock_on_a_waitgroup_made_outside() {
    let wg = WaitGroup::new();
    wg.add(1);
    let done = wg.clone();
    let worker = thread::spawn(move || {
        thread::sleep(LATER);
        done.done();
    });
    runtime().run(move || wg.wait());
    worker.join().unwrap();
}

#[test]
fn no_false_deadlock_on_a_context_a_plain_thread_cancels() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let canceller = thread::spawn(move || {
        thread::sleep(LATER);
        cancel.cancel();
    });
    let err = runtime().run(move || {
        // A child made inside the runtime is cancelled through its foreign parent.
        let (child, _cancel_child) = context::with_cancel(&ctx);
        let _ = child.done().recv();
        child.err()
    });
    assert_eq!(err, Some(context::ContextError::Canceled));
    canceller.join().unwrap();
}

/// The channel turns foreign after the goroutine parked on it (the thread's first use
/// is a failed `try_recv`): its note taken at the park is stale, and the epoch says so.
#[test]
fn no_false_deadlock_when_a_channel_turns_foreign_after_the_park() {
    let got = runtime().run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let rx2 = rx.clone();
        let feeder = thread::spawn(move || {
            assert!(rx2.try_recv().is_err());
            thread::sleep(LATER);
            tx.send(9).unwrap();
        });
        let v = rx.recv().unwrap();
        feeder.join().unwrap();
        v
    });
    assert_eq!(got, 9);
}

#[test]
fn a_real_deadlock_is_still_reported_beside_thread_used_primitives() {
    let report = expect_deadlock(|| {
        // A plain thread uses one channel (the epoch moves before anyone parks) ...
        let (tx, rx) = chan::bounded::<u32>(1);
        thread::spawn(move || tx.send(1).unwrap()).join().unwrap();
        assert_eq!(rx.recv().unwrap(), 1);
        // ... and the goroutines deadlock on others, which only they have seen.
        let (a_tx, a_rx) = chan::bounded::<u32>(0);
        let (b_tx, b_rx) = chan::bounded::<u32>(0);
        goru::go(move || {
            a_rx.recv().unwrap();
            b_tx.send(1).unwrap();
        });
        b_rx.recv().unwrap();
        a_tx.send(1).unwrap();
    });
    assert!(report.contains("[chan receive"), "{report}");
}

#[test]
fn a_static_mutex_deadlock_is_still_reported() {
    static LOCK: Mutex<()> = Mutex::new(()); // const-made: its first user claims it
    let start = Instant::now();
    let report = expect_deadlock(|| {
        let _held = LOCK.lock();
        let h = goru::go(|| drop(LOCK.lock()));
        h.join().unwrap();
    });
    assert!(report.contains("[sync.Mutex.Lock"), "{report}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_waitgroup_made_inside_deadlocks_as_before() {
    expect_deadlock(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.wait();
    });
}

#[test]
fn a_deadlock_is_reported_while_a_plain_thread_keeps_turning_primitives_foreign() {
    // Each primitive a plain thread turns foreign makes the parked goroutine's note
    // stale, and the detector wakes it to park again. The monitor must not then fall
    // asleep beside the deadlock (it once did, when the goroutine parked again before
    // the monitor announced its sleep). The turns are spaced wider than a
    // confirmation takes, so each window can end in the report.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut turned = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let lock = Mutex::new(()); // const-made: unclaimed until first used
                drop(lock.lock()); // used first by a plain thread: turns foreign
                turned += 1;
                thread::sleep(Duration::from_millis(150));
            }
            turned
        })
    };
    for round in 0..20 {
        let report = expect_deadlock(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            wg.wait();
        });
        assert!(
            report.contains("[sync.WaitGroup.Wait"),
            "round {round}: {report}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(churn.join().unwrap() > 0);
}
