//! The operations of states with a time-to-live, on either backend: every value carries its
//! last-access time, reads judge it against the clock (dropping what expired and, with
//! `OnReadAndWrite`, renewing what is read), writes stamp the time.

use rustc_hash::FxHashMap;

use super::descriptors::ReduceFn;
use super::layout::{
    decode, decode_stamped, decode_stamped_list, encode_stamped_element_into, encode_stamped_into,
    STAMP_BYTES,
};
use super::store_backend::{ErasedSerialize, StoreCell};
use super::ttl::{Stamped, TtlNow};
use super::ttl_heap::{FunctionTable, TtlTable};
use super::Namespace;
use eddy_core::error::FnResult;
use eddy_core::{Data, Key};

/// A value state's table with a time-to-live.
pub(crate) type TtlValueTable<K, T> = TtlTable<K, Stamped<T>>;
/// A list state's table with a time-to-live: every element has its own timestamp.
pub(crate) type TtlListTable<K, T> = TtlTable<K, Vec<Stamped<T>>>;
/// A map state's table with a time-to-live: every entry has its own timestamp.
pub(crate) type TtlMapTable<K, UK, UV> = TtlTable<K, FxHashMap<UK, Stamped<UV>>>;
/// A reducing state's table with a time-to-live.
pub(crate) type TtlReducingTable<K, T> = FunctionTable<TtlValueTable<K, T>, ReduceFn<T>, ()>;
/// An aggregating state's table with a time-to-live.
pub(crate) type TtlAggregatingTable<K, IN, ACC, OUT, F> =
    FunctionTable<TtlValueTable<K, ACC>, F, (IN, OUT)>;

/// Where a state with a time-to-live is.
pub(crate) enum TtlPlace<'s, K, Tb> {
    Heap {
        table: &'s mut Tb,
        key: &'s K,
        namespace: Namespace,
    },
    Store(StoreCell<'s>),
}

/// One access to a state with a time-to-live: where it is, its settings and the time.
pub(crate) struct TtlAccess<'s, K, Tb> {
    pub(crate) place: TtlPlace<'s, K, Tb>,
    pub(crate) ttl: TtlNow,
}

/// Tables holding one stamped value per key and namespace (value, reducing and aggregating
/// state).
pub(crate) trait StampedValues<K, V> {
    fn values(&mut self) -> &mut TtlValueTable<K, V>;
}

impl<K, V> StampedValues<K, V> for TtlValueTable<K, V> {
    fn values(&mut self) -> &mut TtlValueTable<K, V> {
        self
    }
}

impl<K, V, F, M> StampedValues<K, V> for FunctionTable<TtlValueTable<K, V>, F, M> {
    fn values(&mut self) -> &mut TtlValueTable<K, V> {
        &mut self.table
    }
}

/// What a read makes of a stamped value: gone, or to be returned (and whether it expired).
fn judge<V>(ttl: &TtlNow, stamped: &mut Stamped<V>) -> bool {
    if ttl.is_expired(stamped.last_access) {
        return true;
    }
    if ttl.update_on_read {
        stamped.last_access = ttl.now;
    }
    false
}

/// Reads a stamped row (of `user_key`) from a store with the read rules: an expired row is
/// deleted (and returned only if expired values may be), a live one renewed if reads renew.
fn read_stamped_row<V: Data>(
    cell: &mut StoreCell<'_>,
    ttl: &TtlNow,
    user_key: Option<&dyn ErasedSerialize>,
) -> FnResult<Option<V>> {
    let mut bytes = Vec::new();
    if !cell.get_raw(user_key, &mut bytes)? {
        return Ok(None);
    }
    let (stamp, value) = decode_stamped::<V>(&bytes, cell.state_name())?;
    if ttl.is_expired(stamp) {
        cell.delete(user_key)?;
        return Ok(ttl.return_expired.then_some(value));
    }
    if ttl.update_on_read {
        bytes[..STAMP_BYTES].copy_from_slice(&ttl.now.to_be_bytes());
        cell.put_raw(user_key, &bytes, false)?;
    }
    Ok(Some(value))
}

/// Writes `value` stamped now as the row (of `user_key`).
fn write_stamped_row<V: Data>(
    cell: &mut StoreCell<'_>,
    ttl: &TtlNow,
    user_key: Option<&dyn ErasedSerialize>,
    value: &V,
) -> FnResult<()> {
    let mut bytes = Vec::new();
    encode_stamped_into(&mut bytes, ttl.now, value, cell.state_name())?;
    cell.put_raw(user_key, &bytes, false)
}

