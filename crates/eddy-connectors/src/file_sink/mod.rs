//! An exactly-once file sink (Flink's `FileSink` in row format).
//!
//! Elements are encoded into **part files** under `<base path>/<bucket>/`. A part file is
//! written as a hidden in-progress file (`.part-<run>-<subtask>-<n>.inprogress`); when it
//! rolls (size, age, inactivity) or at a checkpoint barrier it is closed and **pending**; when
//! the checkpoint completes it is renamed to its visible, **finished** name
//! (`part-<run>-<subtask>-<n>`). Readers of the output only ever see finished files, each
//! exactly once, however often the job fails and restarts: the sink is a
//! [`TwoPhaseCommitSink`] whose transactions are the part files closed since the last
//! checkpoint. `<run>` names the job and the attempt that wrote the file.
//!
//! After a failure the pending files of the checkpoint restored from are committed; hidden
//! files that a failed run wrote after its last checkpoint are deleted (by subtask 0 of the
//! recovered sink, before anything new is written). One base path belongs to one job.
//!
//! ```ignore
//! let sink = FileSink::for_row_format("/tmp/out", |line: &String, out: &mut Vec<u8>| {
//!     out.extend_from_slice(line.as_bytes());
//!     out.push(b'\n');
//! })
//! .with_rolling_policy(DefaultRollingPolicy::default().with_max_part_size(1 << 20))
//! .build();
//! stream.add_sink(sink);
//! ```

mod bucket;
mod rolling;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use eddy_core::FnResult;
use eddy_functions::{RuntimeContext, SinkContext, TwoPhaseCommitSink, TwoPhaseCommitSinkFunction};

pub use bucket::{
    BasePathBucketAssigner, BucketAssigner, BucketContext, DateTimeBucketAssigner, FnBucketAssigner,
};
pub use rolling::DefaultRollingPolicy;

/// The suffix of hidden in-progress and pending part files.
const IN_PROGRESS: &str = ".inprogress";

/// The buffer of each open part file.
const WRITE_BUFFER: usize = 64 * 1024;

/// A builder of [`FileSink`]s.
#[derive(Clone)]
pub struct FileSink<T, E, B = DateTimeBucketAssigner> {
    writer: FileSinkWriter<T, E, B>,
}

impl<T, E> FileSink<T, E, DateTimeBucketAssigner>
where
    T: Send + 'static,
    E: FnMut(&T, &mut Vec<u8>) + Clone + Send + 'static,
{
    /// A sink writing each element as `encoder` encodes it (append the bytes, including any
    /// line separator) into part files under `base_path`, bucketed by hour.
    pub fn for_row_format(base_path: impl Into<PathBuf>, encoder: E) -> Self {
        FileSink {
            writer: FileSinkWriter::unopened(
                base_path.into(),
                encoder,
                DateTimeBucketAssigner::default(),
                DefaultRollingPolicy::default(),
                ("part".into(), String::new()),
            ),
        }
    }
}

impl<T, E, B> FileSink<T, E, B>
where
    T: Send + 'static,
    E: FnMut(&T, &mut Vec<u8>) + Clone + Send + 'static,
    B: BucketAssigner<T>,
{
    /// Buckets elements with `assigner` instead.
    pub fn with_bucket_assigner<B2: BucketAssigner<T>>(self, assigner: B2) -> FileSink<T, E, B2> {
        let w = self.writer;
        FileSink {
            writer: FileSinkWriter::unopened(
                w.base,
                w.encoder,
                assigner,
                w.policy,
                (w.prefix, w.suffix),
            ),
        }
    }

    /// Rolls part files by `policy`.
    pub fn with_rolling_policy(mut self, policy: DefaultRollingPolicy) -> Self {
        self.writer.policy = policy;
        self
    }

    /// Names part files `<prefix>-…<suffix>` (Flink's `OutputFileConfig`; default `part`
    /// and no suffix).
    pub fn with_output_file_config(mut self, prefix: &str, suffix: &str) -> Self {
        self.writer.prefix = prefix.to_string();
        self.writer.suffix = suffix.to_string();
        self
    }

    /// The sink function to add to a stream.
    pub fn build(self) -> TwoPhaseCommitSinkFunction<FileSinkWriter<T, E, B>, T> {
        TwoPhaseCommitSinkFunction::new(self.writer)
    }
}

