//! What functions hold while they use keyed state: [`KeyedState`] (the current key's state,
//! in one namespace) and the handle of each primitive.

use std::any::{type_name, Any};

use rustc_hash::FxHashMap;

use super::descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReduceFn,
    ReducingStateDescriptor, ValueStateDescriptor,
};
use super::heap::{HeapKeyedStateBackend, StateTable, Table};
use super::Namespace;
use crate::error::FnResult;
use crate::windowing::AggregateFunction;
use crate::{Data, Key};

/// The keyed state of the current key in one namespace (the key's own state, or one
/// window's). Get it from a keyed context (`ctx.state()`, or `window_state()` /
/// `global_state()` in a window function) and ask it for one state by descriptor:
/// `ctx.state().value(&self.count)?`.
pub struct KeyedState<'a, K> {
    backend: &'a mut HeapKeyedStateBackend<K>,
    key: &'a K,
    namespace: Namespace,
}

impl<'a, K: Key> KeyedState<'a, K> {
    /// The state of `key` in `namespace` (for operator implementations).
    pub fn new(
        backend: &'a mut HeapKeyedStateBackend<K>,
        key: &'a K,
        namespace: Namespace,
    ) -> Self {
        KeyedState {
            backend,
            key,
            namespace,
        }
    }

    /// The key whose state this is.
    pub fn current_key(&self) -> &K {
        self.key
    }

    /// The namespace of this state.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The value state `descriptor` names.
    pub fn value<T: Data>(
        self,
        descriptor: &ValueStateDescriptor<T>,
    ) -> FnResult<ValueState<'a, K, T>> {
        let table = self.backend.table(
            descriptor.name(),
            || format!("ValueState<{}>", type_name::<T>()),
            Table::<K, T>::new,
        )?;
        Ok(ValueState {
            table,
            key: self.key,
            namespace: self.namespace,
        })
    }

    /// The list state `descriptor` names.
    pub fn list<T: Data>(
        self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<ListState<'a, K, T>> {
        let table = self.backend.table(
            descriptor.name(),
            || format!("ListState<{}>", type_name::<T>()),
            Table::<K, Vec<T>>::new,
        )?;
        Ok(ListState {
            table,
            key: self.key,
            namespace: self.namespace,
        })
    }

    /// The map state `descriptor` names.
    pub fn map<UK: Key, UV: Data>(
        self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<MapState<'a, K, UK, UV>> {
        let table = self.backend.table(
            descriptor.name(),
            || format!("MapState<{}, {}>", type_name::<UK>(), type_name::<UV>()),
            Table::<K, FxHashMap<UK, UV>>::new,
        )?;
        Ok(MapState {
            table,
            key: self.key,
            namespace: self.namespace,
        })
    }

    /// The reducing state `descriptor` names.
    pub fn reducing<T: Data>(
        self,
        descriptor: &ReducingStateDescriptor<T>,
    ) -> FnResult<ReducingState<'a, K, T>> {
        let table = self.backend.table(
            descriptor.name(),
            || format!("ReducingState<{}>", type_name::<T>()),
            || ReducingTable {
                values: Table::<K, Option<T>>::new(),
                reduce: descriptor.reduce_fn(),
            },
        )?;
        Ok(ReducingState {
            table,
            key: self.key,
            namespace: self.namespace,
        })
    }

    /// The aggregating state `descriptor` names.
    pub fn aggregating<IN, ACC, OUT, F>(
        self,
        descriptor: &AggregatingStateDescriptor<IN, ACC, OUT, F>,
    ) -> FnResult<AggregatingState<'a, K, IN, ACC, OUT, F>>
    where
        IN: 'static,
        ACC: Data,
        OUT: 'static,
        F: AggregateFunction<IN, ACC, OUT>,
    {
        let table = self.backend.table(
            descriptor.name(),
            || {
                format!(
                    "AggregatingState<{}, {}, {}>",
                    type_name::<IN>(),
                    type_name::<ACC>(),
                    type_name::<OUT>()
                )
            },
            || AggregatingTable {
                accumulators: Table::<K, ACC>::new(),
                function: descriptor.function(),
                _types: std::marker::PhantomData,
            },
        )?;
        Ok(AggregatingState {
            table,
            key: self.key,
            namespace: self.namespace,
        })
    }
}

