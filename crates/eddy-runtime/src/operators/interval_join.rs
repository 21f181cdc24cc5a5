//! The interval join: a left element at `t` joins every right element of its key at `rt` with
//! `t + lower <= rt <= t + upper`; both sides are buffered, per key and timestamp, until the
//! watermark passes the last time they can still join. The buffers are typed hash maps on the
//! heap backend and a `MapState` per side in a backend of serialized rows (`rocksdb`), as in
//! Flink's `IntervalJoinOperator`.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use rustc_hash::FxHashMap;

use eddy_core::{Data, FnResult, Key, Watermark, NO_TIMESTAMP};
use eddy_functions::{
    Collector, KeySelector, ProcessJoinContext, ProcessJoinFunction, RuntimeContext, SideOutputs,
};
use eddy_state::time::{InternalTimerService, ProcessingTimeService};
use eddy_state::{
    KeyedState, KeyedStateBackend, KeyedStateSnapshot, MapStateDescriptor, Namespace,
    PendingKeyedSnapshot, StateBackendConfig,
};

use super::co::TwoInputLogic;
use crate::output::Batch;
use crate::snapshot::{restore_keyed, snapshot_keyed};
use crate::state_backend::open_keyed_state_backend;

/// Which buffer a cleanup timer of the interval join empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
enum Side {
    Left,
    Right,
}

/// One side's elements of one key, by timestamp.
type Buffer<T> = BTreeMap<i64, Vec<T>>;

/// The names of the two buffers in a backend of serialized rows; the leading underscore keeps
/// them apart from user-declared states.
const STORED_LEFT: &str = "_interval-join-left";
const STORED_RIGHT: &str = "_interval-join-right";

/// Where the two sides' buffers live.
enum JoinBuffers<K, L, R> {
    /// Typed maps on the heap.
    Heap {
        left: FxHashMap<K, Buffer<L>>,
        right: FxHashMap<K, Buffer<R>>,
    },
    /// A map from timestamp to elements per key and side, in the keyed state backend.
    Stored {
        left: MapStateDescriptor<i64, Vec<L>>,
        right: MapStateDescriptor<i64, Vec<R>>,
    },
}

/// One side's buffer, whichever way it is kept.
enum SideBuffer<'a, K, T> {
    Heap(&'a mut FxHashMap<K, Buffer<T>>),
    Stored(&'a MapStateDescriptor<i64, Vec<T>>),
}

impl<K: Key, T: Data> SideBuffer<'_, K, T> {
    /// Calls `visit(timestamp, element)` for `key`'s elements with a timestamp in `range`
    /// (in timestamp order on the heap; in the store's order, which is no less correct, since
    /// every pair is emitted either way).
    fn for_each_in(
        &mut self,
        state: &mut KeyedStateBackend<K>,
        key: &K,
        range: RangeInclusive<i64>,
        mut visit: impl FnMut(i64, &T) -> FnResult<()>,
    ) -> FnResult<()> {
        match self {
            SideBuffer::Heap(buffers) => {
                if let Some(buffer) = buffers.get(key) {
                    for (&timestamp, elements) in buffer.range(range) {
                        elements.iter().try_for_each(|e| visit(timestamp, e))?;
                    }
                }
                Ok(())
            }
            SideBuffer::Stored(descriptor) => {
                let map = KeyedState::new(state, key, Namespace::Global).map(descriptor)?;
                let mut buckets = map.entries()?;
                buckets.retain(|(timestamp, _)| range.contains(timestamp));
                buckets.sort_unstable_by_key(|(timestamp, _)| *timestamp);
                for (timestamp, elements) in &buckets {
                    elements.iter().try_for_each(|e| visit(*timestamp, e))?;
                }
                Ok(())
            }
        }
    }

    /// Adds `value` to `key`'s bucket at `timestamp`.
    fn add(
        &mut self,
        state: &mut KeyedStateBackend<K>,
        key: &K,
        timestamp: i64,
        value: T,
    ) -> FnResult<()> {
        match self {
            SideBuffer::Heap(buffers) => {
                let buffer = match buffers.get_mut(key) {
                    Some(buffer) => buffer,
                    None => buffers.entry(key.clone()).or_default(),
                };
                buffer.entry(timestamp).or_default().push(value);
                Ok(())
            }
            SideBuffer::Stored(descriptor) => {
                let mut map = KeyedState::new(state, key, Namespace::Global).map(descriptor)?;
                let mut bucket = map.get(&timestamp)?.unwrap_or_default();
                bucket.push(value);
                map.put(timestamp, bucket)
            }
        }
    }

    /// Removes `key`'s bucket at `timestamp`.
    fn remove_bucket(
        &mut self,
        state: &mut KeyedStateBackend<K>,
        key: &K,
        timestamp: i64,
    ) -> FnResult<()> {
        match self {
            SideBuffer::Heap(buffers) => {
                if let Some(buffer) = buffers.get_mut(key) {
                    buffer.remove(&timestamp);
                    if buffer.is_empty() {
                        buffers.remove(key);
                    }
                }
                Ok(())
            }
            SideBuffer::Stored(descriptor) => KeyedState::new(state, key, Namespace::Global)
                .map(descriptor)?
                .remove(&timestamp),
        }
    }
}

