//! How the heap backend's typed tables become snapshot rows and come back from them.
//!
//! Each state's table is encoded exactly as the on-disk backend stores that kind of state (see
//! [`super::layout`]), so a heap snapshot restores into the on-disk backend and back. A
//! [`HeapCodec`] is a pair of functions chosen when the state is registered, when its table
//! and value types are known; the backend calls them on the type-erased table.

use std::any::Any;
use std::hash::Hash;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::heap::{AggregatingTable, ReducingTable, Table};
use super::layout::{
    decode, decode_list, decode_stamped, decode_stamped_list, encode_into,
    encode_stamped_element_into, encode_stamped_into,
};
use super::snapshot::{DecodedRow, RowWriter};
use super::store::StateError;
use super::ttl::Stamped;
use super::ttl_heap::{Expirable, FunctionTable, TtlTable};
use super::Namespace;

/// Writes a copy of a table's entries as rows (the asynchronous part of a snapshot).
pub(crate) type CopiedEntries =
    Box<dyn FnOnce(&mut RowWriter<'_>) -> Result<(), StateError> + Send>;

/// Encodes one state's table into rows, and decodes rows into it.
pub(crate) struct HeapCodec<K> {
    /// Copies every entry of the table (`&dyn Any`: the table, `&str`: its state's name), to
    /// be written as rows later, on any thread.
    pub(crate) copy: fn(&dyn Any, &str) -> Result<CopiedEntries, StateError>,
    /// Puts one decoded row into the table (`&mut dyn Any`: the table).
    pub(crate) read: fn(&mut dyn Any, DecodedRow<'_, K>, &str) -> Result<(), StateError>,
}

/// What [`Entries::each`] calls with every entry.
pub(crate) type EntryVisitor<'v, K, V> =
    dyn FnMut(&K, Namespace, &V) -> Result<(), StateError> + 'v;

/// The entries of a table, whatever its shape.
pub(crate) trait Entries<K>: 'static {
    /// What the table holds per key and namespace.
    type Value;
    /// Visits every entry.
    fn each(&self, visit: &mut EntryVisitor<'_, K, Self::Value>) -> Result<(), StateError>;
    /// The entry of `key` in `namespace`, if any.
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut Self::Value>;
    /// Sets the entry of `key` in `namespace`.
    fn set(&mut self, key: &K, namespace: Namespace, value: Self::Value);
}

impl<K: Hash + Eq + Clone + 'static, V: 'static> Entries<K> for Table<K, V> {
    type Value = V;
    fn each(&self, visit: &mut EntryVisitor<'_, K, V>) -> Result<(), StateError> {
        self.iter().try_for_each(|(k, n, v)| visit(k, n, v))
    }
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut V> {
        self.get_mut(key, namespace)
    }
    fn set(&mut self, key: &K, namespace: Namespace, value: V) {
        self.insert(key, namespace, value);
    }
}

impl<K: Hash + Eq + Clone + 'static, V: Expirable + 'static> Entries<K> for TtlTable<K, V> {
    type Value = V;
    fn each(&self, visit: &mut EntryVisitor<'_, K, V>) -> Result<(), StateError> {
        self.iter().try_for_each(|(k, n, v)| visit(k, n, v))
    }
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut V> {
        self.get_mut(key, namespace)
    }
    fn set(&mut self, key: &K, namespace: Namespace, value: V) {
        self.insert(key, namespace, value);
    }
}

impl<K: Hash + Eq + Clone + 'static, T: 'static> Entries<K> for ReducingTable<K, T> {
    type Value = Option<T>;
    fn each(&self, visit: &mut EntryVisitor<'_, K, Option<T>>) -> Result<(), StateError> {
        self.values.each(visit)
    }
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut Option<T>> {
        self.values.get_mut(key, namespace)
    }
    fn set(&mut self, key: &K, namespace: Namespace, value: Option<T>) {
        self.values.insert(key, namespace, value);
    }
}

impl<K, IN, ACC, OUT, F> Entries<K> for AggregatingTable<K, IN, ACC, OUT, F>
where
    K: Hash + Eq + Clone + 'static,
    IN: 'static,
    ACC: 'static,
    OUT: 'static,
    F: 'static,
{
    type Value = ACC;
    fn each(&self, visit: &mut EntryVisitor<'_, K, ACC>) -> Result<(), StateError> {
        self.accumulators.each(visit)
    }
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut ACC> {
        self.accumulators.get_mut(key, namespace)
    }
    fn set(&mut self, key: &K, namespace: Namespace, value: ACC) {
        self.accumulators.insert(key, namespace, value);
    }
}

impl<K, Tb: Entries<K>, F: 'static, M: 'static> Entries<K> for FunctionTable<Tb, F, M> {
    type Value = Tb::Value;
    fn each(&self, visit: &mut EntryVisitor<'_, K, Tb::Value>) -> Result<(), StateError> {
        self.table.each(visit)
    }
    fn entry_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut Tb::Value> {
        self.table.entry_mut(key, namespace)
    }
    fn set(&mut self, key: &K, namespace: Namespace, value: Tb::Value) {
        self.table.set(key, namespace, value);
    }
}

/// How one kind of value is laid out in rows.
pub(crate) trait RowFormat<V>: 'static {
    /// Writes the rows of `value` (several for a map).
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &V,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError>;
    /// Decodes one row: a new value, or (a map entry) folded into the existing one.
    fn read(
        existing: Option<&mut V>,
        user_key: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<V>, StateError>;
}

/// A value in the binary codec (value, aggregating state).
pub(crate) struct Plain;
/// A value that may be absent (reducing state on the heap); absent values have no row.
pub(crate) struct Optional;
/// A list: its elements' encodings, concatenated.
pub(crate) struct List;
/// A map: a row per entry, the user key after the namespace.
pub(crate) struct Map;
/// A value with its last-access time: `[time][value]`.
pub(crate) struct StampedValue;
/// A list of elements with their last-access times.
pub(crate) struct StampedList;
/// A map whose entries carry their last-access times.
pub(crate) struct StampedMap;

impl<V: Serialize + DeserializeOwned + 'static> RowFormat<V> for Plain {
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &V,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        rows.value_row(key, namespace, value)
    }
    fn read(
        _: Option<&mut V>,
        _: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<V>, StateError> {
        decode(value, name).map(Some)
    }
}

impl<V: Serialize + DeserializeOwned + 'static> RowFormat<Option<V>> for Optional {
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &Option<V>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        match value {
            Some(value) => rows.value_row(key, namespace, value),
            None => Ok(()),
        }
    }
    fn read(
        _: Option<&mut Option<V>>,
        _: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<Option<V>>, StateError> {
        decode(value, name).map(|v| Some(Some(v)))
    }
}

