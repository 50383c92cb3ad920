//! Out of descriptors: an accept loop over `incoming()` backs off instead of spinning,
//! and serves the waiting connection once descriptors free up. In a child process,
//! since the descriptor limit is the whole process's.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goru::net::{TcpListener, TcpStream};

/// CPU time this process has used, user and system.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn is_emfile(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::EMFILE)
}

#[test]
fn an_accept_loop_out_of_descriptors_backs_off_and_recovers() {
    const NAME: &str = "an_accept_loop_out_of_descriptors_backs_off_and_recovers";
    if !common::is_child() {
        common::run_passing_child(NAME, &[]);
        return;
    }
    // A low soft limit, so that the table fills fast.
    // SAFETY: plain get/setrlimit calls on a struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_cur.min(256);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let errors = Arc::new(AtomicUsize::new(0));
        let counted = errors.clone();
        // The examples' loop: log the error and go on.
        goru::go(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(mut conn) => {
                        goru::go(move || {
                            let mut byte = [0u8];
                            conn.read_exact(&mut byte).unwrap();
                            conn.write_all(&byte).unwrap();
                        });
                    }
                    Err(err) => {
                        assert!(is_emfile(&err), "{err}");
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        // Fill the descriptor table, then free one for the client's socket.
        let mut fillers = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => fillers.push(f),
                Err(err) if is_emfile(&err) => break,
                Err(err) => panic!("{err}"),
            }
        }
        fillers.pop();
        // The server's accept takes a descriptor for a moment even with nothing to
        // accept, so the client may have to try again.
        let mut client = loop {
            match TcpStream::connect(addr) {
                Ok(client) => break client,
                Err(err) if is_emfile(&err) => goru::time::sleep(Duration::from_millis(1)),
                Err(err) => panic!("{err}"),
            }
        };
        // The connection waits in the backlog; every accept fails. A second of that:
        let (errors_before, cpu_before) = (errors.load(Ordering::Relaxed), cpu_time());
        goru::time::sleep(Duration::from_secs(1));
        let cpu = cpu_time() - cpu_before;
        let failed = errors.load(Ordering::Relaxed) - errors_before;
        eprintln!("at the limit for 1 s: {failed} failed accepts, {cpu:?} of CPU");
        // Backing off 5 ms, doubling: 7 or 8 tries in a second (more on a machine
        // slower to wake a sleeper would still be few). A loop that spins makes
        // hundreds of thousands, and takes the whole second of CPU.
        assert!((1..=20).contains(&failed), "{failed} failed accepts in 1 s");
        assert!(
            cpu < Duration::from_millis(300),
            "{cpu:?} of CPU in 1 s at the limit"
        );
        // Descriptors free: the waiting connection is accepted (within the backoff's
        // current wait, at most 1 s) and served.
        drop(fillers);
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(b"x").unwrap();
        let mut byte = [0u8];
        client.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    });
}