impl<K, L, R> JoinBuffers<K, L, R> {
    fn for_backend(backend: &KeyedStateBackend<K>) -> Self {
        match backend {
            KeyedStateBackend::Heap(_) => JoinBuffers::Heap {
                left: FxHashMap::default(),
                right: FxHashMap::default(),
            },
            KeyedStateBackend::Store(_) => JoinBuffers::Stored {
                left: MapStateDescriptor::new(STORED_LEFT),
                right: MapStateDescriptor::new(STORED_RIGHT),
            },
        }
    }

    /// The two sides' buffers.
    fn sides(&mut self) -> (SideBuffer<'_, K, L>, SideBuffer<'_, K, R>) {
        match self {
            JoinBuffers::Heap { left, right } => (SideBuffer::Heap(left), SideBuffer::Heap(right)),
            JoinBuffers::Stored { left, right } => {
                (SideBuffer::Stored(left), SideBuffer::Stored(right))
            }
        }
    }
}

impl<K: Key, L: Data, R: Data> JoinBuffers<K, L, R> {
    /// On the heap: both sides' buffers written as the stored variant keeps them (a
    /// `MapState` per side), so the snapshot restores on either backend. `None` when stored:
    /// the backend's own snapshot holds them.
    fn snapshot_heap(&self, max_parallelism: u32) -> FnResult<Option<PendingKeyedSnapshot>> {
        let JoinBuffers::Heap { left, right } = self else {
            return Ok(None);
        };
        let mut written = KeyedStateBackend::heap();
        write_side(&mut written, left, STORED_LEFT)?;
        write_side(&mut written, right, STORED_RIGHT)?;
        Ok(Some(written.into_pending(max_parallelism)?))
    }

    /// On the heap: moves the buffers restored into `backend` into the typed maps.
    fn restore_heap(&mut self, backend: &mut KeyedStateBackend<K>) -> FnResult<()> {
        let JoinBuffers::Heap { left, right } = self else {
            return Ok(());
        };
        read_side(backend, left, STORED_LEFT)?;
        read_side(backend, right, STORED_RIGHT)
    }
}

/// Writes one side's heap buffers into `backend` as the stored variant's `MapState`.
fn write_side<K: Key, T: Data>(
    backend: &mut KeyedStateBackend<K>,
    buffers: &FxHashMap<K, Buffer<T>>,
    name: &str,
) -> FnResult<()> {
    let descriptor = MapStateDescriptor::<i64, Vec<T>>::new(name);
    for (key, buffer) in buffers {
        KeyedState::new(backend, key, Namespace::Global)
            .map(&descriptor)?
            .put_all(buffer.iter().map(|(t, elements)| (*t, elements.clone())))?;
    }
    Ok(())
}

/// Moves one side's restored `MapState` out of `backend` into heap buffers.
fn read_side<K: Key, T: Data>(
    backend: &mut KeyedStateBackend<K>,
    buffers: &mut FxHashMap<K, Buffer<T>>,
    name: &str,
) -> FnResult<()> {
    let descriptor = MapStateDescriptor::<i64, Vec<T>>::new(name);
    for (key, _) in backend.entries(name)? {
        let mut map = KeyedState::new(backend, &key, Namespace::Global).map(&descriptor)?;
        let entries = map.entries()?;
        map.clear()?;
        buffers.entry(key).or_default().extend(entries);
    }
    Ok(())
}

/// The interval join operator's logic (see the module documentation).
pub struct IntervalJoinLogic<K, L, R, KS1, KS2, F> {
    key_selector1: KS1,
    key_selector2: KS2,
    function: F,
    lower: i64,
    upper: i64,
    buffers: JoinBuffers<K, L, R>,
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    timers: InternalTimerService<K, Side>,
}

impl<K: Key, L, R, KS1, KS2, F> IntervalJoinLogic<K, L, R, KS1, KS2, F> {
    /// The join with inclusive bounds `lower..=upper` (ms, relative to the left element),
    /// keeping its buffers where `state_backend` says.
    pub fn new(
        key_selector1: KS1,
        key_selector2: KS2,
        function: F,
        (lower, upper): (i64, i64),
        clock: ProcessingTimeService,
        state_backend: StateBackendConfig,
    ) -> Self {
        IntervalJoinLogic {
            key_selector1,
            key_selector2,
            function,
            lower,
            upper,
            buffers: JoinBuffers::for_backend(&KeyedStateBackend::heap()),
            state: KeyedStateBackend::heap(),
            state_backend,
            timers: InternalTimerService::new(clock),
        }
    }
}

