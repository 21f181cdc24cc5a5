//! Aligned time windows (tumbling and sliding) with incremental aggregation, computed per
//! slice.
//!
//! A window of length `size` starting every `slide` is a union of consecutive slices of length
//! `gcd(size, slide)`. Each element updates one slice accumulator; a window combines its slices
//! when it fires. So an element costs the same whatever `size / slide` is, and a window firing
//! costs `size / slice` merges. Per key, the slices live in a deque sorted by start: in-order
//! data always hits the last slice.

use std::any::Any;

use rustc_hash::FxHashMap;

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, Key, StreamRecord, Watermark, NO_TIMESTAMP};
use eddy_functions::windowing::{Slicing, TimeWindow, Window, WindowContext};
use eddy_functions::{Collector, KeySelector, OutputTag, RuntimeContext, SideOutputs};
use eddy_state::time::{InternalTimerService, ProcessingTimeService};
use eddy_state::{KeyedStateBackend, KeyedStateSnapshot, PendingKeyedSnapshot, StateBackendConfig};

use super::buckets::Buckets;
use super::contents::WindowContents;
use super::fifo::SliceFifo;
use super::key_slices::KeySlices;
use super::missing_timestamp;
use super::slicing_snapshot::{has_whole_windows, restorable, whole_windows_as_slices, SliceState};

use crate::carried::carried_keys;
use crate::operators::OneInputLogic;
use crate::output::Batch;
use crate::state_backend::open_keyed_state_backend;

/// Timestamps beyond this (ms, either sign) are rejected, so window arithmetic cannot overflow.
const MAX_TIMESTAMP: u64 = 1 << 62;

