//! The handle of each keyed-state primitive, on either backend: the heap variant works on the
//! typed table, the store variant on serialized rows.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use super::descriptors::ReduceFn;
use super::heap::{AggregatingTable, ReducingTable, Table};
use super::store::ScanControl;
use super::store_backend::StoreCell;
use super::ttl_access::{
    TtlAccess, TtlAggregatingTable, TtlListTable, TtlMapTable, TtlPlace, TtlReducingTable,
    TtlValueTable,
};
use super::Namespace;
use crate::AggregateFunction;
use eddy_core::error::FnResult;
use eddy_core::{Data, Key};

/// Where a handle's state is: a typed table on the heap, rows in a store, or either of them
/// for a state with a time-to-live (behind a `RefCell`: even reads write, to drop expired
/// values and renew timestamps).
pub(crate) enum Access<'s, K, Tb, TtlTb> {
    Heap {
        table: &'s mut Tb,
        key: &'s K,
        namespace: Namespace,
    },
    Store(StoreCell<'s>),
    Ttl(RefCell<TtlAccess<'s, K, TtlTb>>),
}

impl<K, Tb, TtlTb> Access<'_, K, Tb, TtlTb> {
    /// The namespace the handle is in.
    pub(crate) fn namespace(&self) -> Namespace {
        match self {
            Access::Heap { namespace, .. } => *namespace,
            Access::Store(cell) => cell.namespace(),
            Access::Ttl(ttl) => match &ttl.borrow().place {
                TtlPlace::Heap { namespace, .. } => *namespace,
                TtlPlace::Store(cell) => cell.namespace(),
            },
        }
    }

    /// Moves the handle to another namespace of the same key (to merge namespaces).
    pub(crate) fn set_namespace(&mut self, to: Namespace) {
        match self {
            Access::Heap { namespace, .. } => *namespace = to,
            Access::Store(cell) => cell.set_namespace(to),
            Access::Ttl(ttl) => match &mut ttl.get_mut().place {
                TtlPlace::Heap { namespace, .. } => *namespace = to,
                TtlPlace::Store(cell) => cell.set_namespace(to),
            },
        }
    }
}

/// The access of a map state.
type MapAccess<'s, K, UK, UV> = Access<'s, K, Table<K, FxHashMap<UK, UV>>, TtlMapTable<K, UK, UV>>;
/// The access of an aggregating state.
type AggregatingAccess<'s, K, IN, ACC, OUT, F> =
    Access<'s, K, AggregatingTable<K, IN, ACC, OUT, F>, TtlAggregatingTable<K, IN, ACC, OUT, F>>;

/// One value per key and namespace.
pub struct ValueState<'s, K, T> {
    pub(crate) access: Access<'s, K, Table<K, T>, TtlValueTable<K, T>>,
}

impl<K: Key, T: Data> ValueState<'_, K, T> {
    /// The value, `None` if none was set (or it was cleared).
    // The heap's lookup is inlined into the caller (a function's per-record code); the other
    // places are called.
    #[inline]
    pub fn value(&self) -> FnResult<Option<T>> {
        match &self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => Ok(table.get(key, *namespace).cloned()),
            access => read_value(access),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn update(&mut self, value: T) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.insert(key, *namespace, value);
                Ok(())
            }
            access => write_value(access, value),
        }
    }

    /// Removes the value.
    pub fn clear(&mut self) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.remove(key, *namespace);
                Ok(())
            }
            Access::Store(cell) => cell.delete(None),
            Access::Ttl(ttl) => ttl.get_mut().clear(),
        }
    }
}

/// A value state's value in a store or with a time-to-live.
#[inline(never)]
fn read_value<K: Key, T: Data>(
    access: &Access<'_, K, Table<K, T>, TtlValueTable<K, T>>,
) -> FnResult<Option<T>> {
    match access {
        Access::Heap {
            table,
            key,
            namespace,
        } => Ok(table.get(key, *namespace).cloned()),
        Access::Store(cell) => cell.read(None),
        Access::Ttl(ttl) => ttl.borrow_mut().read_value(),
    }
}

