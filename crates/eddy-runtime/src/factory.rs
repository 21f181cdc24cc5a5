//! Type-erased operator and edge factories: the job's code, as the runtime sees it.
//!
//! The DataStream API records one [`OperatorFactory`] per StreamGraph node and one
//! [`EdgeFactory`] per edge. A task builds its chain from them: each factory knows its own types
//! and checks them when it unwraps the erased output it is given, so the graph layers above stay
//! plain data and the hot path stays monomorphic.

use std::any::Any;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_core::config::RuntimeMode;
use eddy_core::{Data, Watermark};
use eddy_functions::{RuntimeContext, SideOutputs, SourceStatus};
use eddy_graph::{NodeId, PartitionerKind};
use eddy_state::time::ProcessingTimeService;
use eddy_state::StateBackendConfig;

use crate::carried::CarriedBatch;
use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;
use crate::inbox::{ChannelSender, WatermarkAt};
use crate::output::{erase, for_segments, unerase, Batch, ErasedOutput, FanOut, Output, Segment};
use crate::recycle::ReturnedBatches;
use crate::side_output::typed_side_sink;
pub use crate::side_output::{SideChannels, SideSink, SideTarget};
use crate::snapshot::RestoredOperatorState;

/// Runtime settings every operator of a task shares.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskSettings {
    /// Records per batch between tasks (`taskmanager.network.batch-size`); see
    /// [`records_per_batch`](Self::records_per_batch).
    pub batch_size: usize,
    /// Bytes of records a batch of small records fills beyond `batch_size` records
    /// (`taskmanager.memory.segment-size`; 0 when `taskmanager.network.batch-size` is set,
    /// which then fixes the count).
    #[serde(default)]
    pub batch_bytes: usize,
    /// Batches queued per channel before producers block
    /// (`taskmanager.network.memory.buffers-per-channel`).
    pub buffers_per_channel: usize,
    /// Extra batches an inbox may queue, shared by all its channels
    /// (`taskmanager.network.memory.floating-buffers-per-gate`).
    pub floating_buffers_per_gate: usize,
    /// Longest a partially filled batch waits (`execution.buffer-timeout.interval`).
    pub buffer_timeout: Duration,
    /// Period of the task's timer tick, which drives periodic watermarks
    /// (`pipeline.auto-watermark-interval`; zero: no tick).
    pub auto_watermark_interval: Duration,
    /// STREAMING or BATCH (never AUTOMATIC here: resolved when the graph is built).
    pub runtime_mode: RuntimeMode,
    /// Where keyed operators keep their state (`state.backend.type` and its options).
    pub state_backend: StateBackendConfig,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            batch_size: 1024,
            batch_bytes: DEFAULT_BATCH_BYTES,
            buffers_per_channel: 2,
            floating_buffers_per_gate: 8,
            buffer_timeout: Duration::from_millis(100),
            auto_watermark_interval: Duration::from_millis(200),
            runtime_mode: RuntimeMode::Streaming,
            state_backend: StateBackendConfig::default(),
        }
    }
}

/// Bytes of records a batch of small records fills by default: Flink's network buffer
/// (`taskmanager.memory.segment-size`, 32 KiB).
pub const DEFAULT_BATCH_BYTES: usize = 32 * 1024;

/// The most records a batch sized by its bytes holds.
pub const MAX_RECORDS_PER_BATCH: usize = 8192;

/// Records per batch of `T`: `batch_size`, or as many as fill `batch_bytes` when records of
/// `T` are small enough to be more (at most [`MAX_RECORDS_PER_BATCH`]). Every batch costs a
/// channel hand-over, and waking a blocked task costs microseconds, so batches of 8-byte
/// records hold 4096 of them, which is the bytes of Flink's network buffer.
pub fn records_per_batch<T>(batch_size: usize, batch_bytes: usize) -> usize {
    let by_bytes = (batch_bytes / std::mem::size_of::<T>().max(1)).min(MAX_RECORDS_PER_BATCH);
    batch_size.max(by_bytes).max(1)
}

impl TaskSettings {
    /// Records per batch of `T` between tasks and out of sources (see [`records_per_batch`]).
    pub fn records_per_batch<T>(&self) -> usize {
        records_per_batch::<T>(self.batch_size, self.batch_bytes)
    }
}

