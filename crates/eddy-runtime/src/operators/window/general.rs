//! The general window operator: any assigner, trigger and evictor, merging windows.

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, Key, Watermark, NO_TIMESTAMP};
use eddy_functions::windowing::{
    TimerRequest, Trigger, TriggerContext, TriggerResult, Window, WindowAssigner, WindowContext,
};
use eddy_functions::{Collector, KeySelector, RuntimeContext, SideOutputs};
use eddy_state::time::{InternalTimerService, ProcessingTimeService, TimeDomain};
use eddy_state::{KeyedStateBackend, KeyedStateSnapshot, PendingKeyedSnapshot, StateBackendConfig};

use super::contents::WindowContents;
use super::slicing_snapshot::{has_slices, refuse_slices, restorable, windows_from_slices};
use super::states::WindowStates;
use super::{missing_timestamp, WindowSpec};
use crate::operators::OneInputLogic;
use crate::output::Batch;
use crate::snapshot::{restore_keyed, snapshot_keyed};
use crate::state_backend::open_keyed_state_backend;

/// Results per call unless [`WindowOperatorLogic::with_batch_size`] says otherwise.
const DEFAULT_CHUNK: usize = 1024;

/// Flink's `WindowOperator`: assigns elements to windows, keeps per key and window contents,
/// asks the trigger when to fire and purge, and cleans up at `max_timestamp + lateness`.
pub struct WindowOperatorLogic<T, K: Key, W: Window, KS, A, Tr: Trigger<T, W>, C, O>
where
    C: WindowContents<T, K, W, O>,
{
    spec: WindowSpec<T, KS, A, Tr, C>,
    /// Each window's contents and trigger state (on the heap, or in the state backend).
    windows: WindowStates<K, W, C::Acc, Tr::State>,
    timers: InternalTimerService<K, W>,
    /// The window function's keyed state (`window_state()` / `global_state()`).
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    requests: Vec<TimerRequest>,
    assigned: Vec<W>,
    fire_processing_timers_at_end: bool,
    /// The most results one call emits; the rest wait for
    /// [`pending_output`](OneInputLogic::pending_output), so a watermark that fires a
    /// million windows emits batch-sized chunks instead of one batch of them all.
    chunk: usize,
    /// The timers being fired when the last chunk filled up: domain and processing time.
    firing: Option<(TimeDomain, i64)>,
    _output: std::marker::PhantomData<fn() -> O>,
}

