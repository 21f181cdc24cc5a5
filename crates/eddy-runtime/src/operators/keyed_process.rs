//! The keyed process operator: a [`KeyedProcessFunction`] with per-key timers.

use std::any::Any;

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, Key, Watermark, NO_TIMESTAMP};
use eddy_functions::{
    Collector, KeySelector, KeyedContext, KeyedProcessFunction, RuntimeContext, SideOutputs,
};
use eddy_state::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_state::{KeyedStateBackend, StateBackendConfig};

use super::placed_watermarks::PlacedWatermarks;
use super::OneInputLogic;
use crate::carried::carried_keys;
use crate::inbox::WatermarkAt;
use crate::output::Batch;
use crate::state_backend::open_keyed_state_backend;

/// Runs a keyed process function: extracts each element's key, and fires the function's
/// event-time timers as the watermark advances and its processing-time timers on the task's
/// clock.
pub struct KeyedProcessLogic<K, KS, F> {
    key_selector: KS,
    function: F,
    timers: InternalTimerService<K, ()>,
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    fire_processing_timers_at_end: bool,
}

impl<K: Key, KS, F> KeyedProcessLogic<K, KS, F> {
    /// Runs `function` over elements keyed by `key_selector`. In BATCH mode pending
    /// processing-time timers fire at the end of input; in STREAMING mode they are dropped.
    pub fn new(
        key_selector: KS,
        function: F,
        clock: ProcessingTimeService,
        mode: RuntimeMode,
        state_backend: StateBackendConfig,
    ) -> Self {
        KeyedProcessLogic {
            key_selector,
            function,
            timers: InternalTimerService::new(clock),
            state: KeyedStateBackend::heap(),
            state_backend,
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
        }
    }
}