/// What an operator is told when it is built.
#[derive(Debug, Clone)]
pub struct OperatorSetup {
    /// Where the operator runs.
    pub runtime: RuntimeContext,
    /// The task's settings.
    pub settings: TaskSettings,
    /// The task's processing-time clock (shared by its operators).
    pub clock: ProcessingTimeService,
    /// The id the operator's state goes by in checkpoints (see
    /// [`StreamGraph::operator_id`](eddy_graph::StreamGraph::operator_id)).
    pub operator_id: String,
    /// The state to restore: the old subtasks' keyed state and this subtask's share of their
    /// operator state (empty: a fresh start).
    pub restored: RestoredOperatorState,
}

impl OperatorSetup {
    /// `Operator (i/n)`, the name used in errors.
    pub fn display_name(&self) -> String {
        self.runtime.task_name_with_subtask()
    }
}

/// A running source: polled by its task's loop.
pub trait SourceDriver: Send {
    /// Opens the source and the chain behind it.
    fn open(&mut self) -> Result<(), TaskError>;
    /// Lets the source emit its next records into the chain.
    fn poll(&mut self) -> Result<SourceStatus, TaskError>;
    /// The source is exhausted: emit the final watermark and end the chain's input.
    fn finish(&mut self) -> Result<(), TaskError>;
    /// Stop-with-savepoint with drain: advances event time to its end (the final watermark)
    /// before the savepoint's barrier, so that every event-time timer and window fires first.
    fn drain(&mut self) -> Result<(), TaskError>;
    /// Stop-with-savepoint: ends the chain's input without the final watermark (nothing fires
    /// that the savepoint still holds).
    fn stop(&mut self) -> Result<(), TaskError>;
    /// Sends partially filled batches downstream.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// The task's periodic tick, passed through the chain.
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError>;
    /// A checkpoint barrier: snapshot the chain (see [`Output::snapshot_state`]).
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;
    /// A checkpoint completed or was aborted (see [`Output::notify_checkpoint`]).
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;
    /// Closes the source and the chain.
    fn close(&mut self) -> Result<(), TaskError>;
}

