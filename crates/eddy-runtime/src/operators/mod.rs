//! The built-in stream operators.
//!
//! Most operators are a [`OneInputLogic`] (what to do with a batch) inside [`Chained`] (how to
//! sit in a chain: open/close order, error attribution, passing control events on).

/// Implements a logic's `initialize_state`/`snapshot_state` by passing them to the user
/// function in field `$field`.
macro_rules! forward_checkpointed {
    ($field:tt) => {
        fn initialize_state(
            &mut self,
            ctx: &mut eddy_functions::FunctionInitializationContext<'_>,
        ) -> eddy_core::FnResult<()> {
            self.$field.initialize_state(ctx)
        }
        fn snapshot_state(
            &mut self,
            ctx: &eddy_functions::FunctionSnapshotContext,
            store: &mut eddy_state::OperatorStateStore,
        ) -> eddy_core::FnResult<()> {
            self.$field.snapshot_state(ctx, store)
        }
        fn notify_checkpoint(
            &mut self,
            checkpoint_id: u64,
            completed: bool,
        ) -> eddy_core::FnResult<()> {
            if completed {
                self.$field.notify_checkpoint_complete(checkpoint_id)
            } else {
                self.$field.notify_checkpoint_aborted(checkpoint_id)
            }
        }
    };
}

/// Implements a logic's `snapshot_keyed_state`/`restore_keyed_state` for an operator whose
/// keyed state is the backend in field `$state` (and, given, the timers in field `$timers`).
macro_rules! keyed_snapshot_hooks {
    ($state:ident) => {
        keyed_snapshot_hooks!(@with $state, |_this| None::<
            &eddy_state::time::InternalTimerService<_, ()>,
        >, |_this| None::<&mut eddy_state::time::InternalTimerService<_, ()>>);
    };
    ($state:ident, $timers:ident) => {
        keyed_snapshot_hooks!(@with $state, |this| Some(&this.$timers), |this| Some(
            &mut this.$timers
        ));
    };
    // `$read` / `$write` are the timers argument, written against a name for `self` that the
    // caller chooses (macro hygiene keeps `self` itself out of the caller's tokens).
    (@with $state:ident, |$r:ident| $read:expr, |$w:ident| $write:expr) => {
        fn snapshot_keyed_state(
            &mut self,
            ctx: &eddy_functions::RuntimeContext,
        ) -> eddy_core::FnResult<Option<eddy_state::PendingKeyedSnapshot>> {
            let $r = &mut *self;
            crate::snapshot::snapshot_keyed(&mut $r.$state, $read, ctx).map(Some)
        }
        fn restore_keyed_state(
            &mut self,
            snapshots: &[eddy_state::KeyedStateSnapshot],
            ctx: &eddy_functions::RuntimeContext,
        ) -> eddy_core::FnResult<()> {
            let $w = &mut *self;
            crate::snapshot::restore_keyed(snapshots, &mut $w.$state, $write, ctx)
        }
    };
}

/// The `Output` methods through which a checkpoint passes a chained operator (one- or
/// two-input): its snapshot (operator state and keyed state of `self.logic`, under
/// `self.operator_id`) and the completion notice, then its side outputs and the next operator.
/// The operator has the fields `logic`, `ctx`, `operator_id`, `name`, `operator_state`,
/// `sides` and `next`.
macro_rules! chain_checkpoint_hooks {
    () => {
        fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
            let ctx = &self.ctx;
            snapshot.take_operator(
                (&self.operator_id, &self.name),
                &mut self.operator_state,
                &mut self.logic,
                |logic, context, store| logic.snapshot_state(context, store),
                |logic| logic.snapshot_keyed_state(ctx),
            )?;
            self.sides.snapshot_state(snapshot)?;
            self.next.snapshot_state(snapshot)
        }

        fn notify_checkpoint(
            &mut self,
            checkpoint_id: u64,
            completed: bool,
        ) -> Result<(), TaskError> {
            let logic = &mut self.logic;
            call_user(&self.name, || {
                logic.notify_checkpoint(checkpoint_id, completed)
            })?;
            self.sides.notify_checkpoint(checkpoint_id, completed)?;
            self.next.notify_checkpoint(checkpoint_id, completed)
        }
    };
}

