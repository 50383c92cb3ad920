//! goru::signal and context::with_signals. Each test runs in a child process of its
//! own, so signal dispositions do not leak between tests.

use std::time::Duration;

mod common;

fn raise(sig: i32) {
    // SAFETY: kill(2) on our own pid with a signal we have a handler for.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

macro_rules! alone {
    ($name:literal) => {
        if !common::is_child() {
            common::run_passing_child($name, &[]);
            return;
        }
    };
}

#[test]
fn notify_receives_a_signal_sent_to_ourselves() {
    alone!("notify_receives_a_signal_sent_to_ourselves");
    goru::run(|| {
        let signals = goru::signal::notify(&[libc::SIGUSR1, libc::SIGUSR2]);
        raise(libc::SIGUSR2);
        assert_eq!(
            signals.recv_timeout(Duration::from_secs(10)),
            Ok(libc::SIGUSR2)
        );
        // Several of one signal while nobody receives coalesce: at most one pending per
        // signal besides the one being handed over; other signals wait too.
        for _ in 0..5 {
            raise(libc::SIGUSR1);
        }
        raise(libc::SIGUSR2);
        std::thread::sleep(Duration::from_millis(200));
        let mut got = Vec::new();
        while let Ok(sig) = signals.recv_timeout(Duration::from_millis(300)) {
            got.push(sig);
        }
        let usr1 = got.iter().filter(|&&s| s == libc::SIGUSR1).count();
        let usr2 = got.iter().filter(|&&s| s == libc::SIGUSR2).count();
        assert!((1..=2).contains(&usr1), "five SIGUSR1 coalesced: {got:?}");
        assert_eq!(usr2, 1, "{got:?}");
    });
}

#[test]
fn a_goroutine_waiting_for_a_signal_is_not_a_deadlock() {
    alone!("a_goroutine_waiting_for_a_signal_is_not_a_deadlock");
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(500)); // well past the detector's window
        raise(libc::SIGUSR1);
    });
    goru::run(|| {
        let signals = goru::signal::notify(&[libc::SIGUSR1]);
        assert_eq!(
            signals.recv(),
            Ok(libc::SIGUSR1),
            "main waited, nobody called it a deadlock"
        );
    });
}

#[test]
fn dropping_the_receiver_stops_delivery() {
    alone!("dropping_the_receiver_stops_delivery");
    let threads = || {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("Threads:")
                    .map(|n| n.trim().parse::<usize>().unwrap())
            })
            .unwrap()
    };
    let before = threads();
    let signals = goru::signal::notify(&[libc::SIGUSR1]);
    assert!(threads() >= before + 2);
    drop(signals);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while threads() > before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(threads(), before, "its threads ended");
    raise(libc::SIGUSR1); // still handled (ignored), never the default (death)
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn with_signals_cancels_its_context_with_the_signal_as_cause() {
    alone!("with_signals_cancels_its_context_with_the_signal_as_cause");
    goru::run(|| {
        let (ctx, _stop) =
            goru::context::with_signals(&goru::context::background(), &[libc::SIGTERM]);
        assert!(ctx.err().is_none());
        raise(libc::SIGTERM);
        goru::select! {
            recv(ctx.done()) -> _ => {},
            recv(goru::time::after(Duration::from_secs(10))) -> _ => panic!("not cancelled"),
        }
        assert_eq!(ctx.err(), Some(goru::context::ContextError::Canceled));
        assert!(ctx
            .cause()
            .unwrap()
            .to_string()
            .contains(&libc::SIGTERM.to_string()));
        // Cancelled by its CancelFn instead: it stops listening, no signal needed.
        let (ctx, stop) =
            goru::context::with_signals(&goru::context::background(), &[libc::SIGUSR1]);
        stop.cancel();
        assert!(ctx.err().is_some());
    });
}

#[test]
fn an_uncatchable_signal_panics_naming_it() {
    for (sig, name) in [(libc::SIGKILL, "SIGKILL"), (libc::SIGSTOP, "SIGSTOP")] {
        let err = std::panic::catch_unwind(|| goru::signal::notify(&[sig])).unwrap_err();
        let message = err.downcast_ref::<String>().unwrap();
        assert!(
            message.contains(name) && message.contains("cannot be caught"),
            "{message}"
        );
    }
}
