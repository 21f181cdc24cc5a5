//! Broadcast state: map-shaped state that every parallel subtask of a broadcast operator holds
//! in full, updated from the broadcast input and read by the other input.
//!
//! The broadcast stream declares its states (`broadcast_with(&descriptor)`); each subtask's
//! operator builds a [`BroadcastStateStore`] from those [`BroadcastStateDeclaration`]s. The
//! broadcast side gets read-write [`BroadcastState`] handles, the other side
//! [`ReadOnlyBroadcastState`] handles, so only the broadcast side can change the state and
//! every subtask changes it the same way (provided the function updates it deterministically
//! from the broadcast elements alone).

use std::any::{type_name, Any, TypeId};

use rustc_hash::FxHashMap;

use super::descriptors::{ListStateDescriptor, MapStateDescriptor};
use super::operator::OperatorStateStore;
use eddy_core::error::FnResult;
use eddy_core::{Data, Key};

/// The map a broadcast state keeps on the heap.
type BroadcastMap<UK, UV> = FxHashMap<UK, UV>;

/// One broadcast state declared on a broadcast stream: its name and map type, and how to
/// create its (empty) map. Built from a [`MapStateDescriptor`] with
/// [`of`](Self::of); plain data that every subtask's operator clones.
#[derive(Clone)]
pub struct BroadcastStateDeclaration {
    name: String,
    type_id: TypeId,
    description: String,
    create: fn() -> Box<dyn Any + Send>,
    /// Writes the map's entries into a broadcast list of an operator state store.
    write: fn(&dyn Any, &mut OperatorStateStore, &str) -> FnResult<()>,
    /// Reads the map's entries back from that list.
    read: fn(&mut dyn Any, &mut OperatorStateStore, &str) -> FnResult<()>,
}

/// The name of the operator-state list holding broadcast state `name`'s entries.
fn list_name(name: &str) -> String {
    format!("_broadcast-state/{name}")
}

fn write_map<UK: Key, UV: Data>(
    map: &dyn Any,
    store: &mut OperatorStateStore,
    name: &str,
) -> FnResult<()> {
    let map = map
        .downcast_ref::<BroadcastMap<UK, UV>>()
        .ok_or("a broadcast state's map has another type (an internal error)")?;
    let entries: Vec<(UK, UV)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    store
        .broadcast_list_state(&ListStateDescriptor::<(UK, UV)>::new(list_name(name)))?
        .update(entries)
}

fn read_map<UK: Key, UV: Data>(
    map: &mut dyn Any,
    store: &mut OperatorStateStore,
    name: &str,
) -> FnResult<()> {
    let map = map
        .downcast_mut::<BroadcastMap<UK, UV>>()
        .ok_or("a broadcast state's map has another type (an internal error)")?;
    let list_name = list_name(name);
    if store.mode(&list_name).is_none() {
        return Ok(());
    }
    let entries = store
        .broadcast_list_state(&ListStateDescriptor::<(UK, UV)>::new(&list_name))?
        .get()?;
    map.clear();
    map.extend(entries);
    Ok(())
}

fn new_map<UK: Key, UV: Data>() -> Box<dyn Any + Send> {
    Box::new(BroadcastMap::<UK, UV>::default())
}

fn describe<UK, UV>() -> String {
    format!(
        "BroadcastState<{}, {}>",
        type_name::<UK>(),
        type_name::<UV>()
    )
}

impl BroadcastStateDeclaration {
    /// The declaration of the broadcast state `descriptor` names.
    pub fn of<UK: Key, UV: Data>(descriptor: &MapStateDescriptor<UK, UV>) -> Self {
        BroadcastStateDeclaration {
            name: descriptor.name().to_owned(),
            type_id: TypeId::of::<BroadcastMap<UK, UV>>(),
            description: describe::<UK, UV>(),
            create: new_map::<UK, UV>,
            write: write_map::<UK, UV>,
            read: read_map::<UK, UV>,
        }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state's kind and types, e.g. `BroadcastState<alloc::string::String, u64>`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether `other` declares the same state (same name and types).
    pub fn same_as(&self, other: &BroadcastStateDeclaration) -> bool {
        self.name == other.name && self.type_id == other.type_id
    }
}

impl std::fmt::Debug for BroadcastStateDeclaration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}': {}", self.name, self.description)
    }
}

