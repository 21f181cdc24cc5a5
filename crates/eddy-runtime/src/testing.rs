//! Operator test harnesses (in the spirit of Flink's `OneInputStreamOperatorTestHarness`):
//! drive one operator subtask — or all subtasks of a keyed operator — with records, watermarks
//! and processing time, take snapshots, and restore them into fresh instances at the same or
//! another parallelism.
//!
//! ```ignore
//! let mut harness = OneInputHarness::open(logic, HarnessSetup::new(0, 1), None)?;
//! harness.process_element(value, 10)?;
//! harness.process_watermark(100)?;
//! let state = harness.snapshot()?;
//! ```

use eddy_core::keygroup::{operator_index_for_key_group, KeyHasher};
use eddy_core::{Data, FnResult, Key, StreamRecord, Watermark};
use eddy_functions::{FunctionSnapshotContext, RuntimeContext, SideOutputs};
use eddy_state::time::ProcessingTimeService;

use crate::operators::{OneInputLogic, OperatorStateHandler, TwoInputLogic};
use crate::output::Batch;
use crate::snapshot::{OperatorSubtaskState, PendingSubtaskState, RestoredOperatorState};

/// Where a harnessed subtask runs, and how.
#[derive(Debug, Clone)]
pub struct HarnessSetup {
    /// This subtask's index.
    pub subtask: u32,
    /// The operator's parallelism.
    pub parallelism: u32,
    /// The number of key groups (`pipeline.max-parallelism`).
    pub max_parallelism: u32,
    /// The processing time the clock starts at.
    pub processing_time: i64,
}

impl HarnessSetup {
    /// Subtask `subtask` of `parallelism`, with 128 key groups, the clock at 0.
    pub fn new(subtask: u32, parallelism: u32) -> Self {
        HarnessSetup {
            subtask,
            parallelism,
            max_parallelism: 128,
            processing_time: 0,
        }
    }

    /// The runtime context of the subtask.
    pub fn runtime_context(&self) -> RuntimeContext {
        let mut ctx = RuntimeContext::for_testing(self.subtask, self.parallelism);
        ctx.max_parallelism = self.max_parallelism;
        ctx.operator_name = "Harnessed".into();
        ctx.task_name = "Harnessed".into();
        ctx
    }
}

/// One subtask of a one-input operator, driven by hand.
pub struct OneInputHarness<I, O, L> {
    logic: L,
    ctx: RuntimeContext,
    clock: ProcessingTimeService,
    operator_state: OperatorStateHandler,
    side_outputs: SideOutputs,
    records: Vec<StreamRecord<O>>,
    watermarks: Vec<i64>,
    checkpoints: u64,
    _input: std::marker::PhantomData<fn(I)>,
}

impl<I: Data, O: Data, L: OneInputLogic<I, O>> OneInputHarness<I, O, L> {
    /// Opens `logic` as the subtask `setup` describes, restoring `restored` if given (as a
    /// task does: operator state before the functions' `open`, keyed state after it).
    /// `clock` must be the clock the logic was built with (see
    /// [`ProcessingTimeService::manual`]).
    pub fn open(
        mut logic: L,
        setup: &HarnessSetup,
        clock: ProcessingTimeService,
        restored: Option<RestoredOperatorState>,
    ) -> FnResult<Self> {
        let ctx = setup.runtime_context();
        clock.set_manual_time(setup.processing_time);
        let restored = restored.unwrap_or_default();
        let mut operator_state = OperatorStateHandler::new(restored.operator);
        operator_state.initialize(&ctx, |init| logic.initialize_state(init))?;
        logic.open(&ctx)?;
        if !restored.keyed.is_empty() {
            logic.restore_keyed_state(&restored.keyed, &ctx)?;
        }
        Ok(OneInputHarness {
            logic,
            ctx,
            clock,
            operator_state,
            side_outputs: SideOutputs::new(),
            records: Vec::new(),
            watermarks: Vec::new(),
            checkpoints: 0,
            _input: std::marker::PhantomData,
        })
    }

