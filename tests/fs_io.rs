//! goru::fs and goru::io::PollFd: calls park the goroutine, never its worker.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goru::io::PollFd;

fn one_worker() -> goru::Runtime {
    goru::Runtime::builder().workers(1).build().unwrap()
}

/// A goroutine that counts ticks of 10 ms until told to stop: proof that the worker
/// ran it while another goroutine waited.
fn ticker() -> (Arc<AtomicUsize>, goru::context::CancelFn) {
    let ticks = Arc::new(AtomicUsize::new(0));
    let (ctx, stop) = goru::context::with_cancel(&goru::context::background());
    let t = ticks.clone();
    goru::go(move || {
        while ctx.err().is_none() {
            goru::time::sleep(Duration::from_millis(10));
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    (ticks, stop)
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array; the descriptors are then owned once each.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        (
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0])),
            std::fs::File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

#[test]
fn reading_a_fifo_parks_while_its_writer_is_late() {
    let dir = std::env::temp_dir().join(format!("goru-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(writer_path, b"late news").unwrap();
    });
    one_worker().run(move || {
        let (ticks, stop) = ticker();
        let start = Instant::now();
        let got = goru::fs::read(&fifo).unwrap();
        assert_eq!(got, b"late news");
        assert!(start.elapsed() >= Duration::from_millis(250));
        assert!(
            ticks.load(Ordering::SeqCst) >= 10,
            "the one worker kept ticking"
        );
        stop.cancel();
    });
    writer.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fs_calls_mirror_std_with_its_errors() {
    goru::run(|| {
        let dir = std::env::temp_dir().join(format!("goru-fs-{}", std::process::id()));
        goru::fs::create_dir_all(dir.join("sub")).unwrap();
        let a = dir.join("a.txt");
        goru::fs::write(&a, b"0123456789").unwrap();
        goru::fs::copy(&a, dir.join("sub/b.txt")).unwrap();
        goru::fs::rename(dir.join("sub/b.txt"), dir.join("c.txt")).unwrap();
        let mut names: Vec<_> = goru::fs::read_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "c.txt", "sub"]);

        let mut f = goru::fs::File::open(&a).unwrap();
        f.seek(SeekFrom::Start(4)).unwrap();
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "456789");
        let mut w = goru::fs::File::create(dir.join("d.txt")).unwrap();
        w.write_all(b"new").unwrap();
        w.sync_all().unwrap();
        assert_eq!(w.metadata().unwrap().len(), 3);

        let missing = goru::fs::read(dir.join("nope")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(
            goru::fs::File::open(dir.join("nope")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        goru::fs::remove_file(&a).unwrap();
        goru::fs::remove_dir_all(&dir).unwrap();
        assert!(goru::fs::metadata(&dir).is_err());
    });
}

#[test]
fn a_pollfd_read_on_an_empty_pipe_parks() {
    one_worker().run(|| {
        let (r, w) = pipe();
        let reader = PollFd::new(r).unwrap();
        let (ticks, stop) = ticker();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            (&w).write_all(b"ping").unwrap();
            w // kept open until joined
        });
        let mut buf = [0; 4];
        (&reader).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        assert!(
            ticks.load(Ordering::SeqCst) >= 5,
            "the worker ran the ticker meanwhile"
        );
        assert_eq!(
            reader.try_read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        reader
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        assert_eq!(
            (&reader).read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        drop(writer.join().unwrap()); // the write end closes: end of file
        reader.set_read_timeout(None).unwrap();
        assert_eq!((&reader).read(&mut buf).unwrap(), 0);
        stop.cancel();
    });
}

#[test]
fn a_full_pipe_parks_the_writer_until_the_reader_drains_it() {
    goru::run(|| {
        let (r, w) = pipe();
        let writer = PollFd::new(w).unwrap();
        let reader = PollFd::new(r).unwrap();
        let total = 1 << 20; // far beyond the pipe's 64 KiB
        let sender = goru::go(move || {
            let chunk = vec![0x5A; 8192];
            let mut sent = 0;
            while sent < total {
                (&writer).write_all(&chunk).unwrap();
                sent += chunk.len();
            }
        });
        let mut got = 0;
        let mut buf = vec![0; 16384];
        while got < total {
            let n = (&reader).read(&mut buf).unwrap();
            assert!(buf[..n].iter().all(|&b| b == 0x5A));
            got += n;
        }
        sender.join().unwrap();
        assert_eq!(got, total);
    });
}

#[test]
fn a_regular_file_is_refused_by_pollfd() {
    let path = std::env::temp_dir().join(format!("goru-pollfd-{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let err = PollFd::new(std::fs::File::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("goru::fs"), "{err}");
    let dir = PollFd::new(std::fs::File::open(std::env::temp_dir()).unwrap()).unwrap_err();
    assert_eq!(dir.kind(), std::io::ErrorKind::InvalidInput);
    std::fs::remove_file(&path).unwrap();
}
