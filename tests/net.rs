//! Sockets that park goroutines, and the blocking pool.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::chan;
use goru::context;
use goru::net::{TcpListener, TcpStream, UdpSocket};
use goru::sync::WaitGroup;

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Echo every byte back until the peer closes.
fn echo(mut conn: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => conn.write_all(&buf[..n]).unwrap(),
            Err(e) => panic!("echo read: {e}"),
        }
    }
}

fn serve_echo(listener: TcpListener) {
    goru::go(move || {
        for conn in listener.incoming() {
            let conn = conn.unwrap();
            goru::go(move || echo(conn));
        }
    });
}

/// `clients` connections, each sending `messages` distinct 16-byte messages and
/// checking every echoed byte. Returns the bytes checked.
fn echo_round_trips(workers: usize, clients: usize, messages: usize) -> usize {
    runtime(workers).run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        serve_echo(listener);
        let checked = Arc::new(AtomicUsize::new(0));
        let wg = WaitGroup::new();
        for c in 0..clients {
            wg.add(1);
            let (wg, checked) = (wg.clone(), checked.clone());
            goru::go(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                let mut reply = [0u8; 16];
                for m in 0..messages {
                    let msg = format!("{c:07}:{m:07}\n");
                    stream.write_all(msg.as_bytes()).unwrap();
                    stream.read_exact(&mut reply).unwrap();
                    assert_eq!(&reply[..], msg.as_bytes(), "client {c} message {m}");
                    checked.fetch_add(reply.len(), Ordering::Relaxed);
                }
                wg.done();
            });
        }
        wg.wait();
        checked.load(Ordering::Relaxed)
    })
}

#[test]
fn echo_100_connections_x_100_messages() {
    for workers in [1, 2] {
        assert_eq!(echo_round_trips(workers, 100, 100), 100 * 100 * 16);
    }
}

#[test]
#[ignore = "heavy: run with --release --include-ignored"]
fn echo_1000_connections_x_1000_messages() {
    assert_eq!(echo_round_trips(2, 1000, 1000), 1000 * 1000 * 16);
}

#[test]
fn large_transfers_keep_every_byte_in_order() {
    // Bigger than the socket buffers: writers park on a full buffer too.
    runtime(2).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        serve_echo(listener);
        let stream = Arc::new(TcpStream::connect(addr).unwrap());
        let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = {
            let stream = stream.clone();
            goru::go(move || {
                (&*stream).write_all(&data).unwrap();
                stream.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut got = Vec::new();
        (&*stream).read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
    });
}

#[test]
fn a_read_timeout_returns_wouldblock_and_the_stream_still_works() {
    runtime(1).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (go_on_tx, go_on_rx) = chan::bounded::<()>(0);
        goru::go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            go_on_rx.recv().unwrap();
            conn.write_all(b"late").unwrap();
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        assert_eq!(
            stream.read_timeout().unwrap(),
            Some(Duration::from_millis(50))
        );
        let start = Instant::now();
        let mut buf = [0; 4];
        let err = stream.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        go_on_tx.send(()).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        assert_eq!(
            stream
                .set_read_timeout(Some(Duration::ZERO))
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
    });
}

#[test]
fn a_refused_connect_is_an_error() {
    // Bind and drop to find a port that nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    runtime(1).run(move || {
        let err = TcpStream::connect(addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
    // And from a plain thread.
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_goroutine_parked_in_read_does_not_block_others_on_one_worker() {
    runtime(1).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = goru::go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0; 3];
            conn.read_exact(&mut buf).unwrap();
            buf
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        // The reader is parked in read on the only worker; this goroutine and a
        // thousand more still run.
        let counted = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|_| {
                let counted = counted.clone();
                goru::go(move || {
                    counted.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(counted.load(Ordering::Relaxed), 1000);
        assert!(!reader.is_finished());
        stream.write_all(b"abc").unwrap();
        assert_eq!(&reader.join().unwrap(), b"abc");
    });
}

#[test]
fn goroutines_parked_on_sockets_show_io_wait_in_the_dump() {
    runtime(1).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let h = goru::go(move || listener.accept().map(|_| ()));
        goru::time::sleep(Duration::from_millis(20));
        let dump = goru::runtime::dump();
        assert!(dump.contains("IO wait"), "{dump}");
        drop(h);
    });
}

