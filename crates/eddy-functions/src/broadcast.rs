//! The broadcast state pattern: process functions over a stream connected with a broadcast
//! stream. The broadcast side may change the broadcast state; the other side (and timers)
//! only read it, so every parallel subtask keeps the same state.

use super::{Collector, OutputTag, RuntimeContext, SideOutputs};
use eddy_core::error::FnResult;
use eddy_core::record::NO_TIMESTAMP;
use eddy_core::{Data, Key};
use eddy_state::time::{InternalTimerService, ProcessingTimeService, TimeDomain, TimerService};
use eddy_state::{
    BroadcastState, BroadcastStateStore, KeyedState, KeyedStateBackend, KeyedStateDescriptor,
    MapStateDescriptor, Namespace, ReadOnlyBroadcastState,
};

/// What the contexts of a non-keyed broadcast function share: the element, the clocks, side
/// outputs.
struct Common<'a> {
    timestamp: i64,
    watermark: i64,
    clock: &'a ProcessingTimeService,
    runtime: &'a RuntimeContext,
    side_outputs: &'a mut SideOutputs,
}

impl Common<'_> {
    fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }
}

/// The context of [`BroadcastProcessFunction::process_element`]: the element, the clocks, side
/// outputs, and read-only access to the broadcast state.
pub struct ReadOnlyBroadcastContext<'a> {
    common: Common<'a>,
    broadcast: &'a BroadcastStateStore,
}

impl<'a> ReadOnlyBroadcastContext<'a> {
    /// A context for an element with the given timestamp at the operator's watermark (for
    /// operator implementations).
    pub fn new(
        timestamp: i64,
        watermark: i64,
        clock: &'a ProcessingTimeService,
        broadcast: &'a BroadcastStateStore,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        ReadOnlyBroadcastContext {
            common: Common {
                timestamp,
                watermark,
                clock,
                runtime,
                side_outputs,
            },
            broadcast,
        }
    }

    /// Read-only access to the broadcast state `descriptor` names (declared on the broadcast
    /// stream). The handle does not borrow the context, so it can be held while emitting.
    pub fn broadcast_state<UK: Key, UV: Data>(
        &self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<ReadOnlyBroadcastState<'a, UK, UV>> {
        self.broadcast.read_only(descriptor)
    }

    /// The element's event timestamp, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.common.timestamp()
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.common.watermark
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.common.clock.now()
    }

    /// Emits a value to a side output, with the element's timestamp. (Two-input operators have
    /// no side-output channels yet: the value is dropped.)
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.common
            .side_outputs
            .emit(tag, value, self.common.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.common.runtime
    }
}

/// The context of [`BroadcastProcessFunction::process_broadcast_element`]: the element, the
/// clocks, side outputs, and read-write access to the broadcast state.
pub struct BroadcastContext<'a> {
    common: Common<'a>,
    broadcast: &'a mut BroadcastStateStore,
}

impl<'a> BroadcastContext<'a> {
    /// A context for a broadcast element with the given timestamp at the operator's watermark
    /// (for operator implementations).
    pub fn new(
        timestamp: i64,
        watermark: i64,
        clock: &'a ProcessingTimeService,
        broadcast: &'a mut BroadcastStateStore,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        BroadcastContext {
            common: Common {
                timestamp,
                watermark,
                clock,
                runtime,
                side_outputs,
            },
            broadcast,
        }
    }

    /// Read-write access to the broadcast state `descriptor` names (declared on the broadcast
    /// stream).
    pub fn broadcast_state<UK: Key, UV: Data>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<BroadcastState<'_, UK, UV>> {
        self.broadcast.state(descriptor)
    }

    /// The broadcast element's event timestamp, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.common.timestamp()
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.common.watermark
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.common.clock.now()
    }

    /// Emits a value to a side output, with the element's timestamp. (Two-input operators have
    /// no side-output channels yet: the value is dropped.)
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.common
            .side_outputs
            .emit(tag, value, self.common.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.common.runtime
    }
}