impl<K: Key, Tb> TtlAccess<'_, K, Tb> {
    /// Removes the state's single row or entry.
    pub(crate) fn clear(&mut self) -> FnResult<()>
    where
        Tb: super::heap::StateTable<K>,
    {
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                table.remove_entry(key, *namespace);
                Ok(())
            }
            TtlPlace::Store(cell) => cell.delete(None),
        }
    }

    /// The value under the read rules.
    pub(crate) fn read_value<V: Data>(&mut self) -> FnResult<Option<V>>
    where
        Tb: StampedValues<K, V>,
    {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let values = table.values();
                let Some(slot) = values.get_mut(key, *namespace) else {
                    return Ok(None);
                };
                if judge(&ttl, slot) {
                    let value = values.remove(key, *namespace).map(|s| s.value);
                    return Ok(value.filter(|_| ttl.return_expired));
                }
                Ok(Some(slot.value.clone()))
            }
            TtlPlace::Store(cell) => read_stamped_row(cell, &ttl, None),
        }
    }

    /// The value if it has not expired (what reducing and aggregating `add` build on: an
    /// expired value counts as none, whatever the visibility).
    pub(crate) fn live_value<V: Data>(&mut self) -> FnResult<Option<V>>
    where
        Tb: StampedValues<K, V>,
    {
        let mut strict = self.ttl;
        strict.return_expired = false;
        strict.update_on_read = false;
        let ttl = std::mem::replace(&mut self.ttl, strict);
        let value = self.read_value();
        self.ttl = ttl;
        value
    }

    /// Sets the value, stamped now.
    pub(crate) fn write_value<V: Data>(&mut self, value: V) -> FnResult<()>
    where
        Tb: StampedValues<K, V>,
    {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                table.values().insert(key, *namespace, ttl.stamp(value));
                Ok(())
            }
            TtlPlace::Store(cell) => write_stamped_row(cell, &ttl, None, &value),
        }
    }
}

impl<K: Key, T: Data, M> TtlAccess<'_, K, FunctionTable<TtlValueTable<K, T>, ReduceFn<T>, M>> {
    /// The reduce function.
    pub(crate) fn reduce_fn(&mut self) -> FnResult<ReduceFn<T>> {
        match &mut self.place {
            TtlPlace::Heap { table, .. } => Ok(table.function.clone()),
            TtlPlace::Store(cell) => cell.function::<ReduceFn<T>>().cloned(),
        }
    }
}

impl<K: Key, ACC: Data, F: 'static, M>
    TtlAccess<'_, K, FunctionTable<TtlValueTable<K, ACC>, F, M>>
{
    /// The aggregate function.
    pub(crate) fn aggregate_fn(&mut self) -> FnResult<&mut F> {
        match &mut self.place {
            TtlPlace::Heap { table, .. } => Ok(&mut table.function),
            TtlPlace::Store(cell) => cell.function::<F>(),
        }
    }
}

impl<K: Key, T: Data> TtlAccess<'_, K, TtlListTable<K, T>> {
    /// The elements under the read rules: expired ones are dropped from the list (returned
    /// this once if expired values may be), the rest renewed if reads renew.
    pub(crate) fn list(&mut self) -> FnResult<Vec<T>> {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let Some(list) = table.get_mut(key, *namespace) else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::with_capacity(list.len());
                let mut any_expired = false;
                for element in list.iter_mut() {
                    let gone = judge(&ttl, element);
                    any_expired |= gone;
                    if !gone || ttl.return_expired {
                        out.push(element.value.clone());
                    }
                }
                if any_expired {
                    list.retain(|element| !ttl.is_expired(element.last_access));
                    if list.is_empty() {
                        table.remove(key, *namespace);
                    }
                }
                Ok(out)
            }
            TtlPlace::Store(cell) => {
                let mut bytes = Vec::new();
                if !cell.get_raw(None, &mut bytes)? {
                    return Ok(Vec::new());
                }
                let elements = decode_stamped_list::<T>(&bytes, cell.state_name())?;
                let mut out = Vec::with_capacity(elements.len());
                let mut kept = Vec::new();
                let mut changed = ttl.update_on_read;
                for (stamp, element) in elements {
                    if ttl.is_expired(stamp) {
                        changed = true;
                        if ttl.return_expired {
                            out.push(element);
                        }
                    } else {
                        let stamp = if ttl.update_on_read { ttl.now } else { stamp };
                        encode_stamped_element_into(&mut kept, stamp, &element, cell.state_name())?;
                        out.push(element);
                    }
                }
                if changed {
                    if kept.is_empty() {
                        cell.delete(None)?;
                    } else {
                        cell.put_raw(None, &kept, false)?;
                    }
                }
                Ok(out)
            }
        }
    }

    /// Appends elements stamped now (`replace`: the list becomes just them).
    pub(crate) fn add_all(
        &mut self,
        values: impl IntoIterator<Item = T>,
        replace: bool,
    ) -> FnResult<()> {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let mut stamped = values.into_iter().map(|value| ttl.stamp(value)).peekable();
                if replace {
                    let list: Vec<_> = stamped.collect();
                    if list.is_empty() {
                        table.remove(key, *namespace);
                    } else {
                        table.insert(key, *namespace, list);
                    }
                } else if stamped.peek().is_some() {
                    table
                        .get_or_insert_with(key, *namespace, Vec::new)
                        .extend(stamped);
                }
                Ok(())
            }
            TtlPlace::Store(cell) => {
                let mut bytes = Vec::new();
                for value in values {
                    encode_stamped_element_into(&mut bytes, ttl.now, &value, cell.state_name())?;
                }
                match (bytes.is_empty(), replace) {
                    (true, true) => cell.delete(None),
                    (true, false) => Ok(()),
                    (false, _) => cell.put_raw(None, &bytes, !replace),
                }
            }
        }
    }
}