    /// Collects what the logic returned, and what it held back.
    fn collect(&mut self, out: Batch<O>) -> FnResult<()> {
        self.records.extend(out.into_records());
        while let Some(more) = self
            .logic
            .pending_output(&self.ctx, &mut self.side_outputs)?
        {
            self.records.extend(more.into_records());
        }
        match self.side_outputs.take_error() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// Processes one record.
    pub fn process_element(&mut self, value: I, timestamp: i64) -> FnResult<()> {
        let mut batch = Batch::with_capacity(1);
        batch.push(value, timestamp);
        self.process_batch(batch)
    }

    /// Processes a batch of records.
    pub fn process_batch(&mut self, batch: Batch<I>) -> FnResult<()> {
        let out = self
            .logic
            .process(batch, &self.ctx, &mut self.side_outputs)?;
        self.collect(out)
    }

    /// The input's watermark advances to `watermark`: event-time timers and windows fire.
    pub fn process_watermark(&mut self, watermark: i64) -> FnResult<()> {
        let out =
            self.logic
                .on_watermark(Watermark(watermark), &self.ctx, &mut self.side_outputs)?;
        self.collect(out)?;
        self.watermarks.push(watermark);
        Ok(())
    }

    /// Moves processing time to `now` and ticks the operator: due processing-time timers
    /// fire.
    pub fn set_processing_time(&mut self, now: i64) -> FnResult<()> {
        if !self.clock.set_manual_time(now) {
            return Err(
                "the harness's clock is the wall clock; build the operator with \
                        ProcessingTimeService::manual(..) to control processing time"
                    .into(),
            );
        }
        let out = self
            .logic
            .on_processing_time(&self.ctx, &mut self.side_outputs)?;
        self.collect(out)
    }

    /// The input ended.
    pub fn end_input(&mut self) -> FnResult<()> {
        let out = self.logic.end_of_input(&self.ctx, &mut self.side_outputs)?;
        self.collect(out)
    }

    /// Snapshots the subtask: the functions' operator state and the keyed state with its
    /// timers, both parts at once.
    pub fn snapshot(&mut self) -> FnResult<OperatorSubtaskState> {
        self.snapshot_pending()?.finish()
    }

    /// Takes the synchronous part of a snapshot only; the harness may go on processing
    /// before the returned state is finished.
    pub fn snapshot_pending(&mut self) -> FnResult<PendingSubtaskState> {
        self.checkpoints += 1;
        let context = FunctionSnapshotContext::new(self.checkpoints, self.clock.now());
        let logic = &mut self.logic;
        let operator = self
            .operator_state
            .snapshot(&context, |ctx, store| logic.snapshot_state(ctx, store))?;
        let keyed = self.logic.snapshot_keyed_state(&self.ctx)?;
        Ok(PendingSubtaskState { keyed, operator })
    }

    /// Takes the records output so far.
    pub fn take_output(&mut self) -> Vec<StreamRecord<O>> {
        std::mem::take(&mut self.records)
    }

    /// The watermarks processed so far.
    pub fn watermarks(&self) -> &[i64] {
        &self.watermarks
    }

    /// Closes the operator.
    pub fn close(mut self) -> FnResult<Vec<StreamRecord<O>>> {
        self.logic.close()?;
        Ok(self.records)
    }
}

/// Every subtask of a keyed one-input operator: records go to the subtask owning their
/// key's key group, watermarks and processing time reach all of them.
pub struct KeyedHarness<I, O, K, L> {
    subtasks: Vec<OneInputHarness<I, O, L>>,
    key_of: fn(&I) -> K,
    /// Which records every subtask receives (a broadcast input) instead of their key's.
    broadcast: fn(&I) -> bool,
    max_parallelism: u32,
    processing_time: i64,
}

impl<I, O, K, L> KeyedHarness<I, O, K, L>
where
    I: Data,
    O: Data,
    K: Key,
    L: OneInputLogic<I, O>,
{
    /// `parallelism` subtasks made by `make` (given the clock to build the operator on),
    /// restoring `restored` (the old subtasks' states, rescaled to `parallelism`) if given.
    pub fn open(
        parallelism: u32,
        key_of: fn(&I) -> K,
        mut make: impl FnMut(ProcessingTimeService) -> L,
        restored: Option<&[OperatorSubtaskState]>,
        processing_time: i64,
    ) -> FnResult<Self> {
        let mut shares = match restored {
            Some(old) => RestoredOperatorState::rescale(old, parallelism)?
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![None; parallelism as usize],
        };
        let mut subtasks = Vec::new();
        for subtask in 0..parallelism {
            let setup = HarnessSetup {
                processing_time,
                ..HarnessSetup::new(subtask, parallelism)
            };
            let clock = ProcessingTimeService::manual(processing_time);
            let share = shares[subtask as usize].take();
            subtasks.push(OneInputHarness::open(
                make(clock.clone()),
                &setup,
                clock,
                share,
            )?);
        }
        let max_parallelism = HarnessSetup::new(0, parallelism).max_parallelism;
        Ok(KeyedHarness {
            subtasks,
            key_of,
            broadcast: |_| false,
            max_parallelism,
            processing_time,
        })
    }

    /// Sends the records `broadcast` selects to every subtask (a broadcast input) rather
    /// than to the one owning their key.
    pub fn with_broadcast(mut self, broadcast: fn(&I) -> bool) -> Self {
        self.broadcast = broadcast;
        self
    }

    /// Processes one record on the subtask owning its key (on every subtask, for a
    /// broadcast record).
    pub fn process_element(&mut self, value: I, timestamp: i64) -> FnResult<()> {
        if (self.broadcast)(&value) {
            return self
                .subtasks
                .iter_mut()
                .try_for_each(|s| s.process_element(value.clone(), timestamp));
        }
        let key = (self.key_of)(&value);
        let key_group = KeyHasher::new().key_group(&key, self.max_parallelism)?;
        let parallelism = self.subtasks.len() as u32;
        let subtask = operator_index_for_key_group(self.max_parallelism, parallelism, key_group);
        self.subtasks[subtask as usize].process_element(value, timestamp)
    }

    /// Every subtask's input watermark advances to `watermark`.
    pub fn process_watermark(&mut self, watermark: i64) -> FnResult<()> {
        self.subtasks
            .iter_mut()
            .try_for_each(|s| s.process_watermark(watermark))
    }

    /// Moves every subtask's processing time to `now`.
    pub fn set_processing_time(&mut self, now: i64) -> FnResult<()> {
        self.processing_time = now;
        self.subtasks
            .iter_mut()
            .try_for_each(|s| s.set_processing_time(now))
    }

    /// The input of every subtask ended.
    pub fn end_input(&mut self) -> FnResult<()> {
        self.subtasks.iter_mut().try_for_each(|s| s.end_input())
    }

    /// Snapshots every subtask, in subtask order.
    pub fn snapshot(&mut self) -> FnResult<Vec<OperatorSubtaskState>> {
        self.subtasks.iter_mut().map(|s| s.snapshot()).collect()
    }

    /// Takes the synchronous part of a snapshot of every subtask, in subtask order.
    pub fn snapshot_pending(&mut self) -> FnResult<Vec<PendingSubtaskState>> {
        self.subtasks
            .iter_mut()
            .map(|s| s.snapshot_pending())
            .collect()
    }

    /// The processing time the subtasks are at.
    pub fn processing_time(&self) -> i64 {
        self.processing_time
    }

    /// Takes every subtask's output so far, subtask after subtask.
    pub fn take_output(&mut self) -> Vec<StreamRecord<O>> {
        self.subtasks
            .iter_mut()
            .flat_map(|s| s.take_output())
            .collect()
    }

    /// Closes every subtask and returns the output not taken yet.
    pub fn close(self) -> FnResult<Vec<StreamRecord<O>>> {
        let mut records = Vec::new();
        for subtask in self.subtasks {
            records.extend(subtask.close()?);
        }
        Ok(records)
    }
}

/// What a keyed harness is fed.
#[derive(Debug, Clone, PartialEq)]
pub enum HarnessInput<I> {
    /// A record and its timestamp.
    Record(I, i64),
    /// A watermark.
    Watermark(i64),
    /// Processing time moves to this time.
    ProcessingTime(i64),
}

impl<I: Data, O: Data, K: Key, L: OneInputLogic<I, O>> KeyedHarness<I, O, K, L> {
    /// Feeds `inputs` in order.
    pub fn feed(&mut self, inputs: impl IntoIterator<Item = HarnessInput<I>>) -> FnResult<()> {
        for input in inputs {
            match input {
                HarnessInput::Record(value, timestamp) => self.process_element(value, timestamp)?,
                HarnessInput::Watermark(watermark) => self.process_watermark(watermark)?,
                HarnessInput::ProcessingTime(now) => self.set_processing_time(now)?,
            }
        }
        Ok(())
    }
}

/// Runs a keyed operator over `inputs` at `parallelism_before`, snapshots it after the first
/// `cut` inputs, restores the snapshot into fresh instances at `parallelism_after`, feeds
/// them the rest and ends the input: the complete output of the interrupted run. Compare it
/// with the output of an uninterrupted run (or a reference computed independently).
///
/// The snapshot's asynchronous part runs on another thread while the old instances go on
/// processing the rest of the input (their further output is dropped), as a checkpoint
/// runs while records keep flowing: whatever they change after the synchronous part must
/// not reach the snapshot.
pub fn run_with_restore<I, O, K, L>(
    inputs: &[HarnessInput<I>],
    cut: usize,
    parallelism: (u32, u32),
    key_of: fn(&I) -> K,
    make: impl FnMut(ProcessingTimeService) -> L,
) -> FnResult<Vec<StreamRecord<O>>>
where
    I: Data,
    O: Data,
    K: Key,
    L: OneInputLogic<I, O>,
{
    run_with_restore_routed(inputs, cut, parallelism, (key_of, |_| false), make)
}

/// How a keyed harness routes records: by key (`.0`), or to every subtask when `.1` says
/// so (a broadcast input).
pub type Route<I, K> = (fn(&I) -> K, fn(&I) -> bool);

/// [`run_with_restore`] where the records `route.1` selects reach every subtask (a
/// broadcast input) and the others the subtask of their key (`route.0`).
pub fn run_with_restore_routed<I, O, K, L>(
    inputs: &[HarnessInput<I>],
    cut: usize,
    (parallelism_before, parallelism_after): (u32, u32),
    (key_of, broadcast): Route<I, K>,
    mut make: impl FnMut(ProcessingTimeService) -> L,
) -> FnResult<Vec<StreamRecord<O>>>
where
    I: Data,
    O: Data,
    K: Key,
    L: OneInputLogic<I, O>,
{
    let mut before = KeyedHarness::open(parallelism_before, key_of, &mut make, None, 0)?
        .with_broadcast(broadcast);
    before.feed(inputs[..cut].iter().cloned())?;
    let pending = before.snapshot_pending()?;
    let processing_time = before.processing_time();
    let mut output = before.take_output();
    let finishing = std::thread::spawn(move || {
        pending
            .into_iter()
            .map(PendingSubtaskState::finish)
            .collect::<FnResult<Vec<_>>>()
    });
    before.feed(inputs[cut..].iter().cloned())?;
    before.end_input()?;
    before.close()?;
    let snapshot = finishing
        .join()
        .map_err(|_| "the snapshot's asynchronous part panicked")??;
    let mut after = KeyedHarness::open(
        parallelism_after,
        key_of,
        &mut make,
        Some(&snapshot),
        processing_time,
    )?
    .with_broadcast(broadcast);
    after.feed(inputs[cut..].iter().cloned())?;
    after.end_input()?;
    output.extend(after.close()?);
    Ok(output)
}

/// A record of either input of a two-input operator, for driving it through the one-input
/// harnesses with [`TwoInputAdapter`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum EitherInput<A, B> {
    /// A record of the first input.
    First(A),
    /// A record of the second input.
    Second(B),
}