/// Flink's `BroadcastProcessFunction`: processes a (non-keyed) stream connected with a
/// broadcast stream. Every parallel subtask receives every broadcast element and keeps its own
/// copy of the broadcast state; `process_broadcast_element` may change it,
/// `process_element` only reads it.
///
/// Keep the broadcast state the same on every subtask: change it only from the broadcast
/// elements, deterministically. The two inputs are not ordered relative to each other, and
/// broadcast elements from several upstream subtasks may reach different subtasks in
/// different orders.
pub trait BroadcastProcessFunction<IN, BC, OUT>: Clone + Send + 'static {
    /// Processes one element of the non-broadcast input, with read-only broadcast state.
    fn process_element(
        &mut self,
        value: IN,
        ctx: &mut ReadOnlyBroadcastContext<'_>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()>;

    /// Processes one broadcast element (every subtask sees each one), with read-write
    /// broadcast state.
    fn process_broadcast_element(
        &mut self,
        value: BC,
        ctx: &mut BroadcastContext<'_>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()>;
    eddy_state::lifecycle!();
}

/// What the contexts of a keyed broadcast function share: the element or timer, the timers
/// (and with them the clocks), keyed state, side outputs.
struct KeyedCommon<'a, K> {
    timestamp: i64,
    timers: &'a mut InternalTimerService<K, ()>,
    state: &'a mut KeyedStateBackend<K>,
    runtime: &'a RuntimeContext,
    side_outputs: &'a mut SideOutputs,
}

/// The context of [`KeyedBroadcastProcessFunction::process_element`] and
/// [`on_timer`](KeyedBroadcastProcessFunction::on_timer): the element (or timer) and its key,
/// the key's timers and keyed state, side outputs, and read-only access to the broadcast
/// state.
pub struct KeyedReadOnlyBroadcastContext<'a, K> {
    common: KeyedCommon<'a, K>,
    key: &'a K,
    domain: Option<TimeDomain>,
    broadcast: &'a BroadcastStateStore,
}

impl<'a, K: Key> KeyedReadOnlyBroadcastContext<'a, K> {
    /// A context for an element (`domain: None`) or a firing timer of `key` (for operator
    /// implementations).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        timestamp: i64,
        key: &'a K,
        domain: Option<TimeDomain>,
        timers: &'a mut InternalTimerService<K, ()>,
        state: &'a mut KeyedStateBackend<K>,
        broadcast: &'a BroadcastStateStore,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        KeyedReadOnlyBroadcastContext {
            common: KeyedCommon {
                timestamp,
                timers,
                state,
                runtime,
                side_outputs,
            },
            key,
            domain,
            broadcast,
        }
    }

    /// Read-only access to the broadcast state `descriptor` names (declared on the broadcast
    /// stream). The handle does not borrow the context, so it can be held while using keyed
    /// state, timers or side outputs.
    pub fn broadcast_state<UK: Key, UV: Data>(
        &self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<ReadOnlyBroadcastState<'a, UK, UV>> {
        self.broadcast.read_only(descriptor)
    }

    /// The element's event timestamp (the timer's time in an event-time `on_timer`).
    pub fn timestamp(&self) -> Option<i64> {
        (self.common.timestamp != NO_TIMESTAMP).then_some(self.common.timestamp)
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
        TimerService::new(self.common.timers, self.key)
    }

    /// The current key's managed state: `ctx.state().value(&descriptor)?` and the other
    /// primitives.
    pub fn state(&mut self) -> KeyedState<'_, K> {
        KeyedState::new(self.common.state, self.key, Namespace::Global)
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.common.timers.current_watermark()
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.common.timers.current_processing_time()
    }

    /// Emits a value to a side output, with the current timestamp. (Two-input operators have
    /// no side-output channels yet: the value is dropped.)
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.common
            .side_outputs
            .emit(tag, value, self.common.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.common.runtime
    }
}

/// The context of [`KeyedBroadcastProcessFunction::process_broadcast_element`]: the broadcast
/// element, the clocks, side outputs, read-write access to the broadcast state, and
/// [`apply_to_keyed_state`](Self::apply_to_keyed_state) over every key of this subtask. There
/// is no current key, so no timers and no `state()`.
pub struct KeyedBroadcastContext<'a, K> {
    common: KeyedCommon<'a, K>,
    broadcast: &'a mut BroadcastStateStore,
}

