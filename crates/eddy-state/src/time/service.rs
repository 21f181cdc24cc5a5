//! An operator's timer service: its event-time and processing-time timers, on the heap or in
//! the keyed-state store, and the clocks they run on.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::store_timers::{decode_timer_row, write_timer_row, StoreTimerQueue};
use super::timers::TimerQueue;
use super::ProcessingTimeService;
use crate::snapshot::merge_in_range;
use crate::{
    KeyedStateBackend, KeyedStateSnapshot, SnapshotError, StateBackendConfig, StateError, StateRow,
};
use eddy_core::config::TimerServiceFactory;
use eddy_core::keygroup::KeyGroupRange;
use eddy_core::FnResult;

/// What a timer's namespace must be: the window of a window operator, `()` for process
/// functions.
pub trait TimerNamespace: Hash + Eq + Clone + Serialize + DeserializeOwned {}

impl<T> TimerNamespace for T where T: Hash + Eq + Clone + Serialize + DeserializeOwned {}

/// Keyspaces of the timers in a store.
const EVENT_TIME_TIMERS: &str = "_timers-event-time";
const PROCESSING_TIME_TIMERS: &str = "_timers-processing-time";

/// One time domain's timers.
enum Queue<K, N> {
    Heap(TimerQueue<K, N>),
    Store(StoreTimerQueue<K, N>),
}

impl<K, N> Queue<K, N>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    N: TimerNamespace,
{
    /// Adds a timer; `true` if it may be new (the store does not look before writing).
    fn register(&mut self, timestamp: i64, key: &K, namespace: &N) -> Result<bool, StateError> {
        match self {
            Queue::Heap(queue) => Ok(queue.register(timestamp, key, namespace)),
            Queue::Store(queue) => queue.register(timestamp, key, namespace).map(|()| true),
        }
    }

    fn delete(&mut self, timestamp: i64, key: &K, namespace: &N) -> Result<(), StateError> {
        match self {
            Queue::Heap(queue) => {
                queue.delete(timestamp, key, namespace);
                Ok(())
            }
            Queue::Store(queue) => queue.delete(timestamp, key, namespace),
        }
    }

    fn pop_due(&mut self, time: i64) -> Result<Option<(i64, K, N)>, StateError> {
        match self {
            Queue::Heap(queue) => Ok(queue.pop_due(time)),
            Queue::Store(queue) => queue.pop_due(time),
        }
    }

    fn peek_timestamp(&mut self) -> Option<i64> {
        match self {
            Queue::Heap(queue) => queue.peek_timestamp(),
            Queue::Store(queue) => queue.peek_timestamp(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Queue::Heap(queue) => queue.is_empty(),
            Queue::Store(queue) => queue.is_empty(),
        }
    }

    /// Every timer as a row of the store layout, keys hashed into `max_parallelism` key
    /// groups (the heap queue encodes its timers now).
    fn rows(&self, max_parallelism: u32, name: &str) -> Result<Vec<StateRow>, StateError> {
        match self {
            Queue::Heap(queue) => queue
                .iter()
                .map(|(timestamp, key, namespace)| {
                    let mut row = Vec::with_capacity(32);
                    write_timer_row(&mut row, max_parallelism, timestamp, key, namespace, name)?;
                    Ok((row, Vec::new()))
                })
                .collect(),
            Queue::Store(queue) => queue.rows(),
        }
    }

    /// Adds the timers of snapshot rows.
    fn restore<'r>(
        &mut self,
        rows: impl IntoIterator<Item = &'r Vec<u8>>,
        name: &str,
    ) -> Result<(), StateError> {
        match self {
            Queue::Heap(queue) => {
                for row in rows {
                    let (timestamp, key, namespace) = decode_timer_row::<K, N>(row, name)?;
                    queue.register(timestamp, &key, &namespace);
                }
                Ok(())
            }
            Queue::Store(queue) => queue.restore_rows(rows),
        }
    }
}

/// How timers of namespace type `N` are described in a snapshot.
fn timers_description<N>() -> String {
    format!("Timers<{}>", std::any::type_name::<N>())
}