fn needs_timestamp(timestamp: i64) -> FnResult<()> {
    if timestamp == NO_TIMESTAMP {
        return Err(
            "an element has no timestamp, but an interval join needs one; assign \
                    timestamps with assign_timestamps_and_watermarks"
                .into(),
        );
    }
    Ok(())
}

impl<K, L, R, O, KS1, KS2, F> TwoInputLogic<L, R, O> for IntervalJoinLogic<K, L, R, KS1, KS2, F>
where
    K: Key,
    L: Data,
    R: Data,
    KS1: KeySelector<L, K>,
    KS2: KeySelector<R, K>,
    F: ProcessJoinFunction<L, R, O>,
{
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.buffers = JoinBuffers::for_backend(&self.state);
        self.timers
            .keep_in_state_store(&self.state, &self.state_backend, ctx.key_group_range())?;
        Ok(())
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        let mut snapshot = snapshot_keyed(&mut self.state, Some(&self.timers), ctx)?;
        if let Some(buffers) = self.buffers.snapshot_heap(ctx.max_parallelism)? {
            snapshot.insert_states_from(buffers);
        }
        Ok(Some(snapshot))
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        restore_keyed(snapshots, &mut self.state, Some(&mut self.timers), ctx)?;
        self.buffers.restore_heap(&mut self.state)
    }

    fn process1(
        &mut self,
        batch: Batch<L>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let watermark = self.timers.current_watermark();
        let (mut lefts, mut rights) = self.buffers.sides();
        for record in batch.into_records() {
            let (value, t) = (record.value, record.timestamp);
            needs_timestamp(t)?;
            if watermark != i64::MIN && t < watermark {
                continue;
            }
            let key = self.key_selector1.get_key(&value);
            let range = t.saturating_add(self.lower)..=t.saturating_add(self.upper);
            let function = &mut self.function;
            rights.for_each_in(&mut self.state, &key, range, |rt, right| {
                let ctx = ProcessJoinContext::new(t, rt);
                let mut collector = Collector::new(&mut out, ctx.timestamp());
                function.process_element(&value, right, &ctx, &mut collector)
            })?;
            let cleanup = if self.upper > 0 {
                t.saturating_add(self.upper)
            } else {
                t
            };
            self.timers
                .register_event_time_timer(&key, &Side::Left, cleanup);
            lefts.add(&mut self.state, &key, t, value)?;
        }
        self.timers.check()?;
        Ok(out)
    }

    fn process2(
        &mut self,
        batch: Batch<R>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let mut out = Batch::new();
        let watermark = self.timers.current_watermark();
        let (mut lefts, mut rights) = self.buffers.sides();
        for record in batch.into_records() {
            let (value, rt) = (record.value, record.timestamp);
            needs_timestamp(rt)?;
            if watermark != i64::MIN && rt < watermark {
                continue;
            }
            let key = self.key_selector2.get_key(&value);
            let range = rt.saturating_sub(self.upper)..=rt.saturating_sub(self.lower);
            let function = &mut self.function;
            lefts.for_each_in(&mut self.state, &key, range, |t, left| {
                let ctx = ProcessJoinContext::new(t, rt);
                let mut collector = Collector::new(&mut out, ctx.timestamp());
                function.process_element(left, &value, &ctx, &mut collector)
            })?;
            let cleanup = if self.lower < 0 {
                rt.saturating_sub(self.lower)
            } else {
                rt
            };
            self.timers
                .register_event_time_timer(&key, &Side::Right, cleanup);
            rights.add(&mut self.state, &key, rt, value)?;
        }
        self.timers.check()?;
        Ok(out)
    }

    fn on_watermark(
        &mut self,
        watermark: Watermark,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        self.timers.advance_watermark(watermark.0);
        let (mut lefts, mut rights) = self.buffers.sides();
        while let Some((time, key, side)) = self.timers.pop_event_time_due()? {
            match side {
                Side::Left => {
                    let bucket = if self.upper > 0 {
                        time - self.upper
                    } else {
                        time
                    };
                    lefts.remove_bucket(&mut self.state, &key, bucket)?;
                }
                Side::Right => {
                    let bucket = if self.lower < 0 {
                        time + self.lower
                    } else {
                        time
                    };
                    rights.remove_bucket(&mut self.state, &key, bucket)?;
                }
            }
        }
        Ok(Batch::new())
    }
}