/// Sets a value state's value in a store or with a time-to-live.
#[inline(never)]
fn write_value<K: Key, T: Data>(
    access: &mut Access<'_, K, Table<K, T>, TtlValueTable<K, T>>,
    value: T,
) -> FnResult<()> {
    match access {
        Access::Heap {
            table,
            key,
            namespace,
        } => {
            table.insert(key, *namespace, value);
            Ok(())
        }
        Access::Store(cell) => cell.write(None, &value),
        Access::Ttl(ttl) => ttl.get_mut().write_value(value),
    }
}

/// A list per key and namespace.
pub struct ListState<'s, K, T> {
    pub(crate) access: Access<'s, K, Table<K, Vec<T>>, TtlListTable<K, T>>,
}

impl<K: Key, T: Data> ListState<'_, K, T> {
    /// The elements in the order they were added (empty if none).
    pub fn get(&self) -> FnResult<Vec<T>> {
        match &self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => Ok(table.get(key, *namespace).cloned().unwrap_or_default()),
            Access::Store(cell) => cell.read_list(),
            Access::Ttl(ttl) => ttl.borrow_mut().list(),
        }
    }

    /// Appends an element.
    pub fn add(&mut self, value: T) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table
                    .get_or_insert_with(key, *namespace, Vec::new)
                    .push(value);
                Ok(())
            }
            Access::Store(cell) => cell.append([value]),
            Access::Ttl(ttl) => ttl.get_mut().add_all([value], false),
        }
    }

    /// Appends elements.
    pub fn add_all(&mut self, values: impl IntoIterator<Item = T>) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                let mut values = values.into_iter().peekable();
                if values.peek().is_some() {
                    table
                        .get_or_insert_with(key, *namespace, Vec::new)
                        .extend(values);
                }
                Ok(())
            }
            Access::Store(cell) => cell.append(values),
            Access::Ttl(ttl) => ttl.get_mut().add_all(values, false),
        }
    }

    /// Replaces the list (an empty one clears it).
    pub fn update(&mut self, values: Vec<T>) -> FnResult<()> {
        if values.is_empty() {
            return self.clear();
        }
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.insert(key, *namespace, values);
                Ok(())
            }
            Access::Store(cell) => cell.write_all(values),
            Access::Ttl(ttl) => ttl.get_mut().add_all(values, true),
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.remove(key, *namespace);
                Ok(())
            }
            Access::Store(cell) => cell.delete(None),
            Access::Ttl(ttl) => ttl.get_mut().clear(),
        }
    }
}

/// A map per key and namespace.
pub struct MapState<'s, K, UK, UV> {
    pub(crate) access: MapAccess<'s, K, UK, UV>,
}

/// A map state's entries as a read sees them.
enum MapSide<'a, 's, K, UK, UV> {
    Heap(Option<&'a FxHashMap<UK, UV>>),
    Store(&'a StoreCell<'s>),
    Ttl(&'a RefCell<TtlAccess<'s, K, TtlMapTable<K, UK, UV>>>),
}

impl<'s, K: Key, UK: Key, UV: Data> MapState<'s, K, UK, UV> {
    fn side(&self) -> MapSide<'_, 's, K, UK, UV> {
        match &self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => MapSide::Heap(table.get(key, *namespace)),
            Access::Store(cell) => MapSide::Store(cell),
            Access::Ttl(ttl) => MapSide::Ttl(ttl),
        }
    }

    /// Collects the stored entries of the store in order, through `pick`.
    fn scan<R>(
        cell: &StoreCell<'_>,
        values: bool,
        mut pick: impl FnMut(UK, Option<UV>) -> R,
    ) -> FnResult<Vec<R>> {
        let mut out = Vec::new();
        cell.scan_entries::<UK, UV>(
            |user_key, value| {
                out.push(pick(user_key, value));
                ScanControl::Continue
            },
            values,
        )?;
        Ok(out)
    }

    /// The value under `user_key`.
    pub fn get(&self, user_key: &UK) -> FnResult<Option<UV>> {
        match self.side() {
            MapSide::Heap(map) => Ok(map.and_then(|map| map.get(user_key)).cloned()),
            MapSide::Store(cell) => cell.read(Some(user_key)),
            MapSide::Ttl(ttl) => ttl.borrow_mut().get(user_key),
        }
    }

