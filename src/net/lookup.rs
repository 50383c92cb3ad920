//! Name resolution that never blocks a worker.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::OnceLock;

use crate::sync::Semaphore;

/// Lookups running at once, at most, process-wide. A burst of a thousand connects to
/// new names would otherwise start a thousand blocking-pool threads; Go caps its cgo
/// resolver the same way (at 500 threads; ours are plain threads, so fewer).
pub(crate) const MAX_LOOKUPS_IN_FLIGHT: usize = 64;

fn lookup_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(MAX_LOOKUPS_IN_FLIGHT))
}

/// Resolve `"host:port"` (`"example.com:80"`, `"[::1]:8080"`) to its addresses, as Go's
/// `net.LookupHost` plus the port. An IP literal resolves at once, and so does a name
/// listed in `/etc/hosts` when the system resolver reads files first (as Go's resolver
/// does); any other name is looked up with the system resolver (`getaddrinfo`, so
/// nsswitch, DNS and the rest apply) on the blocking pool, at most 64 at a time, while
/// the goroutine parks.
///
/// ```
/// let addrs = goru::net::lookup_host("127.0.0.1:80").unwrap();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// goru::run(|| {
///     let addrs = goru::net::lookup_host("localhost:443").unwrap();
///     assert!(addrs.iter().all(|a| a.port() == 443 && a.ip().is_loopback()));
/// });
/// ```
pub fn lookup_host(host_port: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = host_port.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    if let Some((host, port)) = host_port.rsplit_once(':') {
        if let (Ok(port), Some(ips)) = (port.parse::<u16>(), super::hosts::lookup(host)) {
            return Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect());
        }
    }
    let _slot = {
        // The slot comes free when a lookup, maybe of another runtime, ends on the pool.
        let _waiting = crate::blocking::PoolWait::enter();
        lookup_slots().acquire()
    };
    let host_port = host_port.to_owned();
    let addrs: Vec<SocketAddr> = crate::blocking(move || resolve(&host_port))?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "lookup_host: the name has no addresses",
        ));
    }
    Ok(addrs)
}

/// The system resolver.
#[cfg(not(test))]
fn resolve(host_port: &str) -> io::Result<Vec<SocketAddr>> {
    host_port.to_socket_addrs().map(Iterator::collect)
}

/// The system resolver, and for the tests slow ones: `slow.test:PORT` takes 20 ms and
/// `very.slow.test:PORT` 500 ms, and both answer 127.0.0.1, as a resolver on a slow
/// network would.
/// It also counts the lookups running at once (`gauge`), for the cap's test.
#[cfg(test)]
fn resolve(host_port: &str) -> io::Result<Vec<SocketAddr>> {
    let _gauge = gauge::enter();
    let (delay, rest) = match host_port.strip_prefix("very.") {
        Some(rest) => (500, rest),
        None => (20, host_port),
    };
    if let Some(port) = rest.strip_prefix("slow.test:") {
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let port = port.parse().map_err(|_| io::ErrorKind::InvalidInput)?;
        return Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]);
    }
    host_port.to_socket_addrs().map(Iterator::collect)
}

/// How many lookups run at once, and the most seen (for the cap's test).
#[cfg(test)]
mod gauge {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    pub(super) static PEAK: AtomicUsize = AtomicUsize::new(0);

    pub(super) struct Running;

    pub(super) fn enter() -> Running {
        let now = RUNNING.fetch_add(1, Ordering::Relaxed) + 1;
        PEAK.fetch_max(now, Ordering::Relaxed);
        Running
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::{Mutex, MutexGuard};

    /// The lookup slots are process-wide, so the tests that fill them, or that need one
    /// free, take turns; otherwise one test's burst makes another's lookup wait for a slot.
    fn slots_to_myself() -> MutexGuard<'static, ()> {
        static SLOTS: Mutex<()> = Mutex::new(());
        SLOTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn a_burst_of_lookups_runs_at_most_the_cap_at_once() {
        let _slots = slots_to_myself();
        crate::run(|| {
            // 500 slow lookups at once: without the cap the blocking pool would run
            // them all side by side.
            let lookups: Vec<_> = (0..500)
                .map(|i| crate::go(move || lookup_host(&format!("slow.test:{}", 1000 + i))))
                .collect();
            for (i, l) in lookups.into_iter().enumerate() {
                let addrs = l.join().unwrap().unwrap();
                assert!(addrs.iter().all(|a| a.port() == 1000 + i as u16));
            }
        });
        let peak = gauge::PEAK.load(Ordering::Relaxed);
        assert!(
            (2..=MAX_LOOKUPS_IN_FLIGHT).contains(&peak),
            "peak {peak} lookups at once"
        );
    }

    #[test]
    fn waiting_for_a_slot_another_runtime_holds_is_no_deadlock() {
        let _slots = slots_to_myself();
        // Runtime A keeps every slot busy for a while (640 x 20 ms over 64 slots).
        let busy = std::thread::spawn(|| {
            crate::run(|| {
                let lookups: Vec<_> = (0..640)
                    .map(|i| crate::go(move || lookup_host(&format!("slow.test:{i}")).unwrap()))
                    .collect();
                lookups.into_iter().for_each(|l| drop(l.join().unwrap()));
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Runtime B's one goroutine waits for a slot well past the detector's window.
        crate::run(|| {
            let addrs = lookup_host("slow.test:7").unwrap();
            assert_eq!(addrs[0].port(), 7);
        });
        busy.join().unwrap();
    }

    #[test]
    fn a_lookup_waits_in_the_blocking_pool_as_the_dump_shows() {
        let _slots = slots_to_myself();
        crate::run(|| {
            let lookup = crate::go(|| lookup_host("very.slow.test:9"));
            crate::time::sleep(std::time::Duration::from_millis(50)); // inside its 500 ms
            let dump = crate::runtime::dump();
            assert!(dump.contains("[blocking call"), "{dump}");
            assert_eq!(lookup.join().unwrap().unwrap()[0].port(), 9);
        });
    }

    #[test]
    fn unknown_names_and_bad_input_are_errors() {
        crate::run(|| {
            assert!(lookup_host("no-such-host.invalid:80").is_err());
            assert!(lookup_host("missing-port").is_err());
        });
    }
}
