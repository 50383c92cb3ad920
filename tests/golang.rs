//! Go's own channel test programs, rewritten for goru: `test/chan/` doubleselect, fifo,
//! nonblock, select3, select6 and select7, and `TestSelectFairness` and
//! `TestSelectStress` from `runtime/chan_test.go` (the Go Authors, BSD-style licence;
//! the programs' ideas, in our own code). Each runs twice, as crossbeam's
//! `tests/golang.rs` does: its concurrent parts as goroutines, then as plain threads,
//! since goru's channels serve both (`common/spawn_mode.rs`). The other programs of
//! `test/chan/` are in `tests/golang_programs.rs`.

#[path = "common/spawn_mode.rs"]
mod spawn_mode;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use goru::chan::{self, Receiver, Sender};
use spawn_mode::{both, Joiner, Spawn};

// ---- doubleselect.go: a select that sends must never deliver a value twice.

fn doubleselect(spawn: Spawn) {
    const N: u32 = 2_000;
    let chans: Vec<(Sender<u32>, Receiver<u32>)> = (0..4).map(|_| chan::bounded(0)).collect();
    let (mux_tx, mux_rx) = chan::bounded::<u32>(0);
    let senders: Vec<Sender<u32>> = chans.iter().map(|(tx, _)| tx.clone()).collect();
    let sender = spawn.go(move || {
        let [a, b, c, d] = &senders[..] else {
            unreachable!()
        };
        for i in 0..N {
            goru::select! {
                send(a, i) -> r => r.unwrap(),
                send(b, i) -> r => r.unwrap(),
                send(c, i) -> r => r.unwrap(),
                send(d, i) -> r => r.unwrap(),
            }
        }
        senders.iter().for_each(|s| {
            s.close();
        });
    });
    // One multiplexer per channel, all into one: each forwards until its input closes.
    let muxes: Vec<Joiner> = chans
        .into_iter()
        .map(|(_, rx)| {
            let out = mux_tx.clone();
            spawn.go(move || {
                for v in rx.iter() {
                    out.send(v).unwrap();
                }
            })
        })
        .collect();
    drop(mux_tx);
    let mut seen = HashSet::new();
    for v in mux_rx.iter() {
        assert!(seen.insert(v), "{v} delivered twice ({spawn:?})");
    }
    assert_eq!(seen.len(), N as usize, "values lost ({spawn:?})");
    sender.join();
    muxes.into_iter().for_each(Joiner::join);
}

#[test]
fn doubleselect_never_duplicates_a_send() {
    both(doubleselect);
}

// ---- fifo.go: a buffered channel and a chain of synchronised senders keep order.

fn fifo(spawn: Spawn) {
    const N: u32 = 10;
    // Asynchronous: a buffer of N, filled then drained.
    let (tx, rx) = chan::bounded::<u32>(N as usize);
    for i in 0..N {
        tx.send(i).unwrap();
    }
    for i in 0..N {
        assert_eq!(rx.recv(), Ok(i));
    }
    // Synchronous: goroutine i waits for its turn on `turn_i`, sends i, then passes the
    // turn on, so the rendezvous channel sees 0..N in order whoever is scheduled.
    let (tx, rx) = chan::bounded::<u32>(0);
    let (first_tx, mut turn) = chan::bounded::<()>(0);
    let mut chain = Vec::new();
    for i in 0..N {
        let (next_tx, next_rx) = chan::bounded::<()>(0);
        let (tx, my_turn) = (tx.clone(), turn);
        chain.push(spawn.go(move || {
            my_turn.recv().unwrap();
            tx.send(i).unwrap();
            next_tx.send(()).unwrap();
        }));
        turn = next_rx;
    }
    let last_turn = turn;
    let releaser = spawn.go(move || first_tx.send(()).unwrap());
    for i in 0..N {
        assert_eq!(rx.recv(), Ok(i), "synchronous fifo ({spawn:?})");
        if i == N - 1 {
            last_turn.recv().unwrap();
        }
    }
    releaser.join();
    chain.into_iter().for_each(Joiner::join);
}

#[test]
fn fifo_keeps_order_buffered_and_synchronised() {
    both(fifo);
}

// ---- nonblock.go: non-blocking operations meet a partner that comes later.

fn nonblock(spawn: Spawn) {
    for capacity in [0usize, 1, 10] {
        // A try_recv that finds nothing, then keeps trying while a sender comes.
        let (tx, rx) = chan::bounded::<u32>(capacity);
        assert!(rx.try_recv().is_err(), "nothing to receive yet");
        let sender = spawn.go(move || tx.send(42).unwrap());
        let got = loop {
            match rx.try_recv() {
                Ok(v) => break v,
                Err(_) => spawn.nap(),
            }
        };
        assert_eq!(got, 42, "capacity {capacity} ({spawn:?})");
        sender.join();
        // A select send with default, retried while a receiver comes.
        let (tx, rx) = chan::bounded::<u32>(capacity);
        let (done_tx, done_rx) = chan::bounded::<u32>(1);
        let receiver = spawn.go(move || done_tx.send(rx.recv().unwrap()).unwrap());
        loop {
            let sent = goru::select! {
                send(tx, 7) -> r => { r.unwrap(); true },
                default => false,
            };
            if sent {
                break;
            }
            spawn.nap();
        }
        assert_eq!(done_rx.recv(), Ok(7), "capacity {capacity} ({spawn:?})");
        receiver.join();
    }
}

