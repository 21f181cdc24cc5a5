//! A source reading delimited text from a TCP socket (Flink's `socketTextStream`).

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

use eddy_core::FnResult;
use eddy_functions::{Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus};

use crate::net;

/// How long one read may block before `poll_next` returns `NothingAvailable`.
const READ_TIMEOUT: Duration = Duration::from_millis(50);

/// How many bytes one read takes at most.
const READ_CHUNK: usize = 64 * 1024;

/// A non-parallel, continuous source emitting the delimited strings a TCP server sends, like
/// Flink's `socketTextStream(hostname, port, delimiter, maxRetry)`.
///
/// `open` connects (retrying once per second up to `max_retry` times when the server is not
/// reachable). Each poll emits the complete strings received so far and blocks at most about
/// 50 ms waiting for data. With the default delimiter `'\n'` a trailing `'\r'` is removed too.
/// When the server closes the connection, the remaining partial string (if not empty) is
/// emitted and the source finishes. Bytes that are not valid UTF-8 are replaced by U+FFFD.
///
/// Cloning gives an unconnected copy; the runtime clones sources before `open`.
#[derive(Debug)]
pub struct SocketTextSource {
    host: String,
    port: u16,
    delimiter: char,
    max_retry: u32,
    retry_delay: Duration,
    stream: Option<TcpStream>,
    /// Received bytes not yet emitted start at `start`.
    pending: Vec<u8>,
    /// The buffer one read fills.
    chunk: Vec<u8>,
    start: usize,
    /// Where to continue searching for the delimiter (everything before has none).
    search_from: usize,
    eof: bool,
}

impl Clone for SocketTextSource {
    fn clone(&self) -> Self {
        SocketTextSource {
            host: self.host.clone(),
            port: self.port,
            delimiter: self.delimiter,
            max_retry: self.max_retry,
            retry_delay: self.retry_delay,
            stream: None,
            pending: Vec::new(),
            chunk: Vec::new(),
            start: 0,
            search_from: 0,
            eof: false,
        }
    }
}

impl SocketTextSource {
    /// A source reading `'\n'`-delimited lines from `host:port`, without retries.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        SocketTextSource {
            host: host.into(),
            port,
            delimiter: '\n',
            max_retry: 0,
            retry_delay: net::DEFAULT_RETRY_DELAY,
            stream: None,
            pending: Vec::new(),
            chunk: Vec::new(),
            start: 0,
            search_from: 0,
            eof: false,
        }
    }

    /// Splits the stream on `delimiter` instead of `'\n'`.
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Retries connecting up to `max_retry` times (once per second) before `open` fails.
    pub fn with_max_retry(mut self, max_retry: u32) -> Self {
        self.max_retry = max_retry;
        self
    }

    /// Sets the delay between connection attempts (default: one second).
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The server's host name and port.
    pub fn address(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// Emits the complete strings in `pending`, up to `limit`; returns how many.
    fn emit_complete(&mut self, out: &mut SourceOutput<'_, String>, limit: usize) -> usize {
        let mut buf = [0u8; 4];
        let delimiter: &[u8] = self.delimiter.encode_utf8(&mut buf).as_bytes();
        let mut emitted = 0;
        while emitted < limit {
            let from = self.search_from.max(self.start);
            let Some(pos) = find(&self.pending[from..], delimiter) else {
                // Keep the last bytes: the delimiter may be split across reads.
                let keep = delimiter.len() - 1;
                self.search_from = self.pending.len().saturating_sub(keep).max(self.start);
                break;
            };
            let end = from + pos;
            out.collect(self.text(self.start, end));
            emitted += 1;
            self.start = end + delimiter.len();
            self.search_from = self.start;
        }
        emitted
    }

    /// The string at `pending[start..end]`, without a trailing `'\r'` for `'\n'` delimiters.
    fn text(&self, start: usize, mut end: usize) -> String {
        if self.delimiter == '\n' && end > start && self.pending[end - 1] == b'\r' {
            end -= 1;
        }
        String::from_utf8_lossy(&self.pending[start..end]).into_owned()
    }

    /// Reads once (blocking at most the read timeout). Returns whether anything happened
    /// (data or end of stream) as opposed to a timeout.
    fn read_more(&mut self) -> FnResult<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(format!(
                "socket source {}:{}: poll_next called before open",
                self.host, self.port
            )
            .into());
        };
        if self.start > 0 {
            self.pending.drain(..self.start);
            self.search_from = self.search_from.saturating_sub(self.start);
            self.start = 0;
        }
        if self.chunk.len() != READ_CHUNK {
            self.chunk = vec![0; READ_CHUNK];
        }
        match stream.read(&mut self.chunk) {
            Ok(0) => {
                self.eof = true;
                Ok(true)
            }
            Ok(n) => {
                self.pending.extend_from_slice(&self.chunk[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(format!(
                "socket source: error reading from {}:{}: {e}",
                self.host, self.port
            )
            .into()),
        }
    }
}

/// The position of the first occurrence of `needle` (not empty) in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => haystack.iter().position(|b| b == byte),
        _ => haystack.windows(needle.len()).position(|w| w == needle),
    }
}

