//! Backing off when accept fails for want of resources.
//!
//! Out of descriptors (`EMFILE`, `ENFILE`) or kernel memory (`ENOBUFS`, `ENOMEM`), a
//! listener with a connection waiting stays readable and every accept fails at once:
//! a loop that logs the error and tries again spins a core until something is freed.
//! Go's `http.Server` waits 5 ms after such an error, doubling up to 1 s, and so do
//! goru's `incoming` iterators and its HTTP server. The waiting connection stays in
//! the kernel's backlog and is accepted once a descriptor is free.

use std::io;
use std::time::Duration;

/// Go's accept-error backoff: 5 ms, doubling, at most 1 s.
const FIRST: Duration = Duration::from_millis(5);
const MAX: Duration = Duration::from_secs(1);

/// An accept error that passes once resources free up (descriptors, memory).
pub(crate) fn is_resource_shortage(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The backoff of one accept loop.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    last: Option<Duration>,
}

impl AcceptBackoff {
    /// An accept succeeded: the next shortage starts again at 5 ms.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }

    /// An accept failed with `err`: how long to wait before the next, if it is a
    /// shortage.
    pub(crate) fn delay_after(&mut self, err: &io::Error) -> Option<Duration> {
        if !is_resource_shortage(err) {
            return None;
        }
        let delay = self.last.map_or(FIRST, |d| (d * 2).min(MAX));
        self.last = Some(delay);
        Some(delay)
    }
}

/// The `incoming` iterators' accepts: after a shortage, the next accept first waits
/// out the backoff (the error itself is returned at once, so the caller can log it).
#[derive(Debug, Default)]
pub(crate) struct BackingOff {
    backoff: AcceptBackoff,
    wait: Option<Duration>,
}

impl BackingOff {
    pub(crate) fn accept<S>(&mut self, accept: impl FnOnce() -> io::Result<S>) -> io::Result<S> {
        if let Some(delay) = self.wait.take() {
            crate::time::sleep(delay);
        }
        let accepted = accept();
        match &accepted {
            Ok(_) => self.backoff.reset(),
            Err(err) => self.wait = self.backoff.delay_after(err),
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortages_double_to_a_second_and_success_resets() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let mut b = AcceptBackoff::default();
        let delays: Vec<u128> = (0..10)
            .map(|_| b.delay_after(&emfile).unwrap().as_millis())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.delay_after(&emfile), Some(FIRST));
        let reset = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(b.delay_after(&reset), None, "not a shortage: no wait");
    }
}
