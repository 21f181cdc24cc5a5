//! Process functions over connected streams.

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, Key, Watermark};
use eddy_functions::{
    CoProcessFunction, Collector, KeySelector, KeyedCoProcessFunction, KeyedContext,
    ProcessContext, RuntimeContext, SideOutputs,
};
use eddy_state::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_state::{KeyedStateBackend, StateBackendConfig};

use super::co::TwoInputLogic;
use super::keyed_process::{fire_timers, process_keyed};
use crate::output::Batch;
use crate::state_backend::open_keyed_state_backend;

/// Applies a [`CoProcessFunction`], tracking the combined watermark for its context.
pub struct CoProcessLogic<F> {
    function: F,
    watermark: i64,
}

impl<F> CoProcessLogic<F> {
    /// Runs `function`.
    pub fn new(function: F) -> Self {
        CoProcessLogic {
            function,
            watermark: i64::MIN,
        }
    }
}

impl<I1, I2, O, F: CoProcessFunction<I1, I2, O>> TwoInputLogic<I1, I2, O> for CoProcessLogic<F> {
    forward_checkpointed!(function);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.function.open(ctx)
    }

    fn process1(
        &mut self,
        batch: Batch<I1>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let mut context =
                ProcessContext::new(record.timestamp, self.watermark, ctx, side_outputs);
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element1(record.value, &mut context, &mut collector)?;
        }
        Ok(out)
    }

    fn process2(
        &mut self,
        batch: Batch<I2>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let mut context =
                ProcessContext::new(record.timestamp, self.watermark, ctx, side_outputs);
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element2(record.value, &mut context, &mut collector)?;
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

/// Applies a [`KeyedCoProcessFunction`] with per-key timers.
pub struct KeyedCoProcessLogic<K, KS1, KS2, F> {
    key_selector1: KS1,
    key_selector2: KS2,
    function: F,
    timers: InternalTimerService<K, ()>,
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    fire_processing_timers_at_end: bool,
}

impl<K: Key, KS1, KS2, F> KeyedCoProcessLogic<K, KS1, KS2, F> {
    /// Runs `function` over inputs keyed by the two selectors.
    pub fn new(
        key_selector1: KS1,
        key_selector2: KS2,
        function: F,
        clock: ProcessingTimeService,
        mode: RuntimeMode,
        state_backend: StateBackendConfig,
    ) -> Self {
        KeyedCoProcessLogic {
            key_selector1,
            key_selector2,
            function,
            timers: InternalTimerService::new(clock),
            state: KeyedStateBackend::heap(),
            state_backend,
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
        }
    }

    fn fire<I1, I2, O>(
        &mut self,
        domain: TimeDomain,
        now: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>
    where
        F: KeyedCoProcessFunction<K, I1, I2, O>,
    {
        let mut out = Batch::new();
        let (function, state) = (&mut self.function, &mut self.state);
        fire_timers(
            &mut self.timers,
            domain,
            now,
            &mut out,
            |ts, stamp, key, timers, collector| {
                let mut context =
                    KeyedContext::new(stamp, key, Some(domain), timers, state, ctx, side_outputs);
                function.on_timer(ts, &mut context, collector)
            },
        )?;
        Ok(out)
    }
}

impl<I1, I2, O, K, KS1, KS2, F> TwoInputLogic<I1, I2, O> for KeyedCoProcessLogic<K, KS1, KS2, F>
where
    K: Key,
    KS1: KeySelector<I1, K>,
    KS2: KeySelector<I2, K>,
    F: KeyedCoProcessFunction<K, I1, I2, O>,
{
    forward_checkpointed!(function);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.timers
            .keep_in_state_store(&self.state, &self.state_backend, ctx.key_group_range())?;
        self.function.open(ctx)
    }

    keyed_snapshot_hooks!(state, timers);

    fn process1(
        &mut self,
        batch: Batch<I1>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let (key_selector, function) = (&self.key_selector1, &mut self.function);
        process_keyed(
            batch,
            None,
            &mut self.timers,
            &mut self.state,
            ctx,
            side_outputs,
            |value| key_selector.get_key(value),
            |value, context, out| function.process_element1(value, context, out),
        )
    }

    fn process2(
        &mut self,
        batch: Batch<I2>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let (key_selector, function) = (&self.key_selector2, &mut self.function);
        process_keyed(
            batch,
            None,
            &mut self.timers,
            &mut self.state,
            ctx,
            side_outputs,
            |value| key_selector.get_key(value),
            |value, context, out| function.process_element2(value, context, out),
        )
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