/// The greatest common divisor (the slice length of windows of `size` every `slide`).
pub(super) fn gcd(a: i64, b: i64) -> i64 {
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
    keys: FxHashMap<K, KeySlices<C::Acc>>,
    /// The window function's keyed state (`window_state()` / `global_state()`).
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    /// Whether windows span enough slices that a running FIFO aggregate beats merging them.
    use_fifo: bool,
    /// Keys with a window to fire, by window end. A key is listed under its `next_fire`; other
    /// entries for it are stale and skipped. (One bucket per window end instead of a timer per
    /// key and window: firing walks a bucket of keys, registering appends to one.)
    fires: Buckets<K>,
    /// Keys whose slices of the window with this end expire (allowed lateness over) at
    /// `end - 1 + lateness`.
    cleanups: Buckets<K>,
    watermark: i64,
    clock: ProcessingTimeService,
    fire_processing_timers_at_end: bool,
    /// The most results one call emits; the rest wait for
    /// [`pending_output`](OneInputLogic::pending_output), so a watermark firing a million
    /// windows produces cache-sized batches instead of one huge one.
    chunk: usize,
    /// The bucket being fired when the last chunk filled up.
    firing: Option<Firing<K>>,
    /// The time `fire_due` was firing up to when the last chunk filled up.
    fire_until: Option<i64>,
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
    /// The operator for `spec`, on the task's clock, emitting batches of up to `batch_size`
    /// results.
    pub fn new(
        spec: SlicingSpec<T, KS, C, W>,
        clock: ProcessingTimeService,
        mode: RuntimeMode,
        batch_size: usize,
        state_backend: StateBackendConfig,
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
            state: KeyedStateBackend::heap(),
            state_backend,
            use_fifo: size / slice > 2,
            fires: Buckets::default(),
            cleanups: Buckets::default(),
            watermark: i64::MIN,
            clock,
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
            chunk: batch_size.max(1),
            firing: None,
            fire_until: None,
            _output: std::marker::PhantomData,
        }
    }

    /// The end of the first window containing the slice starting at `slice_start`.
    fn first_end(&self, slice_start: i64) -> i64 {
        first_window_end(slice_start, self.slice, self.slide, self.end_alignment)
    }

    /// Schedules the window ending at `window_end`, unless the key already has an earlier
    /// window scheduled: firing that one schedules the next window with data, so a key has
    /// one pending window.
    fn register_fire(&mut self, key: &K, window_end: i64) {
        let Some(key_slices) = self.keys.get_mut(key) else {
            return;
        };
        if key_slices.next_fire <= window_end {
            return;
        }
        key_slices.next_fire = window_end;
        self.fires.push(window_end, key.clone());
        if !self.event_time {
            self.clock.request_wakeup(window_end - 1);
        }
    }

    /// Emits a window's result.
    fn emit_window(
        &mut self,
        key: &K,
        window_end: i64,
        mut acc: C::Acc,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let window = (self.make_window)(window_end - self.size, window_end);
        let mut window_ctx = WindowContext::new(
            &window,
            self.watermark,
            &self.clock,
            ctx,
            side_outputs,
            key,
            &mut self.state,
        );
        let mut collector = Collector::new(out, window.max_timestamp());
        self.contents
            .emit(key, &mut acc, &mut window_ctx, &mut collector)
    }

    /// A window's allowed lateness is over: lets the window function clear its per-window
    /// state, then drops what is left of it.
    fn clear_window(
        &mut self,
        key: &K,
        window_end: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<()> {
        let window = (self.make_window)(window_end - self.size, window_end);
        let mut window_ctx = WindowContext::new(
            &window,
            self.watermark,
            &self.clock,
            ctx,
            side_outputs,
            key,
            &mut self.state,
        );
        self.contents.clear(key, &mut window_ctx)?;
        self.state.clear_namespace(key, window.namespace())?;
        Ok(())
    }

    /// The aggregate of the window `[window_end - size, window_end)` of `key`, merging its
    /// slices (`None`: no slice has data), for a window firing again for late data.
    fn refire_aggregate(&mut self, key: &K, window_end: i64) -> FnResult<Option<C::Acc>> {
        match self.keys.get_mut(key) {
            Some(key_slices) => {
                key_slices.settle(window_end);
                merge_slices(
                    key_slices,
                    &mut self.contents,
                    window_end - self.size,
                    window_end,
                    None,
                )
            }
            None => Ok(None),
        }
    }

    /// A window is due: emit it, drop what no later window needs, schedule the next window
    /// with data. One lookup of the key's slices serves it all.
    fn on_fire(
        &mut self,
        key: &K,
        window_end: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let no_lateness = self.lateness == 0;
        let window_start = window_end - self.size;
        // Slices before this start are in no later window.
        let keep_from = window_end + self.slide - self.size;
        let Some(key_slices) = self.keys.get_mut(key) else {
            return Ok(());
        };
        // Other entries for the key in this bucket are stale: it moved on.
        if key_slices.next_fire != window_end {
            return Ok(());
        }
        key_slices.next_fire = i64::MAX;
        key_slices.settle(window_end);
        let acc = if self.use_fifo {
            fifo_aggregate(key_slices, &mut self.contents, window_start, window_end)?
        } else {
            let take_before = no_lateness.then_some(keep_from);
            merge_slices(
                key_slices,
                &mut self.contents,
                window_start,
                window_end,
                take_before,
            )?
        };
        if no_lateness {
            key_slices.pop_before(keep_from);
        }
        // The next window with data: the first one after this that contains the earliest
        // slice a later window can contain.
        match key_slices.first_start_from(keep_from) {
            Some(slice_start) => {
                // The next window (`window_end + slide`) unless the slice starts after it
                // ends; skips the division in the common case.
                let next_end = if slice_start + self.slice <= window_end + self.slide {
                    window_end + self.slide
                } else {
                    first_window_end(slice_start, self.slice, self.slide, self.end_alignment)
                };
                key_slices.next_fire = next_end;
                self.fires.push(next_end, key.clone());
                if !self.event_time {
                    self.clock.request_wakeup(next_end - 1);
                }
            }
            None if key_slices.is_empty() => {
                self.keys.remove(key);
            }
            None => {}
        }
        if !no_lateness {
            self.cleanups.push(window_end, key.clone());
        }
        if let Some(acc) = acc {
            self.emit_window(key, window_end, acc, ctx, side_outputs, out)?;
        }
        if no_lateness {
            self.clear_window(key, window_end, ctx, side_outputs)?;
        }
        Ok(())
    }

    /// Drops the slices that no window ending after `window_end` contains (allowed lateness
    /// over).
    fn drop_expired(&mut self, key: &K, window_end: i64) {
        let keep_from = window_end + self.slide - self.size;
        if let Some(key_slices) = self.keys.get_mut(key) {
            key_slices.settle(keep_from);
            key_slices.pop_before(keep_from);
            if key_slices.is_empty() {
                self.keys.remove(key);
            }
        }
    }

    /// Fires every window ending at or before `time + 1` (the watermark, or the wall clock),
    /// and drops the slices whose allowed lateness ended. Stops after `chunk` results and
    /// sets `fire_until` to go on later.
    fn fire_due(
        &mut self,
        time: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::with_timestamped_capacity(self.chunk);
        self.fire_until = None;
        loop {
            if out.len() >= self.chunk {
                self.fire_until = Some(time);
                break;
            }
            // A bucket fired in part goes first: its windows end before any other's.
            if let Some(mut firing) = self.firing.take() {
                while firing.next < firing.keys.len() && out.len() < self.chunk {
                    let key = &firing.keys[firing.next];
                    firing.next += 1;
                    self.on_fire(key, firing.end, ctx, side_outputs, &mut out)?;
                }
                if firing.next < firing.keys.len() {
                    self.firing = Some(firing);
                } else {
                    self.fires.recycle(firing.keys);
                }
                continue;
            }
            let next_fire = self.fires.first_time();
            let next_cleanup = self
                .cleanups
                .first_time()
                .map(|end| (end - 1).saturating_add(self.lateness));
            let fire_due = next_fire.filter(|end| end - 1 <= time);
            let cleanup_due = next_cleanup.filter(|at| *at <= time);
            // In time order; a window fires before the cleanup due at the same time.
            match (fire_due, cleanup_due) {
                (Some(end), cleanup) if cleanup.is_none_or(|at| end - 1 <= at) => {
                    let (end, keys) = self.fires.pop_first().ok_or("fire bucket vanished")?;
                    self.firing = Some(Firing { end, keys, next: 0 });
                }
                (_, Some(_)) => {
                    let Some((end, keys)) = self.cleanups.pop_first() else {
                        break;
                    };
                    for key in &keys {
                        self.clear_window(key, end, ctx, side_outputs)?;
                        self.drop_expired(key, end);
                    }
                    self.cleanups.recycle(keys);
                }
                _ => break,
            }
        }
        if !self.event_time {
            if let Some(end) = self.fires.first_time() {
                self.clock.request_wakeup(end - 1);
            }
        }
        Ok(out)
    }

    /// Adds each record to its key's slice; `carried`, when given, holds the records' keys
    /// (carried from the exchange), else the key selector builds them.
    fn process_records(
        &mut self,
        batch: Batch<T>,
        carried: Option<&[K]>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        // Loop invariants, read once (the loop's calls could otherwise make the compiler
        // reload them for every element).
        let (event_time, watermark, slice) = (self.event_time, self.watermark, self.slice);
        let now = if event_time { 0 } else { self.clock.now() };
        // The slice of the previous element: `[last_slice_start, last_slice_end)`.
        let (mut last_slice_start, mut last_slice_end) = (i64::MAX, i64::MIN);
        for (index, record) in batch.into_records().enumerate() {
            let time = if event_time {
                // One comparison covers both: NO_TIMESTAMP is i64::MIN.
                if record.timestamp.unsigned_abs() > MAX_TIMESTAMP {
                    return Err(out_of_range(record.timestamp));
                }
                record.timestamp
            } else {
                now
            };
            // An element after the watermark is in no window the watermark passed.
            let behind_watermark = event_time && time <= watermark;
            if behind_watermark {
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
            if time < last_slice_start || time >= last_slice_end {
                last_slice_start =
                    TimeWindow::get_window_start_with_offset(time, self.offset, slice);
                last_slice_end = last_slice_start + slice;
            }
            let slice = (last_slice_start, last_slice_end);
            // Each path calls `add_to_slice` itself, so a built key is used where it was
            // built: choosing a key reference first (which moves the built key) cost the p=1
            // loop about a quarter more time (a store-forwarding stall on the moved key), and
            // so did passing the slice and lateness as one struct.
            match carried {
                Some(keys) => {
                    let key = &keys[index];
                    self.add_to_slice(
                        key,
                        record,
                        slice,
                        behind_watermark,
                        ctx,
                        side_outputs,
                        &mut out,
                    )?;
                }
                None => {
                    let key = self.key_selector.get_key(&record.value);
                    self.add_to_slice(
                        &key,
                        record,
                        slice,
                        behind_watermark,
                        ctx,
                        side_outputs,
                        &mut out,
                    )?;
                }
            }
        }
        Ok(out)
    }

    /// Adds a record of `key` to its slice `[slice.0, slice.1)`, and fires (late) or schedules
    /// the windows of the slice that need it (`behind_watermark`: the record is behind the
    /// watermark).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add_to_slice(
        &mut self,
        key: &K,
        record: StreamRecord<T>,
        (slice_start, last_slice_end): (i64, i64),
        behind_watermark: bool,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let watermark = self.watermark;
        let key_slices = match self.keys.get_mut(key) {
            Some(key_slices) => key_slices,
            None => self.keys.entry(key.clone()).or_insert_with(KeySlices::new),
        };
        let contents = &mut self.contents;
        let (acc, created) = key_slices.slice_for(slice_start, || contents.create());
        contents.add(acc, record.value, record.timestamp)?;
        // A slice already in the running aggregate changed: rebuild it at the next window.
        if key_slices
            .fifo
            .as_ref()
            .is_some_and(|fifo| slice_start < fifo.covered_until())
        {
            key_slices.fifo = None;
            key_slices.pushed = 0;
        }
        // A new slice's first window ends at or after the slice; an earlier pending window
        // of the key will schedule it.
        if !behind_watermark && (!created || key_slices.next_fire <= last_slice_end) {
            return Ok(());
        }
        // Windows of this slice the watermark passed re-fire (allowed lateness); the first
        // one still ahead gets a timer.
        let mut end = self.first_end(slice_start);
        while end - self.size <= slice_start {
            if self.event_time && end - 1 <= watermark {
                if (end - 1).saturating_add(self.lateness) > watermark {
                    if let Some(acc) = self.refire_aggregate(key, end)? {
                        self.emit_window(key, end, acc, ctx, side_outputs, out)?;
                    }
                }
            } else {
                self.register_fire(key, end);
                break;
            }
            end += self.slide;
        }
        Ok(())
    }
}

