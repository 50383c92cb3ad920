//! context: cancellation trees, deadlines, values, and no leaks.

mod common;

use std::time::{Duration, Instant};

use goru::chan;
use goru::context::{self, ContextError};

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

#[test]
fn cancelling_the_root_reaches_10000_descendants_and_never_the_parent() {
    runtime(2).run(|| {
        let (outer, _outer_cancel) = context::with_cancel(&context::background());
        let (root, cancel) = context::with_cancel(&outer);
        // A wide and deep tree, values in between.
        let mut all = Vec::new();
        let mut frontier = vec![root.clone()];
        while all.len() < 10_000 {
            let parent = frontier.remove(0);
            for i in 0..10 {
                let base = if i % 3 == 0 {
                    context::with_value(&parent, i as u32)
                } else {
                    parent.clone()
                };
                let (child, c) = context::with_cancel(&base);
                all.push((child.clone(), c));
                frontier.push(child);
            }
        }
        let waiters: Vec<_> = all
            .iter()
            .take(100)
            .map(|(ctx, _)| {
                let done = ctx.done();
                goru::go(move || done.recv().is_err())
            })
            .collect();
        assert!(all.iter().all(|(c, _)| c.err().is_none()));
        cancel.cancel();
        assert!(all
            .iter()
            .all(|(c, _)| c.err() == Some(ContextError::Canceled)));
        assert!(
            waiters.into_iter().all(|h| h.join().unwrap()),
            "every done channel closed"
        );
        assert_eq!(outer.err(), None, "cancellation never goes up");
    });
}

#[test]
fn a_context_derived_after_cancellation_starts_cancelled() {
    let (parent, cancel) = context::with_cancel(&context::background());
    drop(cancel); // dropping a CancelFn cancels
    assert_eq!(parent.err(), Some(ContextError::Canceled));
    let (child, _c) = context::with_cancel(&parent);
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert!(child.done().try_recv().is_err());
    let (timed, _c) = context::with_timeout(&parent, Duration::from_secs(60));
    assert_eq!(timed.err(), Some(ContextError::Canceled));
}

#[test]
fn timeouts_fire_with_reasonable_precision() {
    runtime(2).run(|| {
        for ms in [10u64, 50] {
            let start = Instant::now();
            let (ctx, _cancel) =
                context::with_timeout(&context::background(), Duration::from_millis(ms));
            assert!(ctx.deadline().is_some());
            assert!(ctx.done().recv().is_err());
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(ms), "{took:?}");
            assert!(took < Duration::from_millis(ms + 500), "{took:?}");
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        }
    });
}

#[test]
fn deadlines_are_inherited_and_the_earliest_wins() {
    let now = Instant::now();
    let (parent, _a) =
        context::with_deadline(&context::background(), now + Duration::from_secs(10));
    let (later, _b) = context::with_deadline(&parent, now + Duration::from_secs(60));
    assert_eq!(later.deadline(), parent.deadline());
    let (sooner, _c) = context::with_deadline(&parent, now + Duration::from_secs(1));
    assert_eq!(sooner.deadline(), Some(now + Duration::from_secs(1)));
    let valued = context::with_value(&sooner, "v");
    assert_eq!(valued.deadline(), sooner.deadline());
    let (past, _d) = context::with_deadline(&context::background(), now - Duration::from_secs(1));
    assert_eq!(past.err(), Some(ContextError::DeadlineExceeded));
}

