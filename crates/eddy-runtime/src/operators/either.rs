//! [`EitherLogic`]: one of two one-input logics, chosen when the operator is created (e.g. a
//! heap-only fast path or the general operator, depending on the state backend).

use eddy_core::{FnResult, Watermark};
use eddy_functions::{
    FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext, SideOutputs,
};
use eddy_state::{KeyedStateSnapshot, OperatorStateStore, PendingKeyedSnapshot};

use super::OneInputLogic;
use crate::inbox::WatermarkAt;
use crate::output::Batch;

/// One of two logics; every hook goes to the chosen one (one branch per call, per batch).
pub enum EitherLogic<A, B> {
    /// The first logic.
    Left(A),
    /// The second logic.
    Right(B),
}

/// Calls `$method` on whichever logic is chosen.
macro_rules! either {
    ($self:ident, $logic:ident => $call:expr) => {
        match $self {
            EitherLogic::Left($logic) => $call,
            EitherLogic::Right($logic) => $call,
        }
    };
}

impl<I, O, A, B> OneInputLogic<I, O> for EitherLogic<A, B>
where
    A: OneInputLogic<I, O>,
    B: OneInputLogic<I, O>,
{
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        either!(self, logic => logic.initialize_state(ctx))
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        either!(self, logic => logic.snapshot_state(ctx, store))
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        either!(self, logic => logic.open(ctx))
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
        either!(self, logic => logic.notify_checkpoint(checkpoint_id, completed))
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        either!(self, logic => logic.snapshot_keyed_state(ctx))
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        either!(self, logic => logic.restore_keyed_state(snapshots, ctx))
    }

    fn process(
        &mut self,
        batch: Batch<I>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        either!(self, logic => logic.process(batch, ctx, side_outputs))
    }

    fn process_with_keys(
        &mut self,
        batch: Batch<I>,
        keys: &dyn std::any::Any,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        either!(self, logic => logic.process_with_keys(batch, keys, ctx, side_outputs))
    }

    fn passes_watermarks_through(&self) -> bool {
        either!(self, logic => logic.passes_watermarks_through())
    }

    fn process_passing_watermarks(
        &mut self,
        batch: Batch<I>,
        watermarks: &[WatermarkAt],
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<(Batch<O>, Option<Vec<WatermarkAt>>)> {
        either!(self, logic => logic.process_passing_watermarks(batch, watermarks, ctx, side_outputs))
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        either!(self, logic => logic.on_watermark(watermark, ctx, side_outputs))
    }

    fn on_processing_time(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        either!(self, logic => logic.on_processing_time(ctx, side_outputs))
    }

    fn end_of_input(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        either!(self, logic => logic.end_of_input(ctx, side_outputs))
    }

    fn pending_output(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Option<Batch<O>>> {
        either!(self, logic => logic.pending_output(ctx, side_outputs))
    }

    fn close(&mut self) -> FnResult<()> {
        either!(self, logic => logic.close())
    }
}
