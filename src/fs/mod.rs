//! Files that never block a worker: `std::fs` look-alikes whose calls run on the
//! blocking pool while the goroutine parks, as `tokio::fs` does (Go gets the same by
//! handing its thread over during the system call). Regular files cannot be waited on
//! with epoll (they are always "ready"), so the pool is the honest way; outside a
//! goroutine each call simply runs on the calling thread.
//!
//! A FIFO opened or read here parks the goroutine until its writer comes, never
//! spinning.
//!
//! ```
//! goru::run(|| {
//!     let dir = std::env::temp_dir().join(format!("goru-fs-doc-{}", std::process::id()));
//!     goru::fs::create_dir_all(&dir).unwrap();
//!     let path = dir.join("hello.txt");
//!     goru::fs::write(&path, "hello").unwrap();
//!     assert_eq!(goru::fs::read_to_string(&path).unwrap(), "hello");
//!     assert_eq!(goru::fs::metadata(&path).unwrap().len(), 5);
//!     assert_eq!(goru::fs::read_dir(&dir).unwrap().len(), 1);
//!     goru::fs::remove_dir_all(&dir).unwrap();
//!     let err = goru::fs::read(&path).unwrap_err();
//!     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//! });
//! ```

mod file;

pub use file::File;
pub use std::fs::{DirEntry, Metadata, OpenOptions, Permissions};

use std::io;
use std::path::{Path, PathBuf};

/// Run `f` with an owned copy of `path` on the blocking pool.
fn with_path<T: Send>(
    path: &Path,
    f: impl FnOnce(PathBuf) -> io::Result<T> + Send,
) -> io::Result<T> {
    let path = path.to_path_buf();
    crate::blocking(move || f(path))
}

/// `std::fs::read`.
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    with_path(path.as_ref(), std::fs::read)
}

/// `std::fs::read_to_string`.
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    with_path(path.as_ref(), std::fs::read_to_string)
}

/// `std::fs::write`.
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let contents = contents.as_ref();
    with_path(path.as_ref(), move |p| std::fs::write(p, contents))
}

/// `std::fs::metadata` (follows symbolic links).
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    with_path(path.as_ref(), std::fs::metadata)
}

/// `std::fs::symlink_metadata`.
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    with_path(path.as_ref(), std::fs::symlink_metadata)
}

/// The entries of a directory, read in one go (`std::fs::read_dir`, collected: each
/// step of std's iterator would be a blocking call of its own).
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<Vec<DirEntry>> {
    with_path(path.as_ref(), |p| std::fs::read_dir(p)?.collect())
}

/// `std::fs::create_dir`.
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir)
}

/// `std::fs::create_dir_all`.
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir_all)
}

/// `std::fs::remove_file`.
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_file)
}

/// `std::fs::remove_dir`.
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir)
}

/// `std::fs::remove_dir_all`.
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir_all)
}

/// `std::fs::rename`.
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let to = to.as_ref().to_path_buf();
    with_path(from.as_ref(), move |from| std::fs::rename(from, to))
}

/// `std::fs::copy`: the bytes copied.
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let to = to.as_ref().to_path_buf();
    with_path(from.as_ref(), move |from| std::fs::copy(from, to))
}

/// `std::fs::canonicalize`.
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    with_path(path.as_ref(), std::fs::canonicalize)
}
