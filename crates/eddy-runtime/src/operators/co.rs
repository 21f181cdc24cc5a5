//! Two-input operators over connected streams.

use std::marker::PhantomData;

use eddy_core::{Data, FnResult, Watermark};
use eddy_functions::{
    CoFlatMapFunction, CoMapFunction, Collector, FunctionInitializationContext,
    FunctionSnapshotContext, RuntimeContext, SideOutputs,
};
use eddy_state::{KeyedStateSnapshot, OperatorStateStore, PendingKeyedSnapshot};

use super::OperatorStateHandler;
use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::{OperatorSetup, SideChannels, TwoInputOperator};
use crate::output::{Batch, Output};

/// What a two-input operator does with each input. Its functions' side outputs go to
/// `side_outputs`, as in [`OneInputLogic`](super::OneInputLogic).
pub trait TwoInputLogic<I1, I2, O>: Send {
    /// Called once before `open`: the functions' `initialize_state`, with the operator's
    /// operator state.
    fn initialize_state(&mut self, _ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        Ok(())
    }
    /// A checkpoint snapshots the operator: the functions' `snapshot_state`, writing into the
    /// operator's operator state.
    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        _store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        Ok(())
    }
    /// Called once before the first batch.
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        Ok(())
    }
    /// Checkpoint `checkpoint_id` completed (or, `completed` false, was aborted).
    fn notify_checkpoint(&mut self, _checkpoint_id: u64, _completed: bool) -> FnResult<()> {
        Ok(())
    }
    /// Keyed operators: their keyed state and timers in the backend-independent snapshot
    /// format (`None`: the operator keeps no keyed state).
    fn snapshot_keyed_state(
        &mut self,
        _ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        Ok(None)
    }
    /// Restores the keyed state and timers of this subtask's key groups from the snapshots of
    /// the old subtasks. Called once, after `open` and before any input.
    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        _ctx: &RuntimeContext,
    ) -> FnResult<()> {
        crate::snapshot::refuse_keyed_state(snapshots)
    }
    /// Transforms a batch of the first input.
    fn process1(
        &mut self,
        batch: Batch<I1>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>;
    /// Transforms a batch of the second input.
    fn process2(
        &mut self,
        batch: Batch<I2>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>;
    /// The combined watermark advanced: returns what fires at it.
    fn on_watermark(
        &mut self,
        _watermark: Watermark,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// The task's timer tick: returns what fires now.
    fn on_processing_time(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// Both inputs ended: returns what was held back.
    fn end_of_input(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// Called once at the end.
    fn close(&mut self) -> FnResult<()> {
        Ok(())
    }
}

/// A two-input operator: runs its logic, feeds its side outputs, and combines the inputs'
/// watermarks (the minimum over the inputs that are not idle) and idleness (idle when both
/// inputs are).
pub struct TwoInputOperatorImpl<I1, I2, O, L> {
    logic: L,
    operator_state: OperatorStateHandler,
    /// The keyed state to restore when the operator opens (empty: a fresh start).
    keyed_state: std::sync::Arc<Vec<KeyedStateSnapshot>>,
    ctx: RuntimeContext,
    name: String,
    operator_id: String,
    next: Box<dyn Output<O>>,
    sides: SideChannels,
    input_watermarks: [i64; 2],
    watermark: i64,
    idle: [bool; 2],
    output_idle: bool,
    ended: [bool; 2],
    _inputs: PhantomData<fn(I1, I2)>,
}

impl<I1: Data, I2: Data, O: Data, L: TwoInputLogic<I1, I2, O> + 'static>
    TwoInputOperatorImpl<I1, I2, O, L>
{
    /// The operator running `logic`, feeding `next` and the side outputs in `sides`.
    pub fn boxed(
        logic: L,
        setup: OperatorSetup,
        next: Box<dyn Output<O>>,
        sides: SideChannels,
    ) -> Box<dyn TwoInputOperator<I1, I2>> {
        Box::new(TwoInputOperatorImpl {
            logic,
            name: setup.display_name(),
            operator_id: setup.operator_id,
            ctx: setup.runtime,
            operator_state: OperatorStateHandler::new(setup.restored.operator.clone()),
            keyed_state: setup.restored.keyed.clone(),
            next,
            sides,
            input_watermarks: [i64::MIN; 2],
            watermark: i64::MIN,
            idle: [false; 2],
            output_idle: false,
            ended: [false; 2],
            _inputs: PhantomData,
        })
    }

    /// Forwards the minimum watermark of the active inputs if it advanced.
    fn advance_watermark(&mut self) -> Result<(), TaskError> {
        let combined = (0..2)
            .filter(|&i| !self.idle[i])
            .map(|i| self.input_watermarks[i])
            .min();
        if let Some(combined) = combined.filter(|&c| c > self.watermark) {
            self.watermark = combined;
            let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
            let out = call_user(&self.name, || {
                logic.on_watermark(Watermark(combined), ctx, buffers)
            })?;
            self.emit(out)?;
            self.sides.watermark(Watermark(combined))?;
            self.next.watermark(Watermark(combined))?;
        }
        Ok(())
    }

    /// Sends what the operator buffered for its side outputs, then its main output.
    fn emit(&mut self, out: Batch<O>) -> Result<(), TaskError> {
        if !self.sides.sinks.is_empty() {
            self.sides.drain(&self.name)?;
        }
        if out.is_empty() {
            Ok(())
        } else {
            self.next.push(out)
        }
    }
}

impl<I1: Data, I2: Data, O: Data, L: TwoInputLogic<I1, I2, O> + 'static> TwoInputOperator<I1, I2>
    for TwoInputOperatorImpl<I1, I2, O, L>
{
    fn open(&mut self) -> Result<(), TaskError> {
        self.next.open()?;
        self.sides.open()?;
        let (logic, ctx, state) = (&mut self.logic, &self.ctx, &mut self.operator_state);
        call_user(&self.name, || {
            state.initialize(ctx, |init| logic.initialize_state(init))
        })?;
        call_user(&self.name, || logic.open(ctx))?;
        let keyed = std::mem::take(&mut self.keyed_state);
        if !keyed.is_empty() {
            call_user(&self.name, || logic.restore_keyed_state(&keyed, ctx))?;
        }
        Ok(())
    }

    fn push1(&mut self, batch: Batch<I1>) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.process1(batch, ctx, buffers))?;
        self.emit(out)
    }

    fn push2(&mut self, batch: Batch<I2>) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.process2(batch, ctx, buffers))?;
        self.emit(out)
    }

    fn watermark(&mut self, input: u8, watermark: Watermark) -> Result<(), TaskError> {
        self.input_watermarks[usize::from(input.min(1))] = watermark.0;
        self.advance_watermark()
    }

    fn stream_status(&mut self, input: u8, idle: bool) -> Result<(), TaskError> {
        self.idle[usize::from(input.min(1))] = idle;
        let output_idle = self.idle == [true, true];
        if output_idle != self.output_idle {
            self.output_idle = output_idle;
            self.sides.stream_status(output_idle)?;
            self.next.stream_status(output_idle)?;
        }
        self.advance_watermark()
    }

    fn end_of_input(&mut self, input: u8) -> Result<(), TaskError> {
        self.ended[usize::from(input.min(1))] = true;
        if self.ended == [true, true] {
            let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
            let out = call_user(&self.name, || logic.end_of_input(ctx, buffers))?;
            self.emit(out)?;
            self.sides.end_of_input()?;
            self.next.end_of_input()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.sides.flush()?;
        self.next.flush()
    }

    fn on_timer(&mut self, now: std::time::Instant) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.on_processing_time(ctx, buffers))?;
        self.emit(out)?;
        self.sides.on_timer(now)?;
        self.next.on_timer(now)
    }

    chain_checkpoint_hooks!();

    fn close(&mut self) -> Result<(), TaskError> {
        let logic = &mut self.logic;
        let own = call_user(&self.name, || logic.close());
        let sides = self.sides.close();
        own.and(sides).and(self.next.close())
    }
}

