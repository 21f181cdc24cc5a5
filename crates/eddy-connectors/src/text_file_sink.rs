//! A sink writing each element as a line of text to files (Flink's `writeAsText`).

use std::fmt::{self, Display};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use eddy_core::{Batch, FnResult};
use eddy_functions::{RuntimeContext, SinkContext, SinkFunction};

/// The buffer size of the file writer.
const WRITE_BUFFER: usize = 64 * 1024;

/// What a [`TextFileSink`] does when its output file already exists (Flink's `WriteMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Fail in `open` if the output file exists.
    #[default]
    NoOverwrite,
    /// Replace an existing output file.
    Overwrite,
}

/// A sink writing `value\n` (the element's `Display` form) per element.
///
/// With parallelism 1 the path is the output file; with parallelism > 1 it is a directory and
/// subtask `i` writes the file `<path>/<i+1>`, as Flink does. Missing parent directories are
/// created. Output is buffered and flushed in `finish` and `close`.
pub struct TextFileSink<T> {
    path: PathBuf,
    mode: WriteMode,
    /// The open output file and its path.
    writer: Option<(PathBuf, BufWriter<File>)>,
    _marker: PhantomData<fn(T)>,
}

impl<T> Clone for TextFileSink<T> {
    /// An unopened copy writing to the same path (the runtime clones sinks before `open`).
    fn clone(&self) -> Self {
        TextFileSink {
            path: self.path.clone(),
            mode: self.mode,
            writer: None,
            _marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for TextFileSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextFileSink")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl<T> TextFileSink<T> {
    /// A sink writing to `path` that fails if its output file exists.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TextFileSink {
            path: path.into(),
            mode: WriteMode::NoOverwrite,
            writer: None,
            _marker: PhantomData,
        }
    }

    /// Sets what happens when the output file exists.
    pub fn with_write_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// The output path (a file with parallelism 1, a directory otherwise).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The write mode.
    pub fn write_mode(&self) -> WriteMode {
        self.mode
    }

    /// Decides this subtask's output file, creating directories as needed.
    fn output_file(&self, ctx: &RuntimeContext) -> FnResult<PathBuf> {
        let path = &self.path;
        if ctx.parallelism <= 1 {
            if path.is_dir() {
                return Err(format!(
                    "text file sink: output path {} is a directory, but with parallelism 1 it \
                     must be a file",
                    path.display()
                )
                .into());
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_dir(parent)?;
            }
            return Ok(path.clone());
        }
        if path.is_file() {
            if self.mode == WriteMode::NoOverwrite {
                return Err(format!(
                    "text file sink: output path {} is a file, but with parallelism {} it must \
                     be a directory; delete it or use WriteMode::Overwrite",
                    path.display(),
                    ctx.parallelism
                )
                .into());
            }
            // Another subtask may have replaced it already; `create_dir` reports what remains.
            let _ = fs::remove_file(path);
        }
        create_dir(path)?;
        Ok(path.join((u64::from(ctx.subtask_index) + 1).to_string()))
    }