    /// Sets the value under `user_key`.
    pub fn put(&mut self, user_key: UK, value: UV) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table
                    .get_or_insert_with(key, *namespace, FxHashMap::default)
                    .insert(user_key, value);
                Ok(())
            }
            Access::Store(cell) => cell.write(Some(&user_key), &value),
            Access::Ttl(ttl) => ttl.get_mut().put_all([(user_key, value)]),
        }
    }

    /// Sets every `(user key, value)` pair.
    pub fn put_all(&mut self, entries: impl IntoIterator<Item = (UK, UV)>) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                // One lookup for the whole batch, not one per entry.
                let mut entries = entries.into_iter().peekable();
                if entries.peek().is_some() {
                    table
                        .get_or_insert_with(key, *namespace, FxHashMap::default)
                        .extend(entries);
                }
                Ok(())
            }
            Access::Store(cell) => {
                for (user_key, value) in entries {
                    cell.write(Some(&user_key), &value)?;
                }
                Ok(())
            }
            Access::Ttl(ttl) => ttl.get_mut().put_all(entries),
        }
    }

    /// Removes the value under `user_key`.
    pub fn remove(&mut self, user_key: &UK) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                if let Some(map) = table.get_mut(key, *namespace) {
                    map.remove(user_key);
                    if map.is_empty() {
                        table.remove(key, *namespace);
                    }
                }
                Ok(())
            }
            Access::Store(cell) => cell.delete(Some(user_key)),
            Access::Ttl(ttl) => ttl.get_mut().remove(user_key),
        }
    }

    /// Whether a value is set under `user_key`.
    pub fn contains(&self, user_key: &UK) -> FnResult<bool> {
        match self.side() {
            MapSide::Heap(map) => Ok(map.is_some_and(|map| map.contains_key(user_key))),
            MapSide::Store(cell) => cell.exists(Some(user_key)),
            MapSide::Ttl(ttl) => Ok(ttl.borrow_mut().get(user_key)?.is_some()),
        }
    }

    /// Whether the map has no entry.
    pub fn is_empty(&self) -> FnResult<bool> {
        match self.side() {
            MapSide::Heap(map) => Ok(map.is_none_or(|map| map.is_empty())),
            MapSide::Store(cell) => {
                let mut empty = true;
                cell.scan_entries::<UK, UV>(
                    |_, _| {
                        empty = false;
                        ScanControl::Stop
                    },
                    false,
                )?;
                Ok(empty)
            }
            MapSide::Ttl(ttl) => Ok(ttl.borrow_mut().entries()?.is_empty()),
        }
    }

    /// Every `(user key, value)` pair: in no particular order on the heap, ordered by the
    /// serialized user key on disk.
    pub fn entries(&self) -> FnResult<Vec<(UK, UV)>> {
        match self.side() {
            MapSide::Heap(map) => Ok(map
                .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            MapSide::Store(cell) => Self::scan(cell, true, |k, v| v.map(|v| (k, v)))
                .map(|entries| entries.into_iter().flatten().collect()),
            MapSide::Ttl(ttl) => ttl.borrow_mut().entries(),
        }
    }

    /// Every user key (in the order of [`entries`](Self::entries)).
    pub fn keys(&self) -> FnResult<Vec<UK>> {
        match self.side() {
            MapSide::Heap(map) => Ok(map
                .map(|map| map.keys().cloned().collect())
                .unwrap_or_default()),
            MapSide::Store(cell) => Self::scan(cell, false, |k, _| k),
            MapSide::Ttl(ttl) => Ok(ttl
                .borrow_mut()
                .entries()?
                .into_iter()
                .map(|(k, _)| k)
                .collect()),
        }
    }

    /// Every value (in the order of [`entries`](Self::entries)).
    pub fn values(&self) -> FnResult<Vec<UV>> {
        match self.side() {
            MapSide::Heap(map) => Ok(map
                .map(|map| map.values().cloned().collect())
                .unwrap_or_default()),
            MapSide::Store(cell) => Self::scan(cell, true, |_, v| v)
                .map(|values| values.into_iter().flatten().collect()),
            MapSide::Ttl(ttl) => Ok(ttl
                .borrow_mut()
                .entries()?
                .into_iter()
                .map(|(_, v)| v)
                .collect()),
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.remove(key, *namespace);
                Ok(())
            }
            Access::Store(cell) => cell.delete_entries(),
            Access::Ttl(ttl) => ttl.get_mut().clear_entries(),
        }
    }
}