/// Applies a [`CoMapFunction`].
pub struct CoMapLogic<F>(pub F);

impl<I1, I2, O, F: CoMapFunction<I1, I2, O>> TwoInputLogic<I1, I2, O> for CoMapLogic<F> {
    forward_checkpointed!(0);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }
    fn process1(
        &mut self,
        batch: Batch<I1>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        batch.try_map_values(|value| self.0.map1(value))
    }
    fn process2(
        &mut self,
        batch: Batch<I2>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        batch.try_map_values(|value| self.0.map2(value))
    }
    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}

/// Applies a [`CoFlatMapFunction`].
pub struct CoFlatMapLogic<F>(pub F);

impl<I1, I2, O, F: CoFlatMapFunction<I1, I2, O>> TwoInputLogic<I1, I2, O> for CoFlatMapLogic<F> {
    forward_checkpointed!(0);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }
    fn process1(
        &mut self,
        batch: Batch<I1>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for r in batch.into_records() {
            self.0
                .flat_map1(r.value, &mut Collector::new(&mut out, r.timestamp))?;
        }
        Ok(out)
    }
    fn process2(
        &mut self,
        batch: Batch<I2>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for r in batch.into_records() {
            self.0
                .flat_map2(r.value, &mut Collector::new(&mut out, r.timestamp))?;
        }
        Ok(out)
    }
    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}