#[test]
fn nonblocking_operations_meet_a_late_partner() {
    both(nonblock);
}

// ---- select3.go: what blocks and what does not.

fn select3(spawn: Spawn) {
    // A never channel (Go's nil) blocks receive and select forever: only the other
    // case or the default can fire.
    let nil = chan::never::<u32>();
    let got = goru::select! {
        recv(nil) -> _ => "nil",
        default => "default",
    };
    assert_eq!(got, "default");
    // A closed channel never blocks a receive: every select on it fires at once.
    let (tx, rx) = chan::bounded::<u32>(0);
    tx.close();
    for _ in 0..3 {
        let closed = goru::select! {
            recv(rx) -> r => r.is_err(),
            recv(nil) -> _ => false,
        };
        assert!(closed, "a closed channel is ready ({spawn:?})");
    }
    // A send on a closed channel is an error, in select as alone.
    let (tx, _rx) = chan::bounded::<u32>(1);
    tx.close();
    assert!(tx.send(1).is_err());
    let failed = goru::select! {
        send(tx, 2) -> r => r.is_err(),
        default => false,
    };
    assert!(
        failed,
        "a send case on a closed channel completes with an error"
    );
    // An unbuffered channel with a waiting receiver does not block the send, and one
    // with nobody waiting does.
    let (tx, rx) = chan::bounded::<u32>(0);
    let blocked = goru::select! {
        send(tx, 3) -> _ => false,
        default => true,
    };
    assert!(blocked, "nobody receives yet");
    let receiver = spawn.go(move || assert_eq!(rx.recv(), Ok(4)));
    tx.send(4).unwrap();
    receiver.join();
}

#[test]
fn select3_blocks_only_where_go_blocks() {
    both(select3);
}

// ---- select6.go: a select parked on a channel must not be woken by a receive that
// another goroutine completed on it (Go issue 2075).

fn select6(spawn: Spawn) {
    for _ in 0..200 {
        let (c1_tx, c1_rx) = chan::bounded::<bool>(0);
        let (c2_tx, c2_rx) = chan::bounded::<bool>(0);
        let (c3_tx, c3_rx) = chan::bounded::<bool>(0);
        let plain = {
            let c1 = c1_rx.clone();
            spawn.go(move || {
                c1.recv().unwrap();
            })
        };
        let selector = spawn.go(move || {
            goru::select! {
                recv(c1_rx) -> _ => panic!("selected c1, which nobody had sent on yet"),
                recv(c2_rx) -> _ => c3_tx.send(true).unwrap(),
            }
            // Its c1 entry must be gone: the next c1 send goes to a live receiver.
            c1_rx.recv().unwrap();
        });
        let c2 = spawn.go(move || c2_tx.send(true).unwrap());
        assert_eq!(c3_rx.recv(), Ok(true));
        c1_tx.send(true).unwrap();
        c1_tx.send(true).unwrap();
        plain.join();
        selector.join();
        c2.join();
    }
}

#[test]
fn select6_a_parked_select_is_not_woken_by_anothers_receive() {
    both(select6);
}

// ---- select7.go: every way to receive meets every way to send.

type RecvOp = fn(&Receiver<u32>) -> u32;
type SendOp = fn(&Sender<u32>, u32);

fn select7(spawn: Spawn) {
    let receives: [(&str, RecvOp); 3] = [
        ("plain", |rx| rx.recv().unwrap()),
        (
            "select of one",
            |rx| goru::select! { recv(rx) -> v => v.unwrap() },
        ),
        ("select with never", |rx| {
            let nil = chan::never::<u32>();
            goru::select! {
                recv(nil) -> _ => unreachable!(),
                recv(rx) -> v => v.unwrap(),
            }
        }),
    ];
    let sends: [(&str, SendOp); 3] = [
        ("plain", |tx, v| tx.send(v).unwrap()),
        (
            "select of one",
            |tx, v| goru::select! { send(tx, v) -> r => r.unwrap() },
        ),
        ("select with never", |tx, v| {
            let nil = chan::never::<u32>();
            goru::select! {
                recv(nil) -> _ => unreachable!(),
                send(tx, v) -> r => r.unwrap(),
            }
        }),
    ];
    for (rname, receive) in receives {
        for (sname, send) in sends {
            // Either side may come first: the other party naps before it acts.
            for receiver_first in [true, false] {
                let (tx, rx) = chan::bounded::<u32>(0);
                let sender = spawn.go(move || {
                    if receiver_first {
                        spawn.nap();
                    }
                    send(&tx, 9);
                });
                if !receiver_first {
                    spawn.nap();
                }
                assert_eq!(receive(&rx), 9, "{rname} receive, {sname} send ({spawn:?})");
                sender.join();
            }
        }
    }
}

