//! Stateless record-at-a-time operators: map, filter, flat map, process.

use eddy_core::{FnResult, Watermark};
use eddy_functions::{
    Collector, FilterFunction, FlatMapFunction, MapFunction, ProcessContext, ProcessFunction,
    RuntimeContext, SideOutputs,
};

use super::placed_watermarks::PlacedWatermarks;
use super::OneInputLogic;
use crate::inbox::WatermarkAt;
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

    /// One output per input, blind to watermarks.
    fn passes_watermarks_through(&self) -> bool {
        true
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

    /// Blind to watermarks: each moves to the number of records kept before it.
    fn passes_watermarks_through(&self) -> bool {
        true
    }

    fn process_passing_watermarks(
        &mut self,
        mut batch: Batch<T>,
        watermarks: &[WatermarkAt],
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<(Batch<T>, Option<Vec<WatermarkAt>>)> {
        let mut placed = PlacedWatermarks::new(watermarks);
        let (mut seen, mut kept) = (0, 0);
        batch.try_retain(|value| {
            placed.before_input(seen, kept);
            seen += 1;
            let keep = self.0.filter(value)?;
            kept += usize::from(keep);
            Ok::<_, eddy_core::FunctionError>(keep)
        })?;
        Ok((batch, Some(placed.finish(kept))))
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

    /// Blind to watermarks: each moves behind the outputs of the inputs before it.
    fn passes_watermarks_through(&self) -> bool {
        true
    }

    fn process_passing_watermarks(
        &mut self,
        batch: Batch<I>,
        watermarks: &[WatermarkAt],
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<(Batch<O>, Option<Vec<WatermarkAt>>)> {
        let mut out = Batch::with_capacity(batch.len());
        let mut placed = PlacedWatermarks::new(watermarks);
        for (seen, record) in batch.into_records().enumerate() {
            placed.before_input(seen, out.len());
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.0.flat_map(record.value, &mut collector)?;
        }
        let emitted = out.len();
        Ok((out, Some(placed.finish(emitted))))
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

    /// A watermark only changes what the context reports (non-keyed process functions have
    /// no timers): each takes effect at its place in the batch.
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
        let mut out = Batch::with_capacity(batch.len());
        let mut placed = PlacedWatermarks::new(watermarks);
        for (seen, record) in batch.into_records().enumerate() {
            if let Some(watermark) = placed.before_input(seen, out.len()) {
                self.watermark = watermark.0;
            }
            let mut context =
                ProcessContext::new(record.timestamp, self.watermark, ctx, side_outputs);
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function
                .process_element(record.value, &mut context, &mut collector)?;
        }
        if let Some(last) = watermarks.last() {
            self.watermark = self.watermark.max(last.watermark.0);
        }
        let emitted = out.len();
        Ok((out, Some(placed.finish(emitted))))
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