mod basic;
mod broadcast;
mod co;
mod co_process;
mod either;
mod interval_join;
mod keyed_function;
mod keyed_process;
mod keyed_reduce;
mod placed_watermarks;
mod sink;
mod source;
mod state;
mod timestamps;
pub mod window;

use std::any::Any;

use eddy_core::{Data, FnResult, Watermark};
use eddy_functions::{
    FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext, SideOutputs,
};
use eddy_state::{KeyedStateSnapshot, OperatorStateStore, PendingKeyedSnapshot};

use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::{OperatorSetup, SideChannels};
use crate::inbox::WatermarkAt;
use crate::output::{for_segments, Batch, Output, Segment};

pub use basic::{FilterLogic, FlatMapLogic, MapLogic, ProcessLogic};
pub use broadcast::{BroadcastProcessLogic, KeyedBroadcastProcessLogic};
pub use co::{CoFlatMapLogic, CoMapLogic, TwoInputLogic, TwoInputOperatorImpl};
pub use co_process::{CoProcessLogic, KeyedCoProcessLogic};
pub use either::EitherLogic;
pub use interval_join::IntervalJoinLogic;
pub use keyed_function::{FilterEach, FlatMapEach, KeyedFunctionLogic, MapEach, PerElement};
pub use keyed_process::KeyedProcessLogic;
pub use keyed_reduce::{KeyedReduceLogic, StoredKeyedReduceLogic};
pub use sink::SinkOperator;
pub use source::SourceOperator;
pub use state::OperatorStateHandler;
pub use timestamps::TimestampsAndWatermarksOperator;

/// What a one-input operator does with its input.
pub trait OneInputLogic<I, O>: Send {
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
    /// Checkpoint `checkpoint_id` completed (or, `completed` false, was aborted): the
    /// functions' `notify_checkpoint_complete` / `notify_checkpoint_aborted`.
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
    /// Transforms one batch; side outputs go to `side_outputs`.
    fn process(
        &mut self,
        batch: Batch<I>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>;
    /// As [`process`](Self::process), with the records' keys carried from the exchange (a
    /// `Vec<K>` behind `dyn Any`, one per record; see [`crate::carried`]): keyed operators
    /// that look state up by key may use them instead of extracting the keys again.
    fn process_with_keys(
        &mut self,
        batch: Batch<I>,
        _keys: &dyn Any,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.process(batch, ctx, side_outputs)
    }
    /// Whether this operator, for now, can take a batch with watermarks among its records
    /// whole rather than cut at each watermark: its outputs follow their inputs' order, it
    /// holds nothing back (`pending_output`), and
    /// [`process_passing_watermarks`](Self::process_passing_watermarks) does at each
    /// watermark's place what `on_watermark` would (for most such operators, nothing).
    fn passes_watermarks_through(&self) -> bool {
        false
    }
    /// For an operator that passes watermarks through: processes a batch with `watermarks`
    /// among its records (positions counted in inputs) whole, and returns the outputs with the
    /// watermarks' positions among them (`None`: the same positions). The default is for one
    /// output per input.
    fn process_passing_watermarks(
        &mut self,
        batch: Batch<I>,
        _watermarks: &[WatermarkAt],
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<(Batch<O>, Option<Vec<WatermarkAt>>)> {
        let len = batch.len();
        let out = self.process(batch, ctx, side_outputs)?;
        if out.len() != len {
            return Err(format!(
                "emitted {} records for {len}: an operator that passes watermarks through as \
                 it is emits one output per input",
                out.len()
            )
            .into());
        }
        Ok((out, None))
    }
    /// The input's watermark advanced: returns what fires at it (event-time timers, windows);
    /// the watermark is passed downstream after these records.
    fn on_watermark(
        &mut self,
        _watermark: Watermark,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// The task's timer tick: returns what fires now (processing-time timers).
    fn on_processing_time(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// The input ended: records still held back (e.g. final results in BATCH mode).
    fn end_of_input(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        Ok(Batch::new())
    }
    /// Output a hook held back to keep batches small (e.g. a watermark that fires a million
    /// windows): called after every hook until it returns `None`, before anything else reaches
    /// the operator (and, after `on_watermark`, before the watermark is passed on).
    fn pending_output(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Option<Batch<O>>> {
        Ok(None)
    }
    /// Called once at the end.
    fn close(&mut self) -> FnResult<()> {
        Ok(())
    }
}

/// A one-input operator in a chain.
pub struct Chained<I, O, L> {
    logic: L,
    operator_state: OperatorStateHandler,
    /// The keyed state to restore when the operator opens (empty: a fresh start).
    keyed_state: std::sync::Arc<Vec<KeyedStateSnapshot>>,
    ctx: RuntimeContext,
    name: String,
    operator_id: String,
    next: Box<dyn Output<O>>,
    sides: SideChannels,
    _input: std::marker::PhantomData<fn(I)>,
}

impl<I: Data, O: Data, L: OneInputLogic<I, O> + 'static> Chained<I, O, L> {
    /// The operator running `logic`, feeding `next` and the side outputs in `sides`.
    pub fn boxed(
        logic: L,
        setup: OperatorSetup,
        next: Box<dyn Output<O>>,
        sides: SideChannels,
    ) -> Box<dyn Output<I>> {
        Box::new(Chained {
            logic,
            name: setup.display_name(),
            operator_id: setup.operator_id,
            ctx: setup.runtime,
            operator_state: OperatorStateHandler::new(setup.restored.operator.clone()),
            keyed_state: setup.restored.keyed.clone(),
            next,
            sides,
            _input: std::marker::PhantomData,
        })
    }
}

impl<I: Data, O: Data, L: OneInputLogic<I, O>> Chained<I, O, L> {
    /// Sends what the operator buffered for its side outputs, then its main output, then
    /// whatever output the operator held back, chunk by chunk.
    #[inline]
    fn emit(&mut self, out: Batch<O>) -> Result<(), TaskError> {
        self.send(out)?;
        loop {
            let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
            match call_user(&self.name, || logic.pending_output(ctx, buffers))? {
                Some(out) => self.send(out)?,
                None => return Ok(()),
            }
        }
    }

    #[inline]
    fn send(&mut self, out: Batch<O>) -> Result<(), TaskError> {
        if !self.sides.sinks.is_empty() {
            self.sides.drain(&self.name)?;
        }
        if out.is_empty() {
            return Ok(());
        }
        self.next.push(out)
    }
}

impl<I: Data, O: Data, L: OneInputLogic<I, O>> Output<I> for Chained<I, O, L> {
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

    #[inline]
    fn push(&mut self, batch: Batch<I>) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.process(batch, ctx, buffers))?;
        self.emit(out)
    }

    fn push_with_keys(&mut self, batch: Batch<I>, keys: &dyn Any) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || {
            logic.process_with_keys(batch, keys, ctx, buffers)
        })?;
        self.emit(out)
    }