/// One value per key and namespace that added values are reduced into.
pub struct ReducingState<'s, K, T> {
    pub(crate) access: Access<'s, K, ReducingTable<K, T>, TtlReducingTable<K, T>>,
}

impl<K: Key, T: Data> ReducingState<'_, K, T> {
    /// The reduced value, `None` if nothing was added.
    pub fn get(&self) -> FnResult<Option<T>> {
        match &self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => Ok(table.values.get(key, *namespace).cloned().flatten()),
            Access::Store(cell) => cell.read(None),
            Access::Ttl(ttl) => ttl.borrow_mut().read_value(),
        }
    }

    /// Reduces `value` into the held one (or holds it, if there is none).
    pub fn add(&mut self, value: T) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                let ReducingTable { values, reduce } = &mut **table;
                let slot = values.get_or_insert_with(key, *namespace, || None);
                *slot = Some(match slot.take() {
                    Some(held) => reduce(held, value),
                    None => value,
                });
                Ok(())
            }
            Access::Store(cell) => {
                let reduced = match cell.read::<T>(None)? {
                    Some(held) => (cell.function::<ReduceFn<T>>()?)(held, value),
                    None => value,
                };
                cell.write(None, &reduced)
            }
            Access::Ttl(ttl) => {
                let ttl = ttl.get_mut();
                let reduced = match ttl.live_value::<T>()? {
                    Some(held) => (ttl.reduce_fn()?)(held, value),
                    None => value,
                };
                ttl.write_value(reduced)
            }
        }
    }

    /// Removes the value.
    pub fn clear(&mut self) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.values.remove(key, *namespace);
                Ok(())
            }
            Access::Store(cell) => cell.delete(None),
            Access::Ttl(ttl) => ttl.get_mut().clear(),
        }
    }
}

/// One accumulator per key and namespace that added values are aggregated into.
pub struct AggregatingState<'s, K, IN, ACC, OUT, F> {
    pub(crate) access: AggregatingAccess<'s, K, IN, ACC, OUT, F>,
}

impl<K, IN, ACC, OUT, F> AggregatingState<'_, K, IN, ACC, OUT, F>
where
    K: Key,
    IN: 'static,
    ACC: Data,
    OUT: 'static,
    F: AggregateFunction<IN, ACC, OUT>,
{
    /// The aggregate's result, `None` if nothing was added.
    pub fn get(&mut self) -> FnResult<Option<OUT>> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                let AggregatingTable {
                    accumulators,
                    function,
                    ..
                } = &mut **table;
                accumulators
                    .get(key, *namespace)
                    .map(|acc| function.get_result(acc))
                    .transpose()
            }
            Access::Store(cell) => match cell.read::<ACC>(None)? {
                Some(acc) => cell.function::<F>()?.get_result(&acc).map(Some),
                None => Ok(None),
            },
            Access::Ttl(ttl) => {
                let ttl = ttl.get_mut();
                match ttl.read_value::<ACC>()? {
                    Some(acc) => ttl.aggregate_fn()?.get_result(&acc).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// Adds `value` to the accumulator (created first if there is none).
    pub fn add(&mut self, value: IN) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                let AggregatingTable {
                    accumulators,
                    function,
                    ..
                } = &mut **table;
                let acc = accumulators
                    .get_or_insert_with(key, *namespace, || function.create_accumulator());
                function.add(value, acc)
            }
            Access::Store(cell) => {
                let held = cell.read::<ACC>(None)?;
                let function = cell.function::<F>()?;
                let mut acc = match held {
                    Some(acc) => acc,
                    None => function.create_accumulator(),
                };
                function.add(value, &mut acc)?;
                cell.write(None, &acc)
            }
            Access::Ttl(ttl) => {
                let ttl = ttl.get_mut();
                let held = ttl.live_value::<ACC>()?;
                let function = ttl.aggregate_fn()?;
                let mut acc = match held {
                    Some(acc) => acc,
                    None => function.create_accumulator(),
                };
                function.add(value, &mut acc)?;
                ttl.write_value(acc)
            }
        }
    }

    /// Removes the accumulator.
    pub fn clear(&mut self) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.accumulators.remove(key, *namespace);
                Ok(())
            }
            Access::Store(cell) => cell.delete(None),
            Access::Ttl(ttl) => ttl.get_mut().clear(),
        }
    }
}