/// The head of a task that reads input channels: receives erased batches and control events.
pub trait InputProcessor: Send {
    /// Opens the chain.
    fn open(&mut self) -> Result<(), TaskError>;
    /// A batch (a `Batch<T>` behind `dyn Any`) for input `input`; lent by its producer when
    /// `returns` is given (see [`receive_batch`]).
    fn process_batch(
        &mut self,
        input: u8,
        batch: Box<dyn Any + Send>,
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError>;
    /// A batch (a `Batch<T>` behind `dyn Any`) for input `input` with the input's watermark
    /// advancing among its records (the channels' watermarks already combined by the input's
    /// valve): each watermark follows the records before its place. Lent when `returns` is
    /// given, as in [`process_batch`](Self::process_batch).
    fn process_marked_batch(
        &mut self,
        input: u8,
        batch: Box<dyn Any + Send>,
        watermarks: &[WatermarkAt],
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError>;
    /// The combined watermark of input `input` advanced.
    fn process_watermark(&mut self, input: u8, watermark: Watermark) -> Result<(), TaskError>;
    /// Input `input` became idle (`true`) or active again.
    fn process_stream_status(&mut self, input: u8, idle: bool) -> Result<(), TaskError>;
    /// Every channel of input `input` has ended.
    fn end_of_input(&mut self, input: u8) -> Result<(), TaskError>;
    /// Sends partially filled batches downstream.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// The task's periodic tick, passed through the chain.
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError>;
    /// A checkpoint barrier: snapshot the chain (see [`Output::snapshot_state`]).
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;
    /// A checkpoint completed or was aborted (see [`Output::notify_checkpoint`]).
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;
    /// Closes the chain.
    fn close(&mut self) -> Result<(), TaskError>;
}

/// An operator with two typed inputs (connected streams); always the head of its task.
pub trait TwoInputOperator<I1, I2>: Send {
    /// Opens the operator and the chain behind it.
    fn open(&mut self) -> Result<(), TaskError>;
    /// A batch of the first input.
    fn push1(&mut self, batch: Batch<I1>) -> Result<(), TaskError>;
    /// A batch of the second input.
    fn push2(&mut self, batch: Batch<I2>) -> Result<(), TaskError>;
    /// The watermark of input 0 or 1 advanced.
    fn watermark(&mut self, input: u8, watermark: Watermark) -> Result<(), TaskError>;
    /// Input 0 or 1 became idle (`true`) or active again.
    fn stream_status(&mut self, input: u8, idle: bool) -> Result<(), TaskError>;
    /// Input 0 or 1 has ended.
    fn end_of_input(&mut self, input: u8) -> Result<(), TaskError>;
    /// Sends partially filled batches downstream.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// The task's periodic tick, passed through the chain.
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError>;
    /// A checkpoint barrier: snapshot the chain (see [`Output::snapshot_state`]).
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;
    /// A checkpoint completed or was aborted (see [`Output::notify_checkpoint`]).
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;
    /// Closes the operator and the chain.
    fn close(&mut self) -> Result<(), TaskError>;
}

/// An operator built for one subtask.
pub enum BuiltOperator {
    /// A source, to be driven by the task loop.
    Source(Box<dyn SourceDriver>),
    /// A one-input operator: an erased `Box<dyn Output<I>>` for its predecessor in the chain (or
    /// the task's input, when it is the head).
    Chainable(ErasedOutput),
    /// A two-input operator, ready to be the task's head.
    Head(Box<dyn InputProcessor>),
}

/// Operations on one stream type, used when building chains.
pub trait StreamType: Send + Sync {
    /// One output for several consumers (zero: records are dropped).
    fn fan_out(&self, outputs: Vec<ErasedOutput>) -> Result<ErasedOutput, TaskError>;
    /// Makes a one-input chain the task's head.
    fn one_input_head(&self, chain: ErasedOutput) -> Result<Box<dyn InputProcessor>, TaskError>;
    /// Registers a side-output buffer of this type in `buffers` and returns the sink that
    /// drains it into `output`.
    fn side_sink(
        &self,
        target: SideTarget,
        buffers: &mut SideOutputs,
    ) -> Result<Box<dyn SideSink>, TaskError>;
}

/// [`StreamType`] for `T`.
pub struct TypeOps<T>(PhantomData<fn() -> T>);

impl<T: Data> TypeOps<T> {
    /// The operations of stream type `T`.
    pub fn arc() -> Arc<dyn StreamType> {
        Arc::new(TypeOps::<T>(PhantomData))
    }
}

impl<T: Data> StreamType for TypeOps<T> {
    fn fan_out(&self, outputs: Vec<ErasedOutput>) -> Result<ErasedOutput, TaskError> {
        let mut typed = outputs
            .into_iter()
            .map(unerase::<T>)
            .collect::<Result<Vec<_>, _>>()?;
        if typed.len() == 1 {
            return Ok(erase(typed.pop().expect("one output")));
        }
        Ok(erase::<T>(Box::new(FanOut::new(typed))))
    }

    fn one_input_head(&self, chain: ErasedOutput) -> Result<Box<dyn InputProcessor>, TaskError> {
        Ok(Box::new(OneInputHead {
            chain: unerase::<T>(chain)?,
        }))
    }

    fn side_sink(
        &self,
        target: SideTarget,
        buffers: &mut SideOutputs,
    ) -> Result<Box<dyn SideSink>, TaskError> {
        let output = unerase::<T>(target.output)?;
        let index = buffers.register::<T>(&target.id);
        Ok(typed_side_sink(index, output))
    }
}

struct OneInputHead<T> {
    chain: Box<dyn Output<T>>,
}

impl<T: Data> InputProcessor for OneInputHead<T> {
    fn open(&mut self) -> Result<(), TaskError> {
        self.chain.open()
    }
    fn process_batch(
        &mut self,
        _input: u8,
        batch: Box<dyn Any + Send>,
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError> {
        if batch.is::<CarriedBatch<T>>() {
            return receive_carried::<T, _>(batch, returns, |records, keys| {
                self.chain.push_with_keys(records, keys)
            });
        }
        let batch = receive_batch::<T>(batch, returns)?;
        self.chain.push(batch)
    }
    /// Operators that pass watermarks through take the batch whole (see
    /// [`Output::push_with_watermarks`]).
    fn process_marked_batch(
        &mut self,
        _input: u8,
        batch: Box<dyn Any + Send>,
        watermarks: &[WatermarkAt],
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError> {
        let batch = receive_batch::<T>(batch, returns)?;
        match watermarks {
            [] if batch.is_empty() => Ok(()),
            [] => self.chain.push(batch),
            _ => self.chain.push_with_watermarks(batch, watermarks),
        }
    }
    fn process_watermark(&mut self, _input: u8, watermark: Watermark) -> Result<(), TaskError> {
        self.chain.watermark(watermark)
    }
    fn process_stream_status(&mut self, _input: u8, idle: bool) -> Result<(), TaskError> {
        self.chain.stream_status(idle)
    }
    fn end_of_input(&mut self, _input: u8) -> Result<(), TaskError> {
        self.chain.end_of_input()
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        self.chain.flush()
    }
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        self.chain.on_timer(now)
    }
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.chain.snapshot_state(snapshot)
    }
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.chain.notify_checkpoint(checkpoint_id, completed)
    }
    fn close(&mut self) -> Result<(), TaskError> {
        self.chain.close()
    }
}

/// Recovers a typed batch received from a channel.
pub fn downcast_batch<T: Data>(batch: Box<dyn Any + Send>) -> Result<Batch<T>, TaskError> {
    batch
        .downcast::<Batch<T>>()
        .map(|b| *b)
        .map_err(|_| channel_type_mismatch::<T>())
}

/// Recovers a typed batch received from a channel. A batch lent by its producer (`returns`
/// given) whose records own heap memory is copied, and the original handed back, so the
/// producer's thread frees what it allocated (see [`crate::recycle`]).
pub fn receive_batch<T: Data>(
    batch: Box<dyn Any + Send>,
    returns: Option<&ReturnedBatches>,
) -> Result<Batch<T>, TaskError> {
    if batch.is::<CarriedBatch<T>>() {
        // A consumer that does not use carried keys takes the records alone.
        let mut records = None;
        receive_carried::<T, _>(batch, returns, |batch, _| {
            records = Some(batch);
            Ok(())
        })?;
        return records.ok_or_else(channel_type_mismatch::<T>);
    }
    match returns {
        Some(returns) if std::mem::needs_drop::<T>() => {
            let lent = batch
                .downcast_ref::<Batch<T>>()
                .ok_or_else(channel_type_mismatch::<T>)?;
            if lent.is_empty() {
                return downcast_batch(batch);
            }
            let copy = lent.clone();
            returns.give_back(batch);
            Ok(copy)
        }
        _ => downcast_batch(batch),
    }
}

/// Passes a batch with carried keys (see [`crate::carried`]) to `consume` with its keys: lent,
/// the records are copied and both handed back after `consume`; otherwise moved.
fn receive_carried<T: Data, R>(
    batch: Box<dyn Any + Send>,
    returns: Option<&ReturnedBatches>,
    consume: impl FnOnce(Batch<T>, &dyn Any) -> Result<R, TaskError>,
) -> Result<R, TaskError> {
    match returns {
        Some(returns) => {
            let lent = batch
                .downcast_ref::<CarriedBatch<T>>()
                .ok_or_else(channel_type_mismatch::<T>)?;
            let result = consume(lent.batch.clone(), &*lent.keys);
            returns.give_back(batch);
            result
        }
        None => {
            let carried = batch
                .downcast::<CarriedBatch<T>>()
                .map_err(|_| channel_type_mismatch::<T>())?;
            consume(carried.batch, &*carried.keys)
        }
    }
}

fn channel_type_mismatch<T>() -> TaskError {
    TaskError::Internal(format!(
        "channel type mismatch: expected records of {}",
        std::any::type_name::<T>()
    ))
}

/// Builds one node's operator for a subtask.
pub trait OperatorFactory: Send + Sync {
    /// Builds the operator, feeding `output` (an erased `Box<dyn Output<O>>` of
    /// [`output_type`](OperatorFactory::output_type)) and its consumed side outputs.
    fn build(
        &self,
        setup: OperatorSetup,
        output: ErasedOutput,
        side_outputs: Vec<(SideTarget, Arc<dyn StreamType>)>,
    ) -> Result<BuiltOperator, TaskError>;
    /// The type the operator emits.
    fn output_type(&self) -> Arc<dyn StreamType>;
    /// The input type of a one-input operator (used to make it a task head).
    fn input_type(&self) -> Option<Arc<dyn StreamType>>;
}

type OneInputBuild<I, O> = dyn Fn(OperatorSetup, Box<dyn Output<O>>, SideChannels) -> Result<Box<dyn Output<I>>, TaskError>
    + Send
    + Sync;
type SourceBuild<O> = dyn Fn(OperatorSetup, Box<dyn Output<O>>) -> Result<Box<dyn SourceDriver>, TaskError>
    + Send
    + Sync;
type TwoInputBuild<I1, I2, O> = dyn Fn(
        OperatorSetup,
        Box<dyn Output<O>>,
        SideChannels,
    ) -> Result<Box<dyn TwoInputOperator<I1, I2>>, TaskError>
    + Send
    + Sync;

/// Factory of a one-input operator (or sink) from `I` to `O`.
pub struct OneInputFactory<I, O> {
    build: Box<OneInputBuild<I, O>>,
}

impl<I: Data, O: Data> OneInputFactory<I, O> {
    /// A factory calling `build` for every subtask.
    #[allow(clippy::new_ret_no_self)] // factories are used as `Arc<dyn OperatorFactory>`
    pub fn new(
        build: impl Fn(
                OperatorSetup,
                Box<dyn Output<O>>,
                SideChannels,
            ) -> Result<Box<dyn Output<I>>, TaskError>
            + Send
            + Sync
            + 'static,
    ) -> Arc<dyn OperatorFactory> {
        Arc::new(OneInputFactory {
            build: Box::new(build),
        })
    }
}

impl<I: Data, O: Data> OperatorFactory for OneInputFactory<I, O> {
    fn build(
        &self,
        setup: OperatorSetup,
        output: ErasedOutput,
        side_outputs: Vec<(SideTarget, Arc<dyn StreamType>)>,
    ) -> Result<BuiltOperator, TaskError> {
        let sides = SideChannels::new(side_outputs)?;
        let operator = (self.build)(setup, unerase::<O>(output)?, sides)?;
        Ok(BuiltOperator::Chainable(erase::<I>(operator)))
    }
    fn output_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<O>::arc()
    }
    fn input_type(&self) -> Option<Arc<dyn StreamType>> {
        Some(TypeOps::<I>::arc())
    }
}