/// One value per key and namespace.
pub struct ValueState<'s, K, T> {
    table: &'s mut Table<K, T>,
    key: &'s K,
    namespace: Namespace,
}

impl<K: Key, T: Data> ValueState<'_, K, T> {
    /// The value, `None` if none was set (or it was cleared).
    pub fn value(&self) -> FnResult<Option<T>> {
        Ok(self.table.get(self.key, self.namespace).cloned())
    }

    /// Sets the value.
    pub fn update(&mut self, value: T) -> FnResult<()> {
        self.table.insert(self.key, self.namespace, value);
        Ok(())
    }

    /// Removes the value.
    pub fn clear(&mut self) -> FnResult<()> {
        self.table.remove(self.key, self.namespace);
        Ok(())
    }
}

/// A list per key and namespace.
pub struct ListState<'s, K, T> {
    table: &'s mut Table<K, Vec<T>>,
    key: &'s K,
    namespace: Namespace,
}

impl<K: Key, T: Data> ListState<'_, K, T> {
    /// The elements in the order they were added (empty if none).
    pub fn get(&self) -> FnResult<Vec<T>> {
        Ok(self
            .table
            .get(self.key, self.namespace)
            .cloned()
            .unwrap_or_default())
    }

    /// Appends an element.
    pub fn add(&mut self, value: T) -> FnResult<()> {
        self.table
            .get_or_insert_with(self.key, self.namespace, Vec::new)
            .push(value);
        Ok(())
    }

    /// Appends elements.
    pub fn add_all(&mut self, values: impl IntoIterator<Item = T>) -> FnResult<()> {
        let mut values = values.into_iter().peekable();
        if values.peek().is_some() {
            self.table
                .get_or_insert_with(self.key, self.namespace, Vec::new)
                .extend(values);
        }
        Ok(())
    }

    /// Replaces the list (an empty one clears it).
    pub fn update(&mut self, values: Vec<T>) -> FnResult<()> {
        if values.is_empty() {
            self.table.remove(self.key, self.namespace);
        } else {
            self.table.insert(self.key, self.namespace, values);
        }
        Ok(())
    }

    /// Removes every element.
    pub fn clear(&mut self) -> FnResult<()> {
        self.table.remove(self.key, self.namespace);
        Ok(())
    }
}

/// A map per key and namespace.
pub struct MapState<'s, K, UK, UV> {
    table: &'s mut Table<K, FxHashMap<UK, UV>>,
    key: &'s K,
    namespace: Namespace,
}

