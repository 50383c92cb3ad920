//! [`agent`](super::agent): ureq over goru sockets. ureq's HTTP/1.1 machinery is kept
//! whole; only its transport (the socket) and its resolver are goru's, so a request
//! parks the goroutine where ureq would block a thread, and a name lookup runs off the
//! workers.

use std::fmt;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use ureq::config::Config;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, ShutdownHandle, Transport,
};
use ureq::{Agent, Error};

use crate::net::TcpStream;

/// An agent with ureq's default configuration on goru sockets.
pub(super) fn agent_with(config: Config) -> Agent {
    let connector = ().chain(GoruConnector);
    #[cfg(feature = "tls")]
    let connector = connector.chain(ureq::unversioned::transport::RustlsConnector::default());
    Agent::with_parts(config, connector, GoruResolver)
}

/// Opens goru TCP connections.
#[derive(Debug)]
struct GoruConnector;

impl<In: Transport> Connector<In> for GoruConnector {
    type Out = ureq::unversioned::transport::Either<In, GoruTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        use ureq::unversioned::transport::Either;
        if let Some(chained) = chained {
            return Ok(Some(Either::A(chained))); // a proxy connector got there first
        }
        let timeout = details.timeout.not_zero().map(|t| *t);
        let mut last = None;
        for addr in &details.addrs {
            let attempt = match timeout {
                Some(t) => TcpStream::connect_timeout(addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(stream) => {
                    if details.config.no_delay() {
                        stream.set_nodelay(true)?;
                    }
                    let stream = Arc::new(stream);
                    (details.register_shutdown)(Arc::downgrade(&stream) as _)?;
                    let config = details.config;
                    let buffers =
                        LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size());
                    return Ok(Some(Either::B(GoruTransport { stream, buffers })));
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    last = Some(Error::Timeout(details.timeout.reason));
                }
                Err(e) => last = Some(Error::Io(e)),
            }
        }
        Err(last.unwrap_or(Error::HostNotFound))
    }
}

impl ShutdownHandle for TcpStream {
    fn shutdown(&self) {
        let _ = TcpStream::shutdown(self, Shutdown::Both);
    }
}

/// One connection: a goru socket and ureq's buffers.
struct GoruTransport {
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
}

impl fmt::Debug for GoruTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoruTransport")
            .field("stream", &self.stream)
            .finish()
    }
}

/// A goru socket timeout reads `WouldBlock` (std's convention); ureq wants its own
/// timeout error, naming which of its timeouts it was.
fn io_error(err: std::io::Error, timeout: &NextTimeout) -> Error {
    match err.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            Error::Timeout(timeout.reason)
        }
        _ => Error::Io(err),
    }
}

/// A budget already spent is ureq's timeout error, before any I/O.
fn expired(timeout: NextTimeout) -> Result<NextTimeout, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout)
}

impl Transport for GoruTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = expired(timeout.for_write())?;
        self.stream
            .set_write_timeout(timeout.not_zero().map(|t| *t))?;
        let output = &self.buffers.output()[..amount];
        (&*self.stream)
            .write_all(output)
            .map_err(|e| io_error(e, &timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = expired(timeout.for_read())?;
        self.stream
            .set_read_timeout(timeout.not_zero().map(|t| *t))?;
        let input = self.buffers.input_append_buf();
        let n = (&*self.stream)
            .read(input)
            .map_err(|e| io_error(e, &timeout))?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        // A pooled connection is reusable if nothing is waiting on it: no stray bytes
        // and no end of file.
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// Looks names up off the workers ([`lookup_host`](crate::net::lookup_host)).
#[derive(Debug)]
struct GoruResolver;

impl Resolver for GoruResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let scheme = uri
            .scheme()
            .ok_or(Error::BadUri(format!("{uri}: no scheme")))?;
        let authority = uri
            .authority()
            .ok_or(Error::BadUri(format!("{uri}: no host")))?;
        let host_port =
            ureq::unversioned::resolver::DefaultResolver::host_and_port(scheme, authority)
                .ok_or(Error::BadUri(format!("{uri}: no port for its scheme")))?;
        let mut addrs = self.empty();
        for addr in crate::net::lookup_host(&host_port)? {
            if addrs.try_push(addr).is_err() {
                break; // ureq keeps at most 16
            }
        }
        if addrs.is_empty() {
            return Err(Error::HostNotFound);
        }
        Ok(addrs)
    }
}