/// Factory of a source emitting `O`.
pub struct SourceFactory<O> {
    build: Box<SourceBuild<O>>,
}

impl<O: Data> SourceFactory<O> {
    /// A factory calling `build` for every subtask.
    #[allow(clippy::new_ret_no_self)] // factories are used as `Arc<dyn OperatorFactory>`
    pub fn new(
        build: impl Fn(OperatorSetup, Box<dyn Output<O>>) -> Result<Box<dyn SourceDriver>, TaskError>
            + Send
            + Sync
            + 'static,
    ) -> Arc<dyn OperatorFactory> {
        Arc::new(SourceFactory {
            build: Box::new(build),
        })
    }
}

impl<O: Data> OperatorFactory for SourceFactory<O> {
    fn build(
        &self,
        setup: OperatorSetup,
        output: ErasedOutput,
        side_outputs: Vec<(SideTarget, Arc<dyn StreamType>)>,
    ) -> Result<BuiltOperator, TaskError> {
        crate::side_output::no_side_outputs(&side_outputs)?;
        Ok(BuiltOperator::Source((self.build)(
            setup,
            unerase::<O>(output)?,
        )?))
    }
    fn output_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<O>::arc()
    }
    fn input_type(&self) -> Option<Arc<dyn StreamType>> {
        None
    }
}