/// A part file closed by a transaction: where it is, and the name it gets when committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPart {
    /// The hidden in-progress file.
    pub hidden: PathBuf,
    /// The visible name it is renamed to.
    pub visible: PathBuf,
}

/// The part files a transaction closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTransaction {
    /// Closed part files, in the order they were closed.
    pub parts: Vec<PendingPart>,
}

struct OpenPart {
    part: PendingPart,
    file: BufWriter<File>,
    size: u64,
    opened: i64,
    last_write: i64,
}

/// The writing side of a [`FileSink`]: a [`TwoPhaseCommitSink`] over part files.
pub struct FileSinkWriter<T, E, B> {
    base: PathBuf,
    encoder: E,
    assigner: B,
    policy: DefaultRollingPolicy,
    prefix: String,
    suffix: String,
    /// The job and attempt writing, in file names: `<12 hex digits of the job id>a<attempt>`.
    run: String,
    subtask: u32,
    counter: u64,
    open: HashMap<String, OpenPart>,
    last_inactivity_check: i64,
    scratch: Vec<u8>,
    _input: std::marker::PhantomData<fn(T)>,
}

impl<T, E: Clone, B: Clone> Clone for FileSinkWriter<T, E, B> {
    /// An unopened copy (the runtime clones sinks before `open`).
    fn clone(&self) -> Self {
        FileSinkWriter::unopened(
            self.base.clone(),
            self.encoder.clone(),
            self.assigner.clone(),
            self.policy,
            (self.prefix.clone(), self.suffix.clone()),
        )
    }
}

impl<T, E, B> FileSinkWriter<T, E, B> {
    /// A writer that has not opened yet, naming part files `<prefix>-…<suffix>`.
    fn unopened(
        base: PathBuf,
        encoder: E,
        assigner: B,
        policy: DefaultRollingPolicy,
        (prefix, suffix): (String, String),
    ) -> Self {
        FileSinkWriter {
            base,
            encoder,
            assigner,
            policy,
            prefix,
            suffix,
            run: String::new(),
            subtask: 0,
            counter: 0,
            open: HashMap::new(),
            last_inactivity_check: 0,
            scratch: Vec::new(),
            _input: std::marker::PhantomData,
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> eddy_core::FunctionError {
    format!("file sink: {what} {}: {e}", path.display()).into()
}

impl<T, E, B> FileSinkWriter<T, E, B> {
    /// Closes an open part file into `transaction`.
    fn close_part(part: OpenPart, transaction: &mut FileTransaction) -> FnResult<()> {
        let OpenPart { part, file, .. } = part;
        let file = file
            .into_inner()
            .map_err(|e| io_error("writing", &part.hidden, e.into_error()))?;
        file.sync_all()
            .map_err(|e| io_error("syncing", &part.hidden, e))?;
        transaction.parts.push(part);
        Ok(())
    }

    fn open_part(&mut self, bucket: &str, now: i64) -> FnResult<OpenPart> {
        let folder = self.base.join(bucket);
        fs::create_dir_all(&folder).map_err(|e| io_error("creating", &folder, e))?;
        let name = format!(
            "{}-{}-{}-{}{}",
            self.prefix, self.run, self.subtask, self.counter, self.suffix
        );
        self.counter += 1;
        let part = PendingPart {
            hidden: folder.join(format!(".{name}{IN_PROGRESS}")),
            visible: folder.join(name),
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&part.hidden)
            .map_err(|e| io_error("creating", &part.hidden, e))?;
        Ok(OpenPart {
            part,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            size: 0,
            opened: now,
            last_write: now,
        })
    }

    /// Whether `file` is a hidden part file of this sink written by another run.
    fn is_leftover(&self, file: &str) -> bool {
        let Some(rest) = file
            .strip_prefix('.')
            .and_then(|f| f.strip_prefix(self.prefix.as_str()))
            .and_then(|f| f.strip_prefix('-'))
        else {
            return false;
        };
        file.ends_with(IN_PROGRESS) && rest.split('-').next() != Some(self.run.as_str())
    }

    /// Deletes the leftovers of other runs under `folder`.
    fn delete_leftovers(&self, folder: &Path) -> FnResult<()> {
        let entries = match fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("listing", folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error("listing", folder, e))?;
            let path = entry.path();
            if path.is_dir() {
                self.delete_leftovers(&path)?;
            } else if self.is_leftover(&entry.file_name().to_string_lossy()) {
                tracing::info!(file = %path.display(), "file sink: deleting a part file of a failed run");
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("deleting", &path, e)),
                }
            }
        }
        Ok(())
    }
}

