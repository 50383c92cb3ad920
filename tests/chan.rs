//! Channels and select, after the behaviours Go's own channel tests check
//! (test/chan/*.go, runtime/chan_test.go), written anew for goru.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::chan::{
    self, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Every flavor: unbuffered, small buffer, large buffer, unbounded.
fn flavors<T>() -> Vec<(chan::Sender<T>, chan::Receiver<T>)> {
    vec![
        chan::bounded(0),
        chan::bounded(1),
        chan::bounded(64),
        chan::unbounded(),
    ]
}

#[test]
fn prime_sieve_of_daisy_chained_goroutines() {
    // Go's classic: a generator and one filter goroutine per prime found.
    let primes = runtime(2).run(|| {
        let (tx, mut rx) = chan::bounded::<u64>(0);
        goru::go(move || {
            for n in 2.. {
                if tx.send(n).is_err() {
                    return;
                }
            }
        });
        let mut primes = Vec::new();
        for _ in 0..1000 {
            let prime = rx.recv().unwrap();
            primes.push(prime);
            let (next_tx, next_rx) = chan::bounded(0);
            let input = rx;
            goru::go(move || {
                for n in &input {
                    if n % prime != 0 && next_tx.send(n).is_err() {
                        return;
                    }
                }
            });
            rx = next_rx;
        }
        primes
    });
    assert_eq!(primes.len(), 1000);
    assert_eq!(&primes[..10], &[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    assert_eq!(primes[999], 7919);
}

#[test]
fn a_chain_of_10000_goroutines_passes_a_value_along() {
    let out = runtime(2).run(|| {
        let (first_tx, mut rx) = chan::bounded::<u64>(0);
        for _ in 0..10_000 {
            let (tx, next) = chan::bounded(0);
            let input = rx;
            goru::go(move || tx.send(input.recv().unwrap() + 1).unwrap());
            rx = next;
        }
        first_tx.send(0).unwrap();
        rx.recv().unwrap()
    });
    assert_eq!(out, 10_000);
}

#[test]
fn values_arrive_in_each_senders_order() {
    for (tx, rx) in flavors::<(u32, u32)>() {
        runtime(4).run(move || {
            for s in 0..8u32 {
                let tx = tx.clone();
                goru::go(move || {
                    for i in 0..5_000u32 {
                        tx.send((s, i)).unwrap();
                    }
                });
            }
            drop(tx);
            let mut next = [0u32; 8];
            for (s, i) in &rx {
                assert_eq!(i, next[s as usize], "sender {s} out of order");
                next[s as usize] += 1;
            }
            assert_eq!(next, [5_000; 8]);
        });
    }
}

#[test]
fn non_blocking_send_and_receive_on_every_flavor() {
    for (cap, (tx, rx)) in [Some(0), Some(1), Some(64), None]
        .into_iter()
        .zip(flavors::<u8>())
    {
        assert_eq!(tx.capacity(), cap);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        match cap {
            Some(0) => assert_eq!(
                tx.try_send(1),
                Err(TrySendError::Full(1)),
                "no receiver waits"
            ),
            Some(n) => {
                for i in 0..n {
                    tx.try_send(i as u8).unwrap();
                }
                assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
                assert_eq!(rx.len(), n);
                assert_eq!(rx.try_recv(), Ok(0));
            }
            None => {
                for i in 0..1000 {
                    tx.try_send((i % 256) as u8).unwrap();
                }
                assert_eq!(tx.len(), 1000);
            }
        }
        tx.close();
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(tx.try_send(5), Err(TrySendError::Closed(5)));
        while rx.try_recv().is_ok() {}
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn a_rendezvous_send_does_not_return_before_the_receive() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let received = Arc::new(AtomicBool::new(false));
        let r = received.clone();
        let receiver = goru::go(move || {
            goru::time::sleep(Duration::from_millis(50));
            let v = rx.recv().unwrap();
            r.store(true, Ordering::SeqCst);
            v
        });
        let start = Instant::now();
        tx.send(7).unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(40),
            "send returned before a receiver came"
        );
        assert_eq!(receiver.join().unwrap(), 7);
        assert!(received.load(Ordering::SeqCst));
    });
}