impl<K: Key, KS, F> KeyedProcessLogic<K, KS, F> {
    /// Calls the function per record with its key's context: the carried key when `keys` are
    /// given, otherwise the one the selector extracts.
    fn process_records<I, O>(
        &mut self,
        batch: Batch<I>,
        keys: Option<&[K]>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>
    where
        KS: KeySelector<I, K>,
        F: KeyedProcessFunction<K, I, O>,
    {
        let (key_selector, function) = (&self.key_selector, &mut self.function);
        process_keyed(
            batch,
            keys,
            &mut self.timers,
            &mut self.state,
            ctx,
            side_outputs,
            |value| key_selector.get_key(value),
            |value, context, out| function.process_element(value, context, out),
        )
    }
}

/// Calls a keyed function per record of `batch` with its key's context (the record's carried
/// key when `carried` is given, else `key_of` the record); outputs keep the record's timestamp.
#[allow(clippy::too_many_arguments)]
pub(crate) fn process_keyed<I, O, K: Key>(
    batch: Batch<I>,
    carried: Option<&[K]>,
    timers: &mut InternalTimerService<K, ()>,
    state: &mut KeyedStateBackend<K>,
    ctx: &RuntimeContext,
    side_outputs: &mut SideOutputs,
    key_of: impl Fn(&I) -> K,
    call: impl FnMut(I, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> FnResult<()>,
) -> FnResult<Batch<O>> {
    let no_watermarks = |_: Watermark, _: &mut _, _: &mut _, _: &mut _, _: &mut _| Ok(());
    let (out, _) = process_keyed_with_watermarks(
        batch,
        &[],
        carried,
        timers,
        state,
        ctx,
        side_outputs,
        key_of,
        call,
        no_watermarks,
    )?;
    Ok(out)
}

/// Like [`process_keyed`] for a batch with watermarks among its records: at each watermark
/// `on_watermark` fires what it fires (into the outputs), then the watermark is placed after
/// those outputs.
#[allow(clippy::too_many_arguments)]
fn process_keyed_with_watermarks<I, O, K: Key>(
    batch: Batch<I>,
    watermarks: &[WatermarkAt],
    carried: Option<&[K]>,
    timers: &mut InternalTimerService<K, ()>,
    state: &mut KeyedStateBackend<K>,
    ctx: &RuntimeContext,
    side_outputs: &mut SideOutputs,
    key_of: impl Fn(&I) -> K,
    mut call: impl FnMut(I, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> FnResult<()>,
    mut on_watermark: impl FnMut(
        Watermark,
        &mut InternalTimerService<K, ()>,
        &mut KeyedStateBackend<K>,
        &mut SideOutputs,
        &mut Batch<O>,
    ) -> FnResult<()>,
) -> FnResult<(Batch<O>, Vec<WatermarkAt>)> {
    let mut out = Batch::with_capacity(batch.len());
    let mut placed = PlacedWatermarks::new(watermarks);
    let mut records = batch.into_records();
    for seen in 0.. {
        while let Some(mark) = placed.next_due(seen) {
            on_watermark(mark.watermark, timers, state, side_outputs, &mut out)?;
            placed.place(mark, out.len());
        }
        let Some(record) = records.next() else {
            break;
        };
        // A key carried with the record is lent to the context: only one extracted here is
        // built (the record itself moves into the function).
        let extracted;
        let key = match carried {
            Some(keys) => keys.get(seen).ok_or("a record came without its key")?,
            None => {
                extracted = key_of(&record.value);
                &extracted
            }
        };
        let mut context = KeyedContext::new(
            record.timestamp,
            key,
            None,
            timers,
            state,
            ctx,
            side_outputs,
        );
        let mut collector = Collector::new(&mut out, record.timestamp);
        call(record.value, &mut context, &mut collector)?;
        timers.check()?;
        state.cleanup_for_record();
    }
    let emitted = out.len();
    Ok((out, placed.finish(emitted)))
}

/// Fires due timers of a keyed function: `fire(timestamp, stamp, key, timers, out)` is
/// called per timer, where `stamp` (also the outputs' timestamp) is the timer's timestamp for
/// event time, none for processing time.
pub(crate) fn fire_timers<K: Key, O>(
    timers: &mut InternalTimerService<K, ()>,
    domain: TimeDomain,
    processing_time: i64,
    out: &mut Batch<O>,
    mut fire: impl FnMut(
        i64,
        i64,
        &K,
        &mut InternalTimerService<K, ()>,
        &mut Collector<'_, O>,
    ) -> FnResult<()>,
) -> FnResult<()> {
    loop {
        let due = match domain {
            TimeDomain::EventTime => timers.pop_event_time_due(),
            TimeDomain::ProcessingTime => timers.pop_processing_time_due(processing_time),
        };
        let Some((timestamp, key, ())) = due? else {
            break;
        };
        let output_timestamp = match domain {
            TimeDomain::EventTime => timestamp,
            TimeDomain::ProcessingTime => NO_TIMESTAMP,
        };
        let mut collector = Collector::new(out, output_timestamp);
        fire(timestamp, output_timestamp, &key, timers, &mut collector)?;
        timers.check()?;
    }
    if domain == TimeDomain::ProcessingTime {
        timers.request_next_wakeup();
    }
    Ok(())
}

impl<K, KS, F> KeyedProcessLogic<K, KS, F> {
    fn fire<I, O>(
        &mut self,
        domain: TimeDomain,
        now: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>>
    where
        K: Key,
        F: KeyedProcessFunction<K, I, O>,
    {
        let mut out = Batch::new();
        fire_function_timers(
            &mut self.function,
            &mut self.timers,
            &mut self.state,
            domain,
            now,
            ctx,
            side_outputs,
            &mut out,
        )?;
        Ok(out)
    }
}

/// Fires `function`'s due timers of `domain` into `out`.
#[allow(clippy::too_many_arguments)]
fn fire_function_timers<K: Key, I, O, F: KeyedProcessFunction<K, I, O>>(
    function: &mut F,
    timers: &mut InternalTimerService<K, ()>,
    state: &mut KeyedStateBackend<K>,
    domain: TimeDomain,
    now: i64,
    ctx: &RuntimeContext,
    side_outputs: &mut SideOutputs,
    out: &mut Batch<O>,
) -> FnResult<()> {
    fire_timers(
        timers,
        domain,
        now,
        out,
        |ts, stamp, key, timers, collector| {
            let mut context =
                KeyedContext::new(stamp, key, Some(domain), timers, state, ctx, side_outputs);
            function.on_timer(ts, &mut context, collector)
        },
    )
}

impl<I, O, K, KS, F> OneInputLogic<I, O> for KeyedProcessLogic<K, KS, F>
where
    K: Key,
    KS: KeySelector<I, K>,
    F: KeyedProcessFunction<K, I, O>,
{
    forward_checkpointed!(function);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.timers
            .keep_in_state_store(&self.state, &self.state_backend, ctx.key_group_range())?;
        self.function.open(ctx)
    }

    keyed_snapshot_hooks!(state, timers);

    fn process(
        &mut self,
        batch: Batch<I>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.process_records(batch, None, ctx, side_outputs)
    }

    /// Lends each record's carried key to its context instead of extracting (and, the record
    /// moving into the function, cloning) it.
    fn process_with_keys(
        &mut self,
        batch: Batch<I>,
        keys: &dyn Any,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let keys = carried_keys::<K>(keys, batch.len())?;
        self.process_records(batch, keys, ctx, side_outputs)
    }

    /// Its event-time timers fire in place, at each watermark's position in the batch.
    fn passes_watermarks_through(&self) -> bool {
        true
    }

    fn process_passing_watermarks(
        &mut self,
        batch: Batch<I>,
        watermarks: &[WatermarkAt],
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<(Batch<O>, Option<Vec<WatermarkAt>>)> {
        let (key_selector, function) = (&self.key_selector, &mut self.function);
        // The element calls and the timer firings both need the function: one cell lends it
        // to whichever runs.
        let function = std::cell::RefCell::new(function);
        let (out, placed) = process_keyed_with_watermarks(
            batch,
            watermarks,
            None,
            &mut self.timers,
            &mut self.state,
            ctx,
            side_outputs,
            |value| key_selector.get_key(value),
            |value, context, out| function.borrow_mut().process_element(value, context, out),
            |watermark, timers, state, side_outputs, out| {
                timers.advance_watermark(watermark.0);
                fire_function_timers(
                    *function.borrow_mut(),
                    timers,
                    state,
                    TimeDomain::EventTime,
                    0,
                    ctx,
                    side_outputs,
                    out,
                )
            },
        )?;
        Ok((out, Some(placed)))
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