impl<T, E, B> TwoPhaseCommitSink<T> for FileSinkWriter<T, E, B>
where
    T: Send + 'static,
    E: FnMut(&T, &mut Vec<u8>) + Clone + Send + 'static,
    B: BucketAssigner<T>,
{
    type Transaction = FileTransaction;

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        let job = ctx.job_id.to_string();
        self.run = format!("{}a{}", &job[..12], ctx.attempt_number);
        self.subtask = ctx.subtask_index;
        fs::create_dir_all(&self.base).map_err(|e| io_error("creating", &self.base, e))
    }

    fn recovered(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        if ctx.subtask_index == 0 {
            self.delete_leftovers(&self.base)?;
        }
        Ok(())
    }

    fn begin_transaction(&mut self) -> FnResult<FileTransaction> {
        Ok(FileTransaction::default())
    }

    fn invoke(
        &mut self,
        transaction: &mut FileTransaction,
        value: T,
        ctx: &SinkContext,
    ) -> FnResult<()> {
        let now = now_millis();
        let bucket_ctx = BucketContext {
            processing_time: now,
            timestamp: ctx.timestamp(),
        };
        let bucket = self.assigner.bucket_id(&value, &bucket_ctx);
        if !self.open.contains_key(&bucket) {
            let part = self.open_part(&bucket, now)?;
            self.open.insert(bucket.clone(), part);
        }
        self.scratch.clear();
        (self.encoder)(&value, &mut self.scratch);
        let part = self.open.get_mut(&bucket).expect("opened above");
        part.file
            .write_all(&self.scratch)
            .map_err(|e| io_error("writing", &part.part.hidden, e))?;
        part.size += self.scratch.len() as u64;
        part.last_write = now;
        if self.policy.rolls_after_write(part.size, part.opened, now) {
            let part = self.open.remove(&bucket).expect("present");
            Self::close_part(part, transaction)?;
        }
        // Inactive parts of other buckets are looked at about once a second.
        if now - self.last_inactivity_check >= 1000 && self.open.len() > 1 {
            self.last_inactivity_check = now;
            let policy = self.policy;
            let inactive: Vec<String> = self
                .open
                .iter()
                .filter(|(_, p)| policy.rolls_inactive(p.last_write, now))
                .map(|(b, _)| b.clone())
                .collect();
            for bucket in inactive {
                let part = self.open.remove(&bucket).expect("present");
                Self::close_part(part, transaction)?;
            }
        }
        Ok(())
    }

    fn pre_commit(&mut self, transaction: &mut FileTransaction) -> FnResult<()> {
        let mut open: Vec<(String, OpenPart)> = self.open.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, part) in open {
            Self::close_part(part, transaction)?;
        }
        Ok(())
    }

    fn commit(&mut self, transaction: FileTransaction) -> FnResult<()> {
        for part in transaction.parts {
            match fs::rename(&part.hidden, &part.visible) {
                Ok(()) => {}
                // Committed before (by this subtask before a failure, or by another one
                // after a restore): nothing to do.
                Err(e) if e.kind() == ErrorKind::NotFound && part.visible.exists() => {}
                Err(e) => {
                    return Err(format!(
                        "file sink: cannot commit the pending part file {} of a completed \
                         checkpoint: {e}",
                        part.hidden.display()
                    )
                    .into())
                }
            }
        }
        Ok(())
    }

    fn abort(&mut self, transaction: FileTransaction) -> FnResult<()> {
        let open: Vec<PendingPart> = self.open.drain().map(|(_, p)| p.part).collect();
        for part in transaction.parts.iter().chain(&open) {
            match fs::remove_file(&part.hidden) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("deleting", &part.hidden, e)),
            }
        }
        Ok(())
    }
}