impl<T, K, W, KS, A, Tr, C, O> WindowOperatorLogic<T, K, W, KS, A, Tr, C, O>
where
    T: Clone + Send + 'static,
    K: Key,
    W: Window,
    KS: KeySelector<T, K>,
    A: WindowAssigner<T, W>,
    Tr: Trigger<T, W>,
    C: WindowContents<T, K, W, O>,
{
    /// The operator for `spec`, on the task's clock.
    pub fn new(
        spec: WindowSpec<T, KS, A, Tr, C>,
        clock: ProcessingTimeService,
        mode: RuntimeMode,
        state_backend: StateBackendConfig,
    ) -> Self {
        WindowOperatorLogic {
            spec,
            windows: WindowStates::for_backend(&KeyedStateBackend::heap()),
            timers: InternalTimerService::new(clock),
            state: KeyedStateBackend::heap(),
            state_backend,
            requests: Vec::new(),
            assigned: Vec::new(),
            fire_processing_timers_at_end: mode == RuntimeMode::Batch,
            chunk: DEFAULT_CHUNK,
            firing: None,
            _output: std::marker::PhantomData,
        }
    }

    /// Emits at most `batch_size` results per call (`taskmanager.network.batch-size`).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.chunk = batch_size.max(1);
        self
    }

    fn event_time(&self) -> bool {
        self.spec.assigner.is_event_time()
    }

    /// When a window's state is dropped: `max_timestamp + allowed lateness` in event time,
    /// `max_timestamp` in processing time.
    fn cleanup_time(&self, window: &W) -> i64 {
        if self.event_time() {
            window
                .max_timestamp()
                .saturating_add(self.spec.allowed_lateness)
        } else {
            window.max_timestamp()
        }
    }

    /// Restores a snapshot of the slicing window operator (the heap backend's, for the same
    /// tumbling or sliding windows): each window gets its slices combined, with the timers its
    /// default trigger had set (to fire, unless it had fired) and its cleanup timer; windows
    /// whose allowed lateness had ended are dropped.
    fn restore_slices(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        let Some(slicing) = self.spec.assigner.slicing() else {
            return refuse_slices();
        };
        let snapshots = restorable(snapshots, true)?;
        restore_keyed(&snapshots, &mut self.state, Some(&mut self.timers), ctx)?;
        let contents = &mut self.spec.contents;
        for restored in windows_from_slices(&mut self.state, contents, &slicing)? {
            let (key, window) = (&restored.key, &restored.window);
            if self.is_window_late(window) {
                continue;
            }
            self.windows.insert(
                &mut self.state,
                &mut self.spec.contents,
                key,
                window.clone(),
                Some(restored.acc),
                Default::default(),
            )?;
            if !restored.fired {
                let time = window.max_timestamp();
                if self.event_time() {
                    self.timers.register_event_time_timer(key, window, time);
                } else {
                    self.timers
                        .register_processing_time_timer(key, window, time);
                }
            }
            self.register_cleanup_timer(key, window);
        }
        Ok(())
    }

    fn is_window_late(&self, window: &W) -> bool {
        self.event_time() && self.cleanup_time(window) <= self.timers.current_watermark()
    }

    fn register_cleanup_timer(&mut self, key: &K, window: &W) {
        let time = self.cleanup_time(window);
        if time == i64::MAX {
            return;
        }
        if self.event_time() {
            self.timers.register_event_time_timer(key, window, time);
        } else {
            self.timers
                .register_processing_time_timer(key, window, time);
        }
    }

    fn delete_cleanup_timer(&mut self, key: &K, window: &W) {
        let time = self.cleanup_time(window);
        if self.event_time() {
            self.timers.delete_event_time_timer(key, window, time);
        } else {
            self.timers.delete_processing_time_timer(key, window, time);
        }
    }

    /// Applies the timer requests of the last trigger call to `(key, window)`.
    fn apply_requests(&mut self, key: &K, window: &W) {
        for request in self.requests.drain(..) {
            match (request.domain, request.register) {
                (TimeDomain::EventTime, true) => {
                    self.timers
                        .register_event_time_timer(key, window, request.time)
                }
                (TimeDomain::EventTime, false) => {
                    self.timers
                        .delete_event_time_timer(key, window, request.time)
                }
                (TimeDomain::ProcessingTime, true) => {
                    self.timers
                        .register_processing_time_timer(key, window, request.time)
                }
                (TimeDomain::ProcessingTime, false) => {
                    self.timers
                        .delete_processing_time_timer(key, window, request.time)
                }
            }
        }
    }

    /// Adds `new` to the key's merged windows and returns the window it ended up in, merging
    /// the contents, trigger states and timers of every window it joined.
    fn merge_window(&mut self, key: &K, new: W) -> FnResult<W> {
        let mut active = self.windows.merged_windows(&mut self.state, key)?;
        let overlapping: Vec<W> = active
            .iter()
            .filter(|w| w.intersects(&new))
            .cloned()
            .collect();
        if overlapping.is_empty() {
            active.push(new.clone());
            self.windows
                .set_merged_windows(&mut self.state, key, active)?;
            return Ok(new);
        }
        let merged = overlapping.iter().fold(new, |acc, w| acc.cover(w));
        if overlapping.len() == 1 && overlapping[0] == merged {
            return Ok(merged);
        }
        active.retain(|w| !overlapping.contains(w));
        active.push(merged.clone());
        self.windows
            .set_merged_windows(&mut self.state, key, active)?;

        let watermark = self.timers.current_watermark();
        let mut contents: Option<C::Acc> = None;
        let mut trigger_states = Vec::with_capacity(overlapping.len());
        for window in &overlapping {
            let Some((old_contents, trigger_state)) =
                self.windows
                    .remove(&mut self.state, &mut self.spec.contents, key, window)?
            else {
                continue;
            };
            let mut old_trigger = trigger_state.clone();
            let mut ctx = TriggerContext::new(
                watermark,
                self.timers.clock(),
                &mut old_trigger,
                &mut self.requests,
            );
            self.spec.trigger.clear(window, &mut ctx)?;
            self.apply_requests(key, window);
            self.delete_cleanup_timer(key, window);
            trigger_states.push(trigger_state);
            match (&mut contents, old_contents) {
                (Some(acc), Some(other)) => self.spec.contents.merge(acc, other)?,
                (None, Some(other)) => contents = Some(other),
                (_, None) => {}
            }
        }
        let mut trigger_state = Tr::State::default();
        let mut ctx = TriggerContext::new(
            watermark,
            self.timers.clock(),
            &mut trigger_state,
            &mut self.requests,
        );
        self.spec
            .trigger
            .on_merge(&merged, trigger_states, &mut ctx)?;
        self.apply_requests(key, &merged);
        self.windows.insert(
            &mut self.state,
            &mut self.spec.contents,
            key,
            merged.clone(),
            contents,
            trigger_state,
        )?;
        Ok(merged)
    }

    /// Adds one element to `window`, runs the trigger, fires/purges as it says.
    #[allow(clippy::too_many_arguments)]
    fn add_to_window(
        &mut self,
        key: &K,
        window: W,
        value: T,
        timestamp: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        let watermark = self.timers.current_watermark();
        let (trigger, requests, clock) = (
            &mut self.spec.trigger,
            &mut self.requests,
            self.timers.clock(),
        );
        let result = self
            .windows
            .update_trigger(&mut self.state, key, &window, true, |state| {
                let mut trigger_ctx = TriggerContext::new(watermark, clock, state, requests);
                trigger.on_element(&value, timestamp, &window, &mut trigger_ctx)
            })?
            .ok_or("a window was not created")?;
        self.windows.add(
            &mut self.state,
            &mut self.spec.contents,
            key,
            &window,
            value,
            timestamp,
        )?;
        self.apply_requests(key, &window);
        self.handle(result, key, &window, ctx, side_outputs, out)?;
        self.register_cleanup_timer(key, &window);
        Ok(())
    }

    /// Fires and/or purges a window as its trigger decided.
    fn handle(
        &mut self,
        result: TriggerResult,
        key: &K,
        window: &W,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
        out: &mut Batch<O>,
    ) -> FnResult<()> {
        if result == TriggerResult::Continue {
            return Ok(());
        }
        let acc =
            self.windows
                .take_contents(&mut self.state, &mut self.spec.contents, key, window)?;
        let Some(mut acc) = acc else {
            return Ok(());
        };
        if result.is_fire() {
            {
                let mut window_ctx = WindowContext::new(
                    window,
                    self.timers.current_watermark(),
                    self.timers.clock(),
                    ctx,
                    side_outputs,
                    key,
                    &mut self.state,
                );
                if self.spec.assigner.is_merging() {
                    window_ctx = window_ctx.with_merging_windows();
                }
                let mut collector = Collector::new(out, window.max_timestamp());
                self.spec
                    .contents
                    .emit(key, &mut acc, &mut window_ctx, &mut collector)?;
            }
        }
        let keep = (!result.is_purge()).then_some(acc);
        self.windows
            .put_contents(&mut self.state, &mut self.spec.contents, key, window, keep)
    }

    /// Drops everything of a window: contents, trigger state, timers and the window
    /// function's per-window state (after its `clear`).
    fn clear_all_state(
        &mut self,
        key: &K,
        window: &W,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<()> {
        // The window's own state goes first: in a backend of rows, `clear_namespace` below
        // would drop the trigger state that the trigger's `clear` still reads.
        if let Some((_, mut trigger_state)) =
            self.windows
                .remove(&mut self.state, &mut self.spec.contents, key, window)?
        {
            let mut ctx = TriggerContext::new(
                self.timers.current_watermark(),
                self.timers.clock(),
                &mut trigger_state,
                &mut self.requests,
            );
            self.spec.trigger.clear(window, &mut ctx)?;
            self.apply_requests(key, window);
        }
        let mut window_ctx = WindowContext::new(
            window,
            self.timers.current_watermark(),
            self.timers.clock(),
            ctx,
            side_outputs,
            key,
            &mut self.state,
        );
        if self.spec.assigner.is_merging() {
            window_ctx = window_ctx.with_merging_windows();
        }
        self.spec.contents.clear(key, &mut window_ctx)?;
        self.state.clear_namespace(key, window.namespace())?;
        if self.spec.assigner.is_merging() {
            let mut active = self.windows.merged_windows(&mut self.state, key)?;
            let before = active.len();
            active.retain(|w| w != window);
            if active.len() != before {
                self.windows
                    .set_merged_windows(&mut self.state, key, active)?;
            }
        }
        Ok(())
    }

    /// Fires the due timers of one domain.
    fn fire_timers(
        &mut self,
        domain: TimeDomain,
        now: i64,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        self.firing = None;
        loop {
            if out.len() >= self.chunk {
                self.firing = Some((domain, now));
                break;
            }
            let due = match domain {
                TimeDomain::EventTime => self.timers.pop_event_time_due(),
                TimeDomain::ProcessingTime => self.timers.pop_processing_time_due(now),
            };
            let Some((time, key, window)) = due? else {
                break;
            };
            let watermark = self.timers.current_watermark();
            let (trigger, requests, clock) = (
                &mut self.spec.trigger,
                &mut self.requests,
                self.timers.clock(),
            );
            let result =
                self.windows
                    .update_trigger(&mut self.state, &key, &window, false, |state| {
                        let mut trigger_ctx =
                            TriggerContext::new(watermark, clock, state, requests);
                        match domain {
                            TimeDomain::EventTime => {
                                trigger.on_event_time(time, &window, &mut trigger_ctx)
                            }
                            TimeDomain::ProcessingTime => {
                                trigger.on_processing_time(time, &window, &mut trigger_ctx)
                            }
                        }
                    })?;
            let Some(result) = result else {
                continue;
            };
            self.apply_requests(&key, &window);
            self.handle(result, &key, &window, ctx, side_outputs, &mut out)?;
            let cleanup_domain = if self.event_time() {
                TimeDomain::EventTime
            } else {
                TimeDomain::ProcessingTime
            };
            if domain == cleanup_domain && time == self.cleanup_time(&window) {
                self.clear_all_state(&key, &window, ctx, side_outputs)?;
            }
            self.timers.check()?;
        }
        if domain == TimeDomain::ProcessingTime {
            self.timers.request_next_wakeup();
        }
        Ok(out)
    }
}