/// Factory of a two-input operator.
pub struct TwoInputFactory<I1, I2, O> {
    build: Box<TwoInputBuild<I1, I2, O>>,
}

impl<I1: Data, I2: Data, O: Data> TwoInputFactory<I1, I2, O> {
    /// A factory calling `build` for every subtask.
    #[allow(clippy::new_ret_no_self)] // factories are used as `Arc<dyn OperatorFactory>`
    pub fn new(
        build: impl Fn(
                OperatorSetup,
                Box<dyn Output<O>>,
                SideChannels,
            ) -> Result<Box<dyn TwoInputOperator<I1, I2>>, TaskError>
            + Send
            + Sync
            + 'static,
    ) -> Arc<dyn OperatorFactory> {
        Arc::new(TwoInputFactory {
            build: Box::new(build),
        })
    }
}

struct TwoInputHead<I1, I2> {
    operator: Box<dyn TwoInputOperator<I1, I2>>,
}

impl<I1: Data, I2: Data> InputProcessor for TwoInputHead<I1, I2> {
    fn open(&mut self) -> Result<(), TaskError> {
        self.operator.open()
    }
    fn process_batch(
        &mut self,
        input: u8,
        batch: Box<dyn Any + Send>,
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError> {
        if input == 0 {
            self.operator.push1(receive_batch::<I1>(batch, returns)?)
        } else {
            self.operator.push2(receive_batch::<I2>(batch, returns)?)
        }
    }
    fn process_marked_batch(
        &mut self,
        input: u8,
        batch: Box<dyn Any + Send>,
        watermarks: &[WatermarkAt],
        returns: Option<&ReturnedBatches>,
    ) -> Result<(), TaskError> {
        let operator = &mut self.operator;
        if input == 0 {
            for_segments(
                receive_batch::<I1>(batch, returns)?,
                watermarks,
                |segment| match segment {
                    Segment::Records(records) => operator.push1(records),
                    Segment::Watermark(watermark) => operator.watermark(input, watermark),
                },
            )
        } else {
            for_segments(
                receive_batch::<I2>(batch, returns)?,
                watermarks,
                |segment| match segment {
                    Segment::Records(records) => operator.push2(records),
                    Segment::Watermark(watermark) => operator.watermark(input, watermark),
                },
            )
        }
    }
    fn process_watermark(&mut self, input: u8, watermark: Watermark) -> Result<(), TaskError> {
        self.operator.watermark(input, watermark)
    }
    fn process_stream_status(&mut self, input: u8, idle: bool) -> Result<(), TaskError> {
        self.operator.stream_status(input, idle)
    }
    fn end_of_input(&mut self, input: u8) -> Result<(), TaskError> {
        self.operator.end_of_input(input)
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        self.operator.flush()
    }
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        self.operator.on_timer(now)
    }
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.operator.snapshot_state(snapshot)
    }
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.operator.notify_checkpoint(checkpoint_id, completed)
    }
    fn close(&mut self) -> Result<(), TaskError> {
        self.operator.close()
    }
}