impl SourceFunction<String> for SocketTextSource {
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        let stream = net::connect(
            "socket source",
            &self.host,
            self.port,
            self.max_retry,
            self.retry_delay,
        )?;
        stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| {
            format!(
                "socket source: cannot set a read timeout on the connection to {}:{}: {e}",
                self.host, self.port
            )
        })?;
        self.stream = Some(stream);
        self.pending.clear();
        self.start = 0;
        self.search_from = 0;
        self.eof = false;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, String>) -> FnResult<SourceStatus> {
        let wanted = out.remaining().max(1);
        if self.emit_complete(out, wanted) > 0 {
            return Ok(SourceStatus::MoreAvailable);
        }
        if self.eof {
            if self.start < self.pending.len() {
                let text = self.text(self.start, self.pending.len());
                self.start = self.pending.len();
                if !text.is_empty() {
                    out.collect(text);
                    return Ok(SourceStatus::MoreAvailable);
                }
            }
            return Ok(SourceStatus::Finished);
        }
        if !self.read_more()? {
            return Ok(SourceStatus::NothingAvailable(Duration::ZERO));
        }
        self.emit_complete(out, wanted);
        Ok(SourceStatus::MoreAvailable)
    }

    fn close(&mut self) -> FnResult<()> {
        self.stream = None;
        Ok(())
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::ContinuousUnbounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{closed_port, run_subtask, serve_bytes, serve_once};
    use std::io::Write;

    #[test]
    fn reads_lines_until_the_server_closes() {
        let (addr, server) = serve_bytes(b"a\nb\r\nc");
        let source = SocketTextSource::new("127.0.0.1", addr.port());
        assert_eq!(run_subtask(&source, 0, 1).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(server.join().unwrap(), Some(()));
        assert!(!source.is_parallel());
        assert_eq!(source.boundedness(), Boundedness::ContinuousUnbounded);
        assert_eq!(source.address(), ("127.0.0.1", addr.port()));
    }

    #[test]
    fn many_lines_over_several_writes() {
        let expected: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        let text: String = expected.iter().map(|l| format!("{l}\n")).collect();
        let (addr, server) = serve_once(move |mut stream| {
            // Split in the middle of lines; the reader must join the pieces.
            for piece in text.as_bytes().chunks(7) {
                stream.write_all(piece).ok();
                stream.flush().ok();
            }
        });
        let source = SocketTextSource::new("127.0.0.1", addr.port());
        assert_eq!(run_subtask(&source, 0, 1).unwrap(), expected);
        assert_eq!(server.join().unwrap(), Some(()));
    }

    #[test]
    fn custom_delimiters_keep_carriage_returns_and_empty_strings() {
        let (addr, server) = serve_bytes(b"x;y\r;;z;");
        let source = SocketTextSource::new("127.0.0.1", addr.port()).with_delimiter(';');
        assert_eq!(
            run_subtask(&source, 0, 1).unwrap(),
            vec!["x", "y\r", "", "z"]
        );
        assert_eq!(server.join().unwrap(), Some(()));
    }

    #[test]
    fn multi_byte_delimiter_split_across_writes() {
        let (addr, server) = serve_once(|mut stream| {
            // '¦' is 0xC2 0xA6 in UTF-8; send its two bytes separately.
            for piece in [&b"one\xC2"[..], b"\xA6tw", b"o\xC2\xA6\xC2", b"\xA6three"] {
                stream.write_all(piece).ok();
                stream.flush().ok();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let source = SocketTextSource::new("127.0.0.1", addr.port()).with_delimiter('¦');
        assert_eq!(
            run_subtask(&source, 0, 1).unwrap(),
            vec!["one", "two", "", "three"]
        );
        assert_eq!(server.join().unwrap(), Some(()));
    }

    #[test]
    fn connection_refused_names_host_and_port() {
        let port = closed_port();
        let mut source = SocketTextSource::new("127.0.0.1", port);
        let err = source
            .open(&RuntimeContext::for_testing(0, 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }

    #[test]
    fn retries_before_failing() {
        let port = closed_port();
        let mut source = SocketTextSource::new("127.0.0.1", port)
            .with_max_retry(2)
            .with_retry_delay(Duration::from_millis(1));
        let err = source
            .open(&RuntimeContext::for_testing(0, 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("127.0.0.1:{port} after 3 attempts")),
            "{err}"
        );
    }

    #[test]
    fn poll_before_open_is_an_error() {
        let mut source = SocketTextSource::new("127.0.0.1", 1);
        let mut batch = eddy_core::Batch::new();
        let mut out = SourceOutput::new(&mut batch, 3);
        assert!(source.poll_next(&mut out).is_err());
    }
}
