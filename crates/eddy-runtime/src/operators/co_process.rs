//! Process functions over connected streams, and the interval join.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use eddy_core::config::RuntimeMode;
use eddy_core::functions::{
    CoProcessFunction, Collector, KeySelector, KeyedCoProcessFunction, KeyedContext,
    ProcessContext, ProcessJoinContext, ProcessJoinFunction, RuntimeContext, SideOutputs,
};
use eddy_core::state::{KeyedStateBackend, StateBackendConfig};
use eddy_core::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_core::{FnResult, Key, Watermark, NO_TIMESTAMP};

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
            |ts, key, timers, collector| {
                let stamp = if domain == TimeDomain::EventTime {
                    ts
                } else {
                    NO_TIMESTAMP
                };
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

    fn process1(
        &mut self,
        batch: Batch<I1>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let (key_selector, function) = (&self.key_selector1, &mut self.function);
        process_keyed(
            batch,
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

/// Which buffer a cleanup timer of the interval join empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
enum Side {
    Left,
    Right,
}

type Buffer<T> = BTreeMap<i64, Vec<T>>;

/// The interval join: a left element at `t` joins every right element of its key at `rt` with
/// `t + lower <= rt <= t + upper`; both sides are buffered until the watermark passes the
/// last time they can still join.
pub struct IntervalJoinLogic<K, L, R, KS1, KS2, F> {
    key_selector1: KS1,
    key_selector2: KS2,
    function: F,
    lower: i64,
    upper: i64,
    left: FxHashMap<K, Buffer<L>>,
    right: FxHashMap<K, Buffer<R>>,
    timers: InternalTimerService<K, Side>,
}

impl<K: Key, L, R, KS1, KS2, F> IntervalJoinLogic<K, L, R, KS1, KS2, F> {
    /// The join with inclusive bounds `lower..=upper` (ms, relative to the left element).
    pub fn new(
        key_selector1: KS1,
        key_selector2: KS2,
        function: F,
        lower: i64,
        upper: i64,
        clock: ProcessingTimeService,
    ) -> Self {
        IntervalJoinLogic {
            key_selector1,
            key_selector2,
            function,
            lower,
            upper,
            left: FxHashMap::default(),
            right: FxHashMap::default(),
            timers: InternalTimerService::new(clock),
        }
    }
}

fn needs_timestamp(timestamp: i64) -> FnResult<()> {
    if timestamp == NO_TIMESTAMP {
        return Err(
            "an element has no timestamp, but an interval join needs one; assign \
                    timestamps with assign_timestamps_and_watermarks"
                .into(),
        );
    }
    Ok(())
}

/// Adds `value` to `key`'s buffer at `timestamp`.
fn buffer<K: Key, T>(buffers: &mut FxHashMap<K, Buffer<T>>, key: &K, timestamp: i64, value: T) {
    let buffer = match buffers.get_mut(key) {
        Some(buffer) => buffer,
        None => buffers.entry(key.clone()).or_default(),
    };
    buffer.entry(timestamp).or_default().push(value);
}

/// Removes `key`'s bucket at `timestamp`.
fn remove_bucket<K: Key, T>(buffers: &mut FxHashMap<K, Buffer<T>>, key: &K, timestamp: i64) {
    if let Some(buffer) = buffers.get_mut(key) {
        buffer.remove(&timestamp);
        if buffer.is_empty() {
            buffers.remove(key);
        }
    }
}

impl<K, L, R, O, KS1, KS2, F> TwoInputLogic<L, R, O> for IntervalJoinLogic<K, L, R, KS1, KS2, F>
where
    K: Key,
    L: Send,
    R: Send,
    KS1: KeySelector<L, K>,
    KS2: KeySelector<R, K>,
    F: ProcessJoinFunction<L, R, O>,
{
    fn process1(
        &mut self,
        batch: Batch<L>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let watermark = self.timers.current_watermark();
        for record in batch.into_records() {
            let (value, t) = (record.value, record.timestamp);
            needs_timestamp(t)?;
            if watermark != i64::MIN && t < watermark {
                continue;
            }
            let key = self.key_selector1.get_key(&value);
            if let Some(others) = self.right.get(&key) {
                let range = t.saturating_add(self.lower)..=t.saturating_add(self.upper);
                for (&rt, rights) in others.range(range) {
                    let ctx = ProcessJoinContext::new(t, rt);
                    let mut collector = Collector::new(&mut out, ctx.timestamp());
                    for right in rights {
                        self.function
                            .process_element(&value, right, &ctx, &mut collector)?;
                    }
                }
            }
            let cleanup = if self.upper > 0 {
                t.saturating_add(self.upper)
            } else {
                t
            };
            self.timers
                .register_event_time_timer(&key, &Side::Left, cleanup);
            buffer(&mut self.left, &key, t, value);
        }
        Ok(out)
    }

    fn process2(
        &mut self,
        batch: Batch<R>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let watermark = self.timers.current_watermark();
        for record in batch.into_records() {
            let (value, rt) = (record.value, record.timestamp);
            needs_timestamp(rt)?;
            if watermark != i64::MIN && rt < watermark {
                continue;
            }
            let key = self.key_selector2.get_key(&value);
            if let Some(others) = self.left.get(&key) {
                let range = rt.saturating_sub(self.upper)..=rt.saturating_sub(self.lower);
                for (&t, lefts) in others.range(range) {
                    let ctx = ProcessJoinContext::new(t, rt);
                    let mut collector = Collector::new(&mut out, ctx.timestamp());
                    for left in lefts {
                        self.function
                            .process_element(left, &value, &ctx, &mut collector)?;
                    }
                }
            }
            let cleanup = if self.lower < 0 {
                rt.saturating_sub(self.lower)
            } else {
                rt
            };
            self.timers
                .register_event_time_timer(&key, &Side::Right, cleanup);
            buffer(&mut self.right, &key, rt, value);
        }
        Ok(out)
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.timers.advance_watermark(watermark.0);
        while let Some((time, key, side)) = self.timers.pop_event_time_due()? {
            match side {
                Side::Left => {
                    let bucket = if self.upper > 0 {
                        time - self.upper
                    } else {
                        time
                    };
                    remove_bucket(&mut self.left, &key, bucket);
                }
                Side::Right => {
                    let bucket = if self.lower < 0 {
                        time + self.lower
                    } else {
                        time
                    };
                    remove_bucket(&mut self.right, &key, bucket);
                }
            }
        }
        Ok(Batch::new())
    }
}
