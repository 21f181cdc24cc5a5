//! Process functions on keyed and connected streams, with timers.

use super::{Collector, OutputTag, ProcessContext, RuntimeContext, SideOutputs};
use eddy_core::error::FnResult;
use eddy_core::record::NO_TIMESTAMP;
use eddy_core::Key;
use eddy_state::time::{InternalTimerService, TimeDomain, TimerService};
use eddy_state::{KeyedState, KeyedStateBackend, Namespace};

/// The context of a keyed function call: the element (or timer), its key, timers and side
/// outputs. Inside `on_timer`, [`timestamp`](Self::timestamp) is the timer's time for
/// event-time timers and [`time_domain`](Self::time_domain) says which clock fired.
pub struct KeyedContext<'a, K> {
    timestamp: i64,
    key: &'a K,
    domain: Option<TimeDomain>,
    timers: &'a mut InternalTimerService<K, ()>,
    state: &'a mut KeyedStateBackend<K>,
    runtime: &'a RuntimeContext,
    side_outputs: &'a mut SideOutputs,
}

impl<'a, K: Key> KeyedContext<'a, K> {
    /// A context for an element (`domain: None`) or a firing timer (for operator
    /// implementations).
    pub fn new(
        timestamp: i64,
        key: &'a K,
        domain: Option<TimeDomain>,
        timers: &'a mut InternalTimerService<K, ()>,
        state: &'a mut KeyedStateBackend<K>,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        KeyedContext {
            timestamp,
            key,
            domain,
            timers,
            state,
            runtime,
            side_outputs,
        }
    }

    /// The element's event timestamp (the timer's time in an event-time `on_timer`).
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// The key of the element or timer being processed.
    pub fn current_key(&self) -> &K {
        self.key
    }

    /// Inside `on_timer`: the domain of the firing timer; `None` in `process_element`.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.domain
    }

    /// Timers of the current key, and the clocks.
    pub fn timer_service(&mut self) -> TimerService<'_, K> {
        TimerService::new(self.timers, self.key)
    }

    /// The current key's managed state: `ctx.state().value(&descriptor)?` and the other
    /// primitives.
    pub fn state(&mut self) -> KeyedState<'_, K> {
        KeyedState::new(self.state, self.key, Namespace::Global)
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.timers.current_processing_time()
    }

    /// Emits a value to a side output, with the current timestamp.
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.side_outputs.emit(tag, value, self.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.runtime
    }
}

/// A process function on a keyed stream: per element, with the key and per-key timers.
pub trait KeyedProcessFunction<K, I, O>: Clone + Send + 'static {
    /// Processes one element; emits any number of outputs.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;

    /// A timer registered for `ctx.current_key()` fired at `timestamp`.
    fn on_timer(
        &mut self,
        _timestamp: i64,
        _ctx: &mut KeyedContext<'_, K>,
        _out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        Ok(())
    }
    eddy_state::lifecycle!();
}

/// A process function over two connected (non-keyed) streams: one method per input.
pub trait CoProcessFunction<I1, I2, O>: Clone + Send + 'static {
    /// Processes an element of the first input.
    fn process_element1(
        &mut self,
        value: I1,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    /// Processes an element of the second input.
    fn process_element2(
        &mut self,
        value: I2,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    eddy_state::lifecycle!();
}

/// A process function over two connected streams keyed by the same key type, with timers.
pub trait KeyedCoProcessFunction<K, I1, I2, O>: Clone + Send + 'static {
    /// Processes an element of the first input.
    fn process_element1(
        &mut self,
        value: I1,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    /// Processes an element of the second input.
    fn process_element2(
        &mut self,
        value: I2,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    /// A timer registered for `ctx.current_key()` fired at `timestamp`.
    fn on_timer(
        &mut self,
        _timestamp: i64,
        _ctx: &mut KeyedContext<'_, K>,
        _out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        Ok(())
    }
    eddy_state::lifecycle!();
}
