//! Aligned time windows (tumbling and sliding) with incremental aggregation, computed per
//! slice.
//!
//! A window of length `size` starting every `slide` is a union of consecutive slices of length
//! `gcd(size, slide)`. Each element updates one slice accumulator; a window combines its slices
//! when it fires. So an element costs the same whatever `size / slide` is, and a window firing
//! costs `size / slice` merges. Per key, the slices live in a deque sorted by start: in-order
//! data always hits the last slice.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use eddy_core::config::RuntimeMode;
use eddy_core::functions::{Collector, KeySelector, OutputTag, RuntimeContext, SideOutputs};
use eddy_core::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_core::windowing::{Slicing, TimeWindow, Window, WindowContext};
use eddy_core::{FnResult, Key, Watermark, NO_TIMESTAMP};

use super::contents::WindowContents;
use super::missing_timestamp;
use crate::operators::OneInputLogic;
use crate::output::Batch;

/// What a timer of the slicing operator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SliceTimer {
    /// Fire the window ending at the timer's time + 1.
    Fire,
    /// Drop the slices only needed by the window ending at `window_end` (allowed lateness over).
    Cleanup { window_end: i64 },
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Tumbling and sliding windows with a default trigger, no evictor and an incremental
/// function.
pub struct SlicingWindowLogic<T, K, W, KS, C, O>
where
    C: WindowContents<T, K, W, O>,
    W: Window,
{
    key_selector: KS,
    contents: C,
    size: i64,
    slide: i64,
    offset: i64,
    slice: i64,
    /// Window ends are `end_alignment` modulo `slide`.
    end_alignment: i64,
    make_window: fn(i64, i64) -> W,
    event_time: bool,
    lateness: i64,
    late_data: Option<OutputTag<T>>,
    keys: FxHashMap<K, VecDeque<(i64, C::Acc)>>,
    timers: InternalTimerService<K, SliceTimer>,
    fire_processing_timers_at_end: bool,
    _output: std::marker::PhantomData<fn() -> O>,
}

/// The settings of a slicing window operator.
#[derive(Clone)]
pub struct SlicingSpec<T, KS, C, W> {
    /// Extracts the key.
    pub key_selector: KS,
    /// The incremental function.
    pub contents: C,
    /// The windows' geometry.
    pub slicing: Slicing<W>,
    /// Event time (lateness applies) or processing time.
    pub event_time: bool,
    /// Allowed lateness (ms).
    pub allowed_lateness: i64,
    /// Where late elements go.
    pub late_data: Option<OutputTag<T>>,
}