/// An operator's event-time and processing-time timers, and the clocks they run on.
///
/// Timers start on the heap; [`keep_in_state_store`](Self::keep_in_state_store) moves them
/// into the store of the `rocksdb` backend (Flink's `state.backend.rocksdb.timer-service.factory:
/// ROCKSDB`). Registering and deleting never fail at the call: a store failure is kept and
/// returned by [`check`](Self::check), which operators call after each user call.
pub struct InternalTimerService<K, N> {
    event_time: Queue<K, N>,
    processing_time: Queue<K, N>,
    watermark: i64,
    clock: ProcessingTimeService,
    failure: Option<StateError>,
}

impl<K, N> InternalTimerService<K, N>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    N: TimerNamespace,
{
    /// No timers, no watermark yet, on the task's clock; timers on the heap.
    pub fn new(clock: ProcessingTimeService) -> Self {
        InternalTimerService {
            event_time: Queue::Heap(TimerQueue::new()),
            processing_time: Queue::Heap(TimerQueue::new()),
            watermark: i64::MIN,
            clock,
            failure: None,
        }
    }

    /// Keeps the timers in the store of `backend` if it has one and `config` asks for it (the
    /// default of the `rocksdb` backend); timers of `key_groups` already in the store are
    /// found. Call when the operator opens, before any timer is registered.
    pub fn keep_in_state_store(
        &mut self,
        backend: &KeyedStateBackend<K>,
        config: &StateBackendConfig,
        key_groups: KeyGroupRange,
    ) -> Result<(), StateError> {
        let KeyedStateBackend::Store(store_backend) = backend else {
            return Ok(());
        };
        if config.timer_service != TimerServiceFactory::RocksDb {
            return Ok(());
        }
        let store = store_backend.shared_store();
        let max_parallelism = store_backend.max_parallelism();
        self.event_time = Queue::Store(StoreTimerQueue::open(
            store.clone(),
            EVENT_TIME_TIMERS,
            max_parallelism,
            key_groups,
        )?);
        let processing_time = StoreTimerQueue::open(
            store.clone(),
            PROCESSING_TIME_TIMERS,
            max_parallelism,
            key_groups,
        )?;
        if let Some(first) = processing_time.peek_timestamp() {
            self.clock.request_wakeup(first);
        }
        self.processing_time = Queue::Store(processing_time);
        Ok(())
    }