/// A two-input operator's logic seen as a one-input logic over [`EitherInput`]: each run of
/// records of one input goes to that input's hook, so the one-input harnesses drive it
/// (watermarks then reach both inputs at once).
pub struct TwoInputAdapter<I1, I2, L> {
    logic: L,
    _inputs: std::marker::PhantomData<fn(I1, I2)>,
}

impl<I1, I2, L> TwoInputAdapter<I1, I2, L> {
    /// Adapts `logic`.
    pub fn new(logic: L) -> Self {
        TwoInputAdapter {
            logic,
            _inputs: std::marker::PhantomData,
        }
    }
}

impl<I1, I2, O, L> OneInputLogic<EitherInput<I1, I2>, O> for TwoInputAdapter<I1, I2, L>
where
    I1: Send,
    I2: Send,
    L: TwoInputLogic<I1, I2, O>,
{
    fn initialize_state(
        &mut self,
        ctx: &mut eddy_functions::FunctionInitializationContext<'_>,
    ) -> FnResult<()> {
        self.logic.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut eddy_state::OperatorStateStore,
    ) -> FnResult<()> {
        self.logic.snapshot_state(ctx, store)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.logic.open(ctx)
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<eddy_state::PendingKeyedSnapshot>> {
        self.logic.snapshot_keyed_state(ctx)
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[eddy_state::KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        self.logic.restore_keyed_state(snapshots, ctx)
    }

    fn process(
        &mut self,
        batch: Batch<EitherInput<I1, I2>>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out: Vec<StreamRecord<O>> = Vec::new();
        let mut firsts = Batch::new();
        let mut seconds = Batch::new();
        for record in batch.into_records() {
            match record.value {
                EitherInput::First(value) => {
                    if !seconds.is_empty() {
                        let run = std::mem::take(&mut seconds);
                        out.extend(self.logic.process2(run, ctx, side_outputs)?.into_records());
                    }
                    firsts.push(value, record.timestamp);
                }
                EitherInput::Second(value) => {
                    if !firsts.is_empty() {
                        let run = std::mem::take(&mut firsts);
                        out.extend(self.logic.process1(run, ctx, side_outputs)?.into_records());
                    }
                    seconds.push(value, record.timestamp);
                }
            }
        }
        if !firsts.is_empty() {
            out.extend(
                self.logic
                    .process1(firsts, ctx, side_outputs)?
                    .into_records(),
            );
        }
        if !seconds.is_empty() {
            out.extend(
                self.logic
                    .process2(seconds, ctx, side_outputs)?
                    .into_records(),
            );
        }
        Ok(out.into_iter().collect())
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.logic.on_watermark(watermark, ctx, side_outputs)
    }

    fn on_processing_time(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.logic.on_processing_time(ctx, side_outputs)
    }

    fn end_of_input(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.logic.end_of_input(ctx, side_outputs)
    }

    fn close(&mut self) -> FnResult<()> {
        self.logic.close()
    }
}
