//! The async bridge: `block_on`, awaiting a `JoinHandle`, `recv_async`/`send_async`,
//! against futures completed by plain threads and by a real tokio runtime.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use goru::chan;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

/// A future a plain thread completes after `delay`.
fn completed_by_thread(delay: Duration, value: u32) -> impl Future<Output = u32> {
    let shared = Arc::new(Mutex::new((None::<u32>, None::<Waker>)));
    let s = shared.clone();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let waker = {
            let mut st = s.lock().unwrap();
            st.0 = Some(value);
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
    std::future::poll_fn(move |cx| {
        let mut st = shared.lock().unwrap();
        match st.0 {
            Some(v) => Poll::Ready(v),
            None => {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

#[test]
fn block_on_a_future_a_plain_thread_completes_is_no_deadlock() {
    // 300 ms is well past the deadlock detector's confirmation time.
    let v = goru::run(|| goru::block_on(completed_by_thread(Duration::from_millis(300), 41)));
    assert_eq!(v, 41);
}

#[test]
fn block_on_a_tokio_timer_is_no_deadlock() {
    let tokio = tokio_rt();
    let handle = tokio.handle().clone();
    let v = goru::run(move || {
        let task = handle.spawn(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            7u32
        });
        goru::block_on(task).unwrap()
    });
    assert_eq!(v, 7);
}

#[test]
fn block_on_does_not_hold_the_only_worker() {
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    let ticks = rt.run(|| {
        let ticks = Arc::new(AtomicU64::new(0));
        let t = ticks.clone();
        let (stop_tx, stop_rx) = chan::bounded::<()>(0);
        let ticker = goru::go(move || loop {
            goru::select! {
                recv(stop_rx) -> _ => return,
                recv(goru::time::after(Duration::from_millis(10))) -> _ => {
                    t.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        assert_eq!(
            goru::block_on(completed_by_thread(Duration::from_millis(300), 1)),
            1
        );
        let n = ticks.load(Ordering::Relaxed);
        stop_tx.send(()).unwrap();
        ticker.join().unwrap();
        n
    });
    // 30 ticks fit; a held worker would give none.
    assert!(
        ticks >= 5,
        "the ticker ran only {ticks} times while main waited"
    );
}

#[test]
fn a_goroutine_in_block_on_shows_the_future_wait_reason() {
    goru::run(|| {
        let (tx, rx) = chan::bounded::<()>(0);
        let h = goru::go(move || goru::block_on(rx.recv_async()).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let dump = goru::runtime::dump();
            if dump.contains(&format!("goroutine {} [future", h.id())) {
                break;
            }
            assert!(Instant::now() < deadline, "no [future] wait in:\n{dump}");
            goru::time::sleep(Duration::from_millis(5));
        }
        tx.send(()).unwrap();
        h.join().unwrap();
    });
}

#[test]
fn a_real_deadlock_is_still_reported_after_block_on_returns() {
    let out = std::panic::catch_unwind(|| {
        goru::run(|| {
            goru::block_on(completed_by_thread(Duration::from_millis(20), 1));
            let (_tx, rx) = chan::bounded::<u8>(0);
            rx.recv().unwrap();
        })
    });
    let payload = out.expect_err("a deadlock must be reported");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        msg.contains("all goroutines are asleep - deadlock!"),
        "{msg}"
    );
}

#[test]
fn tokio_tasks_await_goroutines() {
    let tokio = tokio_rt();
    let handle = tokio.handle().clone();
    let total = goru::run(move || {
        let tasks: Vec<_> = (0..100u64)
            .map(|i| {
                let g = goru::go(move || {
                    goru::time::sleep(Duration::from_millis(i % 7));
                    i * 3
                });
                handle.spawn(async move { g.await.unwrap() })
            })
            .collect();
        goru::block_on(async {
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        })
    });
    assert_eq!(total, (0..100u64).map(|i| i * 3).sum::<u64>());
}

#[test]
fn a_panicking_goroutine_awaited_gives_err() {
    goru::run(|| {
        let h = goru::go(|| -> u8 { panic!("boom") });
        let r = goru::block_on(h);
        assert!(r.is_err());
    });
}

/// Values cross between tokio tasks and goroutines in both directions, over
/// unbuffered and buffered channels: every value arrives once (sum and count).
#[test]
fn channels_between_tokio_tasks_and_goroutines() {
    const PER: u64 = 2_000;
    for cap in [0, 1, 16] {
        let tokio = tokio_rt();
        let handle = tokio.handle().clone();
        goru::run(move || {
            // tokio tasks send, goroutines receive.
            let (tx, rx) = chan::bounded::<u64>(cap);
            let senders: Vec<_> = (0..4u64)
                .map(|s| {
                    let tx = tx.clone();
                    handle.spawn(async move {
                        for i in 0..PER {
                            tx.send_async(s * PER + i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    goru::go(move || {
                        let (mut n, mut sum) = (0u64, 0u64);
                        while let Ok(v) = rx.recv() {
                            n += 1;
                            sum += v;
                        }
                        (n, sum)
                    })
                })
                .collect();
            drop(rx);
            for s in senders {
                goru::block_on(s).unwrap();
            }
            let (n, sum) = receivers
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert_eq!(n, 4 * PER, "cap {cap}");
            assert_eq!(sum, (0..4 * PER).sum::<u64>(), "cap {cap}");

            // goroutines send, tokio tasks receive.
            let (tx, rx) = chan::bounded::<u64>(cap);
            for s in 0..4u64 {
                let tx = tx.clone();
                goru::go(move || {
                    for i in 0..PER {
                        tx.send(s * PER + i).unwrap();
                    }
                });
            }
            drop(tx);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    handle.spawn(async move {
                        let (mut n, mut sum) = (0u64, 0u64);
                        while let Ok(v) = rx.recv_async().await {
                            n += 1;
                            sum += v;
                        }
                        (n, sum)
                    })
                })
                .collect();
            drop(rx);
            let (n, sum) = goru::block_on(async {
                let mut total = (0, 0);
                for r in receivers {
                    let (n, s) = r.await.unwrap();
                    total = (total.0 + n, total.1 + s);
                }
                total
            });
            assert_eq!(n, 4 * PER, "cap {cap}");
            assert_eq!(sum, (0..4 * PER).sum::<u64>(), "cap {cap}");
        });
    }
}

/// Receive futures dropped mid-wait (a timeout wins) lose no value: what was sent is
/// received exactly once, by async and blocking receivers together.
#[test]
fn dropped_recv_futures_lose_nothing() {
    const N: u64 = 5_000;
    for cap in [0, 4] {
        let tokio = tokio_rt();
        let handle = tokio.handle().clone();
        goru::run(move || {
            let (tx, rx) = chan::bounded::<u64>(cap);
            let seen = Arc::new(Mutex::new(Vec::new()));
            let mut async_receivers = Vec::new();
            for _ in 0..3 {
                let (rx, seen) = (rx.clone(), seen.clone());
                async_receivers.push(handle.spawn(async move {
                    let mut timeouts = 0u64;
                    loop {
                        match tokio::time::timeout(Duration::from_micros(50), rx.recv_async()).await
                        {
                            Ok(Ok(v)) => seen.lock().unwrap().push(v),
                            Ok(Err(_)) => return timeouts,
                            Err(_) => timeouts += 1, // the future is dropped mid-wait
                        }
                    }
                }));
            }
            let blocking_receiver = {
                let (rx, seen) = (rx.clone(), seen.clone());
                goru::go(move || {
                    while let Ok(v) = rx.recv() {
                        seen.lock().unwrap().push(v);
                    }
                })
            };
            drop(rx);
            for i in 0..N {
                tx.send(i).unwrap();
                // Pauses longer than tokio's 1 ms timer tick, so that timeouts win.
                if i % 256 == 0 {
                    goru::time::sleep(Duration::from_millis(3));
                }
            }
            tx.close();
            blocking_receiver.join().unwrap();
            let timeouts: u64 = goru::block_on(async {
                let mut t = 0;
                for r in async_receivers {
                    t += r.await.unwrap();
                }
                t
            });
            let mut seen = seen.lock().unwrap().clone();
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..N).collect::<Vec<_>>(),
                "cap {cap}: lost or duplicated"
            );
            assert!(timeouts > 0, "no receive future was ever dropped mid-wait");
        });
    }
}

/// Send futures dropped mid-wait never deliver a value twice, and every send that
/// reported success was received.
#[test]
fn dropped_send_futures_deliver_at_most_once() {
    const N: u64 = 5_000;
    for cap in [0, 2] {
        let tokio = tokio_rt();
        let handle = tokio.handle().clone();
        goru::run(move || {
            let (tx, rx) = chan::bounded::<u64>(cap);
            let sender = handle.spawn(async move {
                let (mut ok, mut dropped) = (Vec::new(), 0u64);
                for i in 0..N {
                    match tokio::time::timeout(Duration::from_micros(50), tx.send_async(i)).await {
                        Ok(Ok(())) => ok.push(i),
                        Ok(Err(_)) => unreachable!("the receiver outlives the sender"),
                        Err(_) => dropped += 1,
                    }
                }
                (ok, dropped)
            });
            let receiver = goru::go(move || {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv() {
                    got.push(v);
                    if got.len() % 256 == 0 {
                        goru::time::sleep(Duration::from_millis(3));
                    }
                }
                got
            });
            let (ok, dropped) = goru::block_on(sender).unwrap();
            let got = receiver.join().unwrap();
            let unique: HashSet<u64> = got.iter().copied().collect();
            assert_eq!(unique.len(), got.len(), "cap {cap}: a value arrived twice");
            for v in &ok {
                assert!(
                    unique.contains(v),
                    "cap {cap}: {v} was sent but not received"
                );
            }
            assert!(dropped > 0, "no send future was ever dropped mid-wait");
            // In order, as sent (per-sender FIFO).
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "cap {cap}: out of order"
            );
        });
    }
}

#[test]
fn the_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let (tx, rx) = chan::bounded::<String>(1);
    is_send(&rx.recv_async());
    is_send(&tx.send_async(String::new()));
    goru::run(|| is_send(&goru::go(|| ())));
}

#[test]
fn a_plain_thread_awaits_a_goroutine_channel() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let rt = std::thread::spawn(move || {
        goru::run(move || {
            goru::time::sleep(Duration::from_millis(50));
            tx.send(3).unwrap();
        })
    });
    assert_eq!(goru::block_on(rx.recv_async()), Ok(3));
    rt.join().unwrap();
}

/// An async read loop built only on `try_read` and `poll_read_ready`.
async fn read_async(s: &goru::net::TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        std::future::poll_fn(|cx| s.poll_read_ready(cx)).await?;
        match s.try_read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

async fn write_all_async(s: &goru::net::TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        std::future::poll_fn(|cx| s.poll_write_ready(cx)).await?;
        match s.try_write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Ok(n) => buf = &buf[n..],
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// 4 MiB each way through readiness-driven async I/O on 20 connections at once, with
/// blocking peers on goroutines; on a 1-worker runtime, so a readiness wait that held
/// the worker would hang it.
#[test]
fn readiness_drives_async_io_over_tcp() {
    use std::io::{Read, Write};
    const LEN: usize = 4 << 20;
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    rt.run(|| {
        let data: Arc<Vec<u8>> = Arc::new((0..LEN).map(|i| (i * 7 + i / 4096) as u8).collect());
        let want = checksum(&data);
        let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = 20;
        let server = goru::go(move || {
            let mut echoes = Vec::new();
            for _ in 0..conns {
                let (mut s, _) = listener.accept().unwrap();
                // A blocking echo peer: reads everything, then writes it back.
                echoes.push(goru::go(move || {
                    let mut got = Vec::new();
                    s.read_to_end(&mut got).unwrap();
                    s.write_all(&got).unwrap();
                }));
            }
            for e in echoes {
                e.join().unwrap();
            }
        });
        let clients: Vec<_> = (0..conns)
            .map(|_| {
                let data = data.clone();
                goru::go(move || {
                    let s = goru::net::TcpStream::connect(addr).unwrap();
                    goru::block_on(async {
                        write_all_async(&s, &data).await.unwrap();
                        s.shutdown(std::net::Shutdown::Write).unwrap();
                        let mut back = Vec::with_capacity(LEN);
                        let mut buf = vec![0; 64 << 10];
                        loop {
                            let n = read_async(&s, &mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            back.extend_from_slice(&buf[..n]);
                        }
                        checksum(&back)
                    })
                })
            })
            .collect();
        for c in clients {
            assert_eq!(c.join().unwrap(), want);
        }
        server.join().unwrap();
    });
}

#[test]
fn readiness_outside_a_goroutine_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = goru::net::TcpStream::from_std(
        std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap(),
    )
    .unwrap();
    let err = goru::block_on(std::future::poll_fn(|cx| s.poll_read_ready(cx))).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("goroutine"), "{err}");
}
