//! A sink printing each element on its own line (Flink's `print()` / `PrintSinkFunction`).

use std::fmt::{self, Display};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use eddy_core::{Batch, FnResult};
use eddy_functions::{RuntimeContext, SinkContext, SinkFunction};

/// Where a [`PrintSink`] writes.
#[derive(Clone)]
enum Target {
    Stdout,
    Stderr,
    Writer(Arc<Mutex<dyn Write + Send>>),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Stdout => "stdout",
            Target::Stderr => "stderr",
            Target::Writer(_) => "writer",
        })
    }
}

impl Target {
    /// Writes `bytes` with one locked write.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Target::Stdout => io::stdout().lock().write_all(bytes),
            Target::Stderr => io::stderr().lock().write_all(bytes),
            Target::Writer(w) => w
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write_all(bytes),
        }
    }

    fn flush(&self) -> io::Result<()> {
        match self {
            Target::Stdout => io::stdout().lock().flush(),
            Target::Stderr => io::stderr().lock().flush(),
            Target::Writer(w) => w.lock().unwrap_or_else(PoisonError::into_inner).flush(),
        }
    }
}

/// A sink writing each element's `Display` form on its own line to stdout, stderr or a shared
/// writer, prefixed exactly like Flink's `PrintSinkOutputWriter`:
///
/// | identifier | parallelism 1     | parallelism > 1     |
/// |------------|-------------------|---------------------|
/// | none       | `value`           | `N> value`          |
/// | `id`       | `id> value`       | `id:N> value`       |
///
/// where `N` is the 1-based subtask index. An empty identifier counts as none. Each batch is
/// formatted into one buffer and written with one locked write, so lines of parallel subtasks
/// never interleave within a line.
pub struct PrintSink<T> {
    target: Target,
    identifier: Option<String>,
    prefix: String,
    buffer: Vec<u8>,
    _marker: PhantomData<fn(T)>,
}