#[test]
fn select7_every_receive_meets_every_send() {
    both(select7);
}

// ---- TestSelectFairness: two always-ready cases among four win alike.

fn select_fairness(spawn: Spawn) {
    const TRIALS: usize = 10_000;
    let (c1_tx, c1) = chan::bounded::<u8>(TRIALS + 1);
    let (c2_tx, c2) = chan::bounded::<u8>(TRIALS + 1);
    for _ in 0..=TRIALS {
        c1_tx.send(1).unwrap();
        c2_tx.send(2).unwrap();
    }
    let (_c3_tx, c3) = chan::bounded::<u8>(0);
    let (_c4_tx, c4) = chan::bounded::<u8>(0);
    let (out_tx, out) = chan::bounded::<u8>(0);
    let (done_tx, done) = chan::bounded::<()>(0);
    let chooser = spawn.go(move || loop {
        let b = goru::select! {
            recv(c3) -> b => b.unwrap(),
            recv(c4) -> b => b.unwrap(),
            recv(c1) -> b => b.unwrap(),
            recv(c2) -> b => b.unwrap(),
        };
        goru::select! {
            send(out_tx, b) -> r => r.unwrap(),
            recv(done) -> _ => return,
        }
    });
    let (mut ones, mut twos) = (0usize, 0usize);
    for _ in 0..TRIALS {
        match out.recv().unwrap() {
            1 => ones += 1,
            2 => twos += 1,
            other => panic!("unexpected value {other}"),
        }
    }
    // Go's bound: within 10 standard deviations of a half.
    let share = ones as f64 / TRIALS as f64;
    assert!(
        (share - 0.5).abs() <= 4.472_135_955 / (TRIALS as f64).sqrt(),
        "unfair select: {ones} and {twos} ({spawn:?})"
    );
    drop(done_tx);
    chooser.join();
}

#[test]
fn select_is_fair_between_two_ready_cases_among_four() {
    both(select_fairness);
}

// ---- TestSelectStress: four channels, each sent N values and received N times, by
// plain operations and by selects at once.

fn select_stress(spawn: Spawn) {
    const N: usize = 2_000;
    let chans: Arc<Vec<(Sender<usize>, Receiver<usize>)>> = Arc::new(vec![
        chan::bounded(0),
        chan::bounded(0),
        chan::bounded(2),
        chan::bounded(3),
    ]);
    let received = Arc::new(Mutex::new(vec![0usize; 4]));
    let mut parties = Vec::new();
    // A plain sender and a plain receiver per channel.
    for k in 0..4 {
        let sending = chans.clone();
        parties.push(spawn.go(move || {
            for i in 0..N {
                sending[k].0.send(i).unwrap();
            }
        }));
        let (chans, received) = (chans.clone(), received.clone());
        parties.push(spawn.go(move || {
            for _ in 0..N {
                chans[k].1.recv().unwrap();
                received.lock().unwrap()[k] += 1;
            }
        }));
    }
    // One selecting sender and one selecting receiver over all four: each channel's
    // case drops out once it has done its N.
    let sender_chans = chans.clone();
    parties.push(spawn.go(move || select_until_each_did(&sender_chans, N, true, |_| {})));
    let (receiver_chans, counted) = (chans.clone(), received.clone());
    parties.push(spawn.go(move || {
        select_until_each_did(&receiver_chans, N, false, |k| {
            counted.lock().unwrap()[k] += 1;
        })
    }));
    parties.into_iter().for_each(Joiner::join);
    assert_eq!(*received.lock().unwrap(), vec![2 * N; 4], "({spawn:?})");
    for (_, rx) in chans.iter() {
        assert!(rx.try_recv().is_err(), "a value was left behind");
    }
}

/// Select over the channels with operations left, until each has done `n`: sends (of
/// the channel's index) or receives. `done(k)` follows each on channel `k`.
fn select_until_each_did(
    chans: &[(Sender<usize>, Receiver<usize>)],
    n: usize,
    send: bool,
    mut done: impl FnMut(usize),
) {
    let mut left = vec![n; chans.len()];
    while left.iter().any(|&l| l > 0) {
        let mut sel = chan::Select::new();
        let mut which = Vec::new();
        for (k, (tx, rx)) in chans.iter().enumerate().filter(|&(k, _)| left[k] > 0) {
            if send {
                sel.send(tx, k);
            } else {
                sel.recv(rx);
            }
            which.push(k);
        }
        let index = sel.select();
        if send {
            sel.send_result::<usize>(index).unwrap();
        } else {
            sel.recv_result::<usize>(index).unwrap();
        }
        let k = which[index];
        left[k] -= 1;
        done(k);
    }
}

#[test]
fn select_stress_loses_and_duplicates_nothing() {
    both(select_stress);
}