impl<T, K, W, KS, A, Tr, C, O> OneInputLogic<T, O> for WindowOperatorLogic<T, K, W, KS, A, Tr, C, O>
where
    T: Clone + Send + 'static,
    K: Key,
    W: Window,
    KS: KeySelector<T, K>,
    A: WindowAssigner<T, W>,
    Tr: Trigger<T, W>,
    C: WindowContents<T, K, W, O>,
    O: Send,
{
    fn initialize_state(
        &mut self,
        ctx: &mut eddy_functions::FunctionInitializationContext<'_>,
    ) -> FnResult<()> {
        self.spec.contents.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &eddy_functions::FunctionSnapshotContext,
        store: &mut eddy_state::OperatorStateStore,
    ) -> FnResult<()> {
        self.spec.contents.snapshot_state(ctx, store)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
        if completed {
            self.spec.contents.notify_checkpoint_complete(checkpoint_id)
        } else {
            self.spec.contents.notify_checkpoint_aborted(checkpoint_id)
        }
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.timers
            .keep_in_state_store(&self.state, &self.state_backend, ctx.key_group_range())?;
        self.windows = WindowStates::for_backend(&self.state);
        self.spec.contents.open(ctx)
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        let mut snapshot = snapshot_keyed(&mut self.state, Some(&self.timers), ctx)?;
        if let Some(windows) = self
            .windows
            .snapshot_heap(&mut self.spec.contents, ctx.max_parallelism)?
        {
            snapshot.insert_states_from(windows);
        }
        Ok(Some(snapshot))
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        if has_slices(snapshots) {
            return self.restore_slices(snapshots, ctx);
        }
        restore_keyed(snapshots, &mut self.state, Some(&mut self.timers), ctx)?;
        self.windows
            .restore_heap(&mut self.state, &mut self.spec.contents)
    }

    fn process(
        &mut self,
        batch: Batch<T>,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let event_time = self.event_time();
        let processing_time = if event_time {
            0
        } else {
            self.timers.current_processing_time()
        };
        let merging = self.spec.assigner.is_merging();
        let mut assigned = std::mem::take(&mut self.assigned);
        for record in batch.into_records() {
            let timestamp = record.timestamp;
            if event_time && timestamp == NO_TIMESTAMP {
                return Err(missing_timestamp());
            }
            let key = self.spec.key_selector.get_key(&record.value);
            assigned.clear();
            self.spec.assigner.assign_windows(
                &record.value,
                timestamp,
                processing_time,
                &mut assigned,
            )?;
            // Moved into the last window; cloned for the others.
            let mut value = Some(record.value);
            let mut skipped = true;
            let count = assigned.len();
            for (index, window) in assigned.drain(..).enumerate() {
                let window = if merging {
                    let merged = self.merge_window(&key, window)?;
                    if self.is_window_late(&merged) {
                        self.clear_all_state(&key, &merged, ctx, side_outputs)?;
                        continue;
                    }
                    merged
                } else if self.is_window_late(&window) {
                    continue;
                } else {
                    window
                };
                skipped = false;
                let element = if index + 1 == count {
                    value.take()
                } else {
                    value.clone()
                }
                .ok_or("window element already consumed")?;
                self.add_to_window(
                    &key,
                    window,
                    element,
                    timestamp,
                    ctx,
                    side_outputs,
                    &mut out,
                )?;
            }
            let lateness = self.spec.allowed_lateness;
            if skipped
                && event_time
                && timestamp.saturating_add(lateness) <= self.timers.current_watermark()
            {
                if let (Some(tag), Some(value)) = (&self.spec.late_data, value) {
                    side_outputs.emit(tag, value, timestamp);
                }
            }
        }
        self.assigned = assigned;
        self.timers.check()?;
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
        if !self.fire_processing_timers_at_end {
            return Ok(Batch::new());
        }
        self.fire_timers(TimeDomain::ProcessingTime, i64::MAX, ctx, side_outputs)
    }

    fn pending_output(
        &mut self,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Option<Batch<O>>> {
        match self.firing.take() {
            Some((domain, now)) => self.fire_timers(domain, now, ctx, side_outputs).map(Some),
            None => Ok(None),
        }
    }

    fn close(&mut self) -> FnResult<()> {
        self.spec.contents.close()
    }
}