impl<T> Clone for PrintSink<T> {
    fn clone(&self) -> Self {
        PrintSink {
            target: self.target.clone(),
            identifier: self.identifier.clone(),
            prefix: self.prefix.clone(),
            buffer: Vec::new(),
            _marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for PrintSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrintSink")
            .field("target", &self.target)
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

impl<T> PrintSink<T> {
    fn with_target(target: Target) -> Self {
        PrintSink {
            target,
            identifier: None,
            prefix: String::new(),
            buffer: Vec::new(),
            _marker: PhantomData,
        }
    }

    /// A sink printing to standard output (Flink's `print()`).
    pub fn stdout() -> Self {
        Self::with_target(Target::Stdout)
    }

    /// A sink printing to standard error (Flink's `printToErr()`).
    pub fn stderr() -> Self {
        Self::with_target(Target::Stderr)
    }

    /// A sink writing the same lines into a shared writer (an in-memory `Vec<u8>`, a file, …);
    /// all subtasks write into the same writer, one batch at a time.
    pub fn to_writer<W: Write + Send + 'static>(writer: Arc<Mutex<W>>) -> Self {
        Self::with_target(Target::Writer(writer))
    }

    /// Prefixes every line with `identifier` (Flink's `print(sinkIdentifier)`).
    pub fn with_identifier(mut self, identifier: impl Into<String>) -> Self {
        let identifier = identifier.into();
        self.identifier = (!identifier.is_empty()).then_some(identifier);
        self
    }

    /// The line prefix of a subtask, as Flink's `PrintSinkOutputWriter` builds it.
    fn prefix_for(identifier: Option<&str>, subtask_index: u32, parallelism: u32) -> String {
        let mut prefix = identifier.unwrap_or_default().to_owned();
        if parallelism > 1 {
            if !prefix.is_empty() {
                prefix.push(':');
            }
            prefix.push_str(&(u64::from(subtask_index) + 1).to_string());
        }
        if !prefix.is_empty() {
            prefix.push_str("> ");
        }
        prefix
    }

    fn write_buffer(&mut self) -> FnResult<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.target.write_all(&self.buffer);
        self.buffer.clear();
        result.map_err(|e| format!("print sink: cannot write to {:?}: {e}", self.target).into())
    }
}

impl<T: Display> PrintSink<T> {
    /// Appends one formatted line to the buffer.
    fn format(&mut self, value: &T) -> FnResult<()> {
        self.buffer.extend_from_slice(self.prefix.as_bytes());
        writeln!(self.buffer, "{value}")
            .map_err(|e| format!("print sink: cannot format a value: {e}").into())
    }
}

impl<T: Display + Send + 'static> SinkFunction<T> for PrintSink<T> {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.prefix = Self::prefix_for(
            self.identifier.as_deref(),
            ctx.subtask_index,
            ctx.parallelism,
        );
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.format(&value)?;
        self.write_buffer()
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        for value in batch.values() {
            self.format(value)?;
        }
        self.write_buffer()
    }

    fn finish(&mut self) -> FnResult<()> {
        self.target
            .flush()
            .map_err(|e| format!("print sink: cannot flush {:?}: {e}", self.target).into())
    }

    fn close(&mut self) -> FnResult<()> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a sink writing into a buffer as `parallelism` subtasks, one after another; each
    /// gets one batch and one single element. Returns everything written.
    fn run(identifier: Option<&str>, parallelism: u32) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let mut template = PrintSink::<i32>::to_writer(buffer.clone());
        if let Some(identifier) = identifier {
            template = template.with_identifier(identifier);
        }
        for i in 0..parallelism {
            let mut instance = template.clone();
            instance
                .open(&RuntimeContext::for_testing(i, parallelism))
                .unwrap();
            let base = 10 * (i as i32 + 1);
            instance
                .invoke_batch(Batch::from_values(vec![base, base + 1]))
                .unwrap();
            instance.invoke(base + 2, &SinkContext::new(0)).unwrap();
            instance.finish().unwrap();
            instance.close().unwrap();
        }
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn parallelism_one_without_identifier() {
        assert_eq!(run(None, 1), "10\n11\n12\n");
    }

    #[test]
    fn parallelism_one_with_identifier() {
        assert_eq!(run(Some("out"), 1), "out> 10\nout> 11\nout> 12\n");
    }

    #[test]
    fn parallelism_two_without_identifier() {
        assert_eq!(run(None, 2), "1> 10\n1> 11\n1> 12\n2> 20\n2> 21\n2> 22\n");
    }

    #[test]
    fn parallelism_two_with_identifier() {
        assert_eq!(
            run(Some("sink"), 2),
            "sink:1> 10\nsink:1> 11\nsink:1> 12\nsink:2> 20\nsink:2> 21\nsink:2> 22\n"
        );
    }

    #[test]
    fn two_digit_subtask_numbers() {
        let out = run(Some("s"), 12);
        assert!(out.ends_with("s:12> 120\ns:12> 121\ns:12> 122\n"), "{out}");
    }

    #[test]
    fn empty_identifier_counts_as_none() {
        assert_eq!(run(Some(""), 1), "10\n11\n12\n");
    }

    #[test]
    fn stdout_and_stderr_sinks_open_and_flush() {
        for mut sink in [PrintSink::<u8>::stdout(), PrintSink::stderr()] {
            sink.open(&RuntimeContext::for_testing(0, 1)).unwrap();
            sink.invoke_batch(Batch::new()).unwrap();
            sink.finish().unwrap();
            sink.close().unwrap();
        }
    }

    #[test]
    fn to_writer_is_public_and_shared_between_clones() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = PrintSink::<String>::to_writer(buffer.clone()).with_identifier("w");
        let mut a = sink.clone();
        a.open(&RuntimeContext::for_testing(0, 1)).unwrap();
        a.invoke("x".to_string(), &SinkContext::new(0)).unwrap();
        a.close().unwrap();
        assert_eq!(buffer.lock().unwrap().as_slice(), b"w> x\n");
    }
}