/// The error for an element without a timestamp, or one beyond what windows support.
#[cold]
fn out_of_range(timestamp: i64) -> eddy_core::FunctionError {
    if timestamp == NO_TIMESTAMP {
        return missing_timestamp();
    }
    format!(
        "an element's timestamp ({timestamp} ms) is outside the range time windows support \
         (±2^62 ms)"
    )
    .into()
}

/// A bucket of keys whose windows end at `end`, fired up to `next`.
struct Firing<K> {
    end: i64,
    keys: Vec<K>,
    next: usize,
}

/// Merges the slices of `[window_start, window_end)`, oldest first. With `take_before`, the
/// slices starting before it (in no later window) are moved out instead of cloned.
fn merge_slices<T, K, W: Window, O, C: WindowContents<T, K, W, O>>(
    key_slices: &mut KeySlices<C::Acc>,
    contents: &mut C,
    window_start: i64,
    window_end: i64,
    take_before: Option<i64>,
) -> FnResult<Option<C::Acc>> {
    let KeySlices { slices, pushed, .. } = key_slices;
    let mut acc: Option<C::Acc> = None;
    if let Some(keep_from) = take_before {
        while let Some(&(start, _)) = slices.front() {
            if start >= keep_from || start >= window_end {
                break;
            }
            let (start, part) = slices.pop_front().ok_or("slice vanished")?;
            *pushed = pushed.saturating_sub(1);
            if start >= window_start {
                merge_into(contents, &mut acc, part)?;
            }
        }
    }
    for (start, part) in slices.iter() {
        if *start >= window_end {
            break;
        }
        if *start >= window_start {
            merge_into(contents, &mut acc, part.clone())?;
        }
    }
    Ok(acc)
}