#[test]
fn close_keeps_buffered_values_then_reports_closed() {
    let (tx, rx) = chan::bounded(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(tx.close());
    assert!(!tx.close(), "the second close reports false");
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn dropping_the_last_sender_closes() {
    let (tx, rx) = chan::unbounded::<u8>();
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn close_wakes_blocked_receivers_and_senders() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let receivers: Vec<_> = (0..10)
            .map(|_| {
                let rx = rx.clone();
                goru::go(move || rx.recv())
            })
            .collect();
        let (tx2, _rx2) = chan::bounded::<u32>(0);
        let senders: Vec<_> = (0..10)
            .map(|i| {
                let tx2 = tx2.clone();
                goru::go(move || tx2.send(i))
            })
            .collect();
        goru::time::sleep(Duration::from_millis(20));
        tx.close();
        tx2.close();
        for h in receivers {
            assert_eq!(h.join().unwrap(), Err(RecvError));
        }
        let mut back: Vec<u32> = senders
            .into_iter()
            .map(|h| h.join().unwrap().unwrap_err().0)
            .collect();
        back.sort();
        assert_eq!(
            back,
            (0..10).collect::<Vec<_>>(),
            "each blocked sender got its value back"
        );
    });
}

#[test]
fn timeouts() {
    runtime(1).run(|| {
        let (tx, rx) = chan::bounded::<u8>(0);
        let start = Instant::now();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(30)),
            Err(RecvTimeoutError::Timeout)
        );
        assert_eq!(
            tx.send_timeout(4, Duration::from_millis(30)),
            Err(SendTimeoutError::Timeout(4))
        );
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(60) && took < Duration::from_secs(5),
            "{took:?}"
        );
        goru::go(move || {
            goru::time::sleep(Duration::from_millis(10));
            tx.send(5).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(5));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(RecvTimeoutError::Closed)
        );
    });
    // And on a plain thread.
    let (_tx, rx) = chan::bounded::<u8>(1);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn zero_sized_values() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<()>(16);
        let producers: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                goru::go(move || (0..10_000).for_each(|_| tx.send(()).unwrap()))
            })
            .collect();
        drop(tx);
        let mut n = 0;
        for () in &rx {
            n += 1;
        }
        producers.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(n, 40_000);
    });
}

