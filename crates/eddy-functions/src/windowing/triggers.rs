//! Triggers: when a window's result is computed (FIRE) and when its contents are dropped
//! (PURGE).

use std::time::Duration;

use super::window::Window;
use eddy_core::error::FnResult;
use eddy_state::time::{ProcessingTimeService, TimeDomain};

/// What a trigger decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerResult {
    /// Nothing happens.
    Continue,
    /// The window function runs over the window's contents, which are kept.
    Fire,
    /// The window's contents are dropped without a result.
    Purge,
    /// The window function runs, then the contents are dropped.
    FireAndPurge,
}

impl TriggerResult {
    /// Whether the window function runs.
    pub fn is_fire(self) -> bool {
        matches!(self, TriggerResult::Fire | TriggerResult::FireAndPurge)
    }

    /// Whether the contents are dropped.
    pub fn is_purge(self) -> bool {
        matches!(self, TriggerResult::Purge | TriggerResult::FireAndPurge)
    }
}

/// A timer a trigger registered or deleted, applied by the window operator for the current
/// key and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerRequest {
    /// The clock.
    pub domain: TimeDomain,
    /// The time.
    pub time: i64,
    /// `true`: register; `false`: delete.
    pub register: bool,
}

/// What a trigger can see and do for the current key and window.
pub struct TriggerContext<'a, S> {
    watermark: i64,
    clock: &'a ProcessingTimeService,
    state: &'a mut S,
    requests: &'a mut Vec<TimerRequest>,
}

impl<'a, S> TriggerContext<'a, S> {
    /// A context over the window's trigger state (for operator implementations).
    pub fn new(
        watermark: i64,
        clock: &'a ProcessingTimeService,
        state: &'a mut S,
        requests: &'a mut Vec<TimerRequest>,
    ) -> Self {
        TriggerContext {
            watermark,
            clock,
            state,
            requests,
        }
    }

    /// The operator's current watermark.
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.clock.now()
    }

    /// This trigger's state for the current key and window (cleared with the window).
    pub fn state(&mut self) -> &mut S {
        self.state
    }

    fn request(&mut self, domain: TimeDomain, time: i64, register: bool) {
        self.requests.push(TimerRequest {
            domain,
            time,
            register,
        });
    }

    /// Calls `on_event_time` for this window when the watermark reaches `time`.
    pub fn register_event_time_timer(&mut self, time: i64) {
        self.request(TimeDomain::EventTime, time, true);
    }

    /// Calls `on_processing_time` for this window when the clock reaches `time`.
    pub fn register_processing_time_timer(&mut self, time: i64) {
        self.request(TimeDomain::ProcessingTime, time, true);
    }

    /// Deletes this window's event-time timer at `time`.
    pub fn delete_event_time_timer(&mut self, time: i64) {
        self.request(TimeDomain::EventTime, time, false);
    }

    /// Deletes this window's processing-time timer at `time`.
    pub fn delete_processing_time_timer(&mut self, time: i64) {
        self.request(TimeDomain::ProcessingTime, time, false);
    }
}

/// Decides when a window fires and purges. One trigger instance serves every key and window of
/// a subtask; per-window data lives in [`State`](Trigger::State), reached via `ctx.state()`.
pub trait Trigger<T, W: Window>: Clone + Send + 'static {
    /// Per key and window state (a count, the next firing time, …). It is serializable because
    /// the `rocksdb` backend keeps it on disk (and checkpoints snapshot it).
    type State: Default + eddy_core::Data;

    /// An element was added to `window`.
    fn on_element(
        &mut self,
        element: &T,
        timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Self::State>,
    ) -> FnResult<TriggerResult>;

    /// An event-time timer this trigger registered for `window` fired.
    fn on_event_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Self::State>,
    ) -> FnResult<TriggerResult>;

    /// A processing-time timer this trigger registered for `window` fired.
    fn on_processing_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Self::State>,
    ) -> FnResult<TriggerResult>;

    /// Whether the trigger supports merging windows (session windows).
    fn can_merge(&self) -> bool {
        false
    }

    /// Windows were merged into `window`: `merged_states` are their states; `ctx.state()`
    /// starts empty and should receive the combination.
    fn on_merge(
        &mut self,
        _window: &W,
        _merged_states: Vec<Self::State>,
        _ctx: &mut TriggerContext<'_, Self::State>,
    ) -> FnResult<()> {
        Err("this trigger does not support merging windows".into())
    }

    /// The window is dropped: delete the timers this trigger registered for it (its state is
    /// dropped by the operator).
    fn clear(&mut self, window: &W, ctx: &mut TriggerContext<'_, Self::State>) -> FnResult<()>;
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Fires once the watermark passes the window's end (the default of event-time windows); an
/// element arriving for a window the watermark already passed (allowed lateness) fires it again
/// at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventTimeTrigger;

impl EventTimeTrigger {
    /// The trigger.
    pub fn create() -> Self {
        EventTimeTrigger
    }
}

impl<T, W: Window> Trigger<T, W> for EventTimeTrigger {
    type State = ();

    fn on_element(
        &mut self,
        _element: &T,
        _timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        if window.max_timestamp() <= ctx.current_watermark() {
            return Ok(TriggerResult::Fire);
        }
        ctx.register_event_time_timer(window.max_timestamp());
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        time: i64,
        window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(if time == window.max_timestamp() {
            TriggerResult::Fire
        } else {
            TriggerResult::Continue
        })
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        window: &W,
        _merged_states: Vec<()>,
        ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<()> {
        if window.max_timestamp() > ctx.current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp());
        }
        Ok(())
    }

    fn clear(&mut self, window: &W, ctx: &mut TriggerContext<'_, ()>) -> FnResult<()> {
        ctx.delete_event_time_timer(window.max_timestamp());
        Ok(())
    }
}

