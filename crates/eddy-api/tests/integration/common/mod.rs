//! Helpers shared by the integration tests (`mod common;`).
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

pub mod checkpointed;
pub mod counting;
pub mod event_time;
pub mod http;
pub mod windows;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_api::prelude::*;

/// How long any single test may run before the watchdog declares it hung. Generous on purpose:
/// this is a guard against hangs, not a timing assertion.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// A local environment that ignores `./conf` and any CLI context, with the given default
/// parallelism.
pub fn env(parallelism: u32) -> StreamExecutionEnvironment {
    env_with(Configuration::new(), parallelism)
}

/// The variable that runs the tests' jobs on another keyed-state backend (`hashmap` or
/// `rocksdb`): `scripts/test.sh` runs the window, timer, join and broadcast suites once more
/// with `EDDY_TEST_STATE_BACKEND=rocksdb`, so every one of them covers both backends.
pub const STATE_BACKEND_VARIABLE: &str = "EDDY_TEST_STATE_BACKEND";

/// The variable (`1`) that makes the tests' checkpoints incremental: `scripts/test.sh` sets it
/// for its RocksDB pass, so every failover, window, timer and join suite restores from
/// incremental checkpoints there (savepoints and final states stay full).
pub const INCREMENTAL_CHECKPOINTS_VARIABLE: &str = "EDDY_TEST_INCREMENTAL_CHECKPOINTS";

/// Like [`env`] with a configuration. Unless `config` chooses a state backend, the one in
/// [`STATE_BACKEND_VARIABLE`] is used, if set; unless it chooses, checkpoints are
/// incremental when [`INCREMENTAL_CHECKPOINTS_VARIABLE`] is `1`.
pub fn env_with(mut config: Configuration, parallelism: u32) -> StreamExecutionEnvironment {
    if config.get_string("state.backend.type").is_none() {
        if let Ok(backend) = std::env::var(STATE_BACKEND_VARIABLE) {
            config.set_string("state.backend.type", backend);
        }
    }
    if config
        .get_string("execution.checkpointing.incremental")
        .is_none()
        && std::env::var(INCREMENTAL_CHECKPOINTS_VARIABLE).is_ok_and(|v| v == "1")
    {
        config.set_string("execution.checkpointing.incremental", "true");
    }
    let env = StreamExecutionEnvironment::with_configuration(config);
    env.set_parallelism(parallelism);
    env
}

/// The keyed-state backends (`state.backend.type`) this build can run: `hashmap`, and
/// `rocksdb` when built with the `rocksdb` feature (CI builds with all features).
pub fn state_backends() -> Vec<&'static str> {
    let mut backends = vec!["hashmap"];
    if cfg!(feature = "rocksdb") {
        backends.push("rocksdb");
    }
    backends
}

/// An environment of `parallelism` whose keyed state lives in `backend`.
pub fn env_on_backend(backend: &str, parallelism: u32) -> StreamExecutionEnvironment {
    let mut config = Configuration::new();
    config.set_string("state.backend.type", backend);
    env_with(config, parallelism)
}

/// Runs `body` on its own thread and fails the test if it does not end within [`WATCHDOG`]
/// (a panic inside `body` is re-raised as the test's panic).
pub fn bounded<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(value) => {
            let _ = handle.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body neither returned nor panicked"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test did not finish within {WATCHDOG:?}: the job hangs")
        }
    }
}

/// Shared storage of a [`RecordingSink`]: `(subtask_index, value)` in arrival order.
pub type Records<T> = Arc<Mutex<Vec<(u32, T)>>>;

/// A sink recording every element together with the index of the sink subtask that received
/// it (read from the [`RuntimeContext`] in `open`).
#[derive(Clone)]
pub struct RecordingSink<T> {
    records: Records<T>,
    subtask: Option<u32>,
}

impl<T> RecordingSink<T> {
    /// A sink and the handle on what it records.
    pub fn new() -> (Self, Records<T>) {
        let records: Records<T> = Arc::new(Mutex::new(Vec::new()));
        (
            RecordingSink {
                records: records.clone(),
                subtask: None,
            },
            records,
        )
    }
}

impl<T: Data> SinkFunction<T> for RecordingSink<T> {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = Some(ctx.subtask_index);
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        let subtask = self.subtask.ok_or("invoke before open")?;
        self.records.lock().unwrap().push((subtask, value));
        Ok(())
    }
}

/// Everything recorded so far.
pub fn recorded<T: Clone>(records: &Records<T>) -> Vec<(u32, T)> {
    records.lock().unwrap().clone()
}

/// Every value a [`RecordingSink`] received, sorted (for outputs whose order across subtasks
/// is not defined).
pub fn recorded_sorted<T: Ord + Clone>(records: &Records<T>) -> Vec<T> {
    let mut values: Vec<T> = recorded(records).into_iter().map(|(_, v)| v).collect();
    values.sort();
    values
}

/// The recorded values grouped by sink subtask (`0..parallelism`), each in arrival order.
pub fn per_subtask<T: Clone>(records: &Records<T>, parallelism: u32) -> Vec<Vec<T>> {
    let mut out = vec![Vec::new(); parallelism as usize];
    for (subtask, value) in recorded(records) {
        assert!(
            subtask < parallelism,
            "a record reached subtask {subtask}, but the sink has parallelism {parallelism}"
        );
        out[subtask as usize].push(value);
    }
    out
}

/// [`per_subtask`] with every subtask's list sorted (for subtasks fed by several producers,
/// whose interleaving is not deterministic).
pub fn per_subtask_sorted<T: Clone + Ord>(records: &Records<T>, parallelism: u32) -> Vec<Vec<T>> {
    let mut out = per_subtask(records, parallelism);
    out.iter_mut().for_each(|v| v.sort());
    out
}

/// A bounded, parallel source: each subtask emits `(its subtask index, k)` for `k` in
/// `0..per_subtask`, in order.
#[derive(Clone)]
pub struct TaggedSource {
    per_subtask: u64,
    subtask: u32,
    next: u64,
}

impl TaggedSource {
    pub fn new(per_subtask: u64) -> Self {
        TaggedSource {
            per_subtask,
            subtask: 0,
            next: 0,
        }
    }
}

impl SourceFunction<(u32, u64)> for TaggedSource {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = ctx.subtask_index;
        self.next = 0;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, (u32, u64)>) -> FnResult<SourceStatus> {
        if self.next >= self.per_subtask {
            return Ok(SourceStatus::Finished);
        }
        let n = (out.remaining().max(1) as u64).min(self.per_subtask - self.next);
        for k in self.next..self.next + n {
            out.collect((self.subtask, k));
        }
        self.next += n;
        Ok(SourceStatus::MoreAvailable)
    }

    fn is_parallel(&self) -> bool {
        true
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// A map that tags each element with the index of the subtask that mapped it.
#[derive(Clone, Default)]
pub struct TagWithSubtask {
    subtask: u32,
}

impl<T: Data> MapFunction<T, (u32, T)> for TagWithSubtask {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = ctx.subtask_index;
        Ok(())
    }

    fn map(&mut self, value: T) -> FnResult<(u32, T)> {
        Ok((self.subtask, value))
    }
}

/// The cause of a failed job; panics on any other outcome.
pub fn failure_cause<T: std::fmt::Debug>(result: Result<T, JobError>) -> String {
    match result {
        Err(JobError::Failed { cause, .. }) => cause,
        other => panic!("expected the job to fail, got {other:?}"),
    }
}

/// The files under `dir`, in every subfolder (none if it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
