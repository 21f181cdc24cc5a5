//! Stateless record-at-a-time operators: map, filter, flat map, process.

use std::iter::Peekable;
use std::slice;

use eddy_core::{FnResult, Watermark};
use eddy_functions::{
    Collector, FilterFunction, FlatMapFunction, MapFunction, ProcessContext, ProcessFunction,
    RuntimeContext, SideOutputs,
};

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

/// Walks a batch's watermarks along its inputs while an operator turns them into outputs, and
/// places each watermark among the outputs: after those emitted for the inputs before it (and,
/// for an operator that emits at a watermark, after those too).
pub(super) struct PlacedWatermarks<'a> {
    marks: Peekable<slice::Iter<'a, WatermarkAt>>,
    placed: Vec<WatermarkAt>,
}

impl<'a> PlacedWatermarks<'a> {
    pub(super) fn new(watermarks: &'a [WatermarkAt]) -> Self {
        PlacedWatermarks {
            marks: watermarks.iter().peekable(),
            placed: Vec::with_capacity(watermarks.len()),
        }
    }

    /// Before input `seen`, with `emitted` outputs so far: places the watermarks due there;
    /// returns the last of them.
    #[inline]
    fn before_input(&mut self, seen: usize, emitted: usize) -> Option<Watermark> {
        let mut last = None;
        while let Some(mark) = self.next_due(seen) {
            self.place(mark, emitted);
            last = Some(mark.watermark);
        }
        last
    }

    /// The next watermark due before input `seen`, if any (to be [`place`](Self::place)d).
    #[inline]
    pub(super) fn next_due(&mut self, seen: usize) -> Option<WatermarkAt> {
        self.marks.next_if(|mark| mark.after <= seen).copied()
    }

    /// Places `mark` after `emitted` outputs.
    #[inline]
    pub(super) fn place(&mut self, mark: WatermarkAt, emitted: usize) {
        self.placed.push(WatermarkAt {
            after: emitted,
            ..mark
        });
    }

    /// After the last input, with `emitted` outputs in all: the placed watermarks.
    pub(super) fn finish(mut self, emitted: usize) -> Vec<WatermarkAt> {
        let rest = self.marks.map(|mark| WatermarkAt {
            after: emitted,
            ..*mark
        });
        self.placed.extend(rest);
        self.placed
    }
}
