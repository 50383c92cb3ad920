//! Name resolution that never blocks a worker.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolve `"host:port"` (`"example.com:80"`, `"[::1]:8080"`) to its addresses, as Go's
/// `net.LookupHost` plus the port. An IP literal resolves at once; a name is looked up
/// with the system resolver (`getaddrinfo`, so `/etc/hosts` and nsswitch apply) on the
/// blocking pool, and the goroutine parks meanwhile.
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
    let host_port = host_port.to_owned();
    let addrs: Vec<SocketAddr> =
        crate::blocking(move || host_port.to_socket_addrs().map(Iterator::collect))?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "lookup_host: the name has no addresses",
        ));
    }
    Ok(addrs)
}