impl<T: Serialize + DeserializeOwned + 'static> RowFormat<Vec<T>> for List {
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &Vec<T>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        let name = rows.name().to_owned();
        rows.row(key, namespace, None, |out| {
            value
                .iter()
                .try_for_each(|element| encode_into(out, element, &name))
        })
    }
    fn read(
        _: Option<&mut Vec<T>>,
        _: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<Vec<T>>, StateError> {
        decode_list(value, name).map(Some)
    }
}

impl<UK, UV> RowFormat<FxHashMap<UK, UV>> for Map
where
    UK: Serialize + DeserializeOwned + Hash + Eq + 'static,
    UV: Serialize + DeserializeOwned + 'static,
{
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &FxHashMap<UK, UV>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        let name = rows.name().to_owned();
        for (user_key, entry) in value {
            rows.row(key, namespace, Some(user_key), |out| {
                encode_into(out, entry, &name)
            })?;
        }
        Ok(())
    }
    fn read(
        existing: Option<&mut FxHashMap<UK, UV>>,
        user_key: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<FxHashMap<UK, UV>>, StateError> {
        let (user_key, value) = (decode(user_key, name)?, decode(value, name)?);
        Ok(insert_entry(existing, user_key, value))
    }
}

/// Adds an entry to an existing map, or returns a new map holding it.
fn insert_entry<UK: Hash + Eq, UV>(
    existing: Option<&mut FxHashMap<UK, UV>>,
    user_key: UK,
    value: UV,
) -> Option<FxHashMap<UK, UV>> {
    match existing {
        Some(map) => {
            map.insert(user_key, value);
            None
        }
        None => {
            let mut map = FxHashMap::default();
            map.insert(user_key, value);
            Some(map)
        }
    }
}