impl<K: Key, UK: Key, UV: Data> MapState<'_, K, UK, UV> {
    fn map(&self) -> Option<&FxHashMap<UK, UV>> {
        self.table.get(self.key, self.namespace)
    }

    /// The value under `user_key`.
    pub fn get(&self, user_key: &UK) -> FnResult<Option<UV>> {
        Ok(self.map().and_then(|map| map.get(user_key)).cloned())
    }

    /// Sets the value under `user_key`.
    pub fn put(&mut self, user_key: UK, value: UV) -> FnResult<()> {
        self.table
            .get_or_insert_with(self.key, self.namespace, FxHashMap::default)
            .insert(user_key, value);
        Ok(())
    }

    /// Sets every `(user key, value)` pair.
    pub fn put_all(&mut self, entries: impl IntoIterator<Item = (UK, UV)>) -> FnResult<()> {
        let mut entries = entries.into_iter().peekable();
        if entries.peek().is_some() {
            self.table
                .get_or_insert_with(self.key, self.namespace, FxHashMap::default)
                .extend(entries);
        }
        Ok(())
    }

    /// Removes the value under `user_key`.
    pub fn remove(&mut self, user_key: &UK) -> FnResult<()> {
        if let Some(map) = self.table.get_mut(self.key, self.namespace) {
            map.remove(user_key);
            if map.is_empty() {
                self.table.remove(self.key, self.namespace);
            }
        }
        Ok(())
    }

    /// Whether a value is set under `user_key`.
    pub fn contains(&self, user_key: &UK) -> FnResult<bool> {
        Ok(self.map().is_some_and(|map| map.contains_key(user_key)))
    }

    /// Whether the map has no entry.
    pub fn is_empty(&self) -> FnResult<bool> {
        Ok(self.map().is_none_or(|map| map.is_empty()))
    }

    /// Every `(user key, value)` pair, in no particular order.
    pub fn entries(&self) -> FnResult<Vec<(UK, UV)>> {
        Ok(self
            .map()
            .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Every user key, in no particular order.
    pub fn keys(&self) -> FnResult<Vec<UK>> {
        Ok(self
            .map()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> FnResult<Vec<UV>> {
        Ok(self
            .map()
            .map(|map| map.values().cloned().collect())
            .unwrap_or_default())
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> FnResult<()> {
        self.table.remove(self.key, self.namespace);
        Ok(())
    }
}

/// The table of a reducing state, with its function. Values are `Option`s so `add` can move
/// the held value into the function in place (one lookup, no key clone); a stored `None`
/// only appears if the function panicked, and reads as empty.
pub(crate) struct ReducingTable<K, T> {
    values: Table<K, Option<T>>,
    reduce: ReduceFn<T>,
}

impl<K: Key, T: Send + 'static> StateTable<K> for ReducingTable<K, T> {
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.values.remove(key, namespace);
    }

    fn keys_in_namespace(&self, namespace: Namespace) -> Vec<K> {
        self.values.keys_in(namespace).cloned().collect()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// One value per key and namespace that added values are reduced into.
pub struct ReducingState<'s, K, T> {
    table: &'s mut ReducingTable<K, T>,
    key: &'s K,
    namespace: Namespace,
}

impl<K: Key, T: Data> ReducingState<'_, K, T> {
    /// The reduced value, `None` if nothing was added.
    pub fn get(&self) -> FnResult<Option<T>> {
        Ok(self
            .table
            .values
            .get(self.key, self.namespace)
            .cloned()
            .flatten())
    }

    /// Reduces `value` into the held one (or holds it, if there is none).
    pub fn add(&mut self, value: T) -> FnResult<()> {
        let ReducingTable { values, reduce } = &mut *self.table;
        let slot = values.get_or_insert_with(self.key, self.namespace, || None);
        *slot = Some(match slot.take() {
            Some(held) => reduce(held, value),
            None => value,
        });
        Ok(())
    }

    /// Removes the value.
    pub fn clear(&mut self) -> FnResult<()> {
        self.table.values.remove(self.key, self.namespace);
        Ok(())
    }
}

/// The table of an aggregating state, with its function.
pub(crate) struct AggregatingTable<K, IN, ACC, OUT, F> {
    accumulators: Table<K, ACC>,
    function: F,
    _types: std::marker::PhantomData<fn(IN) -> OUT>,
}

impl<K, IN, ACC, OUT, F> StateTable<K> for AggregatingTable<K, IN, ACC, OUT, F>
where
    K: Key,
    IN: 'static,
    ACC: Send + 'static,
    OUT: 'static,
    F: Send + 'static,
{
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.accumulators.remove(key, namespace);
    }

    fn keys_in_namespace(&self, namespace: Namespace) -> Vec<K> {
        self.accumulators.keys_in(namespace).cloned().collect()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// One accumulator per key and namespace that added values are aggregated into.
pub struct AggregatingState<'s, K, IN, ACC, OUT, F> {
    table: &'s mut AggregatingTable<K, IN, ACC, OUT, F>,
    key: &'s K,
    namespace: Namespace,
}

impl<K, IN, ACC, OUT, F> AggregatingState<'_, K, IN, ACC, OUT, F>
where
    K: Key,
    ACC: Data,
    F: AggregateFunction<IN, ACC, OUT>,
{
    /// The aggregate's result, `None` if nothing was added.
    pub fn get(&mut self) -> FnResult<Option<OUT>> {
        let AggregatingTable {
            accumulators,
            function,
            ..
        } = &mut *self.table;
        accumulators
            .get(self.key, self.namespace)
            .map(|acc| function.get_result(acc))
            .transpose()
    }

    /// Adds `value` to the accumulator (created first if there is none).
    pub fn add(&mut self, value: IN) -> FnResult<()> {
        let AggregatingTable {
            accumulators,
            function,
            ..
        } = &mut *self.table;
        let acc = accumulators
            .get_or_insert_with(self.key, self.namespace, || function.create_accumulator());
        function.add(value, acc)
    }

    /// Removes the accumulator.
    pub fn clear(&mut self) -> FnResult<()> {
        self.table.accumulators.remove(self.key, self.namespace);
        Ok(())
    }
}