#[test]
fn udp_round_trips() {
    runtime(2).run(|| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_addr = server.local_addr().unwrap();
        goru::go(move || {
            let mut buf = [0; 64];
            loop {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                if &buf[..n] == b"stop" {
                    return;
                }
                buf[..n].reverse();
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(server_addr).unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0; 64];
        for i in 0..1000u32 {
            let msg = i.to_be_bytes();
            client.send(&msg).unwrap();
            let n = client.recv(&mut buf).unwrap();
            let mut expected = msg;
            expected.reverse();
            assert_eq!(&buf[..n], &expected);
        }
        client.send(b"stop").unwrap();
    });
}

#[test]
fn udp_recv_timeout() {
    runtime(1).run(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        let mut buf = [0; 8];
        let err = socket.recv_from(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    });
}

#[test]
fn accept_and_read_give_up_when_their_context_is_cancelled() {
    runtime(2).run(|| {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let (ctx, cancel) = context::with_cancel(&context::background());
        let acceptor = {
            let (listener, ctx) = (listener.clone(), ctx.clone());
            goru::go(move || listener.accept_context(&ctx).map(|_| ()))
        };
        goru::time::sleep(Duration::from_millis(20));
        assert!(!acceptor.is_finished());
        cancel.cancel();
        let err = acceptor.join().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<context::ContextError>();
        assert_eq!(inner, Some(&context::ContextError::Canceled));

        // A read with a deadline context.
        let stream = TcpStream::connect(addr).unwrap();
        let (_conn, _) = listener.accept().unwrap();
        let (ctx, _cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(30));
        let mut buf = [0; 8];
        let err = stream.read_context(&ctx, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    });
}

#[test]
fn cancellation_racing_with_data_loses_nothing() {
    // Either the read returns the byte, or it reports the cancellation and the byte is
    // still there for the next read.
    runtime(2).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        let server = Arc::new(server);
        for round in 0..300u32 {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let byte = [round as u8];
            let writer = {
                let mut client = client.try_clone().unwrap();
                goru::go(move || client.write_all(&byte).unwrap())
            };
            goru::go(move || cancel.cancel());
            let mut buf = [0; 1];
            let got = match server.read_context(&ctx, &mut buf) {
                Ok(1) => buf[0],
                Ok(n) => panic!("read {n} bytes"),
                Err(e) => {
                    assert!(ctx.err().is_some(), "{e}");
                    (&*server).read_exact(&mut buf).unwrap();
                    buf[0]
                }
            };
            assert_eq!(got, round as u8);
            writer.join().unwrap();
        }
    });
}

#[test]
fn shutdown_wakes_a_parked_reader_with_eof() {
    runtime(2).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        let server = Arc::new(server);
        let reader = {
            let server = server.clone();
            goru::go(move || {
                let mut buf = [0; 8];
                (&*server).read(&mut buf).unwrap()
            })
        };
        goru::time::sleep(Duration::from_millis(20));
        server.shutdown(Shutdown::Read).unwrap();
        assert_eq!(reader.join().unwrap(), 0);
    });
}

#[test]
fn threads_and_goroutines_share_sockets() {
    // A plain-thread client against a goroutine server, and a socket moved from a
    // goroutine to a thread after it was registered with the poller.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let addr = addr_rx.recv().unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        for i in 0..100u8 {
            stream.write_all(&[i]).unwrap();
            let mut b = [0];
            stream.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i);
        }
    });
    let leftover = runtime(1).run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let second = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut second_server, _) = listener.accept().unwrap();
        echo(conn);
        second_server.write_all(b"after").unwrap();
        second
    });
    client.join().unwrap();
    let mut stream = leftover;
    let mut buf = [0; 5];
    stream.read_exact(&mut buf).unwrap(); // on this thread now, through poll(2)
    assert_eq!(&buf, b"after");
}

