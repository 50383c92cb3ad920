//! [`File`]: `std::fs::File` whose every call runs on the blocking pool.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{with_path, Metadata, OpenOptions};

/// An open file, as `std::fs::File`, whose reads, writes, seeks and syncs park the
/// goroutine while a blocking-pool thread does them. Each call is one hop to the pool:
/// read and write in large pieces (or through a `BufReader`/`BufWriter`) when there
/// are many. `Read`, `Write` and `Seek` are implemented for `&File` too, as for std's.
#[derive(Debug)]
pub struct File {
    std: std::fs::File,
}

impl File {
    /// Open for reading (`std::fs::File::open`).
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        with_path(path.as_ref(), std::fs::File::open).map(File::from_std)
    }

    /// Create or truncate for writing (`std::fs::File::create`).
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        with_path(path.as_ref(), std::fs::File::create).map(File::from_std)
    }

    /// Open with `options` (std's `OpenOptions`, as built for `std::fs`).
    pub fn open_with<P: AsRef<Path>>(path: P, options: &OpenOptions) -> io::Result<File> {
        let options = options.clone();
        with_path(path.as_ref(), move |p| options.open(p)).map(File::from_std)
    }

    /// Wrap a std file.
    pub fn from_std(std: std::fs::File) -> File {
        File { std }
    }

    /// The std file underneath (its calls block the thread that makes them).
    pub fn into_std(self) -> std::fs::File {
        self.std
    }

    /// Flush data and metadata to the disk (`fsync`).
    pub fn sync_all(&self) -> io::Result<()> {
        let f = &self.std;
        crate::blocking(move || f.sync_all())
    }

    /// Flush data to the disk (`fdatasync`).
    pub fn sync_data(&self) -> io::Result<()> {
        let f = &self.std;
        crate::blocking(move || f.sync_data())
    }

    /// Truncate or extend to `size` bytes.
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        let f = &self.std;
        crate::blocking(move || f.set_len(size))
    }

    /// The file's metadata.
    pub fn metadata(&self) -> io::Result<Metadata> {
        let f = &self.std;
        crate::blocking(move || f.metadata())
    }
}

impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut f = &self.std;
        crate::blocking(move || f.read(buf))
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut f = &self.std;
        crate::blocking(move || f.read_to_end(buf)) // one hop for the whole file
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut f = &self.std;
        crate::blocking(move || f.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut f = &self.std;
        crate::blocking(move || f.write_all(buf)) // one hop, however many writes
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // nothing is buffered in user space
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut f = &self.std;
        crate::blocking(move || f.seek(pos))
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}