/// A declared state's map, type-erased.
struct StoredState {
    type_id: TypeId,
    description: String,
    map: Box<dyn Any + Send>,
    write: fn(&dyn Any, &mut OperatorStateStore, &str) -> FnResult<()>,
    read: fn(&mut dyn Any, &mut OperatorStateStore, &str) -> FnResult<()>,
}

/// The broadcast states of one operator subtask: one map per declared state, created empty
/// when the operator starts. Asking for a state that was not declared, or with other types
/// than it was declared with, is an error naming the state and how to fix the call.
#[derive(Default)]
pub struct BroadcastStateStore {
    states: FxHashMap<String, StoredState>,
}

impl BroadcastStateStore {
    /// A store with an empty map for every declared state. Declaring one name twice keeps
    /// the first declaration (the API rejects a name declared with two types).
    pub fn new(declarations: &[BroadcastStateDeclaration]) -> Self {
        let mut states = FxHashMap::default();
        for declaration in declarations {
            states
                .entry(declaration.name.clone())
                .or_insert_with(|| StoredState {
                    type_id: declaration.type_id,
                    description: declaration.description.clone(),
                    map: (declaration.create)(),
                    write: declaration.write,
                    read: declaration.read,
                });
        }
        BroadcastStateStore { states }
    }

    /// Writes every broadcast state into `store` as a broadcast list of its entries (what a
    /// snapshot of the operator holds; each new subtask restores one old subtask's copy).
    pub fn snapshot_into(&self, store: &mut OperatorStateStore) -> FnResult<()> {
        for (name, state) in &self.states {
            (state.write)(state.map.as_ref(), store, name)?;
        }
        Ok(())
    }

    /// Fills every broadcast state from the lists [`snapshot_into`](Self::snapshot_into)
    /// wrote into a restored `store` (states the store lacks stay empty).
    pub fn restore_from(&mut self, store: &mut OperatorStateStore) -> FnResult<()> {
        for (name, state) in &mut self.states {
            (state.read)(state.map.as_mut(), store, name)?;
        }
        Ok(())
    }

    /// The names of the declared states, sorted.
    pub fn state_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.states.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    fn stored<UK: Key, UV: Data>(&self, name: &str) -> FnResult<&StoredState> {
        let stored = self.states.get(name).ok_or_else(|| {
            let declared = self.state_names();
            let declared = if declared.is_empty() {
                "none".to_owned()
            } else {
                declared
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "broadcast state '{name}' was not declared (declared: {declared}); pass its \
                 descriptor to broadcast_with(&descriptor) or .and(&descriptor) on the \
                 broadcast stream"
            )
        })?;
        if stored.type_id != TypeId::of::<BroadcastMap<UK, UV>>() {
            return Err(format!(
                "broadcast state '{name}' is a {} but was asked for as a {}; use a descriptor \
                 with the types the broadcast stream declared it with",
                stored.description,
                describe::<UK, UV>()
            )
            .into());
        }
        Ok(stored)
    }

