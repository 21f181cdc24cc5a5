//! Stateless record-at-a-time operators: map, filter, flat map, process.

use eddy_core::FnResult;
use eddy_functions::{
    Collector, FilterFunction, FlatMapFunction, MapFunction, ProcessContext, ProcessFunction,
    RuntimeContext, SideOutputs,
};

use super::OneInputLogic;
use crate::output::Batch;

/// Applies a [`MapFunction`] to every record, keeping timestamps.
pub struct MapLogic<F>(pub F);

impl<I, O, F: MapFunction<I, O>> OneInputLogic<I, O> for MapLogic<F> {
    forward_checkpointed!(0);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }

    #[inline]
    fn process(
        &mut self,
        batch: Batch<I>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.0.map_batch(batch)
    }

    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}

/// Keeps the records a [`FilterFunction`] accepts, in place.
pub struct FilterLogic<F>(pub F);

impl<T, F: FilterFunction<T>> OneInputLogic<T, T> for FilterLogic<F> {
    forward_checkpointed!(0);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }

    #[inline]
    fn process(
        &mut self,
        mut batch: Batch<T>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        self.0.filter_batch(&mut batch)?;
        Ok(batch)
    }

    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}

/// Applies a [`FlatMapFunction`]; outputs inherit their input's timestamp.
pub struct FlatMapLogic<F>(pub F);

impl<I, O, F: FlatMapFunction<I, O>> OneInputLogic<I, O> for FlatMapLogic<F> {
    forward_checkpointed!(0);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }

    fn process(
        &mut self,
        batch: Batch<I>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.0.flat_map(record.value, &mut collector)?;
        }
        Ok(out)
    }

    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}

/// Applies a [`ProcessFunction`], tracking the input watermark for its context.
pub struct ProcessLogic<F> {
    function: F,
    watermark: i64,
}

impl<F> ProcessLogic<F> {
    /// Runs `function`.
    pub fn new(function: F) -> Self {
        ProcessLogic {
            function,
            watermark: i64::MIN,
        }
    }
}

impl<I, O, F: ProcessFunction<I, O>> OneInputLogic<I, O> for ProcessLogic<F> {
    forward_checkpointed!(function);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.function.open(ctx)
    }

    fn process(
        &mut self,
        batch: Batch<I>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            let mut context =
                ProcessContext::new(record.timestamp, self.watermark, ctx, side_outputs);
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element(record.value, &mut context, &mut collector)?;
        }
        Ok(out)
    }

    fn on_watermark(
        &mut self,
        watermark: eddy_core::Watermark,
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
