//! The broadcast state pattern's operators: a stream (input 1) connected with a broadcast
//! stream (input 2). Every subtask keeps its own [`BroadcastStateStore`], built from the
//! broadcast stream's declarations when the operator is created; input 2 reaches it
//! read-write, input 1 (and timers) read-only.

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, Key, Watermark};
use eddy_functions::{
    BroadcastContext, BroadcastProcessFunction, Collector, FunctionInitializationContext,
    FunctionSnapshotContext, KeySelector, KeyedBroadcastContext, KeyedBroadcastProcessFunction,
    KeyedReadOnlyBroadcastContext, ReadOnlyBroadcastContext, RuntimeContext, SideOutputs,
};
use eddy_state::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_state::{
    BroadcastStateDeclaration, BroadcastStateStore, KeyedStateBackend, OperatorStateStore,
    StateBackendConfig,
};

use super::co::TwoInputLogic;
use super::keyed_process::fire_timers;
use crate::output::Batch;
use crate::state_backend::open_keyed_state_backend;

/// Applies a [`BroadcastProcessFunction`] (Flink's `CoBroadcastWithNonKeyedOperator`):
/// input 1 is the non-broadcast stream, input 2 the broadcast stream.
pub struct BroadcastProcessLogic<F> {
    function: F,
    broadcast: BroadcastStateStore,
    watermark: i64,
    clock: ProcessingTimeService,
}

impl<F> BroadcastProcessLogic<F> {
    /// Runs `function` with an empty broadcast state per declaration.
    pub fn new(
        function: F,
        declarations: &[BroadcastStateDeclaration],
        clock: ProcessingTimeService,
    ) -> Self {
        BroadcastProcessLogic {
            function,
            broadcast: BroadcastStateStore::new(declarations),
            watermark: i64::MIN,
            clock,
        }
    }
}

impl<IN, BC, O, F> TwoInputLogic<IN, BC, O> for BroadcastProcessLogic<F>
where
    F: BroadcastProcessFunction<IN, BC, O>,
{
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.broadcast.restore_from(ctx.operator_state_store())?;
        self.function.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.broadcast.snapshot_into(store)?;
        self.function.snapshot_state(ctx, store)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
        if completed {
            self.function.notify_checkpoint_complete(checkpoint_id)
        } else {
            self.function.notify_checkpoint_aborted(checkpoint_id)
        }
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.function.open(ctx)
    }

    fn process1(
        &mut self,
        batch: Batch<IN>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let mut context = ReadOnlyBroadcastContext::new(
                record.timestamp,
                self.watermark,
                &self.clock,
                &self.broadcast,
                ctx,
                side_outputs,
            );
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element(record.value, &mut context, &mut collector)?;
        }
        Ok(out)
    }

    fn process2(
        &mut self,
        batch: Batch<BC>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        for record in batch.into_records() {
            let mut context = BroadcastContext::new(
                record.timestamp,
                self.watermark,
                &self.clock,
                &mut self.broadcast,
                ctx,
                side_outputs,
            );
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_broadcast_element(record.value, &mut context, &mut collector)?;
        }
        Ok(out)
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.watermark = watermark.0;
        Ok(Batch::new())
    }

    fn close(&mut self) -> FnResult<()> {
        self.function.close()
    }
}

/// Applies a [`KeyedBroadcastProcessFunction`] (Flink's `CoBroadcastWithKeyedOperator`):
/// input 1 is the keyed stream, with per-key state and timers; input 2 the broadcast stream.
pub struct KeyedBroadcastProcessLogic<K, KS, F> {
    key_selector: KS,
    function: F,
    timers: InternalTimerService<K, ()>,
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    broadcast: BroadcastStateStore,
    fire_processing_timers_at_end: bool,
}

