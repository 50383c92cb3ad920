//! Unix domain sockets: parking, not blocking; timeouts and cancellation; scale.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::net::{UnixDatagram, UnixListener, UnixStream};

mod common;

fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("goru-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_read_parks_the_goroutine_not_the_worker() {
    let rt = goru::Runtime::builder().workers(1).build().unwrap();
    rt.run(|| {
        let (a, mut b) = UnixStream::pair().unwrap();
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = goru::go(move || {
            for _ in 0..10 {
                goru::time::sleep(Duration::from_millis(10));
                t.fetch_add(1, Ordering::SeqCst);
            }
            a.try_write(b"late").unwrap(); // the reader has waited all along
        });
        let mut buf = [0; 4];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            10,
            "the ticker ran while we waited"
        );
        ticker.join().unwrap();
    });
}

#[test]
fn a_path_listener_serves_many_clients_with_every_byte_checked() {
    if !common::is_child() {
        // Counts this process's descriptors: run alone.
        common::run_passing_child(
            "a_path_listener_serves_many_clients_with_every_byte_checked",
            &[],
        );
        return;
    }
    let path = socket_path("echo");
    // What the first runtime sets up once per process (timer thread, dump handler)
    // is not a leak: count after it.
    goru::run(|| drop(UnixStream::pair().unwrap()));
    let fds_before = open_fds();
    goru::run({
        let path = path.clone();
        move || {
            let listener = UnixListener::bind(&path).unwrap();
            let (ctx, stop) = goru::context::with_cancel(&goru::context::background());
            let server = goru::go(move || {
                let conns = goru::sync::WaitGroup::new();
                while let Ok((conn, _)) = listener.accept_context(&ctx) {
                    conns.add(1);
                    let done = conns.clone();
                    goru::go(move || {
                        let mut buf = [0; 4096];
                        loop {
                            let n = (&conn).read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            (&conn).write_all(&buf[..n]).unwrap();
                        }
                        done.done();
                    });
                }
                conns.wait();
            });
            let clients: Vec<_> = (0..200u32)
                .map(|c| {
                    let path = path.clone();
                    goru::go(move || {
                        let mut conn = UnixStream::connect(&path).unwrap();
                        for m in 0..200u32 {
                            let msg = [(c % 251) as u8, (m % 251) as u8, 0xAB, (c ^ m) as u8];
                            conn.write_all(&msg).unwrap();
                            let mut back = [0; 4];
                            conn.read_exact(&mut back).unwrap();
                            assert_eq!(back, msg, "client {c} message {m}");
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            stop.cancel();
            server.join().unwrap();
        }
    });
    std::fs::remove_file(&path).unwrap();
    // The runtime is gone: its poller, the listener and every connection are closed.
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
}

#[test]
#[ignore = "heavy: run with --release --include-ignored"]
fn a_thousand_connections_by_a_thousand_messages() {
    goru::run(|| {
        let counted = Arc::new(AtomicUsize::new(0));
        let pairs: Vec<_> = (0..1000u32)
            .map(|c| {
                let (a, b) = UnixStream::pair().unwrap();
                goru::go(move || {
                    let mut buf = [0; 8];
                    loop {
                        match (&b).read(&mut buf).unwrap() {
                            0 => break,
                            n => (&b).write_all(&buf[..n]).unwrap(),
                        }
                    }
                });
                let counted = counted.clone();
                goru::go(move || {
                    for m in 0..1000u32 {
                        let msg = (c << 16 | m).to_le_bytes();
                        (&a).write_all(&msg).unwrap();
                        let mut back = [0; 4];
                        (&a).read_exact(&mut back).unwrap();
                        assert_eq!(back, msg);
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for p in pairs {
            p.join().unwrap();
        }
        assert_eq!(counted.load(Ordering::Relaxed), 1_000_000);
    });
}

#[test]
fn timeouts_cancellation_and_bad_paths_give_std_errors() {
    goru::run(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        let start = Instant::now();
        let err = (&a).read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(25));
        assert!(a.set_read_timeout(Some(Duration::ZERO)).is_err());
        a.set_read_timeout(None).unwrap();

        let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
        goru::go(move || {
            goru::time::sleep(Duration::from_millis(20));
            cancel.cancel();
        });
        let err = a.read_context(&ctx, &mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");

        let missing = UnixStream::connect("/nonexistent/goru.sock").unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        let path = socket_path("taken");
        let _first = UnixListener::bind(&path).unwrap();
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            std::io::ErrorKind::AddrInUse
        );
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn a_shutdown_wakes_a_parked_reader_with_end_of_file() {
    goru::run(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Arc::new(a);
        let reader = {
            let a = a.clone();
            goru::go(move || (&*a).read(&mut [0; 8]).unwrap())
        };
        goru::time::sleep(Duration::from_millis(20));
        a.shutdown(std::net::Shutdown::Read).unwrap();
        assert_eq!(reader.join().unwrap(), 0);
    });
}

#[test]
fn datagrams_by_pair_and_by_path() {
    goru::run(|| {
        let (a, b) = UnixDatagram::pair().unwrap();
        let receiver = goru::go(move || {
            let mut got = Vec::new();
            let mut buf = [0; 64];
            for _ in 0..100 {
                let n = b.recv(&mut buf).unwrap();
                got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
            }
            got
        });
        for i in 0..100 {
            a.send(format!("datagram {i}").as_bytes()).unwrap();
        }
        let got = receiver.join().unwrap();
        assert_eq!(got.len(), 100);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, d)| *d == format!("datagram {i}")));

        let path = socket_path("dgram");
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.send_to(b"hello", &path).unwrap();
        let mut buf = [0; 16];
        let (n, _from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        assert_eq!(
            server.recv(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        std::fs::remove_file(&path).unwrap();
    });
}