    /// An operator that passes watermarks through (see
    /// [`OneInputLogic::passes_watermarks_through`]) and has no side outputs processes the
    /// batch whole; any other gets it cut at the watermarks.
    fn push_with_watermarks(
        &mut self,
        batch: Batch<I>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        if !self.logic.passes_watermarks_through() || !self.sides.sinks.is_empty() {
            return for_segments(batch, watermarks, |segment| match segment {
                Segment::Records(records) => self.push(records),
                Segment::Watermark(watermark) => self.watermark(watermark),
            });
        }
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let (out, moved) = call_user(&self.name, || {
            logic.process_passing_watermarks(batch, watermarks, ctx, buffers)
        })?;
        let watermarks = moved.as_deref().unwrap_or(watermarks);
        if out.is_empty() {
            // Nothing kept: the watermarks alone (no operator is handed an empty batch).
            return watermarks
                .iter()
                .try_for_each(|mark| self.next.watermark(mark.watermark));
        }
        self.next.push_with_watermarks(out, watermarks)
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.on_watermark(watermark, ctx, buffers))?;
        self.emit(out)?;
        self.sides.watermark(watermark)?;
        self.next.watermark(watermark)
    }

    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
        self.sides.stream_status(idle)?;
        self.next.stream_status(idle)
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        let (logic, ctx, buffers) = (&mut self.logic, &self.ctx, &mut self.sides.buffers);
        let out = call_user(&self.name, || logic.end_of_input(ctx, buffers))?;
        self.emit(out)?;
        self.sides.end_of_input()?;
        self.next.end_of_input()
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
        let downstream = self.next.close();
        own.and(sides).and(downstream)
    }
}
