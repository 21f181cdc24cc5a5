//! Watermark strategies: how a stream gets event timestamps and watermarks.
//!
//! A [`WatermarkStrategy`] pairs a [`TimestampAssigner`] (the event time of each element) with a
//! [`WatermarkGenerator`] (when the stream's event time may advance). Generators are called for
//! every element (`on_event`, where punctuated generators emit) and periodically, every
//! `pipeline.auto-watermark-interval` (`on_periodic_emit`, where periodic generators emit).

use std::time::{Duration, Instant};

use eddy_core::record::Watermark;

/// Collects the watermarks (and idleness changes) a generator emits during one call.
#[derive(Debug, Default)]
pub struct WatermarkOutput {
    emitted: Option<i64>,
    idle: Option<bool>,
}

impl WatermarkOutput {
    /// An output with nothing emitted yet.
    pub fn new() -> Self {
        WatermarkOutput::default()
    }

    /// Emits a watermark (the operator only forwards it if it advances the stream's watermark).
    #[inline]
    pub fn emit_watermark(&mut self, watermark: Watermark) {
        self.emitted = Some(self.emitted.map_or(watermark.0, |w| w.max(watermark.0)));
    }

    /// Takes the highest watermark emitted since the last call.
    #[inline]
    pub fn take(&mut self) -> Option<Watermark> {
        self.emitted.take().map(Watermark)
    }

    /// Declares the stream idle: downstream operators stop waiting for its watermarks until it
    /// emits again.
    pub fn mark_idle(&mut self) {
        self.idle = Some(true);
    }

    /// Declares the stream active again.
    pub fn mark_active(&mut self) {
        self.idle = Some(false);
    }

    /// Takes the last idleness change since the last call: `Some(true)` idle, `Some(false)`
    /// active.
    #[inline]
    pub fn take_status(&mut self) -> Option<bool> {
        self.idle.take()
    }
}

/// Decides when a stream's event time advances.
pub trait WatermarkGenerator<T>: Clone + Send + 'static {
    /// Called for every element with its assigned timestamp; punctuated generators emit here.
    fn on_event(&mut self, event: &T, timestamp: i64, output: &mut WatermarkOutput);
    /// Called every `pipeline.auto-watermark-interval`; periodic generators emit here.
    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput);
}

/// Assigns an element its event timestamp (milliseconds).
pub trait TimestampAssigner<T>: Clone + Send + 'static {
    /// The element's timestamp; `record_timestamp` is the one it already carries (or
    /// [`NO_TIMESTAMP`](eddy_core::record::NO_TIMESTAMP)).
    fn extract_timestamp(&mut self, element: &T, record_timestamp: i64) -> i64;
}

impl<T, F> TimestampAssigner<T> for F
where
    F: FnMut(&T, i64) -> i64 + Clone + Send + 'static,
{
    #[inline]
    fn extract_timestamp(&mut self, element: &T, record_timestamp: i64) -> i64 {
        self(element, record_timestamp)
    }
}

/// Keeps the timestamp the element already carries (e.g. set by its source).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordTimestamps;

impl<T> TimestampAssigner<T> for RecordTimestamps {
    #[inline]
    fn extract_timestamp(&mut self, _element: &T, record_timestamp: i64) -> i64 {
        record_timestamp
    }
}

/// Periodic watermarks trailing the highest timestamp seen by a fixed bound: watermark =
/// max timestamp − out-of-orderness − 1 ms (Flink's `BoundedOutOfOrdernessWatermarks`). Emits
/// nothing before the first element.
#[derive(Debug, Clone, Copy)]
pub struct BoundedOutOfOrderness {
    max_timestamp: Option<i64>,
    out_of_orderness_ms: i64,
}

impl BoundedOutOfOrderness {
    /// A generator tolerating elements up to `max_out_of_orderness` late.
    pub fn new(max_out_of_orderness: Duration) -> Self {
        BoundedOutOfOrderness {
            max_timestamp: None,
            out_of_orderness_ms: i64::try_from(max_out_of_orderness.as_millis())
                .unwrap_or(i64::MAX / 2),
        }
    }
}