impl<T, K, W, KS, C, O> SlicingWindowLogic<T, K, W, KS, C, O>
where
    T: Send + 'static,
    K: Key,
    W: Window,
    KS: KeySelector<T, K>,
    C: WindowContents<T, K, W, O>,
{
    /// The operator for `spec`, on the task's clock.
    pub fn new(
        spec: SlicingSpec<T, KS, C, W>,
        clock: ProcessingTimeService,
        mode: RuntimeMode,
    ) -> Self {
        let Slicing {
            size,
            slide,
            offset,
            make_window,
        } = spec.slicing;
        let slice = gcd(size.max(1), slide.max(1));
        SlicingWindowLogic {
            key_selector: spec.key_selector,
            contents: spec.contents,
            size,
            slide,
            offset,
            slice,
            end_alignment: (offset.wrapping_add(size)).rem_euclid(slide.max(1)),
            make_window,
            event_time: spec.event_time,
            lateness: if spec.event_time {
                spec.allowed_lateness
            } else {
                0
            },
            late_data: spec.late_data,
            keys: FxHashMap::default(),
            timers: InternalTimerService::new(clock),
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
            _output: std::marker::PhantomData,
        }
    }

    /// The end of the first window containing the slice starting at `slice_start`.
    fn first_end(&self, slice_start: i64) -> i64 {
        let min_end = slice_start + self.slice;
        min_end + (self.end_alignment - min_end).rem_euclid(self.slide)
    }

    fn register_fire(&mut self, key: &K, window_end: i64) {
        let time = window_end - 1;
        if self.event_time {
            self.timers
                .register_event_time_timer(key, &SliceTimer::Fire, time);
        } else {
            self.timers
                .register_processing_time_timer(key, &SliceTimer::Fire, time);
        }
    }

    /// Emits the window `[window_end - size, window_end)` of `key` if any slice of it has data.
    /// With `take_expired`, slices no later window needs are moved out instead of cloned.
    fn emit_window(
        &mut self,
        key: &K,
        window_end: i64,
        take_expired: bool,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let Some(slices) = self.keys.get_mut(key) else {
            return Ok(());
        };
        let window_start = window_end - self.size;
        let keep_from = window_end + self.slide - self.size;
        let mut acc: Option<C::Acc> = None;
        if take_expired {
            while let Some(&(start, _)) = slices.front() {
                if start >= keep_from || start >= window_end {
                    break;
                }
                let (start, part) = slices.pop_front().ok_or("slice vanished")?;
                if start >= window_start {
                    merge_into(&mut self.contents, &mut acc, part)?;
                }
            }
        }
        for (start, part) in slices.iter() {
            if *start >= window_end {
                break;
            }
            if *start >= window_start {
                merge_into(&mut self.contents, &mut acc, part.clone())?;
            }
        }
        let Some(mut acc) = acc else {
            return Ok(());
        };
        let window = (self.make_window)(window_start, window_end);
        let mut window_ctx = WindowContext::new(
            &window,
            self.timers.current_watermark(),
            self.timers.clock(),
            ctx,
            side_outputs,
        );
        let mut collector = Collector::new(out, window.max_timestamp());
        self.contents
            .emit(key, &mut acc, &mut window_ctx, &mut collector)
    }

    /// Drops the slices that no window ending after `window_end` contains.
    fn drop_expired(&mut self, key: &K, window_end: i64) {
        let keep_from = window_end + self.slide - self.size;
        if let Some(slices) = self.keys.get_mut(key) {
            while slices.front().is_some_and(|(start, _)| *start < keep_from) {
                slices.pop_front();
            }
            if slices.is_empty() {
                self.keys.remove(key);
            }
        }
    }

    /// A window's timer fired: emit it, schedule the next window with data, clean up.
    fn on_fire(
        &mut self,
        key: &K,
        window_end: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let no_lateness = self.lateness == 0;
        self.emit_window(key, window_end, no_lateness, ctx, side_outputs, out)?;
        if no_lateness {
            self.drop_expired(key, window_end);
        } else {
            self.timers.register_event_time_timer(
                key,
                &SliceTimer::Cleanup { window_end },
                (window_end - 1).saturating_add(self.lateness),
            );
        }
        let next_end = window_end + self.slide;
        let next_start = next_end - self.size;
        let has_next = self.keys.get(key).is_some_and(|slices| {
            let first = slices.partition_point(|(start, _)| *start < next_start);
            slices
                .get(first)
                .is_some_and(|(start, _)| *start < next_end)
        });
        if has_next {
            self.register_fire(key, next_end);
        }
        Ok(())
    }

    fn fire_timers(
        &mut self,
        domain: TimeDomain,
        now: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        loop {
            let due = match domain {
                TimeDomain::EventTime => self.timers.pop_event_time_due(),
                TimeDomain::ProcessingTime => self.timers.pop_processing_time_due(now),
            };
            let Some((time, key, timer)) = due else {
                break;
            };
            match timer {
                SliceTimer::Fire => {
                    self.on_fire(&key, time + 1, ctx, side_outputs, &mut out)?;
                }
                SliceTimer::Cleanup { window_end } => self.drop_expired(&key, window_end),
            }
        }
        if domain == TimeDomain::ProcessingTime {
            self.timers.request_next_wakeup();
        }
        Ok(out)
    }
}

fn merge_into<T, K, W: Window, O, C: WindowContents<T, K, W, O>>(
    contents: &mut C,
    acc: &mut Option<C::Acc>,
    part: C::Acc,
) -> FnResult<()> {
    match acc {
        Some(acc) => contents.merge(acc, part),
        None => {
            *acc = Some(part);
            Ok(())
        }
    }
}

