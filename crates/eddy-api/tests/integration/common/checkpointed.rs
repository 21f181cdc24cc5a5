//! Helpers for jobs that fail and recover: a sink whose output is exactly-once because it
//! lives in the sink's operator state, and a probe that makes one subtask fail once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eddy_api::prelude::*;

/// Collects its input in its operator state and hands it over once its input has ended and a
/// checkpoint holding its final state completed (at once without checkpointing): a restore
/// rolls the collected records back with everything else, so what it hands over is
/// exactly-once, however often the job failed.
#[derive(Clone)]
pub struct CheckpointedCollectSink<T> {
    state: ListStateDescriptor<T>,
    collected: Vec<T>,
    published: Arc<Mutex<Vec<T>>>,
    probe: FailOnce,
    checkpointing: bool,
    finished: bool,
    /// The last checkpoint snapshotted: the one holding the final state comes after it.
    last_snapshot: u64,
}

impl<T: Data> CheckpointedCollectSink<T> {
    /// A sink and the list it publishes into when its input ends.
    pub fn new() -> (Self, Arc<Mutex<Vec<T>>>) {
        let published = Arc::new(Mutex::new(Vec::new()));
        let sink = CheckpointedCollectSink {
            state: ListStateDescriptor::new("collected"),
            collected: Vec::new(),
            published: published.clone(),
            probe: FailOnce::never(),
            checkpointing: false,
            finished: false,
            last_snapshot: 0,
        };
        (sink, published)
    }

    /// The sink failing as `probe` says.
    pub fn failing(mut self, probe: FailOnce) -> Self {
        self.probe = probe;
        self
    }
}

impl<T: Data> SinkFunction<T> for CheckpointedCollectSink<T> {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.collected = ctx.operator_state_store().list_state(&self.state)?.get()?;
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.last_snapshot = ctx.checkpoint_id();
        store
            .list_state(&self.state)?
            .update(self.collected.clone())
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.checkpointing = ctx.checkpointing;
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.probe.check()?;
        self.collected.push(value);
        Ok(())
    }

    fn finish(&mut self) -> FnResult<()> {
        self.finished = true;
        if !self.checkpointing {
            self.publish();
        }
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        if self.finished && checkpoint_id > self.last_snapshot {
            self.publish();
        }
        Ok(())
    }
}

impl<T> CheckpointedCollectSink<T> {
    fn publish(&mut self) {
        let mut published = self.published.lock().unwrap();
        published.extend(std::mem::take(&mut self.collected));
    }
}

/// Makes a subtask instance fail at its `at`-th record: only the first instance to get there
/// ([`FailOnce::at`]), or every one ([`FailOnce::always_at`]); or, with
/// [`FailOnce::at_after_a_checkpoint`], at its `at`-th record or later, once a checkpoint has
/// completed (so that a restore has a checkpoint to start from however slow the backend), or
/// with [`FailOnce::at_after_checkpoints`] once it was told of several; a
/// [`held`](FailOnce::held) probe fails only once the test [`arm`](FailOnce::arm)s it. Clones
/// (the instances of every subtask and restart) share the count of injected failures.
#[derive(Clone)]
pub struct FailOnce {
    at: u64,
    once: bool,
    /// How many completed checkpoints an instance must be told of before it fails (0: it
    /// fails at its `at`-th record whatever the checkpoints).
    after_checkpoints: u64,
    /// How many completed checkpoints this instance was told of.
    completed: u64,
    seen: u64,
    /// Whether the test lets it fail (see [`held`](Self::held)).
    armed: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    records: Arc<AtomicU64>,
    /// [`records`](Self::records) when the first instance opened after the failure
    /// (`u64::MAX` until then).
    records_before_restart: Arc<AtomicU64>,
}