/// Fires when the wall clock passes the window's end (the default of processing-time windows).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessingTimeTrigger;

impl ProcessingTimeTrigger {
    /// The trigger.
    pub fn create() -> Self {
        ProcessingTimeTrigger
    }
}

impl<T, W: Window> Trigger<T, W> for ProcessingTimeTrigger {
    type State = ();

    fn on_element(
        &mut self,
        _element: &T,
        _timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        ctx.register_processing_time_timer(window.max_timestamp());
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Fire)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        window: &W,
        _merged_states: Vec<()>,
        ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<()> {
        if window.max_timestamp() > ctx.current_processing_time() {
            ctx.register_processing_time_timer(window.max_timestamp());
        }
        Ok(())
    }

    fn clear(&mut self, window: &W, ctx: &mut TriggerContext<'_, ()>) -> FnResult<()> {
        ctx.delete_processing_time_timer(window.max_timestamp());
        Ok(())
    }
}

/// Fires every `count` elements of a window (the count restarts after each firing).
#[derive(Debug, Clone, Copy)]
pub struct CountTrigger {
    max_count: u64,
}

impl CountTrigger {
    /// Fires when a window has received `max_count` elements since its last firing.
    pub fn of(max_count: u64) -> Self {
        CountTrigger { max_count }
    }
}

impl<T, W: Window> Trigger<T, W> for CountTrigger {
    type State = u64;

    fn on_element(
        &mut self,
        _element: &T,
        _timestamp: i64,
        _window: &W,
        ctx: &mut TriggerContext<'_, u64>,
    ) -> FnResult<TriggerResult> {
        let count = ctx.state();
        *count += 1;
        if *count >= self.max_count {
            *count = 0;
            return Ok(TriggerResult::Fire);
        }
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, u64>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, u64>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        _window: &W,
        merged_states: Vec<u64>,
        ctx: &mut TriggerContext<'_, u64>,
    ) -> FnResult<()> {
        *ctx.state() = merged_states.into_iter().sum();
        Ok(())
    }

    fn clear(&mut self, _window: &W, ctx: &mut TriggerContext<'_, u64>) -> FnResult<()> {
        *ctx.state() = 0;
        Ok(())
    }
}

/// Turns every FIRE of the wrapped trigger into FIRE_AND_PURGE.
#[derive(Debug, Clone, Copy)]
pub struct PurgingTrigger<Tr> {
    inner: Tr,
}

impl<Tr> PurgingTrigger<Tr> {
    /// Wraps `trigger`.
    pub fn of(trigger: Tr) -> Self {
        PurgingTrigger { inner: trigger }
    }
}

fn purging(result: TriggerResult) -> TriggerResult {
    if result.is_fire() {
        TriggerResult::FireAndPurge
    } else {
        result
    }
}

impl<T, W: Window, Tr: Trigger<T, W>> Trigger<T, W> for PurgingTrigger<Tr> {
    type State = Tr::State;

    fn on_element(
        &mut self,
        element: &T,
        timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Tr::State>,
    ) -> FnResult<TriggerResult> {
        self.inner
            .on_element(element, timestamp, window, ctx)
            .map(purging)
    }

    fn on_event_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Tr::State>,
    ) -> FnResult<TriggerResult> {
        self.inner.on_event_time(time, window, ctx).map(purging)
    }

    fn on_processing_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Tr::State>,
    ) -> FnResult<TriggerResult> {
        self.inner
            .on_processing_time(time, window, ctx)
            .map(purging)
    }

    fn can_merge(&self) -> bool {
        self.inner.can_merge()
    }

    fn on_merge(
        &mut self,
        window: &W,
        merged_states: Vec<Tr::State>,
        ctx: &mut TriggerContext<'_, Tr::State>,
    ) -> FnResult<()> {
        self.inner.on_merge(window, merged_states, ctx)
    }

    fn clear(&mut self, window: &W, ctx: &mut TriggerContext<'_, Tr::State>) -> FnResult<()> {
        self.inner.clear(window, ctx)
    }
}

