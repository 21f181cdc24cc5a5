//! Rolling reduce on a keyed stream: typed values in a hash map on the heap backend, a
//! `ValueState` per key on a backend of serialized rows.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;

use eddy_core::config::RuntimeMode;
use eddy_core::{Data, FnResult, Key, StreamRecord, NO_TIMESTAMP};
use eddy_functions::{KeySelector, ReduceFunction, RuntimeContext, SideOutputs};
use eddy_state::{
    restore_value_rows, value_state_description, KeyedState, KeyedStateBackend, KeyedStateSnapshot,
    Namespace, PendingKeyedSnapshot, RowWriter, StateBackendConfig, ValueStateDescriptor,
};

use super::OneInputLogic;
use crate::carried::carried_keys;
use crate::output::Batch;
use crate::state_backend::open_keyed_state_backend;

/// Keeps one accumulated value per key. In STREAMING mode every update is emitted; in BATCH mode
/// only the final value of each key, when the input ends.
pub struct KeyedReduceLogic<T, K, KS, R> {
    key_selector: KS,
    reducer: R,
    // `None` only transiently, while the reducer owns the previous value.
    state: FxHashMap<K, (Option<T>, i64)>,
    emit_updates: bool,
    _types: PhantomData<fn(T)>,
}

impl<T, K: Key, KS, R> KeyedReduceLogic<T, K, KS, R> {
    /// A reduce by `key_selector` with `reducer` in the given runtime mode.
    pub fn new(key_selector: KS, reducer: R, mode: RuntimeMode) -> Self {
        KeyedReduceLogic {
            key_selector,
            reducer,
            state: FxHashMap::default(),
            emit_updates: mode != RuntimeMode::Batch,
            _types: PhantomData,
        }
    }
}

impl<T, K, KS, R> KeyedReduceLogic<T, K, KS, R>
where
    T: Clone + Send,
    K: Key,
    KS: KeySelector<T, K>,
    R: ReduceFunction<T>,
{
    /// Folds `value` into its key's accumulator and returns what `out` makes of the new value.
    /// The key is looked up borrowed (see [`KeySelector::with_key`]); an owned key is built
    /// only for a key seen for the first time.
    #[inline(always)]
    fn fold<O>(&mut self, value: T, timestamp: i64, out: impl FnOnce(&T) -> O) -> FnResult<O> {
        let state = &mut self.state;
        if let Some(slot) = self.key_selector.with_key(&value, |key| state.get_mut(key)) {
            return Ok(out(reduce_into(&mut self.reducer, slot, value, timestamp)?));
        }
        match self.state.entry(self.key_selector.get_key(&value)) {
            // Only a selector whose lent and owned keys differ gets here.
            Entry::Occupied(entry) => Ok(out(reduce_into(
                &mut self.reducer,
                entry.into_mut(),
                value,
                timestamp,
            )?)),
            Entry::Vacant(entry) => {
                let slot = entry.insert((Some(value), timestamp));
                let value = slot.0.as_ref().ok_or("reduce state was left empty")?;
                Ok(out(value))
            }
        }
    }

    /// [`fold`](Self::fold) by a key carried with the record (see [`crate::carried`]).
    #[inline(always)]
    fn fold_by<O>(
        &mut self,
        key: &K,
        value: T,
        timestamp: i64,
        out: impl FnOnce(&T) -> O,
    ) -> FnResult<O> {
        if let Some(slot) = self.state.get_mut(key) {
            return Ok(out(reduce_into(&mut self.reducer, slot, value, timestamp)?));
        }
        let slot = self
            .state
            .entry(key.clone())
            .or_insert((Some(value), timestamp));
        let value = slot.0.as_ref().ok_or("reduce state was left empty")?;
        Ok(out(value))
    }

    /// STREAMING: one output per input, the updated value, keeping the input's timestamp. The
    /// output is collected in place over the input batch's allocation.
    fn process_streaming(&mut self, batch: Batch<T>) -> FnResult<Batch<T>> {
        batch.try_map_values(|value| self.fold(value, NO_TIMESTAMP, T::clone))
    }

    /// BATCH: only accumulate; results leave at the end of input.
    fn process_batch_mode(&mut self, batch: Batch<T>) -> FnResult<()> {
        for record in batch.into_records() {
            self.fold(record.value, record.timestamp, |_| ())?;
        }
        Ok(())
    }
}

