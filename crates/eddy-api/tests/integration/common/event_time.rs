//! Deterministic event time for integration tests: a scripted source whose elements carry
//! timestamps, with watermarks exactly where the script puts them, and helpers to collect
//! results together with their timestamps.
//!
//! A script runs at parallelism 1 (the source is not parallel) and its watermarks come from a
//! punctuated generator chained to it, so every downstream operator sees the elements and
//! watermarks of one script in script order: which elements are late is deterministic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy_api::core::Watermark;
use eddy_api::prelude::*;

/// A condition a scripted source waits for before it goes on.
pub type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

/// One step of a scripted source.
#[derive(Clone)]
pub enum Step<T> {
    /// Emit `value` with event timestamp `timestamp`.
    Element(T, i64),
    /// Emit a watermark right after the previous element (a script cannot start with one).
    Watermark(i64),
    /// Emit nothing until the gate opens (polling it every millisecond).
    WaitUntil(Gate),
}

/// An element with its event timestamp.
pub fn elem<T>(value: T, timestamp: i64) -> Step<T> {
    Step::Element(value, timestamp)
}

/// A watermark after the previous element.
pub fn wm<T>(watermark: i64) -> Step<T> {
    Step::Watermark(watermark)
}

/// Waits until `condition` holds.
pub fn wait_until<T>(condition: impl Fn() -> bool + Send + Sync + 'static) -> Step<T> {
    Step::WaitUntil(Arc::new(condition))
}

/// Waits until `flag` is set.
pub fn wait_for<T>(flag: &Arc<AtomicBool>) -> Step<T> {
    let flag = flag.clone();
    wait_until(move || flag.load(Ordering::SeqCst))
}

/// `(value, timestamp)` pairs as element steps, in order, without watermarks.
pub fn elements<T>(pairs: impl IntoIterator<Item = (T, i64)>) -> Vec<Step<T>> {
    pairs.into_iter().map(|(v, ts)| elem(v, ts)).collect()
}

/// The source of a script: emits its elements with their timestamps, waits at its gates.
#[derive(Clone)]
pub struct ScriptedSource<T> {
    steps: Vec<Step<T>>,
    next: usize,
}