impl<K: Key, KS, F> KeyedBroadcastProcessLogic<K, KS, F> {
    /// Runs `function` over input 1 keyed by `key_selector`, with an empty broadcast state per
    /// declaration. In BATCH mode pending processing-time timers fire at the end of input; in
    /// STREAMING mode they are dropped.
    pub fn new(
        key_selector: KS,
        function: F,
        declarations: &[BroadcastStateDeclaration],
        clock: ProcessingTimeService,
        mode: RuntimeMode,
        state_backend: StateBackendConfig,
    ) -> Self {
        KeyedBroadcastProcessLogic {
            key_selector,
            function,
            timers: InternalTimerService::new(clock),
            state: KeyedStateBackend::heap(),
            state_backend,
            broadcast: BroadcastStateStore::new(declarations),
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
        }
    }

    fn fire<IN, BC, O>(
        &mut self,
        domain: TimeDomain,
        now: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>
    where
        F: KeyedBroadcastProcessFunction<K, IN, BC, O>,
    {
        let mut out = Batch::new();
        let (function, state, broadcast) = (&mut self.function, &mut self.state, &self.broadcast);
        fire_timers(
            &mut self.timers,
            domain,
            now,
            &mut out,
            |ts, stamp, key, timers, collector| {
                let mut context = KeyedReadOnlyBroadcastContext::new(
                    stamp,
                    key,
                    Some(domain),
                    timers,
                    state,
                    broadcast,
                    ctx,
                    side_outputs,
                );
                function.on_timer(ts, &mut context, collector)
            },
        )?;
        Ok(out)
    }
}

impl<IN, BC, O, K, KS, F> TwoInputLogic<IN, BC, O> for KeyedBroadcastProcessLogic<K, KS, F>
where
    K: Key,
    KS: KeySelector<IN, K>,
    F: KeyedBroadcastProcessFunction<K, IN, BC, O>,
{
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.broadcast.restore_from(ctx.operator_state_store())?;
        self.function.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.broadcast.snapshot_into(store)?;
        self.function.snapshot_state(ctx, store)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
        if completed {
            self.function.notify_checkpoint_complete(checkpoint_id)
        } else {
            self.function.notify_checkpoint_aborted(checkpoint_id)
        }
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.timers
            .keep_in_state_store(&self.state, &self.state_backend, ctx.key_group_range())?;
        self.function.open(ctx)
    }

    keyed_snapshot_hooks!(state, timers);

    fn process1(
        &mut self,
        batch: Batch<IN>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let key = self.key_selector.get_key(&record.value);
            let mut context = KeyedReadOnlyBroadcastContext::new(
                record.timestamp,
                &key,
                None,
                &mut self.timers,
                &mut self.state,
                &self.broadcast,
                ctx,
                side_outputs,
            );
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element(record.value, &mut context, &mut collector)?;
            self.timers.check()?;
        }
        Ok(out)
    }

    fn process2(
        &mut self,
        batch: Batch<BC>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        for record in batch.into_records() {
            let mut context = KeyedBroadcastContext::new(
                record.timestamp,
                &mut self.timers,
                &mut self.state,
                &mut self.broadcast,
                ctx,
                side_outputs,
            );
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_broadcast_element(record.value, &mut context, &mut collector)?;
            self.timers.check()?;
        }
        Ok(out)
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.timers.advance_watermark(watermark.0);
        self.fire(TimeDomain::EventTime, 0, ctx, side_outputs)
    }

    fn on_processing_time(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        if !self.timers.has_processing_time_timers() {
            return Ok(Batch::new());
        }
        let now = self.timers.current_processing_time();
        self.fire(TimeDomain::ProcessingTime, now, ctx, side_outputs)
    }

    fn end_of_input(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        if !self.fire_processing_timers_at_end {
            return Ok(Batch::new());
        }
        self.fire(TimeDomain::ProcessingTime, i64::MAX, ctx, side_outputs)
    }

    fn close(&mut self) -> FnResult<()> {
        self.function.close()
    }
}