/// The aggregate of `[window_start, window_end)` for windows firing in order: the key's FIFO
/// takes the slices added since the last window and drops those before this one.
fn fifo_aggregate<T, K, W: Window, O, C: WindowContents<T, K, W, O>>(
    key_slices: &mut KeySlices<C::Acc>,
    contents: &mut C,
    window_start: i64,
    window_end: i64,
) -> FnResult<Option<C::Acc>> {
    let KeySlices {
        slices,
        fifo,
        pushed,
        ..
    } = key_slices;
    let fifo = fifo.get_or_insert_with(|| SliceFifo::new(window_start));
    let mut merge = |acc: &mut C::Acc, other: C::Acc| contents.merge(acc, other);
    let from = fifo.covered_until().max(window_start);
    // Continue after the slices pushed for earlier windows.
    for (start, part) in slices.range((*pushed).min(slices.len())..) {
        if *start >= window_end {
            break;
        }
        *pushed += 1;
        if *start >= from {
            fifo.push(*start, part, &mut merge)?;
        }
    }
    fifo.cover(window_end);
    fifo.evict_before(window_start, &mut merge)?;
    fifo.aggregate(&mut merge)
}

/// The end of the first window containing the slice starting at `slice_start`: the first
/// window end (`end_alignment` modulo `slide`) at or after the slice's end.
fn first_window_end(slice_start: i64, slice: i64, slide: i64, end_alignment: i64) -> i64 {
    let min_end = slice_start + slice;
    min_end + (end_alignment - min_end).rem_euclid(slide)
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

impl<T, K, W, KS, C, O> OneInputLogic<T, O> for SlicingWindowLogic<T, K, W, KS, C, O>
where
    T: Send + 'static,
    K: Key,
    W: Window,
    KS: KeySelector<T, K>,
    C: WindowContents<T, K, W, O>,
    O: Send,
{
    forward_checkpointed!(contents);

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.contents.open(ctx)
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        let mut snapshot = self.state.snapshot_pending(ctx.max_parallelism)?;
        let slices = SliceState {
            keys: &mut self.keys,
            fires: &mut self.fires,
            cleanups: &mut self.cleanups,
            slice: self.slice,
        }
        .snapshot(&mut self.contents, ctx.max_parallelism)?;
        snapshot.insert_states_from(slices);
        snapshot.written().set_watermark(self.watermark);
        Ok(Some(snapshot))
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        let whole_windows = has_whole_windows(snapshots);
        let snapshots = restorable(snapshots, self.size == self.slide)?;
        self.state
            .restore(&snapshots, ctx.key_group_range(), ctx.max_parallelism)?;
        if whole_windows {
            let mut timers = InternalTimerService::<K, W>::new(self.clock.clone());
            timers.restore(&snapshots, ctx.key_group_range())?;
            whole_windows_as_slices(&mut self.state, &mut timers, self.lateness)?;
        }
        let earliest = SliceState {
            keys: &mut self.keys,
            fires: &mut self.fires,
            cleanups: &mut self.cleanups,
            slice: self.slice,
        }
        .restore(&mut self.state, &mut self.contents)?;
        if let Some(watermark) = snapshots.iter().filter_map(|s| s.watermark()).min() {
            self.watermark = self.watermark.max(watermark);
        }
        if let (Some(end), false) = (earliest, self.event_time) {
            self.clock.request_wakeup(end - 1);
        }
        Ok(())
    }

    fn process(
        &mut self,
        batch: Batch<T>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.process_records(batch, None, ctx, side_outputs)
    }

    /// Looks the records' slices up by the carried keys instead of building each key again.
    fn process_with_keys(
        &mut self,
        batch: Batch<T>,
        keys: &dyn Any,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let keys = carried_keys::<K>(keys, batch.len())?;
        self.process_records(batch, keys, ctx, side_outputs)
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.watermark = self.watermark.max(watermark.0);
        if !self.event_time {
            return Ok(Batch::new());
        }
        self.fire_due(self.watermark, ctx, side_outputs)
    }

    fn on_processing_time(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        if self.event_time || self.fires.is_empty() {
            return Ok(Batch::new());
        }
        let now = self.clock.now();
        self.fire_due(now, ctx, side_outputs)
    }

    fn end_of_input(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        if !self.fire_processing_timers_at_end || self.event_time {
            return Ok(Batch::new());
        }
        self.fire_due(i64::MAX, ctx, side_outputs)
    }

    fn pending_output(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Option<Batch<O>>> {
        match self.fire_until {
            Some(time) => self.fire_due(time, ctx, side_outputs).map(Some),
            None => Ok(None),
        }
    }

    fn close(&mut self) -> FnResult<()> {
        self.contents.close()
    }
}