impl<T> WatermarkGenerator<T> for BoundedOutOfOrderness {
    #[inline]
    fn on_event(&mut self, _event: &T, timestamp: i64, _output: &mut WatermarkOutput) {
        self.max_timestamp = Some(self.max_timestamp.map_or(timestamp, |m| m.max(timestamp)));
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        if let Some(max) = self.max_timestamp {
            output.emit_watermark(Watermark(
                max.saturating_sub(self.out_of_orderness_ms)
                    .saturating_sub(1),
            ));
        }
    }
}

/// Generates no watermarks (processing-time programs, or event time decided downstream).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWatermarks;

impl<T> WatermarkGenerator<T> for NoWatermarks {
    fn on_event(&mut self, _event: &T, _timestamp: i64, _output: &mut WatermarkOutput) {}
    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// Wraps a generator: when no element arrived for `timeout` (checked on the periodic tick),
/// marks the stream idle; the next element marks it active again. Counting elements instead of
/// reading the clock per element keeps the per-record cost to an increment (as Flink's
/// `IdlenessTimer` does).
#[derive(Debug, Clone)]
pub struct WithIdleness<G> {
    inner: G,
    timeout: Duration,
    events: u64,
    events_at_last_check: u64,
    quiet_since: Option<Instant>,
    idle: bool,
}

impl<G> WithIdleness<G> {
    /// `inner`, declared idle after `timeout` without elements.
    pub fn new(inner: G, timeout: Duration) -> Self {
        WithIdleness {
            inner,
            timeout,
            events: 0,
            events_at_last_check: 0,
            quiet_since: None,
            idle: false,
        }
    }

    /// The periodic check at time `now`: whether the stream is idle now.
    fn check_idle(&mut self, now: Instant) -> bool {
        if self.events != self.events_at_last_check {
            self.events_at_last_check = self.events;
            self.quiet_since = Some(now);
            return false;
        }
        let since = *self.quiet_since.get_or_insert(now);
        now.saturating_duration_since(since) >= self.timeout
    }

    fn periodic_at<T>(&mut self, now: Instant, output: &mut WatermarkOutput)
    where
        G: WatermarkGenerator<T>,
    {
        if self.idle {
            return;
        }
        if self.check_idle(now) {
            self.idle = true;
            output.mark_idle();
        } else {
            self.inner.on_periodic_emit(output);
        }
    }
}

impl<T, G: WatermarkGenerator<T>> WatermarkGenerator<T> for WithIdleness<G> {
    #[inline]
    fn on_event(&mut self, event: &T, timestamp: i64, output: &mut WatermarkOutput) {
        self.events = self.events.wrapping_add(1);
        if self.idle {
            self.idle = false;
            output.mark_active();
        }
        self.inner.on_event(event, timestamp, output);
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        self.periodic_at::<T>(Instant::now(), output);
    }
}

/// How a stream gets timestamps and watermarks (Flink's `WatermarkStrategy`).
#[derive(Debug, Clone, Copy)]
pub struct WatermarkStrategy<G, A> {
    /// The watermark generator (cloned for every parallel subtask).
    pub generator: G,
    /// The timestamp assigner.
    pub assigner: A,
}

impl WatermarkStrategy<BoundedOutOfOrderness, RecordTimestamps> {
    /// Periodic watermarks trailing the highest timestamp by `max_out_of_orderness`.
    pub fn for_bounded_out_of_orderness(max_out_of_orderness: Duration) -> Self {
        WatermarkStrategy {
            generator: BoundedOutOfOrderness::new(max_out_of_orderness),
            assigner: RecordTimestamps,
        }
    }

    /// Periodic watermarks for ascending timestamps: the highest timestamp seen − 1 ms.
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(Duration::ZERO)
    }
}

/// Ingestion time: an element's timestamp is the wall clock when it enters the stream
/// (milliseconds since the Unix epoch), never decreasing within a subtask.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestionTime {
    last: i64,
}

impl<T> TimestampAssigner<T> for IngestionTime {
    #[inline]
    fn extract_timestamp(&mut self, _element: &T, _record_timestamp: i64) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.last = self.last.max(now);
        self.last
    }
}