#[test]
fn values_are_found_by_type_through_the_chain() {
    #[derive(Debug, PartialEq)]
    struct User(&'static str);
    let ctx = context::with_value(&context::background(), User("ada"));
    let ctx = context::with_value(&ctx, 42u64);
    let (ctx, _c) = context::with_timeout(&ctx, Duration::from_secs(5));
    let ctx = context::with_value(&ctx, User("grace")); // the nearest wins
    assert_eq!(*ctx.value::<User>().unwrap(), User("grace"));
    assert_eq!(*ctx.value::<u64>().unwrap(), 42);
    assert!(ctx.value::<i32>().is_none());
}

#[test]
fn select_over_done_and_a_work_channel() {
    runtime(2).run(|| {
        let (ctx, cancel) = context::with_cancel(&context::background());
        let (work_tx, work_rx) = chan::bounded::<u32>(0);
        let worker = {
            let ctx = ctx.clone();
            goru::go(move || {
                let mut handled = 0;
                loop {
                    goru::select! {
                        recv(work_rx) -> job => { job.unwrap(); handled += 1; }
                        recv(ctx.done()) -> _ => return (handled, ctx.err()),
                    }
                }
            })
        };
        for i in 0..10 {
            work_tx.send(i).unwrap();
        }
        cancel.cancel();
        assert_eq!(worker.join().unwrap(), (10, Some(ContextError::Canceled)));
    });
}

#[test]
fn a_deep_chain_cancels_without_overflowing_the_stack() {
    runtime(1).run(|| {
        let (root, cancel) = context::with_cancel(&context::background());
        let mut chain = vec![];
        let mut last = root.clone();
        for _ in 0..100_000 {
            let (child, c) = context::with_cancel(&last);
            chain.push(c);
            last = child;
        }
        cancel.cancel();
        assert_eq!(last.err(), Some(ContextError::Canceled));
        drop(chain);
    });
}

#[test]
fn done_asked_for_before_during_or_after_the_cancellation_closes() {
    // `done` is made on first use: made after the cancellation it starts closed, and
    // made while another goroutine cancels it closes too (or starts closed).
    runtime(2).run(|| {
        let (ctx, cancel) = context::with_cancel(&context::background());
        cancel.cancel();
        assert_eq!(ctx.done().try_recv(), Err(chan::TryRecvError::Closed));

        let (ctx, cancel) = context::with_cancel(&context::background());
        let done = ctx.done();
        assert_eq!(done.try_recv(), Err(chan::TryRecvError::Empty));
        cancel.cancel();
        assert_eq!(done.try_recv(), Err(chan::TryRecvError::Closed));

        for round in 0..500 {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let child = context::with_value(&ctx, round);
            let waiter = goru::go(move || child.done().recv());
            let canceller = goru::go(move || cancel.cancel());
            assert!(waiter.join().unwrap().is_err(), "round {round}");
            canceller.join().unwrap();
            assert!(ctx.done().recv().is_err());
        }
    });
}

#[test]
fn background_is_never_done() {
    let bg = context::background();
    assert!(bg.done().recv_timeout(Duration::from_millis(5)).is_err());
    assert_eq!(bg.err(), None);
}

#[test]
fn short_lived_timeout_contexts_leak_nothing() {
    if !common::is_child() {
        common::run_passing_child("short_lived_timeout_contexts_leak_nothing", &[]);
        return;
    }
    // Main loops for a while without parking: no blocking-call report, whose
    // symbolizing (debug info read into memory) would be the growth this test measures.
    let rt = goru::Runtime::builder().workers(2).blocking_report(None);
    rt.build().unwrap().run(|| {
        let (parent, _keep) = context::with_cancel(&context::background());
        let round = |n: usize| {
            for i in 0..n {
                let (ctx, cancel) = context::with_timeout(&parent, Duration::from_secs(30));
                if i % 2 == 0 {
                    cancel.cancel();
                }
                drop((ctx, cancel));
            }
        };
        round(20_000); // warm up allocator and pools
        let goroutines = goru::runtime::num_goroutine();
        let before = common::rss_bytes();
        round(100_000);
        let after = common::rss_bytes();
        assert_eq!(
            goru::runtime::num_goroutine(),
            goroutines,
            "no goroutine per context"
        );
        let growth = after as i64 - before as i64;
        println!("RSS growth over 100,000 contexts: {} KiB", growth / 1024);
        assert!(growth < 16 << 20, "memory grew by {} KiB", growth / 1024);
    });
}

#[test]
fn a_cause_travels_down_the_tree_and_defaults_to_the_error() {
    use goru::context::{self, ContextError};
    let (root, cancel) = context::with_cancel_cause(&context::background());
    let (child, _c) = context::with_cancel(&root);
    let (grandchild, _t) = context::with_timeout(&child, Duration::from_secs(60));
    assert!(grandchild.cause().is_none(), "not cancelled yet");
    cancel.cancel(std::io::Error::other("disk full"));
    cancel.cancel("second"); // the first cancellation wins
    for ctx in [&root, &child, &grandchild] {
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
    }
    // Born from a cancelled parent: inherits the cause too.
    let (late, _l) = context::with_cancel(&root);
    assert_eq!(late.cause().unwrap().to_string(), "disk full");
    // No cause: the error itself, including a deadline's.
    let (plain, cancel) = context::with_cancel(&context::background());
    drop(cancel);
    assert_eq!(
        plain.cause().unwrap().to_string(),
        ContextError::Canceled.to_string()
    );
    let (timed, _t) = context::with_timeout(&context::background(), Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        timed.cause().unwrap().to_string(),
        ContextError::DeadlineExceeded.to_string()
    );
    let (dropped, cancel) = context::with_cancel_cause(&context::background());
    drop(cancel);
    assert_eq!(dropped.err(), Some(ContextError::Canceled));
}

#[test]
fn after_func_runs_on_cancellation_and_stop_prevents_it() {
    use goru::context;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    goru::run(|| {
        let (ctx, cancel) = context::with_cancel(&context::background());
        let (tx, rx) = goru::chan::bounded(2);
        let tx2 = tx.clone();
        let first =
            context::after_func(&ctx, move || tx.send(goru::runtime::current_id()).unwrap());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let stopped = context::after_func(&ctx, move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(stopped.stop(), "stopped before the cancellation");
        assert!(!stopped.stop(), "only once");
        assert!(
            rx.try_recv().is_err(),
            "nothing runs before the cancellation"
        );
        cancel.cancel();
        assert!(rx.recv().unwrap().is_some(), "on a goroutine of its own");
        assert!(!first.stop(), "already started");
        // On an already cancelled context it starts at once.
        let _late = context::after_func(&ctx, move || tx2.send(None).unwrap());
        assert_eq!(rx.recv().unwrap(), None);
        goru::time::sleep(Duration::from_millis(20));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        // A context that never cancels never calls it.
        assert!(context::after_func(&context::background(), || unreachable!()).stop());
    });
}

#[test]
fn without_cancel_keeps_values_but_not_cancellation() {
    use goru::context;
    struct Trace(u32);
    let base = context::with_value(&context::background(), Trace(9));
    let (parent, cancel) = context::with_timeout(&base, Duration::from_secs(60));
    let detached = context::without_cancel(&parent);
    assert!(detached.deadline().is_none());
    let (child, _c) = context::with_cancel(&detached);
    cancel.cancel();
    assert!(parent.err().is_some());
    assert!(
        detached.err().is_none() && child.err().is_none(),
        "not cancelled by the parent"
    );
    assert!(detached.done().try_recv().is_err());
    assert_eq!(
        child.value::<Trace>().unwrap().0,
        9,
        "values still reach through"
    );
}