impl FailOnce {
    /// The first instance to see its `at`-th record (counted from 1) fails, no other.
    pub fn at(at: u64) -> Self {
        FailOnce {
            at,
            once: true,
            after_checkpoints: 0,
            completed: 0,
            seen: 0,
            armed: Arc::new(AtomicBool::new(true)),
            failures: Arc::new(AtomicU64::new(0)),
            records: Arc::new(AtomicU64::new(0)),
            records_before_restart: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }

    /// Every instance fails at its `at`-th record.
    pub fn always_at(at: u64) -> Self {
        FailOnce {
            once: false,
            ..FailOnce::at(at)
        }
    }

    /// The first instance to have seen `at` records and a completed checkpoint fails (with the
    /// record, or the completion notice, that makes both true), no other. Its function must
    /// pass completions on with [`checkpoint_completed`](Self::checkpoint_completed).
    pub fn at_after_a_checkpoint(at: u64) -> Self {
        FailOnce::at_after_checkpoints(at, 1)
    }

    /// [`at_after_a_checkpoint`](Self::at_after_a_checkpoint), once the instance was told of
    /// `checkpoints` completed checkpoints (`checkpoints` ≥ 1).
    pub fn at_after_checkpoints(at: u64, checkpoints: u64) -> Self {
        assert!(checkpoints >= 1, "at least one checkpoint");
        FailOnce {
            after_checkpoints: checkpoints,
            ..FailOnce::at(at)
        }
    }

    /// This probe (one failing after checkpoints) fails only after [`arm`](Self::arm): a test
    /// that must do something before the failure (however slow the machine) arms it after.
    pub fn held(self) -> Self {
        assert!(
            self.after_checkpoints(),
            "only a probe failing after checkpoints waits"
        );
        self.armed.store(false, Ordering::SeqCst);
        self
    }

    /// Lets a [`held`](Self::held) probe fail: at the next record of an instance that has seen
    /// enough records and checkpoints.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Whether failing waits for completed checkpoints.
    fn after_checkpoints(&self) -> bool {
        self.after_checkpoints > 0
    }

    /// Whether the instance was told of enough completed checkpoints to fail.
    fn checkpoints_done(&self) -> bool {
        self.completed >= self.after_checkpoints
    }

    /// A checkpoint completed (from the function's `notify_checkpoint_complete`); the error to
    /// fail with when it is time.
    pub fn checkpoint_completed(&mut self) -> FnResult<()> {
        self.completed += 1;
        if self.after_checkpoints() && self.checkpoints_done() && self.seen >= self.at {
            return self.fail();
        }
        Ok(())
    }

    /// A probe that never fails.
    pub fn never() -> Self {
        FailOnce::at(u64::MAX)
    }

    /// How many failures were injected.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    /// How many records all instances checked (a restore skips what its checkpoint covers;
    /// a fresh start would see everything again).
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::SeqCst)
    }

    /// An instance opened (from the function's `open`): the first one after the failure
    /// marks how many records the failed run had checked.
    pub fn opened(&self) {
        if self.failures() > 0 {
            let _ = self.records_before_restart.compare_exchange(
                u64::MAX,
                self.records(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// How many records the instances checked before the restart (see
    /// [`opened`](Self::opened)): a restart that starts over checks the whole input again
    /// after that, a restore less.
    pub fn records_before_restart(&self) -> u64 {
        self.records_before_restart.load(Ordering::SeqCst)
    }

    /// Counts a record; the error to fail with when it is time.
    pub fn check(&mut self) -> FnResult<()> {
        self.seen += 1;
        self.records.fetch_add(1, Ordering::SeqCst);
        let due = if self.after_checkpoints() {
            self.checkpoints_done() && self.seen >= self.at
        } else {
            self.seen == self.at
        };
        if !due {
            return Ok(());
        }
        self.fail()
    }

    /// Fails, unless a failure was injected before and only one is wanted.
    fn fail(&mut self) -> FnResult<()> {
        if !self.armed.load(Ordering::SeqCst) {
            return Ok(());
        }
        if self.after_checkpoints() && self.failures.load(Ordering::SeqCst) > 0 {
            return Ok(());
        }
        let earlier = self.failures.fetch_add(1, Ordering::SeqCst);
        if self.once && earlier > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Ok(());
        }
        Err(format!("injected failure at record {}", self.seen).into())
    }
}