impl WatermarkStrategy<BoundedOutOfOrderness, IngestionTime> {
    /// Ingestion time (Flink's `IngestionTimeWatermarkStrategy`): timestamps from the wall
    /// clock as elements enter, with monotonous watermarks, so event-time operators (windows,
    /// timers) run on arrival time.
    pub fn for_ingestion_time() -> Self {
        WatermarkStrategy {
            generator: BoundedOutOfOrderness::new(Duration::ZERO),
            assigner: IngestionTime::default(),
        }
    }
}

impl WatermarkStrategy<NoWatermarks, RecordTimestamps> {
    /// No watermarks at all.
    pub fn no_watermarks() -> Self {
        WatermarkStrategy {
            generator: NoWatermarks,
            assigner: RecordTimestamps,
        }
    }
}

impl<G> WatermarkStrategy<G, RecordTimestamps> {
    /// A strategy around a custom (periodic or punctuated) generator.
    pub fn for_generator(generator: G) -> Self {
        WatermarkStrategy {
            generator,
            assigner: RecordTimestamps,
        }
    }
}

impl<G, A> WatermarkStrategy<G, A> {
    /// Marks the stream idle after `timeout` without elements, so that downstream operators
    /// stop waiting for its watermarks (Flink's `withIdleness`).
    pub fn with_idleness(self, timeout: Duration) -> WatermarkStrategy<WithIdleness<G>, A> {
        WatermarkStrategy {
            generator: WithIdleness::new(self.generator, timeout),
            assigner: self.assigner,
        }
    }

    /// Uses `assigner` for the elements' timestamps, e.g. `|event: &Event, _| event.time`.
    pub fn with_timestamp_assigner<B>(self, assigner: B) -> WatermarkStrategy<G, B> {
        WatermarkStrategy {
            generator: self.generator,
            assigner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_out_of_orderness_trails_the_maximum_by_the_bound_plus_one() {
        let mut generator = BoundedOutOfOrderness::new(Duration::from_millis(100));
        let mut out = WatermarkOutput::new();
        WatermarkGenerator::<()>::on_periodic_emit(&mut generator, &mut out);
        assert_eq!(out.take(), None, "nothing before the first element");
        for ts in [1000, 1500, 1200] {
            generator.on_event(&(), ts, &mut out);
        }
        assert_eq!(out.take(), None, "periodic: nothing per element");
        WatermarkGenerator::<()>::on_periodic_emit(&mut generator, &mut out);
        assert_eq!(out.take(), Some(Watermark(1399)));
        let mut monotonous = WatermarkStrategy::for_monotonous_timestamps().generator;
        monotonous.on_event(&(), -50, &mut out);
        WatermarkGenerator::<()>::on_periodic_emit(&mut monotonous, &mut out);
        assert_eq!(
            out.take(),
            Some(Watermark(-51)),
            "negative timestamps work too"
        );
    }

    #[test]
    fn idleness_is_declared_after_a_quiet_timeout_and_lifted_by_the_next_element() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let inner = BoundedOutOfOrderness::new(Duration::ZERO);
        let mut generator = WithIdleness::new(inner, Duration::from_millis(100));
        let mut out = WatermarkOutput::new();
        generator.on_event(&(), 10, &mut out);
        generator.periodic_at::<()>(at(0), &mut out);
        assert_eq!((out.take(), out.take_status()), (Some(Watermark(9)), None));
        generator.periodic_at::<()>(at(60), &mut out);
        assert_eq!(
            (out.take(), out.take_status()),
            (Some(Watermark(9)), None),
            "quiet for 60 ms only: still active"
        );
        generator.periodic_at::<()>(at(100), &mut out);
        assert_eq!((out.take(), out.take_status()), (None, Some(true)));
        generator.periodic_at::<()>(at(300), &mut out);
        assert_eq!(
            (out.take(), out.take_status()),
            (None, None),
            "idle emits nothing"
        );
        generator.on_event(&(), 50, &mut out);
        assert_eq!(out.take_status(), Some(false));
        generator.periodic_at::<()>(at(310), &mut out);
        assert_eq!((out.take(), out.take_status()), (Some(Watermark(49)), None));
    }

    #[test]
    fn output_keeps_the_highest_emitted_watermark() {
        let mut out = WatermarkOutput::new();
        out.emit_watermark(Watermark(5));
        out.emit_watermark(Watermark(3));
        assert_eq!(out.take(), Some(Watermark(5)));
        assert_eq!(out.take(), None);
    }
}