impl<T: Data> SourceFunction<T> for ScriptedSource<T> {
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        self.next = 0;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        let mut emitted = false;
        while let Some(step) = self.steps.get(self.next) {
            match step {
                Step::Element(value, timestamp) => {
                    if emitted && out.remaining() == 0 {
                        return Ok(SourceStatus::MoreAvailable);
                    }
                    out.collect_with_timestamp(value.clone(), *timestamp);
                    emitted = true;
                }
                Step::Watermark(_) => {}
                Step::WaitUntil(gate) => {
                    if emitted {
                        // Let what was emitted so far travel before waiting.
                        return Ok(SourceStatus::MoreAvailable);
                    }
                    if !gate() {
                        return Ok(SourceStatus::NothingAvailable(Duration::from_millis(1)));
                    }
                }
            }
            self.next += 1;
        }
        Ok(if emitted {
            SourceStatus::MoreAvailable
        } else {
            SourceStatus::Finished
        })
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// A punctuated generator emitting the script's watermarks after the elements they follow.
#[derive(Clone)]
pub struct ScriptedWatermarks {
    /// For the n-th element: the watermark to emit right after it.
    after: Arc<Vec<Option<i64>>>,
    seen: usize,
}

impl ScriptedWatermarks {
    fn for_script<T>(steps: &[Step<T>]) -> Self {
        let mut after: Vec<Option<i64>> = Vec::new();
        for step in steps {
            match step {
                Step::Element(..) => after.push(None),
                Step::Watermark(w) => {
                    let last = after
                        .last_mut()
                        .expect("a script cannot start with a watermark: put an element first");
                    *last = Some(last.map_or(*w, |previous| previous.max(*w)));
                }
                Step::WaitUntil(_) => {}
            }
        }
        ScriptedWatermarks {
            after: Arc::new(after),
            seen: 0,
        }
    }
}

impl<T> WatermarkGenerator<T> for ScriptedWatermarks {
    fn on_event(&mut self, _event: &T, _timestamp: i64, output: &mut WatermarkOutput) {
        if let Some(Some(w)) = self.after.get(self.seen) {
            output.emit_watermark(Watermark(*w));
        }
        self.seen += 1;
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// The stream of a script: a non-parallel source plus its punctuated watermarks.
pub fn scripted<T: Data>(env: &StreamExecutionEnvironment, steps: Vec<Step<T>>) -> DataStream<T> {
    let generator = ScriptedWatermarks::for_script(&steps);
    env.add_source(ScriptedSource { steps, next: 0 })
        .name("Script")
        .assign_timestamps_and_watermarks(WatermarkStrategy::for_generator(generator))
        .set_parallelism(1)
}

/// Pairs every element with its timestamp (what a downstream operator would read).
#[derive(Clone)]
pub struct WithTimestamp;

impl<T: Data> ProcessFunction<T, (T, Option<i64>)> for WithTimestamp {
    fn process_element(
        &mut self,
        value: T,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, (T, Option<i64>)>,
    ) -> FnResult<()> {
        out.collect((value, ctx.timestamp()));
        Ok(())
    }
}

/// Runs the job and returns every element of `stream` with its timestamp, in arrival order.
pub fn collect_stamped<T: Data>(stream: &DataStream<T>, job: &str) -> Vec<(T, Option<i64>)> {
    stream
        .process(WithTimestamp)
        .execute_and_collect(job)
        .unwrap_or_else(|e| panic!("job '{job}' failed: {e:?}"))
}

/// [`collect_stamped`], sorted (for outputs whose order across keys or subtasks is not
/// defined).
pub fn collect_stamped_sorted<T: Data + Ord>(
    stream: &DataStream<T>,
    job: &str,
) -> Vec<(T, Option<i64>)> {
    let mut out = collect_stamped(stream, job);
    out.sort();
    out
}

/// Runs the job and returns every element of `stream`, sorted.
pub fn collect_sorted<T: Data + Ord>(stream: &DataStream<T>, job: &str) -> Vec<T> {
    let mut out = stream
        .execute_and_collect(job)
        .unwrap_or_else(|e| panic!("job '{job}' failed: {e:?}"));
    out.sort();
    out
}

/// Flink's `TimeWindow.getWindowStartWithOffset`: the start of the window of `size` (shifted
/// by `offset`) that contains `timestamp`, also for negative timestamps and offsets.
pub fn window_start(timestamp: i64, offset: i64, size: i64) -> i64 {
    let remainder = (timestamp - offset) % size;
    if remainder < 0 {
        timestamp - (remainder + size)
    } else {
        timestamp - remainder
    }
}

/// Reference tumbling assignment: the `[start, end)` window of `timestamp`.
pub fn tumbling_window(timestamp: i64, size: i64, offset: i64) -> (i64, i64) {
    let start = window_start(timestamp, offset, size);
    (start, start + size)
}

/// Reference sliding assignment (Flink's `SlidingEventTimeWindows.assignWindows`): every
/// `[start, start + size)` with `start` on the slide grid and `start > timestamp - size`,
/// latest first.
pub fn sliding_windows(timestamp: i64, size: i64, slide: i64, offset: i64) -> Vec<(i64, i64)> {
    let mut windows = Vec::new();
    let mut start = window_start(timestamp, offset, slide);
    while start > timestamp - size {
        windows.push((start, start + size));
        start -= slide;
    }
    windows
}

/// What a [`StampedSink`] records: `(value, timestamp)` in arrival order.
pub type Stamped<T> = Arc<std::sync::Mutex<Vec<(T, Option<i64>)>>>;

/// A sink recording every element with its timestamp (for jobs with several outputs, e.g. a
/// main output and a side output).
#[derive(Clone)]
pub struct StampedSink<T>(Stamped<T>);

impl<T> StampedSink<T> {
    /// A sink and the handle on what it records.
    pub fn new() -> (Self, Stamped<T>) {
        let records: Stamped<T> = Arc::new(std::sync::Mutex::new(Vec::new()));
        (StampedSink(records.clone()), records)
    }
}

impl<T: Data> SinkFunction<T> for StampedSink<T> {
    fn invoke(&mut self, value: T, ctx: &SinkContext) -> FnResult<()> {
        self.0.lock().unwrap().push((value, ctx.timestamp()));
        Ok(())
    }
}

/// Everything a [`StampedSink`] recorded, in arrival order.
pub fn stamped<T: Clone>(records: &Stamped<T>) -> Vec<(T, Option<i64>)> {
    records.lock().unwrap().clone()
}

/// Everything a [`StampedSink`] recorded, sorted.
pub fn stamped_sorted<T: Clone + Ord>(records: &Stamped<T>) -> Vec<(T, Option<i64>)> {
    let mut out = stamped(records);
    out.sort();
    out
}

/// Pairs every element with its timestamp and the watermark of the operator receiving it.
#[derive(Clone)]
pub struct WithTimestampAndWatermark;

impl<T: Data> ProcessFunction<T, (T, Option<i64>, i64)> for WithTimestampAndWatermark {
    fn process_element(
        &mut self,
        value: T,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, (T, Option<i64>, i64)>,
    ) -> FnResult<()> {
        out.collect((value, ctx.timestamp(), ctx.current_watermark()));
        Ok(())
    }
}

/// A tiny deterministic pseudo-random generator (for generated inputs without a dependency).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    /// The next value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }

    /// The next value in `low..high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low) as u64) as i64
    }
}