    /// The first store failure since the last check, if any (registering or deleting a timer).
    pub fn check(&mut self) -> Result<(), StateError> {
        match self.failure.take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    fn keep_failure(&mut self, result: Result<(), StateError>) {
        if let Err(e) = result {
            self.failure.get_or_insert(e);
        }
    }

    /// The operator's current watermark.
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The wall clock.
    pub fn current_processing_time(&self) -> i64 {
        self.clock.now()
    }

    /// The task's clock.
    pub fn clock(&self) -> &ProcessingTimeService {
        &self.clock
    }

    /// Registers an event-time timer (idempotent).
    pub fn register_event_time_timer(&mut self, key: &K, namespace: &N, time: i64) {
        let result = self.event_time.register(time, key, namespace).map(drop);
        self.keep_failure(result);
    }

    /// Deletes an event-time timer, if registered.
    pub fn delete_event_time_timer(&mut self, key: &K, namespace: &N, time: i64) {
        let result = self.event_time.delete(time, key, namespace);
        self.keep_failure(result);
    }

    /// Registers a processing-time timer (idempotent) and asks the task to wake up for it.
    pub fn register_processing_time_timer(&mut self, key: &K, namespace: &N, time: i64) {
        let result = self
            .processing_time
            .register(time, key, namespace)
            .map(|new| {
                if new {
                    self.clock.request_wakeup(time);
                }
            });
        self.keep_failure(result);
    }

    /// Deletes a processing-time timer, if registered.
    pub fn delete_processing_time_timer(&mut self, key: &K, namespace: &N, time: i64) {
        let result = self.processing_time.delete(time, key, namespace);
        self.keep_failure(result);
    }

    /// Moves the watermark forward (never backwards).
    pub fn advance_watermark(&mut self, watermark: i64) {
        self.watermark = self.watermark.max(watermark);
    }

    /// The next event-time timer at or before the watermark, removed from the queue. Call in a
    /// loop: timers registered while firing fire in the same advance if they are due.
    pub fn pop_event_time_due(&mut self) -> Result<Option<(i64, K, N)>, StateError> {
        self.check()?;
        self.event_time.pop_due(self.watermark)
    }

    /// The next processing-time timer at or before `now`, removed from the queue.
    pub fn pop_processing_time_due(&mut self, now: i64) -> Result<Option<(i64, K, N)>, StateError> {
        self.check()?;
        self.processing_time.pop_due(now)
    }

    /// Asks the task to wake up for the earliest remaining processing-time timer.
    pub fn request_next_wakeup(&mut self) {
        if let Some(next) = self.processing_time.peek_timestamp() {
            self.clock.request_wakeup(next);
        }
    }

    /// Whether a processing-time timer is pending.
    pub fn has_processing_time_timers(&self) -> bool {
        !self.processing_time.is_empty()
    }

    /// Adds both queues' timers to `snapshot`, in the store layout whichever queue holds
    /// them (so heap timers restore into the store and back).
    pub fn snapshot_into(&self, snapshot: &mut KeyedStateSnapshot) -> Result<(), StateError> {
        let max_parallelism = snapshot.max_parallelism();
        snapshot.set_watermark(self.watermark);
        for (name, queue) in [
            (EVENT_TIME_TIMERS, &self.event_time),
            (PROCESSING_TIME_TIMERS, &self.processing_time),
        ] {
            let rows = queue.rows(max_parallelism, name)?;
            snapshot.insert_timers(name, timers_description::<N>(), rows);
        }
        Ok(())
    }

    /// Adds the timers of the key groups of `range` from `snapshots` (of one or many old
    /// subtasks), and asks the task to wake up for the earliest processing-time timer. The
    /// watermark resumes at the smallest one the old subtasks had reached, so records that
    /// were late before the restore are late after it (and records that were not, are not).
    /// Call
    /// after [`keep_in_state_store`](Self::keep_in_state_store), so restored timers go where
    /// new ones will.
    pub fn restore(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        range: KeyGroupRange,
    ) -> FnResult<()> {
        let merged = merge_in_range(snapshots.iter().map(|s| s.timers()), range)?;
        let description = timers_description::<N>();
        for (name, restored) in &merged {
            let queue = match name.as_str() {
                EVENT_TIME_TIMERS => &mut self.event_time,
                PROCESSING_TIME_TIMERS => &mut self.processing_time,
                other => {
                    return Err(format!("the snapshot has an unknown timer queue '{other}'").into())
                }
            };
            if restored.description != description {
                return Err(SnapshotError::Incompatible {
                    state: name.clone(),
                    restored: restored.description.clone(),
                    asked: description,
                }
                .into());
            }
            queue.restore(restored.rows.keys(), name)?;
        }
        if let Some(watermark) = snapshots.iter().filter_map(|s| s.watermark()).min() {
            self.advance_watermark(watermark);
        }
        self.request_next_wakeup();
        Ok(())
    }
}

/// The timer service of a keyed function, bound to the key being processed.
pub struct TimerService<'a, K> {
    timers: &'a mut InternalTimerService<K, ()>,
    key: &'a K,
}

impl<'a, K: Hash + Eq + Clone + Serialize + DeserializeOwned> TimerService<'a, K> {
    /// The service for `key` (for operator implementations).
    pub fn new(timers: &'a mut InternalTimerService<K, ()>, key: &'a K) -> Self {
        TimerService { timers, key }
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.timers.current_processing_time()
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    /// Calls `on_timer` for the current key when the watermark reaches `time`. Registering the
    /// same time twice for a key registers one timer.
    pub fn register_event_time_timer(&mut self, time: i64) {
        self.timers.register_event_time_timer(self.key, &(), time);
    }

    /// Calls `on_timer` for the current key when the wall clock reaches `time`.
    pub fn register_processing_time_timer(&mut self, time: i64) {
        self.timers
            .register_processing_time_timer(self.key, &(), time);
    }

    /// Deletes the current key's event-time timer at `time`, if any.
    pub fn delete_event_time_timer(&mut self, time: i64) {
        self.timers.delete_event_time_timer(self.key, &(), time);
    }

    /// Deletes the current key's processing-time timer at `time`, if any.
    pub fn delete_processing_time_timer(&mut self, time: i64) {
        self.timers
            .delete_processing_time_timer(self.key, &(), time);
    }
}