/// Never fires (the default of [`GlobalWindows`](super::GlobalWindows)).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverTrigger;

impl<T, W: Window> Trigger<T, W> for NeverTrigger {
    type State = ();

    fn on_element(
        &mut self,
        _element: &T,
        _timestamp: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        _window: &W,
        _merged_states: Vec<()>,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<()> {
        Ok(())
    }

    fn clear(&mut self, _window: &W, _ctx: &mut TriggerContext<'_, ()>) -> FnResult<()> {
        Ok(())
    }
}

/// Fires periodically in event time (every `interval`, aligned to multiples of it), and when
/// the watermark passes the window's end.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousEventTimeTrigger {
    interval: i64,
}

impl ContinuousEventTimeTrigger {
    /// Fires every `interval` of event time.
    pub fn of(interval: Duration) -> Self {
        ContinuousEventTimeTrigger {
            interval: millis(interval).max(1),
        }
    }
}

/// Registers the next periodic firing, never later than the window's end; the state keeps the
/// earliest pending one.
fn next_periodic_fire<W: Window>(
    time: i64,
    interval: i64,
    window: &W,
    domain: TimeDomain,
    ctx: &mut TriggerContext<'_, Option<i64>>,
) {
    let next = time.saturating_add(interval).min(window.max_timestamp());
    let state = ctx.state();
    *state = Some(state.map_or(next, |current| current.min(next)));
    match domain {
        TimeDomain::EventTime => ctx.register_event_time_timer(next),
        TimeDomain::ProcessingTime => ctx.register_processing_time_timer(next),
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousEventTimeTrigger {
    type State = Option<i64>;

    fn on_element(
        &mut self,
        _element: &T,
        timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        if window.max_timestamp() <= ctx.current_watermark() {
            return Ok(TriggerResult::Fire);
        }
        ctx.register_event_time_timer(window.max_timestamp());
        if ctx.state().is_none() {
            let start = timestamp - timestamp % self.interval;
            next_periodic_fire(start, self.interval, window, TimeDomain::EventTime, ctx);
        }
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        if time == window.max_timestamp() {
            return Ok(TriggerResult::Fire);
        }
        if *ctx.state() == Some(time) {
            *ctx.state() = None;
            next_periodic_fire(time, self.interval, window, TimeDomain::EventTime, ctx);
            return Ok(TriggerResult::Fire);
        }
        Ok(TriggerResult::Continue)
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        window: &W,
        merged_states: Vec<Option<i64>>,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<()> {
        let earliest = merged_states.into_iter().flatten().min();
        *ctx.state() = earliest;
        if let Some(next) = earliest {
            ctx.register_event_time_timer(next);
        }
        if window.max_timestamp() > ctx.current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp());
        }
        Ok(())
    }

    fn clear(&mut self, _window: &W, ctx: &mut TriggerContext<'_, Option<i64>>) -> FnResult<()> {
        if let Some(next) = ctx.state().take() {
            ctx.delete_event_time_timer(next);
        }
        Ok(())
    }
}

/// Fires periodically in processing time (every `interval`, aligned to multiples of it).
#[derive(Debug, Clone, Copy)]
pub struct ContinuousProcessingTimeTrigger {
    interval: i64,
}

impl ContinuousProcessingTimeTrigger {
    /// Fires every `interval` of processing time.
    pub fn of(interval: Duration) -> Self {
        ContinuousProcessingTimeTrigger {
            interval: millis(interval).max(1),
        }
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousProcessingTimeTrigger {
    type State = Option<i64>;

    fn on_element(
        &mut self,
        _element: &T,
        _timestamp: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        if ctx.state().is_none() {
            let now = ctx.current_processing_time();
            let start = now - now % self.interval;
            next_periodic_fire(
                start,
                self.interval,
                window,
                TimeDomain::ProcessingTime,
                ctx,
            );
        }
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        _time: i64,
        _window: &W,
        _ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn on_processing_time(
        &mut self,
        time: i64,
        window: &W,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<TriggerResult> {
        if *ctx.state() == Some(time) {
            *ctx.state() = None;
            next_periodic_fire(time, self.interval, window, TimeDomain::ProcessingTime, ctx);
            return Ok(TriggerResult::Fire);
        }
        Ok(TriggerResult::Continue)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(
        &mut self,
        _window: &W,
        merged_states: Vec<Option<i64>>,
        ctx: &mut TriggerContext<'_, Option<i64>>,
    ) -> FnResult<()> {
        let earliest = merged_states.into_iter().flatten().min();
        *ctx.state() = earliest;
        if let Some(next) = earliest {
            ctx.register_processing_time_timer(next);
        }
        Ok(())
    }

    fn clear(&mut self, _window: &W, ctx: &mut TriggerContext<'_, Option<i64>>) -> FnResult<()> {
        if let Some(next) = ctx.state().take() {
            ctx.delete_processing_time_timer(next);
        }
        Ok(())
    }
}
