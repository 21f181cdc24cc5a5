//! Connecting to a TCP server with retries, shared by the socket source and sink.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use eddy_core::FnResult;

/// The default delay between connection attempts (Flink retries once per second).
pub(crate) const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long one connection attempt to one address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to `host:port`, trying up to `1 + max_retries` times with `retry_delay` between
/// attempts. The error names `what` (the connector), `host:port`, the number of attempts and
/// the last OS error.
pub(crate) fn connect(
    what: &str,
    host: &str,
    port: u16,
    max_retries: u32,
    retry_delay: Duration,
) -> FnResult<TcpStream> {
    let attempts = u64::from(max_retries) + 1;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match connect_once(host, port) {
            Ok(stream) => return Ok(stream),
            Err(e) if attempt >= attempts => {
                let tries = if attempts == 1 {
                    String::new()
                } else {
                    format!(" after {attempts} attempts")
                };
                return Err(
                    format!("{what}: could not connect to {host}:{port}{tries}: {e}").into(),
                );
            }
            Err(_) => std::thread::sleep(retry_delay),
        }
    }
}

/// One attempt: every address `host` resolves to, in turn.
fn connect_once(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        )
    }))
}