    /// Read-write access to the state `descriptor` names (the broadcast side).
    pub fn state<UK: Key, UV: Data>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<BroadcastState<'_, UK, UV>> {
        let name = descriptor.name();
        self.stored::<UK, UV>(name)?;
        let map = self
            .states
            .get_mut(name)
            .and_then(|stored| stored.map.downcast_mut::<BroadcastMap<UK, UV>>())
            .ok_or_else(|| format!("broadcast state '{name}' has a map of another type"))?;
        Ok(BroadcastState { map })
    }

    /// Read-only access to the state `descriptor` names (the non-broadcast side).
    pub fn read_only<UK: Key, UV: Data>(
        &self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<ReadOnlyBroadcastState<'_, UK, UV>> {
        let name = descriptor.name();
        let map = self
            .stored::<UK, UV>(name)?
            .map
            .downcast_ref::<BroadcastMap<UK, UV>>()
            .ok_or_else(|| format!("broadcast state '{name}' has a map of another type"))?;
        Ok(ReadOnlyBroadcastState { map })
    }
}

/// Read-write access to one broadcast state, in the broadcast side of a broadcast process
/// function. Reads return owned copies, as with keyed [`MapState`](super::MapState).
pub struct BroadcastState<'s, UK, UV> {
    map: &'s mut BroadcastMap<UK, UV>,
}