impl<K: Key, UK: Key, UV: Data> TtlAccess<'_, K, TtlMapTable<K, UK, UV>> {
    /// The value under `user_key`, under the read rules.
    pub(crate) fn get(&mut self, user_key: &UK) -> FnResult<Option<UV>> {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let Some(map) = table.get_mut(key, *namespace) else {
                    return Ok(None);
                };
                let Some(entry) = map.get_mut(user_key) else {
                    return Ok(None);
                };
                if judge(&ttl, entry) {
                    let value = map.remove(user_key).map(|entry| entry.value);
                    if map.is_empty() {
                        table.remove(key, *namespace);
                    }
                    return Ok(value.filter(|_| ttl.return_expired));
                }
                Ok(Some(entry.value.clone()))
            }
            TtlPlace::Store(cell) => read_stamped_row(cell, &ttl, Some(user_key)),
        }
    }

    /// Sets the values under the user keys, stamped now.
    pub(crate) fn put_all(&mut self, entries: impl IntoIterator<Item = (UK, UV)>) -> FnResult<()> {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let mut entries = entries.into_iter().peekable();
                if entries.peek().is_some() {
                    table
                        .get_or_insert_with(key, *namespace, FxHashMap::default)
                        .extend(entries.map(|(k, v)| (k, ttl.stamp(v))));
                }
                Ok(())
            }
            TtlPlace::Store(cell) => {
                for (user_key, value) in entries {
                    write_stamped_row(cell, &ttl, Some(&user_key), &value)?;
                }
                Ok(())
            }
        }
    }

    /// Removes the value under `user_key`.
    pub(crate) fn remove(&mut self, user_key: &UK) -> FnResult<()> {
        match &mut self.place {
            TtlPlace::Heap {
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
            TtlPlace::Store(cell) => cell.delete(Some(user_key)),
        }
    }

    /// Every entry under the read rules (in no particular order on the heap, by serialized
    /// user key on disk).
    pub(crate) fn entries(&mut self) -> FnResult<Vec<(UK, UV)>> {
        let ttl = self.ttl;
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                let Some(map) = table.get_mut(key, *namespace) else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::with_capacity(map.len());
                map.retain(|user_key, entry| {
                    let gone = judge(&ttl, entry);
                    if !gone || ttl.return_expired {
                        out.push((user_key.clone(), entry.value.clone()));
                    }
                    !gone
                });
                if map.is_empty() {
                    table.remove(key, *namespace);
                }
                Ok(out)
            }
            TtlPlace::Store(cell) => {
                let mut out = Vec::new();
                for (user_key_bytes, mut bytes) in cell.entries_raw()? {
                    let name = cell.state_name();
                    let user_key: UK = decode(&user_key_bytes, name)?;
                    let (stamp, value) = decode_stamped::<UV>(&bytes, name)?;
                    if ttl.is_expired(stamp) {
                        cell.set_entry_raw(&user_key_bytes, None)?;
                        if ttl.return_expired {
                            out.push((user_key, value));
                        }
                        continue;
                    }
                    if ttl.update_on_read {
                        bytes[..STAMP_BYTES].copy_from_slice(&ttl.now.to_be_bytes());
                        cell.set_entry_raw(&user_key_bytes, Some(&bytes))?;
                    }
                    out.push((user_key, value));
                }
                Ok(out)
            }
        }
    }

    /// Removes every entry.
    pub(crate) fn clear_entries(&mut self) -> FnResult<()> {
        match &mut self.place {
            TtlPlace::Heap {
                table,
                key,
                namespace,
            } => {
                table.remove(key, *namespace);
                Ok(())
            }
            TtlPlace::Store(cell) => cell.delete_entries(),
        }
    }
}