/// Reduces `value` into a key's accumulator slot; returns the new accumulated value.
#[inline(always)]
fn reduce_into<'s, T, R: ReduceFunction<T>>(
    reducer: &mut R,
    slot: &'s mut (Option<T>, i64),
    value: T,
    timestamp: i64,
) -> FnResult<&'s T> {
    let previous = slot.0.take().ok_or("reduce state was left empty")?;
    let reduced = reducer.reduce(previous, value)?;
    slot.1 = timestamp;
    Ok(slot.0.insert(reduced))
}

impl<T, K, KS, R> OneInputLogic<T, T> for KeyedReduceLogic<T, K, KS, R>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K>,
    R: ReduceFunction<T>,
{
    forward_checkpointed!(reducer);

    /// STREAMING emits each input's updated value, and watermarks change nothing.
    fn passes_watermarks_through(&self) -> bool {
        self.emit_updates
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.reducer.open(ctx)
    }

    /// The typed map, written as the value state the stored variant keeps, so either
    /// backend restores it: copied synchronously, encoded when the snapshot is finished.
    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        let max_parallelism = ctx.max_parallelism;
        let entries: Vec<(K, T, i64)> = self
            .state
            .iter()
            .filter_map(|(key, (value, timestamp))| {
                value.as_ref().map(|v| (key.clone(), v.clone(), *timestamp))
            })
            .collect();
        let mut pending =
            PendingKeyedSnapshot::ready(KeyedStateSnapshot::for_key::<K>(max_parallelism));
        pending.defer(move |snapshot| {
            let mut rows = RowWriter::new(STORED_REDUCED, max_parallelism);
            for (key, value, timestamp) in &entries {
                rows.value_row(key, Namespace::Global, &(value, *timestamp))?;
            }
            snapshot.insert_state(
                STORED_REDUCED,
                value_state_description::<(T, i64)>(),
                rows.into_rows(),
            );
            Ok(())
        });
        Ok(Some(pending))
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        for snapshot in snapshots {
            snapshot.check_compatible::<K>(ctx.max_parallelism)?;
        }
        let state = &mut self.state;
        restore_value_rows::<K, (T, i64)>(
            snapshots,
            ctx.key_group_range(),
            STORED_REDUCED,
            &value_state_description::<(T, i64)>(),
            |key, _, (value, timestamp)| {
                state.insert(key, (Some(value), timestamp));
                Ok(())
            },
        )
    }

    /// Looks the records' state up by the carried keys.
    fn process_with_keys(
        &mut self,
        batch: Batch<T>,
        keys: &dyn Any,
        ctx: &RuntimeContext,
        side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        let Some(keys) = carried_keys::<K>(keys, batch.len())? else {
            return self.process(batch, ctx, side_outputs);
        };
        let mut keys = keys.iter();
        if self.emit_updates {
            return batch.try_map_values(|value| {
                let key = keys.next().ok_or("a record came without its key")?;
                self.fold_by(key, value, NO_TIMESTAMP, T::clone)
            });
        }
        for (record, key) in batch.into_records().zip(keys) {
            self.fold_by(key, record.value, record.timestamp, |_| ())?;
        }
        Ok(Batch::new())
    }

    fn process(
        &mut self,
        batch: Batch<T>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        if self.emit_updates {
            self.process_streaming(batch)
        } else {
            self.process_batch_mode(batch)?;
            Ok(Batch::new())
        }
    }

    fn end_of_input(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        if self.emit_updates {
            return Ok(Batch::new());
        }
        Ok(self
            .state
            .drain()
            .filter_map(|(_, (value, timestamp))| {
                value.map(|value| StreamRecord { value, timestamp })
            })
            .collect())
    }

    fn close(&mut self) -> FnResult<()> {
        self.reducer.close()
    }
}