#[test]
fn many_producers_and_consumers_lose_and_duplicate_nothing() {
    for (tx, rx) in flavors::<u64>() {
        let (count, sum) = runtime(4).run(move || {
            const P: u64 = 16;
            const N: u64 = 5_000;
            for p in 0..P {
                let tx = tx.clone();
                goru::go(move || (0..N).for_each(|i| tx.send(p * N + i).unwrap()));
            }
            drop(tx);
            let consumers: Vec<_> = (0..8)
                .map(|_| {
                    let rx = rx.clone();
                    goru::go(move || rx.iter().fold((0u64, 0u64), |(c, s), v| (c + 1, s + v)))
                })
                .collect();
            consumers
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        let total = 16 * 5_000u64;
        assert_eq!(count, total);
        assert_eq!(sum, total * (total - 1) / 2);
    }
}

#[test]
fn plain_threads_and_goroutines_share_a_channel() {
    let (tx, rx) = chan::bounded::<u64>(0);
    // Two OS threads send, goroutines receive, and an OS thread receives too.
    let senders: Vec<_> = (0..2u64)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                (0..5_000u64).for_each(|i| tx.send(t * 100_000 + i).unwrap())
            })
        })
        .collect();
    drop(tx);
    let rx_thread = rx.clone();
    let thread_sum = std::thread::spawn(move || {
        rx_thread
            .iter()
            .map(|v| (1u64, v))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let goroutine_sum = runtime(2).run(move || {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                goru::go(move || {
                    rx.iter()
                        .map(|v| (1u64, v))
                        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0u64, 0u64), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    senders.into_iter().for_each(|h| h.join().unwrap());
    let t = thread_sum.join().unwrap();
    let expected_sum: u64 = (0..2u64)
        .map(|t| (0..5_000u64).map(|i| t * 100_000 + i).sum::<u64>())
        .sum();
    assert_eq!(t.0 + goroutine_sum.0, 10_000);
    assert_eq!(t.1 + goroutine_sum.1, expected_sum);
}

#[test]
fn close_racing_with_send_and_receive_loses_nothing() {
    // Many rounds: senders race a close; every value either comes back in the error or
    // is received, exactly once.
    for round in 0..200u64 {
        for cap in [0usize, 4] {
            let (sent_back, received) = runtime(2).run(move || {
                let (tx, rx) = chan::bounded::<u64>(cap);
                let senders: Vec<_> = (0..4u64)
                    .map(|s| {
                        let tx = tx.clone();
                        goru::go(move || {
                            let mut back = 0u64;
                            let mut sent = 0u64;
                            for i in 0..50u64 {
                                let v = s * 1000 + i + 1;
                                match tx.send(v) {
                                    Ok(()) => sent += v,
                                    Err(SendError(v)) => back += v,
                                }
                            }
                            (sent, back)
                        })
                    })
                    .collect();
                let receiver = goru::go(move || rx.iter().sum::<u64>());
                if round % 2 == 0 {
                    goru::yield_now();
                }
                tx.close();
                let (sent, back) = senders
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                let received = receiver.join().unwrap();
                assert_eq!(
                    sent, received,
                    "every value sent was received (round {round}, cap {cap})"
                );
                (back, received)
            });
            let all: u64 = (0..4u64)
                .map(|s| (0..50u64).map(|i| s * 1000 + i + 1).sum::<u64>())
                .sum();
            assert_eq!(sent_back + received, all);
        }
    }
}

#[test]
fn select_picks_the_ready_case_and_reports_closed_channels() {
    let (tx1, rx1) = chan::bounded::<u8>(1);
    let (_tx2, rx2) = chan::bounded::<u8>(1);
    tx1.send(3).unwrap();
    goru::select! {
        recv(rx1) -> v => assert_eq!(v, Ok(3)),
        recv(rx2) -> _ => panic!("nothing was sent on rx2"),
    }
    tx1.close();
    goru::select! {
        recv(rx1) -> v => assert_eq!(v, Err(RecvError)),
        recv(rx2) -> _ => panic!("rx2 is open and empty"),
    }
    let (tx3, _rx3) = chan::bounded::<u8>(0);
    tx3.close();
    goru::select! {
        send(tx3, 9) -> r => assert_eq!(r, Err(SendError(9))),
        recv(rx2) -> _ => panic!("rx2 is empty"),
    }
}

#[test]
fn select_with_more_cases_than_fit_inline() {
    // Twelve receive cases, a send case on a full channel and a never() case: more
    // than the eight a select handles without allocating. Each round readies one
    // channel; exactly that case must fire, with its value, whether it was ready
    // before the select or arrives while the select waits.
    let chans: Vec<_> = (0..12).map(|_| chan::bounded::<usize>(1)).collect();
    let (full_tx, full_rx) = chan::bounded::<usize>(1);
    full_tx.send(0).unwrap();
    let never = chan::never::<usize>();
    let r: Vec<_> = chans.iter().map(|(_, rx)| rx.clone()).collect();
    runtime(2).run(move || {
        for round in 0..240 {
            let k = (round * 7) % 12;
            let tx = chans[k].0.clone();
            let late = round % 2 == 1;
            let feeder = if late {
                Some(goru::go(move || {
                    goru::time::sleep(Duration::from_micros(200));
                    tx.send(round).unwrap();
                }))
            } else {
                tx.send(round).unwrap();
                None
            };
            let (fired, got) = goru::select! {
                recv(r[0]) -> v => (0, v),
                recv(r[1]) -> v => (1, v),
                recv(r[2]) -> v => (2, v),
                recv(r[3]) -> v => (3, v),
                recv(r[4]) -> v => (4, v),
                recv(r[5]) -> v => (5, v),
                recv(r[6]) -> v => (6, v),
                recv(r[7]) -> v => (7, v),
                send(full_tx, 99) -> _ => panic!("the channel is full"),
                recv(never) -> _ => unreachable!(),
                recv(r[8]) -> v => (8, v),
                recv(r[9]) -> v => (9, v),
                recv(r[10]) -> v => (10, v),
                recv(r[11]) -> v => (11, v),
            };
            assert_eq!((fired, got), (k, Ok(round)), "round {round} (late: {late})");
            if let Some(feeder) = feeder {
                feeder.join().unwrap();
            }
        }
    });
    assert_eq!(full_rx.try_recv(), Ok(0), "the send case never fired");
    // Nothing else was buffered; the sender went with the goroutine's closure.
    assert_eq!(full_rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn select_default_and_never() {
    let never = chan::never::<u8>();
    let (tx, rx) = chan::bounded::<u8>(0);
    let took_default = goru::select! {
        recv(never) -> _ => false,
        recv(rx) -> _ => false,
        send(tx, 1) -> _ => false, // no receiver waits
        default => true,
    };
    assert!(took_default);
    // A select with only never() and a timeout takes the timeout.
    let start = Instant::now();
    goru::select! {
        recv(never) -> _ => unreachable!(),
        recv(goru::time::after(Duration::from_millis(20))) -> t => assert!(t.is_ok()),
    }
    assert!(start.elapsed() >= Duration::from_millis(20));
}

/// Assert that `wins` of `rounds` is within 5 standard deviations of a fair share `p`
/// (a false failure about once in 1.7 million): a bias of a point or two fails.
fn assert_fair_share(wins: u32, rounds: u32, p: f64, what: &str) {
    let n = f64::from(rounds);
    let sigma = (p * (1.0 - p) / n).sqrt();
    let share = f64::from(wins) / n;
    assert!(
        (share - p).abs() <= 5.0 * sigma,
        "{what}: share {share:.4}, fair {p:.4} +- {:.4}",
        5.0 * sigma
    );
}

#[test]
fn select_is_fair_between_ready_cases() {
    let (tx1, rx1) = chan::bounded::<u8>(1);
    let (tx2, rx2) = chan::bounded::<u8>(1);
    let (mut a, mut b) = (0u32, 0u32);
    for _ in 0..100_000 {
        tx1.try_send(1).ok();
        tx2.try_send(2).ok();
        goru::select! {
            recv(rx1) -> _ => a += 1,
            recv(rx2) -> _ => b += 1,
        }
    }
    assert_fair_share(a, 100_000, 0.5, &format!("case 1 won {a}, case 2 won {b}"));
}

#[test]
fn select_is_fair_among_many_ready_cases() {
    // Every position of the poll order must be uniform, not only the first: with five
    // always-ready cases each wins a fifth of the time.
    const ROUNDS: u32 = 100_000;
    let chans: Vec<_> = (0..5).map(|_| chan::bounded::<u8>(1)).collect();
    let mut wins = [0u32; 5];
    for _ in 0..ROUNDS {
        for (tx, _) in &chans {
            tx.try_send(1).ok();
        }
        let which = goru::select! {
            recv(chans[0].1) -> _ => 0,
            recv(chans[1].1) -> _ => 1,
            recv(chans[2].1) -> _ => 2,
            recv(chans[3].1) -> _ => 3,
            recv(chans[4].1) -> _ => 4,
        };
        wins[which] += 1;
    }
    for w in wins {
        assert_fair_share(w, ROUNDS, 0.2, &format!("wins per case: {wins:?}"));
    }
    // The dynamic Select draws its order the same way.
    let mut wins = [0u32; 3];
    for _ in 0..30_000 {
        let mut sel = chan::Select::new();
        for (tx, rx) in &chans[..3] {
            tx.try_send(1).ok();
            sel.recv(rx);
        }
        let index = sel.select();
        wins[index] += 1;
    }
    for w in wins {
        assert_fair_share(w, 30_000, 1.0 / 3.0, &format!("wins per case: {wins:?}"));
    }
}

#[test]
fn the_same_channel_in_two_cases() {
    runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let peer = {
            let (tx, rx) = (tx.clone(), rx.clone());
            goru::go(move || {
                // Receive five, send five, in any order the selects pick.
                let mut got = 0;
                let mut sent = 0;
                while got < 5 || sent < 5 {
                    if got < 5 && sent < 5 {
                        goru::select! {
                            recv(rx) -> v => { v.unwrap(); got += 1; }
                            send(tx, 100) -> r => { r.unwrap(); sent += 1; }
                        }
                    } else if got < 5 {
                        rx.recv().unwrap();
                        got += 1;
                    } else {
                        tx.send(100).unwrap();
                        sent += 1;
                    }
                }
            })
        };
        let (mut got, mut sent) = (0, 0);
        while got < 5 || sent < 5 {
            goru::select! {
                recv(rx) -> v => { assert_eq!(v, Ok(100)); got += 1; if got > 5 { panic!("too many") } }
                send(tx, 7) -> r => { r.unwrap(); sent += 1; if sent > 5 { panic!("too many") } }
            }
            if got == 5 && sent < 5 {
                tx.send(7).unwrap();
                sent += 1;
            } else if sent == 5 && got < 5 {
                assert_eq!(rx.recv(), Ok(100));
                got += 1;
            }
        }
        peer.join().unwrap();
    });
}

#[test]
fn racing_selects_lose_and_duplicate_nothing() {
    // Consumers select over two channels while producers send and a closer races them.
    for _ in 0..20 {
        let (received, expected) = runtime(4).run(|| {
            let (tx1, rx1) = chan::bounded::<u64>(0);
            let (tx2, rx2) = chan::bounded::<u64>(2);
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let (tx1, tx2) = (tx1.clone(), tx2.clone());
                    goru::go(move || {
                        let mut sum = 0;
                        for i in 1..=500u64 {
                            let v = p * 10_000 + i;
                            let r = if i % 2 == 0 { tx1.send(v) } else { tx2.send(v) };
                            assert!(r.is_ok());
                            sum += v;
                        }
                        sum
                    })
                })
                .collect();
            drop((tx1, tx2));
            let consumers: Vec<_> = (0..4).map(|_| {
                let (rx1, rx2) = (rx1.clone(), rx2.clone());
                goru::go(move || {
                    let mut sum = 0u64;
                    let (mut open1, mut open2) = (true, true);
                    while open1 || open2 {
                        goru::select! {
                            recv(if open1 { rx1.clone() } else { chan::never() }) -> v => match v {
                                Ok(v) => sum += v,
                                Err(_) => open1 = false,
                            },
                            recv(if open2 { rx2.clone() } else { chan::never() }) -> v => match v {
                                Ok(v) => sum += v,
                                Err(_) => open2 = false,
                            },
                        }
                    }
                    sum
                })
            }).collect();
            let expected: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
            let received: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
            (received, expected)
        });
        assert_eq!(received, expected);
    }
}

#[test]
fn select_keeps_each_senders_order_while_threads_hammer_its_channels() {
    // Two plain threads send flat out, in parallel with the selecting goroutine, so the
    // channels' locks are often held when the select looks: it passes over a busy
    // channel for the other and comes back. Nothing may be lost, duplicated or reordered.
    const N: u64 = 100_000;
    let (counts, sums) = runtime(2).run(|| {
        let (tx1, rx1) = chan::bounded::<u64>(64);
        let (tx2, rx2) = chan::bounded::<u64>(64);
        let threads: Vec<_> = [tx1, tx2]
            .into_iter()
            .map(|tx| std::thread::spawn(move || (0..N).for_each(|v| tx.send(v).unwrap())))
            .collect();
        let (mut next, mut sums) = ([0u64; 2], [0u64; 2]);
        let (mut open1, mut open2) = (true, true);
        while open1 || open2 {
            let (which, v) = goru::select! {
                recv(if open1 { rx1.clone() } else { chan::never() }) -> v => (0, v),
                recv(if open2 { rx2.clone() } else { chan::never() }) -> v => (1, v),
            };
            match v {
                Ok(v) => {
                    assert_eq!(v, next[which], "channel {which} out of order");
                    next[which] += 1;
                    sums[which] += v;
                }
                Err(_) if which == 0 => open1 = false,
                Err(_) => open2 = false,
            }
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        (next, sums)
    });
    assert_eq!(counts, [N, N]);
    assert_eq!(sums, [N * (N - 1) / 2; 2]);
}

#[test]
fn select_send_cases_race_each_other() {
    // Many goroutines select-send to one receiver over two channels: each value arrives once.
    let counts = runtime(4).run(|| {
        let (tx1, rx1) = chan::bounded::<u64>(0);
        let (tx2, rx2) = chan::bounded::<u64>(0);
        let total = Arc::new(AtomicU64::new(0));
        let senders: Vec<_> = (0..50u64).map(|g| {
            let (tx1, tx2) = (tx1.clone(), tx2.clone());
            goru::go(move || {
                for i in 0..100u64 {
                    goru::select! {
                        send(tx1, g * 1000 + i) -> r => r.unwrap(),
                        send(tx2, g * 1000 + i) -> r => r.unwrap(),
                    }
                }
            })
        }).collect();
        drop((tx1, tx2));
        let mut seen = HashMap::new();
        let t = total.clone();
        let collector = goru::go(move || {
            let (mut o1, mut o2) = (true, true);
            let mut seen = HashMap::new();
            while o1 || o2 {
                goru::select! {
                    recv(if o1 { rx1.clone() } else { chan::never() }) -> v => match v { Ok(v) => *seen.entry(v).or_insert(0) += 1, Err(_) => o1 = false },
                    recv(if o2 { rx2.clone() } else { chan::never() }) -> v => match v { Ok(v) => *seen.entry(v).or_insert(0) += 1, Err(_) => o2 = false },
                }
            }
            t.store(seen.len() as u64, Ordering::SeqCst);
            seen
        });
        senders.into_iter().for_each(|h| h.join().unwrap());
        seen.extend(collector.join().unwrap());
        seen
    });
    assert_eq!(counts.len(), 5_000);
    assert!(counts.values().all(|&n| n == 1), "a value arrived twice");
}

#[test]
fn dynamic_select_over_many_channels() {
    runtime(2).run(|| {
        let chans: Vec<_> = (0..100).map(|_| chan::bounded::<usize>(0)).collect();
        let senders: Vec<_> = chans.iter().map(|(tx, _)| tx.clone()).collect();
        goru::go(move || {
            for (i, tx) in senders.iter().enumerate().rev() {
                tx.send(i).unwrap();
            }
        });
        let mut got = Vec::new();
        for _ in 0..100 {
            let mut sel = chan::Select::new();
            for (_, rx) in &chans {
                sel.recv(rx);
            }
            let index = sel.select();
            assert_eq!(sel.recv_result::<usize>(index), Ok(index));
            got.push(index);
        }
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn select_bodies_can_break_continue_and_return() {
    fn first_even(rx: &chan::Receiver<u32>) -> Option<u32> {
        loop {
            goru::select! {
                recv(rx) -> v => {
                    let v = v.ok()?;
                    if v % 2 == 1 {
                        continue;
                    }
                    return Some(v);
                }
            }
        }
    }
    let (tx, rx) = chan::unbounded();
    for v in [1, 3, 4, 5] {
        tx.send(v).unwrap();
    }
    assert_eq!(first_even(&rx), Some(4));
    drop(tx);
    assert_eq!(
        first_even(&rx),
        None,
        "? inside a body returns from the function"
    );
}

#[test]
fn a_waiting_goroutine_parks_and_leaves_its_worker_free() {
    runtime(1).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let waiter = goru::go(move || rx.recv().unwrap());
        let counter = Arc::new(AtomicUsize::new(0));
        let c = counter.clone();
        let busy = goru::go(move || {
            for _ in 0..100 {
                c.fetch_add(1, Ordering::SeqCst);
                goru::yield_now();
            }
        });
        busy.join().unwrap();
        assert_eq!(
            counter.load(Ordering::SeqCst),
            100,
            "the other goroutine ran while one waited"
        );
        tx.send(11).unwrap();
        assert_eq!(waiter.join().unwrap(), 11);
    });
}

#[test]
fn timer_channels() {
    runtime(2).run(|| {
        let start = Instant::now();
        let t = goru::time::after(Duration::from_millis(20)).recv().unwrap();
        assert!(t.duration_since(start) >= Duration::from_millis(20));

        let timer = goru::time::Timer::new(Duration::from_millis(10));
        timer.receiver().recv().unwrap();
        assert!(!timer.stop(), "already fired");
        assert!(!timer.reset(Duration::from_millis(5)));
        timer.receiver().recv().unwrap();

        let ticker = goru::time::Ticker::new(Duration::from_millis(5));
        let mut last = Instant::now();
        for _ in 0..5 {
            let t = ticker.receiver().recv().unwrap();
            assert!(t >= last);
            last = t;
        }
        ticker.stop();
        goru::time::sleep(Duration::from_millis(20));
        let _ = ticker.receiver().try_recv(); // at most one tick was buffered
        assert_eq!(
            ticker.receiver().recv_timeout(Duration::from_millis(30)),
            Err(RecvTimeoutError::Timeout)
        );

        let ticks = goru::time::tick(Duration::from_millis(3));
        assert!(ticks.recv().is_ok() && ticks.recv().is_ok());
    });
    // Outside a runtime, timer channels run on the process-wide timer thread.
    assert!(goru::time::after(Duration::from_millis(5)).recv().is_ok());
}

#[test]
fn after_func_runs_once_on_a_goroutine_and_stop_prevents_it() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    goru::run(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::bounded(4);
        let c = calls.clone();
        let timer = goru::time::after_func(Duration::from_millis(10), move || {
            c.fetch_add(1, Ordering::SeqCst);
            // A goroutine of its own: it may block, and knows its runtime.
            goru::time::sleep(Duration::from_millis(1));
            tx.send(goru::runtime::current_id()).unwrap();
        });
        let id = rx.recv().unwrap();
        assert!(id.is_some(), "f ran on a goroutine");
        assert!(!timer.stop(), "already fired");
        assert!(!timer.reset(Duration::from_millis(5)), "was not pending");
        goru::time::sleep(Duration::from_millis(50));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "at most once, even after a reset"
        );

        // Stop prevents the call; reset before it fires only moves it.
        let stopped = Arc::new(AtomicUsize::new(0));
        let s = stopped.clone();
        let timer = goru::time::after_func(Duration::from_millis(20), move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        assert!(timer.stop());
        goru::time::sleep(Duration::from_millis(60));
        assert_eq!(stopped.load(Ordering::SeqCst), 0, "stop prevented the call");
        assert!(
            timer.receiver().try_recv().is_err(),
            "its channel never delivers"
        );
        let (tx, rx) = chan::bounded(1);
        let moved = goru::time::after_func(Duration::from_secs(60), move || tx.send(()).unwrap());
        assert!(moved.reset(Duration::from_millis(5)), "still pending");
        drop(moved); // dropping does not cancel, as in Go
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    // Outside a runtime, f runs on a thread of its own.
    let (tx, rx) = std::sync::mpsc::channel();
    drop(goru::time::after_func(
        Duration::from_millis(5),
        move || tx.send(()).unwrap(),
    ));
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn parked_select_picks_among_cases_on_one_channel_at_random() {
    // Go's TestPseudoRandomSend: two send cases on one channel, and a receiver that
    // yields before each receive, so that an unbuffered select mostly parks on both
    // cases before the receiver comes. Which case the receiver then completes must
    // be random too, not the first one written (or queued first).
    const N: usize = 100;
    for workers in [1, 2] {
        for cap in [0, N] {
            let got = runtime(workers).run(move || {
                let (tx, rx) = chan::bounded::<u32>(cap);
                let receiver = goru::go(move || {
                    (0..N)
                        .map(|_| {
                            goru::yield_now();
                            rx.recv().unwrap()
                        })
                        .collect::<Vec<_>>()
                });
                for _ in 0..N {
                    goru::select! {
                        send(tx, 1) -> r => r.unwrap(),
                        send(tx, 0) -> r => r.unwrap(),
                    }
                }
                receiver.join().unwrap()
            });
            let ones = got.iter().filter(|&&v| v == 1).count();
            let zeros = N - ones;
            assert!(
                zeros > N / 10 && ones > N / 10,
                "want pseudorandom, got {zeros} zeros and {ones} ones \
                 ({workers} workers, capacity {cap})"
            );
        }
    }
}

#[test]
fn parked_select_picks_among_receive_cases_on_one_channel_at_random() {
    // The receiving side of the same: two receive cases on one channel, parked
    // before the sender comes; the case completed must be random.
    const N: usize = 200;
    let wins = runtime(2).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let sender = goru::go(move || {
            for i in 0..N as u32 {
                goru::yield_now();
                tx.send(i).unwrap();
            }
        });
        let mut wins = [0usize; 2];
        for i in 0..N as u32 {
            let (case, v) = goru::select! {
                recv(rx) -> v => (0, v.unwrap()),
                recv(rx) -> v => (1, v.unwrap()),
            };
            assert_eq!(v, i, "values arrive in order");
            wins[case] += 1;
        }
        sender.join().unwrap();
        wins
    });
    assert!(
        wins[0] > N / 10 && wins[1] > N / 10,
        "wins per case: {wins:?}"
    );
}

#[test]
fn a_blocking_receive_in_a_thread_locals_destructor_works() {
    // crossbeam-found: a channel operation that blocks in a thread-local's destructor,
    // after goru's own thread-local parker has been destroyed, aborted the process
    // ("cannot access a Thread Local Storage value during or after destruction").
    struct ReceiveOnDrop(Option<chan::Receiver<u32>>, std::sync::mpsc::Sender<u32>);
    impl Drop for ReceiveOnDrop {
        fn drop(&mut self) {
            let v = self.0.take().unwrap().recv().unwrap();
            self.1.send(v).unwrap();
        }
    }
    thread_local!(static SLOT: std::cell::RefCell<Option<ReceiveOnDrop>> =
        const { std::cell::RefCell::new(None) });
    let (tx, rx) = chan::bounded::<u32>(0);
    let (warm_tx, warm_rx) = chan::bounded::<u32>(0);
    let (got_tx, got) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        SLOT.with(|s| *s.borrow_mut() = Some(ReceiveOnDrop(Some(rx), got_tx)));
        // A blocking receive now makes goru's parker a thread-local registered after
        // SLOT, so it is destroyed first when the thread exits.
        assert_eq!(warm_rx.recv().unwrap(), 1);
    });
    std::thread::sleep(Duration::from_millis(50)); // so that its receive parks
    warm_tx.send(1).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // and so does the destructor's
    tx.send(7).unwrap();
    assert_eq!(got.recv_timeout(Duration::from_secs(10)), Ok(7));
    thread.join().unwrap();
}

#[test]
fn duplicate_cases_on_one_timer_channel_both_fire() {
    // crossbeam-found: two cases on one `time::after` completed the first-listed one
    // a thousand times in a thousand (a parked select queued them in case order).
    let wins = runtime(2).run(|| {
        let mut wins = [0u32; 2];
        for _ in 0..200 {
            let r = goru::time::after(Duration::from_millis(1));
            let case = goru::select! {
                recv(r) -> _ => 0,
                recv(r) -> _ => 1,
            };
            wins[case] += 1;
        }
        wins
    });
    assert!(wins[0] > 20 && wins[1] > 20, "wins per case: {wins:?}");
}

#[test]
fn sends_fail_once_every_receiver_is_gone_in_every_form() {
    // Beyond Go, where such a send blocks forever: once the last receiver is dropped no
    // receiver can ever appear again, so the send returns its value, as std's,
    // crossbeam's and tokio's do.
    runtime(2).run(|| {
        for capacity in [0usize, 1, 4] {
            let (tx, rx) = chan::bounded::<u32>(capacity);
            for i in 0..capacity as u32 {
                tx.send(i).unwrap(); // full: the next send waits
            }
            let rx2 = rx.clone();
            let returned = Arc::new(AtomicBool::new(false));
            let parked_sender = {
                let (tx, returned) = (tx.clone(), returned.clone());
                goru::go(move || {
                    let outcome = tx.send(99);
                    returned.store(true, Ordering::Release);
                    outcome
                })
            };
            goru::time::sleep(Duration::from_millis(20));
            drop(rx);
            goru::time::sleep(Duration::from_millis(20));
            assert!(
                !returned.load(Ordering::Acquire),
                "a receiver is left: the send still waits (capacity {capacity})"
            );
            drop(rx2); // the last one
            assert_eq!(parked_sender.join().unwrap(), Err(SendError(99)));
            // Every later form fails at once, with the value back.
            assert_eq!(tx.send(1), Err(SendError(1)));
            assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
            let start = Instant::now();
            assert!(matches!(
                tx.send_timeout(3, Duration::from_secs(10)),
                Err(SendTimeoutError::Closed(3))
            ));
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "did not wait out the timeout"
            );
            let in_select = goru::select! {
                send(tx, 4) -> r => r,
                default => panic!("a send case with no receiver is ready, with an error"),
            };
            assert_eq!(in_select, Err(SendError(4)));
            assert_eq!(goru::block_on(tx.send_async(5)), Err(SendError(5)));
        }
        // A select parked on such a send is woken too.
        let (tx, rx) = chan::bounded::<u32>(0);
        let selector = goru::go(move || {
            goru::select! {
                send(tx, 7) -> r => r,
            }
        });
        goru::time::sleep(Duration::from_millis(20));
        drop(rx);
        assert_eq!(selector.join().unwrap(), Err(SendError(7)));
    });
}