impl<V: Serialize + DeserializeOwned + 'static> RowFormat<Stamped<V>> for StampedValue {
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &Stamped<V>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        let name = rows.name().to_owned();
        rows.row(key, namespace, None, |out| {
            encode_stamped_into(out, value.last_access, &value.value, &name)
        })
    }
    fn read(
        _: Option<&mut Stamped<V>>,
        _: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<Stamped<V>>, StateError> {
        let (last_access, value) = decode_stamped(value, name)?;
        Ok(Some(Stamped { value, last_access }))
    }
}

impl<T: Serialize + DeserializeOwned + 'static> RowFormat<Vec<Stamped<T>>> for StampedList {
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &Vec<Stamped<T>>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        let name = rows.name().to_owned();
        rows.row(key, namespace, None, |out| {
            value.iter().try_for_each(|element| {
                encode_stamped_element_into(out, element.last_access, &element.value, &name)
            })
        })
    }
    fn read(
        _: Option<&mut Vec<Stamped<T>>>,
        _: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<Vec<Stamped<T>>>, StateError> {
        let elements = decode_stamped_list(value, name)?;
        Ok(Some(
            elements
                .into_iter()
                .map(|(last_access, value)| Stamped { value, last_access })
                .collect(),
        ))
    }
}

impl<UK, UV> RowFormat<FxHashMap<UK, Stamped<UV>>> for StampedMap
where
    UK: Serialize + DeserializeOwned + Hash + Eq + 'static,
    UV: Serialize + DeserializeOwned + 'static,
{
    fn write<K: Serialize>(
        key: &K,
        namespace: Namespace,
        value: &FxHashMap<UK, Stamped<UV>>,
        rows: &mut RowWriter<'_>,
    ) -> Result<(), StateError> {
        let name = rows.name().to_owned();
        for (user_key, entry) in value {
            rows.row(key, namespace, Some(user_key), |out| {
                encode_stamped_into(out, entry.last_access, &entry.value, &name)
            })?;
        }
        Ok(())
    }
    fn read(
        existing: Option<&mut FxHashMap<UK, Stamped<UV>>>,
        user_key: &[u8],
        value: &[u8],
        name: &str,
    ) -> Result<Option<FxHashMap<UK, Stamped<UV>>>, StateError> {
        let user_key = decode(user_key, name)?;
        let (last_access, value) = decode_stamped(value, name)?;
        Ok(insert_entry(
            existing,
            user_key,
            Stamped { value, last_access },
        ))
    }
}

/// The codec of tables of type `Tb` whose values are laid out as `F` says.
pub(crate) fn codec<K, Tb, F>() -> HeapCodec<K>
where
    K: Serialize + Clone + Send + 'static,
    Tb: Entries<K>,
    Tb::Value: Clone + Send,
    F: RowFormat<Tb::Value>,
{
    HeapCodec {
        copy: |table, name| {
            let table = table
                .downcast_ref::<Tb>()
                .ok_or_else(|| wrong_table(name))?;
            let mut entries: Vec<(K, Namespace, Tb::Value)> = Vec::new();
            table.each(&mut |key, namespace, value| {
                entries.push((key.clone(), namespace, value.clone()));
                Ok(())
            })?;
            Ok(Box::new(move |rows: &mut RowWriter<'_>| {
                entries
                    .iter()
                    .try_for_each(|(key, namespace, value)| F::write(key, *namespace, value, rows))
            }))
        },
        read: |table, row, name| {
            let table = table
                .downcast_mut::<Tb>()
                .ok_or_else(|| wrong_table(name))?;
            let existing = table.entry_mut(&row.key, row.namespace);
            if let Some(value) = F::read(existing, row.user_key, row.value, name)? {
                table.set(&row.key, row.namespace, value);
            }
            Ok(())
        },
    }
}

fn wrong_table(name: &str) -> StateError {
    StateError::Decode {
        state: name.to_owned(),
        expected: "the table the state registered",
        message: "the state's table has another type (an internal error)".into(),
    }
}