/// The name of the rolling reduce's state in a backend of serialized rows; the leading
/// underscore keeps it apart from user-declared states.
const STORED_REDUCED: &str = "_keyed-reduce";

/// The rolling reduce on a keyed state backend of serialized rows (`rocksdb`): each key's
/// accumulated value and its latest timestamp are a `ValueState` in the backend, so the state
/// can outgrow memory. Same outputs as [`KeyedReduceLogic`].
pub struct StoredKeyedReduceLogic<T, K, KS, R> {
    key_selector: KS,
    reducer: R,
    state: KeyedStateBackend<K>,
    state_backend: StateBackendConfig,
    reduced: ValueStateDescriptor<(T, i64)>,
    emit_updates: bool,
}

impl<T, K: Key, KS, R> StoredKeyedReduceLogic<T, K, KS, R> {
    /// A reduce by `key_selector` with `reducer` in the given runtime mode, keeping its state
    /// in the backend `state_backend` opens.
    pub fn new(
        key_selector: KS,
        reducer: R,
        mode: RuntimeMode,
        state_backend: StateBackendConfig,
    ) -> Self {
        StoredKeyedReduceLogic {
            key_selector,
            reducer,
            state: KeyedStateBackend::heap(),
            state_backend,
            reduced: ValueStateDescriptor::new(STORED_REDUCED),
            emit_updates: mode != RuntimeMode::Batch,
        }
    }
}

impl<T, K, KS, R> StoredKeyedReduceLogic<T, K, KS, R>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K>,
    R: ReduceFunction<T>,
{
    /// Folds `value` into its key's stored value and returns the new value.
    fn fold(&mut self, value: T, timestamp: i64) -> FnResult<T> {
        let key = self.key_selector.get_key(&value);
        let mut cell =
            KeyedState::new(&mut self.state, &key, Namespace::Global).value(&self.reduced)?;
        let reduced = match cell.value()? {
            Some((previous, _)) => self.reducer.reduce(previous, value)?,
            None => value,
        };
        cell.update((reduced.clone(), timestamp))?;
        Ok(reduced)
    }
}

impl<T, K, KS, R> OneInputLogic<T, T> for StoredKeyedReduceLogic<T, K, KS, R>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K>,
    R: ReduceFunction<T>,
{
    forward_checkpointed!(reducer);

    /// STREAMING emits each input's updated value, and watermarks change nothing.
    fn passes_watermarks_through(&self) -> bool {
        self.emit_updates
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = open_keyed_state_backend(&self.state_backend, ctx)?;
        self.reducer.open(ctx)
    }

    keyed_snapshot_hooks!(state);

    fn process(
        &mut self,
        batch: Batch<T>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        if self.emit_updates {
            return batch.try_map_values(|value| self.fold(value, NO_TIMESTAMP));
        }
        for record in batch.into_records() {
            self.fold(record.value, record.timestamp)?;
        }
        Ok(Batch::new())
    }

    fn end_of_input(
        &mut self,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<T>> {
        if self.emit_updates {
            return Ok(Batch::new());
        }
        let keys = self
            .state
            .keys_in_namespace(STORED_REDUCED, Namespace::Global)?;
        let mut out = Batch::with_capacity(keys.len());
        for key in &keys {
            let cell =
                KeyedState::new(&mut self.state, key, Namespace::Global).value(&self.reduced)?;
            if let Some((value, timestamp)) = cell.value()? {
                out.push(value, timestamp);
            }
        }
        Ok(out)
    }

    fn close(&mut self) -> FnResult<()> {
        self.reducer.close()
    }
}