/// The index of the slice starting at `start` in sorted `slices`, inserted if missing;
/// `true` if it was created.
#[inline]
fn slice_index<A>(
    slices: &mut VecDeque<(i64, A)>,
    start: i64,
    create: impl FnOnce() -> A,
) -> (usize, bool) {
    match slices.back() {
        Some((last, _)) if *last == start => return (slices.len() - 1, false),
        Some((last, _)) if *last < start => {
            slices.push_back((start, create()));
            return (slices.len() - 1, true);
        }
        None => {
            slices.push_back((start, create()));
            return (0, true);
        }
        Some(_) => {}
    }
    match slices.binary_search_by_key(&start, |(s, _)| *s) {
        Ok(index) => (index, false),
        Err(index) => {
            slices.insert(index, (start, create()));
            (index, true)
        }
    }
}

impl<T, K, W, KS, C, O> OneInputLogic<T, O> for SlicingWindowLogic<T, K, W, KS, C, O>
where
    T: Send + 'static,
    K: Key,
    W: Window,
    KS: KeySelector<T, K>,
    C: WindowContents<T, K, W, O>,
    O: Send,
{
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.contents.open(ctx)
    }

    fn process(
        &mut self,
        batch: Batch<T>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let now = if self.event_time {
            0
        } else {
            self.timers.current_processing_time()
        };
        let mut last_slice_start = i64::MAX;
        for record in batch.into_records() {
            let time = if self.event_time {
                if record.timestamp == NO_TIMESTAMP {
                    return Err(missing_timestamp(ctx));
                }
                record.timestamp
            } else {
                now
            };
            let watermark = self.timers.current_watermark();
            // An element after the watermark is in no window the watermark passed.
            if self.event_time && time <= watermark {
                let last_end =
                    TimeWindow::get_window_start_with_offset(time, self.offset, self.slide)
                        + self.size;
                if (last_end - 1).saturating_add(self.lateness) <= watermark {
                    if let Some(tag) = &self.late_data {
                        side_outputs.emit(tag, record.value, record.timestamp);
                    }
                    continue;
                }
            }
            // Consecutive elements mostly share a slice: skip the division then.
            if time < last_slice_start || time.saturating_sub(last_slice_start) >= self.slice {
                last_slice_start =
                    TimeWindow::get_window_start_with_offset(time, self.offset, self.slice);
            }
            let slice_start = last_slice_start;
            let key = self.key_selector.get_key(&record.value);
            let slices = match self.keys.get_mut(&key) {
                Some(slices) => slices,
                None => self.keys.entry(key.clone()).or_default(),
            };
            let contents = &mut self.contents;
            let (index, created) = slice_index(slices, slice_start, || contents.create());
            self.contents
                .add(&mut slices[index].1, record.value, record.timestamp)?;
            let behind_watermark = self.event_time && time <= watermark;
            if !created && !behind_watermark {
                continue;
            }
            // Windows of this slice the watermark passed re-fire (allowed lateness); the first
            // one still ahead gets a timer.
            let mut end = self.first_end(slice_start);
            while end - self.size <= slice_start {
                if self.event_time && end - 1 <= watermark {
                    if (end - 1).saturating_add(self.lateness) > watermark {
                        self.emit_window(&key, end, false, ctx, side_outputs, &mut out)?;
                    }
                } else {
                    self.register_fire(&key, end);
                    break;
                }
                end += self.slide;
            }
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
        self.fire_timers(TimeDomain::EventTime, 0, ctx, side_outputs)
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
        self.fire_timers(TimeDomain::ProcessingTime, now, ctx, side_outputs)
    }

    fn end_of_input(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        if !self.fire_processing_timers_at_end || self.event_time {
            return Ok(Batch::new());
        }
        self.fire_timers(TimeDomain::ProcessingTime, i64::MAX, ctx, side_outputs)
    }

    fn close(&mut self) -> FnResult<()> {
        self.contents.close()
    }
}
