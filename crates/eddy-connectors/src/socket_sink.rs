//! A sink writing serialized elements to a TCP socket (Flink's `writeToSocket`).

use std::fmt;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::net::TcpStream;
use std::time::Duration;

use eddy_core::{Batch, FnResult};
use eddy_functions::{RuntimeContext, SinkContext, SinkFunction};

use crate::net;

/// The buffer size of the socket writer.
const WRITE_BUFFER: usize = 64 * 1024;

/// A sink sending `serializer(&element)` for each element to a TCP server, like Flink's
/// `writeToSocket(hostname, port, schema)`. The bytes are sent as they are (add a delimiter in
/// the serializer if the receiver needs one).
///
/// Each subtask opens its own connection in `open` (retrying once per second up to
/// `max_retries` times). Output is buffered and flushed in `finish` and `close`. Cloning gives
/// an unconnected copy; the runtime clones sinks before `open`.
pub struct SocketSink<T, F> {
    host: String,
    port: u16,
    serializer: F,
    max_retries: u32,
    retry_delay: Duration,
    writer: Option<BufWriter<TcpStream>>,
    _marker: PhantomData<fn(&T)>,
}

impl<T, F: Clone> Clone for SocketSink<T, F> {
    fn clone(&self) -> Self {
        SocketSink {
            host: self.host.clone(),
            port: self.port,
            serializer: self.serializer.clone(),
            max_retries: self.max_retries,
            retry_delay: self.retry_delay,
            writer: None,
            _marker: PhantomData,
        }
    }
}

impl<T, F> fmt::Debug for SocketSink<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketSink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("max_retries", &self.max_retries)
            .field("connected", &self.writer.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, F> SocketSink<T, F>
where
    F: Fn(&T) -> Vec<u8> + Clone + Send + 'static,
{
    /// A sink sending `serializer(&element)` to `host:port`, without connection retries.
    pub fn new(host: impl Into<String>, port: u16, serializer: F) -> Self {
        SocketSink {
            host: host.into(),
            port,
            serializer,
            max_retries: 0,
            retry_delay: net::DEFAULT_RETRY_DELAY,
            writer: None,
            _marker: PhantomData,
        }
    }

    /// Retries connecting up to `max_retries` times (once per second) before `open` fails.
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
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
}

impl<T, F> SocketSink<T, F> {
    fn write_error(&self, e: std::io::Error) -> eddy_core::FunctionError {
        format!(
            "socket sink: cannot write to {}:{}: {e}",
            self.host, self.port
        )
        .into()
    }

    fn flush(&mut self) -> FnResult<()> {
        match self.writer.as_mut().map(Write::flush) {
            Some(Err(e)) => Err(self.write_error(e)),
            _ => Ok(()),
        }
    }
}

impl<T, F> SinkFunction<T> for SocketSink<T, F>
where
    T: 'static,
    F: Fn(&T) -> Vec<u8> + Clone + Send + 'static,
{
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        let stream = net::connect(
            "socket sink",
            &self.host,
            self.port,
            self.max_retries,
            self.retry_delay,
        )?;
        self.writer = Some(BufWriter::with_capacity(WRITE_BUFFER, stream));
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        let bytes = (self.serializer)(&value);
        let Some(writer) = self.writer.as_mut() else {
            return Err(format!(
                "socket sink {}:{}: element received before open",
                self.host, self.port
            )
            .into());
        };
        writer.write_all(&bytes).map_err(|e| self.write_error(e))
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        let ctx = SinkContext::new(eddy_core::NO_TIMESTAMP);
        batch
            .into_values()
            .into_iter()
            .try_for_each(|value| self.invoke(value, &ctx))
    }

    fn finish(&mut self) -> FnResult<()> {
        self.flush()
    }

    fn close(&mut self) -> FnResult<()> {
        let result = self.flush();
        self.writer = None;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{closed_port, serve_collect};

    fn line(value: &u32) -> Vec<u8> {
        format!("v{value}\n").into_bytes()
    }

    #[test]
    fn server_receives_exactly_the_serialized_bytes() {
        let (addr, server) = serve_collect();
        let sink = SocketSink::new("127.0.0.1", addr.port(), line);
        assert_eq!(sink.address(), ("127.0.0.1", addr.port()));
        let mut instance = sink.clone();
        instance.open(&RuntimeContext::for_testing(0, 1)).unwrap();
        instance.invoke(1, &SinkContext::new(0)).unwrap();
        instance
            .invoke_batch(Batch::from_values((2..=4).collect()))
            .unwrap();
        instance.finish().unwrap();
        instance.close().unwrap();
        assert_eq!(
            server.join().unwrap().unwrap(),
            b"v1\nv2\nv3\nv4\n".to_vec()
        );
    }

    #[test]
    fn large_output_arrives_complete() {
        let (addr, server) = serve_collect();
        let mut sink =
            SocketSink::new("127.0.0.1", addr.port(), |v: &u32| v.to_le_bytes().to_vec());
        sink.open(&RuntimeContext::for_testing(0, 1)).unwrap();
        let values: Vec<u32> = (0..50_000).collect();
        sink.invoke_batch(Batch::from_values(values.to_vec()))
            .unwrap();
        sink.close().unwrap();
        let expected: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(server.join().unwrap().unwrap(), expected);
    }

    #[test]
    fn connection_refused_names_host_and_port() {
        let port = closed_port();
        let mut sink = SocketSink::new("127.0.0.1", port, line)
            .with_max_retries(1)
            .with_retry_delay(Duration::from_millis(1));
        let err = sink
            .open(&RuntimeContext::for_testing(0, 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("127.0.0.1:{port} after 2 attempts")),
            "{err}"
        );
    }

    #[test]
    fn element_before_open_is_an_error() {
        let mut sink = SocketSink::new("127.0.0.1", 1, line);
        let err = sink
            .invoke(1, &SinkContext::new(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("127.0.0.1:1"), "{err}");
    }
}