impl<I1: Data, I2: Data, O: Data> OperatorFactory for TwoInputFactory<I1, I2, O> {
    fn build(
        &self,
        setup: OperatorSetup,
        output: ErasedOutput,
        side_outputs: Vec<(SideTarget, Arc<dyn StreamType>)>,
    ) -> Result<BuiltOperator, TaskError> {
        let sides = SideChannels::new(side_outputs)?;
        let operator = (self.build)(setup, unerase::<O>(output)?, sides)?;
        Ok(BuiltOperator::Head(Box::new(TwoInputHead { operator })))
    }
    fn output_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<O>::arc()
    }
    fn input_type(&self) -> Option<Arc<dyn StreamType>> {
        None
    }
}

/// What a writer is told when it is built.
#[derive(Debug, Clone)]
pub struct WriterSetup {
    /// The edge's partitioner.
    pub partitioner: PartitionerKind,
    /// The producing subtask's index.
    pub producer_subtask: u32,
    /// The consuming operator's max parallelism (for key groups).
    pub consumer_max_parallelism: u32,
    /// Records per batch (see [`records_per_batch`]).
    pub batch_size: usize,
    /// Bytes of small records per batch (see [`records_per_batch`]).
    pub batch_bytes: usize,
    /// The producing operator, `Name (i/n)`, for errors.
    pub operator: String,
}

impl WriterSetup {
    /// Records per batch of `T` (see [`records_per_batch`]).
    pub fn records_per_batch<T>(&self) -> usize {
        records_per_batch::<T>(self.batch_size, self.batch_bytes)
    }
}

/// Builds the network writer of one StreamGraph edge for a producing subtask.
pub trait EdgeFactory: Send + Sync {
    /// A writer (an erased `Box<dyn Output<T>>`) over the given channels, ordered as the
    /// partitioner indexes them.
    fn create_writer(
        &self,
        channels: Vec<ChannelSender>,
        setup: &WriterSetup,
    ) -> Result<ErasedOutput, TaskError>;

    /// The type of the records on this edge.
    fn stream_type(&self) -> Arc<dyn StreamType>;
}

/// The job's code: operator factories by node and edge factories by StreamGraph edge index.
#[derive(Default, Clone)]
pub struct JobCode {
    /// Operator factories by StreamGraph node id.
    pub operators: HashMap<NodeId, Arc<dyn OperatorFactory>>,
    /// Edge factories, aligned with `StreamGraph::edges`.
    pub edges: Vec<Arc<dyn EdgeFactory>>,
}

impl JobCode {
    /// The factory of a node.
    pub fn operator(&self, node: NodeId) -> Result<&Arc<dyn OperatorFactory>, TaskError> {
        self.operators
            .get(&node)
            .ok_or_else(|| TaskError::Internal(format!("no operator code for node {node}")))
    }

    /// The factory of an edge.
    pub fn edge(&self, index: usize) -> Result<&Arc<dyn EdgeFactory>, TaskError> {
        self.edges
            .get(index)
            .ok_or_else(|| TaskError::Internal(format!("no code for edge {index}")))
    }
}