#[test]
fn workers_waiting_on_sockets_sleep_in_the_poller_without_spinning() {
    if !common::is_child() {
        common::run_passing_child(
            "workers_waiting_on_sockets_sleep_in_the_poller_without_spinning",
            &[],
        );
        return;
    }
    // Main holds its worker in a plain sleep on purpose: no blocking-call report, whose
    // symbolizing would be the CPU this test measures.
    let rt = goru::Runtime::builder().workers(2).blocking_report(None);
    rt.build().unwrap().run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = goru::go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0; 2];
            conn.read_exact(&mut buf).unwrap();
            buf
        });
        goru::time::sleep(Duration::from_millis(50)); // settle: everyone parked
        let before = common::process_cpu_time();
        std::thread::sleep(Duration::from_millis(500)); // main's worker blocks too
        let used = common::process_cpu_time().saturating_sub(before);
        assert!(
            used < Duration::from_millis(100),
            "idle with a socket wait: {used:?} of CPU"
        );
        // And the sleeping poller still wakes for the connection.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"ok").unwrap();
        assert_eq!(&acceptor.join().unwrap(), b"ok");
    });
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn no_descriptor_leaks_after_10000_connections() {
    if !common::is_child() {
        common::run_passing_child("no_descriptor_leaks_after_10000_connections", &[]);
        return;
    }
    runtime(2).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Warm up whatever the runtime opens once.
        drop(TcpStream::connect(addr).unwrap());
        drop(listener.accept().unwrap());
        let before = open_fds();
        let server = goru::go(move || {
            for _ in 0..10_000 {
                let (mut conn, _) = listener.accept().unwrap();
                goru::go(move || {
                    let mut buf = [0; 1];
                    assert_eq!(conn.read(&mut buf).unwrap(), 1);
                    conn.write_all(&buf).unwrap();
                });
            }
            listener
        });
        let wg = WaitGroup::new();
        for batch in 0..100 {
            for _ in 0..100 {
                wg.add(1);
                let wg = wg.clone();
                goru::go(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.write_all(&[batch as u8]).unwrap();
                    let mut buf = [0; 1];
                    s.read_exact(&mut buf).unwrap();
                    assert_eq!(buf[0], batch as u8);
                    wg.done();
                });
            }
            wg.wait();
        }
        let listener = server.join().unwrap();
        // Server goroutines drop their connections right after the write; wait for
        // the last ones (`before` counted the listener, still open here).
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_fds() > before && Instant::now() < deadline {
            goru::time::sleep(Duration::from_millis(10));
        }
        drop(listener);
        let after = open_fds();
        assert!(after < before, "{before} descriptors before, {after} after");
    });
}

#[test]
#[ignore = "heavy: run with --release --include-ignored"]
fn ten_thousand_idle_connections_on_ten_thousand_goroutines() {
    // The clients live in a child process, so each side needs only 10,000 descriptors.
    const CONNS: usize = 10_000;
    if let Ok(addr) = std::env::var("GORU_IDLE_CLIENT_ADDR") {
        let conns: Vec<_> = (0..CONNS)
            .map(|_| std::net::TcpStream::connect(&addr).unwrap())
            .collect();
        println!("connected");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line); // hold them until told
        drop(conns);
        return;
    }
    runtime(2).run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "ten_thousand_idle_connections_on_ten_thousand_goroutines",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GORU_IDLE_CLIENT_ADDR", addr.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let rss_before = common::rss_bytes();
        let ended = Arc::new(AtomicUsize::new(0));
        let wg = WaitGroup::new();
        for _ in 0..CONNS {
            let (mut conn, _) = listener.accept().unwrap();
            wg.add(1);
            let (wg, ended) = (wg.clone(), ended.clone());
            goru::go(move || {
                let mut buf = [0; 16];
                assert_eq!(conn.read(&mut buf).unwrap(), 0, "the client only closes");
                ended.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        // Let every goroutine reach its read.
        goru::time::sleep(Duration::from_millis(200));
        let per_conn = (common::rss_bytes().saturating_sub(rss_before)) / CONNS;
        assert!(goru::runtime::num_goroutine() > CONNS);
        eprintln!("10,000 idle connections: {per_conn} bytes of RSS each (server side)");
        assert_eq!(ended.load(Ordering::Relaxed), 0);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("connected") {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "client died");
        }
        drop(child.stdin.take()); // the client closes everything
        wg.wait();
        assert_eq!(ended.load(Ordering::Relaxed), CONNS);
        assert!(child.wait().unwrap().success());
        assert!(per_conn < 16 * 1024, "{per_conn} bytes per connection");
    });
}