impl<UK: Key, UV: Data> BroadcastState<'_, UK, UV> {
    /// The value under `key`.
    pub fn get(&self, key: &UK) -> FnResult<Option<UV>> {
        Ok(self.map.get(key).cloned())
    }

    /// Sets the value under `key`.
    pub fn put(&mut self, key: UK, value: UV) -> FnResult<()> {
        self.map.insert(key, value);
        Ok(())
    }

    /// Sets every `(key, value)` pair.
    pub fn put_all(&mut self, entries: impl IntoIterator<Item = (UK, UV)>) -> FnResult<()> {
        self.map.extend(entries);
        Ok(())
    }

    /// Removes the value under `key`.
    pub fn remove(&mut self, key: &UK) -> FnResult<()> {
        self.map.remove(key);
        Ok(())
    }

    /// Whether a value is set under `key`.
    pub fn contains(&self, key: &UK) -> FnResult<bool> {
        Ok(self.map.contains_key(key))
    }

    /// Whether the state has no entry.
    pub fn is_empty(&self) -> FnResult<bool> {
        Ok(self.map.is_empty())
    }

    /// Every `(key, value)` pair, in no particular order.
    pub fn entries(&self) -> FnResult<Vec<(UK, UV)>> {
        Ok(self
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> FnResult<Vec<UK>> {
        Ok(self.map.keys().cloned().collect())
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> FnResult<Vec<UV>> {
        Ok(self.map.values().cloned().collect())
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> FnResult<()> {
        self.map.clear();
        Ok(())
    }
}

/// Read-only access to one broadcast state, in the non-broadcast side (and the timers) of a
/// broadcast process function. Reads return owned copies.
pub struct ReadOnlyBroadcastState<'s, UK, UV> {
    map: &'s BroadcastMap<UK, UV>,
}

impl<UK: Key, UV: Data> ReadOnlyBroadcastState<'_, UK, UV> {
    /// The value under `key`.
    pub fn get(&self, key: &UK) -> FnResult<Option<UV>> {
        Ok(self.map.get(key).cloned())
    }

    /// Whether a value is set under `key`.
    pub fn contains(&self, key: &UK) -> FnResult<bool> {
        Ok(self.map.contains_key(key))
    }

    /// Whether the state has no entry.
    pub fn is_empty(&self) -> FnResult<bool> {
        Ok(self.map.is_empty())
    }

    /// Every `(key, value)` pair, in no particular order.
    pub fn entries(&self) -> FnResult<Vec<(UK, UV)>> {
        Ok(self
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> FnResult<Vec<UK>> {
        Ok(self.map.keys().cloned().collect())
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> FnResult<Vec<UV>> {
        Ok(self.map.values().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn store() -> (
        BroadcastStateStore,
        MapStateDescriptor<String, i64>,
        MapStateDescriptor<u32, Vec<String>>,
    ) {
        let rules = MapStateDescriptor::<String, i64>::new("rules");
        let tags = MapStateDescriptor::<u32, Vec<String>>::new("tags");
        let declarations = [
            BroadcastStateDeclaration::of(&rules),
            BroadcastStateDeclaration::of(&tags),
            BroadcastStateDeclaration::of(&rules),
        ];
        (BroadcastStateStore::new(&declarations), rules, tags)
    }

    #[test]
    fn read_write_and_read_only_handles_see_the_same_map() {
        let (mut store, rules, tags) = store();
        assert_eq!(store.state_names(), vec!["rules", "tags"]);
        let mut model: BTreeMap<String, i64> = BTreeMap::new();
        {
            let mut state = store.state(&rules).unwrap();
            assert!(state.is_empty().unwrap());
            state.put("a".into(), 1).unwrap();
            state
                .put_all([("b".to_string(), 2), ("c".to_string(), 3)])
                .unwrap();
            state.put("a".into(), 10).unwrap();
            state.remove(&"b".to_string()).unwrap();
            state.remove(&"missing".to_string()).unwrap();
            model.extend([("a".to_string(), 10), ("c".to_string(), 3)]);
            assert_eq!(state.get(&"a".to_string()).unwrap(), Some(10));
            assert!(state.contains(&"c".to_string()).unwrap());
            assert!(!state.contains(&"b".to_string()).unwrap());
            let mut entries = state.entries().unwrap();
            entries.sort();
            assert_eq!(entries, model.clone().into_iter().collect::<Vec<_>>());
        }
        store
            .state(&tags)
            .unwrap()
            .put(7, vec!["x".into()])
            .unwrap();
        let read = store.read_only(&rules).unwrap();
        let mut keys = read.keys().unwrap();
        keys.sort();
        let mut values = read.values().unwrap();
        values.sort();
        assert_eq!(keys, model.keys().cloned().collect::<Vec<_>>());
        assert_eq!(values, vec![3, 10]);
        assert_eq!(read.get(&"c".to_string()).unwrap(), Some(3));
        assert!(!read.is_empty().unwrap());
        let tags_read = store.read_only(&tags).unwrap();
        assert_eq!(
            tags_read.entries().unwrap(),
            vec![(7, vec!["x".to_string()])]
        );
        store.state(&rules).unwrap().clear().unwrap();
        assert!(store.read_only(&rules).unwrap().is_empty().unwrap());
        assert!(!store.read_only(&tags).unwrap().is_empty().unwrap());
    }

    #[test]
    fn undeclared_or_mistyped_states_are_errors_naming_them() {
        let (mut store, _, _) = store();
        let err = store
            .read_only(&MapStateDescriptor::<String, i64>::new("rulez"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("broadcast state 'rulez' was not declared (declared: 'rules', 'tags')"),
            "{err}"
        );
        let err = store
            .state(&MapStateDescriptor::<String, u64>::new("rules"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(
                "broadcast state 'rules' is a BroadcastState<alloc::string::String, i64> but \
                 was asked for as a BroadcastState<alloc::string::String, u64>"
            ),
            "{err}"
        );
        let empty = BroadcastStateStore::new(&[]);
        let err = empty
            .read_only(&MapStateDescriptor::<u8, u8>::new("x"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("(declared: none)"), "{err}");
    }

    #[test]
    fn declarations_compare_by_name_and_types() {
        let a = BroadcastStateDeclaration::of(&MapStateDescriptor::<String, i64>::new("r"));
        let b = BroadcastStateDeclaration::of(&MapStateDescriptor::<String, i64>::new("r"));
        let c = BroadcastStateDeclaration::of(&MapStateDescriptor::<String, u64>::new("r"));
        assert!(a.same_as(&b));
        assert!(!a.same_as(&c));
        assert_eq!(
            c.description(),
            "BroadcastState<alloc::string::String, u64>"
        );
        assert_eq!(
            format!("{c:?}"),
            "'r': BroadcastState<alloc::string::String, u64>"
        );
    }
}