impl<'a, K: Key> KeyedBroadcastContext<'a, K> {
    /// A context for a broadcast element with the given timestamp (for operator
    /// implementations).
    pub fn new(
        timestamp: i64,
        timers: &'a mut InternalTimerService<K, ()>,
        state: &'a mut KeyedStateBackend<K>,
        broadcast: &'a mut BroadcastStateStore,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        KeyedBroadcastContext {
            common: KeyedCommon {
                timestamp,
                timers,
                state,
                runtime,
                side_outputs,
            },
            broadcast,
        }
    }

    /// Read-write access to the broadcast state `descriptor` names (declared on the broadcast
    /// stream).
    pub fn broadcast_state<UK: Key, UV: Data>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<BroadcastState<'_, UK, UV>> {
        self.broadcast.state(descriptor)
    }

    /// Flink's `applyToKeyedState`: calls `function(key, state)` for every key that has the
    /// keyed state `descriptor` names in this subtask (in no particular order), with that
    /// key's handle of the state, e.g. to clear or update it for all keys when a rule changes.
    /// The keys are listed before the first call, so each is visited once even if `function`
    /// clears its state. Fails if the state was registered with another kind or type, or if
    /// `function` fails.
    pub fn apply_to_keyed_state<D: KeyedStateDescriptor<K>>(
        &mut self,
        descriptor: &D,
        mut function: impl FnMut(&K, D::State<'_>) -> FnResult<()>,
    ) -> FnResult<()> {
        let keys = self
            .common
            .state
            .keys_in_namespace(descriptor.state_name(), Namespace::Global)?;
        for key in &keys {
            let state = KeyedState::new(self.common.state, key, Namespace::Global);
            function(key, descriptor.bind(state)?)?;
        }
        Ok(())
    }

    /// The broadcast element's event timestamp, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        (self.common.timestamp != NO_TIMESTAMP).then_some(self.common.timestamp)
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.common.timers.current_watermark()
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.common.timers.current_processing_time()
    }

    /// Emits a value to a side output, with the element's timestamp. (Two-input operators have
    /// no side-output channels yet: the value is dropped.)
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.common
            .side_outputs
            .emit(tag, value, self.common.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.common.runtime
    }
}

/// Flink's `KeyedBroadcastProcessFunction`: processes a keyed stream connected with a
/// broadcast stream. Elements of the keyed input see their key, its keyed state and timers,
/// and read-only broadcast state; broadcast elements (every subtask sees each one) may change
/// the broadcast state and reach the keyed state of every key through
/// [`apply_to_keyed_state`](KeyedBroadcastContext::apply_to_keyed_state).
///
/// Keep the broadcast state the same on every subtask: change it only from the broadcast
/// elements, deterministically. The two inputs are not ordered relative to each other; to
/// make results independent of how they interleave, buffer keyed elements in keyed state and
/// evaluate them from an event-time timer (the operator's watermark is the minimum of both
/// inputs', so when it passes an element's timestamp every broadcast element up to that time
/// has arrived).
pub trait KeyedBroadcastProcessFunction<K, IN, BC, OUT>: Clone + Send + 'static {
    /// Processes one element of the keyed input, with its key's state and timers and
    /// read-only broadcast state.
    fn process_element(
        &mut self,
        value: IN,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, K>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()>;

    /// Processes one broadcast element, with read-write broadcast state and access to the
    /// keyed state of every key.
    fn process_broadcast_element(
        &mut self,
        value: BC,
        ctx: &mut KeyedBroadcastContext<'_, K>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()>;

    /// A timer registered for `ctx.current_key()` fired at `timestamp` (read-only broadcast
    /// state, as in `process_element`).
    fn on_timer(
        &mut self,
        _timestamp: i64,
        _ctx: &mut KeyedReadOnlyBroadcastContext<'_, K>,
        _out: &mut Collector<'_, OUT>,
    ) -> FnResult<()> {
        Ok(())
    }
    eddy_state::lifecycle!();
}