#[test]
fn blocking_runs_off_the_workers() {
    runtime(1).run(|| {
        // Four blocking calls at once on a 1-worker runtime: they overlap on the pool
        // while the worker keeps running goroutines.
        let start = Instant::now();
        let calls: Vec<_> = (0..4)
            .map(|i| {
                goru::go(move || {
                    goru::blocking(move || {
                        std::thread::sleep(Duration::from_millis(200));
                        i * 10
                    })
                })
            })
            .collect();
        let ticks = goru::go(|| {
            let mut n = 0;
            for _ in 0..10 {
                goru::time::sleep(Duration::from_millis(5));
                n += 1;
            }
            n
        });
        assert_eq!(ticks.join().unwrap(), 10);
        assert!(
            start.elapsed() < Duration::from_millis(190),
            "ticks waited for the calls"
        );
        let results: Vec<_> = calls.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results, vec![0, 10, 20, 30]);
        assert!(
            start.elapsed() < Duration::from_millis(700),
            "calls did not overlap"
        );
    });
}

#[test]
fn blocking_makes_progress_while_every_worker_is_busy() {
    runtime(2).run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        // Two hogs keep both workers busy spinning until the blocking call is done.
        let hogs: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                goru::go(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            // Ends the hogs if the call never runs, so the test fails instead of hanging.
            let ok = rx.recv_timeout(Duration::from_secs(10)).is_ok();
            stop2.store(true, Ordering::Release);
            ok
        });
        let v = goru::blocking(|| {
            let _ = tx.send(());
            42
        });
        assert_eq!(v, 42);
        stop.store(true, Ordering::Release);
        for h in hogs {
            h.join().unwrap();
        }
    });
}

#[test]
fn blocking_borrows_and_propagates_panics() {
    runtime(2).run(|| {
        let data = [1, 2, 3];
        let sum: i32 = goru::blocking(|| data.iter().sum());
        assert_eq!(sum, 6);
        let h = goru::go(|| goru::blocking(|| panic!("boom in the pool")));
        let err = h.join().unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom in the pool"));
        // Many at once, more than any sensible pool keeps idle.
        let wg = WaitGroup::new();
        let total = Arc::new(AtomicUsize::new(0));
        for i in 0..200 {
            wg.add(1);
            let (wg, total) = (wg.clone(), total.clone());
            goru::go(move || {
                let v = goru::blocking(move || {
                    std::thread::sleep(Duration::from_millis(1));
                    i
                });
                total.fetch_add(v, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(total.load(Ordering::Relaxed), (0..200).sum::<usize>());
    });
    assert_eq!(goru::blocking(|| 7), 7, "outside a runtime it runs inline");
}

#[test]
fn a_plain_blocking_call_does_not_hold_up_the_queue() {
    // The monitor hands off a worker stuck in std::thread::sleep (a stand-in for any
    // blocking call made without `goru::blocking`).
    runtime(1).run(|| {
        let stuck = goru::go(|| std::thread::sleep(Duration::from_millis(600)));
        goru::yield_now(); // let it start and block the only worker
        let start = Instant::now();
        let quick = goru::go(|| 5);
        assert_eq!(quick.join().unwrap(), 5);
        assert!(
            start.elapsed() < Duration::from_millis(400),
            "{:?}",
            start.elapsed()
        );
        stuck.join().unwrap();
    });
}

#[test]
fn write_context_gives_up_when_the_peer_stops_reading() {
    goru::run(|| {
        let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let writer = goru::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_silent_reader, _) = listener.accept().unwrap();
        let (ctx, _cancel) = goru::context::with_timeout(
            &goru::context::background(),
            std::time::Duration::from_millis(100),
        );
        let chunk = vec![7u8; 1 << 16];
        let mut sent = 0usize;
        let err = loop {
            match writer.write_context(&ctx, &chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
        assert!(sent > 0, "some went into the socket buffers first");
    });
}