    fn flush(&mut self) -> FnResult<()> {
        if let Some((path, writer)) = &mut self.writer {
            writer
                .flush()
                .map_err(|e| format!("text file sink: cannot write to {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// Creates `dir` and its parents.
fn create_dir(dir: &Path) -> FnResult<()> {
    fs::create_dir_all(dir).map_err(|e| {
        format!(
            "text file sink: cannot create directory {}: {e}",
            dir.display()
        )
        .into()
    })
}

impl<T: Display> TextFileSink<T> {
    fn write_line(&mut self, value: &T) -> FnResult<()> {
        let Some((path, writer)) = &mut self.writer else {
            return Err(format!(
                "text file sink {}: element received before open",
                self.path.display()
            )
            .into());
        };
        writeln!(writer, "{value}")
            .map_err(|e| format!("text file sink: cannot write to {}: {e}", path.display()).into())
    }
}

impl<T: Display + Send + 'static> SinkFunction<T> for TextFileSink<T> {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        let file = self.output_file(ctx)?;
        let mut options = OpenOptions::new();
        options.write(true);
        match self.mode {
            WriteMode::NoOverwrite => options.create_new(true),
            WriteMode::Overwrite => options.create(true).truncate(true),
        };
        let handle = options.open(&file).map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                format!(
                    "text file sink: output file {} already exists; delete it or use \
                     WriteMode::Overwrite",
                    file.display()
                )
            } else {
                format!("text file sink: cannot create {}: {e}", file.display())
            }
        })?;
        self.writer = Some((file, BufWriter::with_capacity(WRITE_BUFFER, handle)));
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.write_line(&value)
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        batch
            .values()
            .iter()
            .try_for_each(|value| self.write_line(value))
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

    /// Runs `sink` as `parallelism` subtasks; subtask `i` receives `inputs[i]` (as one batch and
    /// then element by element).
    fn run(sink: &TextFileSink<String>, inputs: &[&[&str]]) -> FnResult<()> {
        let parallelism = inputs.len() as u32;
        for (i, input) in inputs.iter().enumerate() {
            let mut instance = sink.clone();
            instance.open(&RuntimeContext::for_testing(i as u32, parallelism))?;
            let (head, tail) = input.split_at(input.len() / 2);
            instance.invoke_batch(Batch::from_values(
                head.iter().map(|s| s.to_string()).collect(),
            ))?;
            for value in tail {
                instance.invoke(value.to_string(), &SinkContext::new(0))?;
            }
            instance.finish()?;
            instance.close()?;
        }
        Ok(())
    }

    #[test]
    fn parallelism_one_writes_one_file_creating_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/out.txt");
        run(&TextFileSink::new(&path), &[&["a", "b", "c"]]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\nb\nc\n");
    }

    #[test]
    fn parallelism_two_writes_numbered_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        run(&TextFileSink::new(&path), &[&["a", "b"], &["c"]]).unwrap();
        let mut names: Vec<String> = fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["1", "2"]);
        assert_eq!(fs::read_to_string(path.join("1")).unwrap(), "a\nb\n");
        assert_eq!(fs::read_to_string(path.join("2")).unwrap(), "c\n");
    }

    #[test]
    fn no_overwrite_fails_on_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, "old\n").unwrap();
        let sink = TextFileSink::new(&path);
        assert_eq!(sink.write_mode(), WriteMode::NoOverwrite);
        let err = run(&sink, &[&["new"]]).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("already exists"), "{err}");
        assert!(err.contains("WriteMode::Overwrite"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn overwrite_replaces_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, "old content that is longer\n").unwrap();
        let sink = TextFileSink::new(&path).with_write_mode(WriteMode::Overwrite);
        run(&sink, &[&["new"]]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        // The same path, now written with parallelism 2: the file becomes a directory.
        run(&sink, &[&["x"], &["y", "z"]]).unwrap();
        assert_eq!(fs::read_to_string(path.join("1")).unwrap(), "x\n");
        assert_eq!(fs::read_to_string(path.join("2")).unwrap(), "y\nz\n");
    }

    #[test]
    fn no_overwrite_in_parallel_fails_on_existing_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("2"), "old\n").unwrap();
        let err = run(&TextFileSink::new(&path), &[&["a"], &["b"]])
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.join("2").display().to_string()), "{err}");
    }

    #[test]
    fn wrong_kind_of_path_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(&TextFileSink::new(dir.path()), &[&["a"]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let err = run(&TextFileSink::new(&file), &[&["a"], &["b"]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a directory"), "{err}");
    }

    #[test]
    fn element_before_open_is_an_error() {
        let mut sink = TextFileSink::<u8>::new("unused");
        assert!(sink.invoke(1, &SinkContext::new(0)).is_err());
    }
}
