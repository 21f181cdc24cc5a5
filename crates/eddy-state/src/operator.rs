//! Operator state: per-subtask lists that any function can keep, snapshot and get back after a
//! rescale.
//!
//! Unlike keyed state, operator state is not scoped to a key: each parallel subtask of an
//! operator has one [`OperatorStateStore`] holding named lists. A function registers its lists
//! in `initialize_state` (see [`crate::FunctionInitializationContext`]) and writes
//! them in `snapshot_state`. How a list is split among the subtasks after a change of
//! parallelism is chosen when it is registered:
//!
//! * [`OperatorStateStore::list_state`] — **split-distribute**: the lists of all old subtasks
//!   are concatenated and divided evenly among the new ones.
//! * [`OperatorStateStore::union_list_state`] — **union**: every new subtask gets the
//!   concatenation of all old lists.
//!
//! [`OperatorStateStore::snapshot`] turns the store into an [`OperatorStateSnapshot`] (every
//! element encoded with postcard, so the snapshot is plain data without type information),
//! [`redistribute`](super::redistribute) maps the snapshots of the old subtasks to the new
//! parallelism, and [`OperatorStateStore::restore`] builds a subtask's store from its share.

use std::any::{type_name, Any, TypeId};
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::descriptors::ListStateDescriptor;
use eddy_core::error::FnResult;
use eddy_core::Data;

/// How an operator list state is redistributed when the operator's parallelism changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperatorStateMode {
    /// The lists of all subtasks are concatenated and divided evenly among the new subtasks
    /// ([`OperatorStateStore::list_state`]).
    SplitDistribute,
    /// Every new subtask gets the concatenation of all lists
    /// ([`OperatorStateStore::union_list_state`]).
    Union,
    /// Every subtask holds the same list (broadcast state): new subtask `i` gets old subtask
    /// `i mod old parallelism`'s copy ([`OperatorStateStore::broadcast_list_state`]).
    Broadcast,
}

impl fmt::Display for OperatorStateMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperatorStateMode::SplitDistribute => "split-distribute",
            OperatorStateMode::Union => "union",
            OperatorStateMode::Broadcast => "broadcast",
        })
    }
}

/// One list of an [`OperatorStateSnapshot`]: its redistribution mode and its elements, each
/// encoded with postcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStateSnapshot {
    mode: OperatorStateMode,
    elements: Vec<Vec<u8>>,
}

impl ListStateSnapshot {
    pub(crate) fn new(mode: OperatorStateMode, elements: Vec<Vec<u8>>) -> Self {
        ListStateSnapshot { mode, elements }
    }

    /// How the list is redistributed on rescale.
    pub fn mode(&self) -> OperatorStateMode {
        self.mode
    }

    /// The encoded elements, in list order.
    pub fn elements(&self) -> &[Vec<u8>] {
        &self.elements
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

/// The operator state of one subtask as plain data: per state name, its mode and its encoded
/// elements. Self-describing (no type information is needed to store, redistribute or ship
/// it) and serde-serializable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorStateSnapshot {
    states: BTreeMap<String, ListStateSnapshot>,
}

impl OperatorStateSnapshot {
    /// A snapshot without state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the snapshot holds no state at all (not even empty lists).
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// The names of the states, sorted.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }

    /// The list called `name`, if the snapshot has it.
    pub fn state(&self, name: &str) -> Option<&ListStateSnapshot> {
        self.states.get(name)
    }

    /// The lists by name, sorted by name.
    pub fn states(&self) -> impl Iterator<Item = (&str, &ListStateSnapshot)> {
        self.states.iter().map(|(name, list)| (name.as_str(), list))
    }

    /// Decodes the elements of list `name` as `T` (`None` if the snapshot has no such list);
    /// for tools and tests that read snapshots without a store.
    pub fn read_list<T: Data>(&self, name: &str) -> FnResult<Option<Vec<T>>> {
        self.states
            .get(name)
            .map(|list| decode_elements(name, list.mode, &list.elements))
            .transpose()
    }

    pub(crate) fn insert(&mut self, name: String, list: ListStateSnapshot) {
        self.states.insert(name, list);
    }
}

/// What a typed list does without its type being known: encode itself for a snapshot.
trait ErasedList: Any + Send {
    /// Every element, encoded with postcard.
    fn encode_elements(&self, name: &str) -> FnResult<Vec<Vec<u8>>>;
    /// The list, for downcasting to `Vec<T>`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Data> ErasedList for Vec<T> {
    fn encode_elements(&self, name: &str) -> FnResult<Vec<Vec<u8>>> {
        self.iter()
            .enumerate()
            .map(|(index, element)| {
                postcard::to_allocvec(element).map_err(|e| {
                    format!(
                        "could not encode element {index} of operator state '{name}' (a list of \
                         {}): {e}; its serde serialization must not need the length of a \
                         sequence or map in advance",
                        type_name::<T>()
                    )
                    .into()
                })
            })
            .collect()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A state's list: as restored (still encoded), or in use with its element type.
enum Content {
    Encoded(Vec<Vec<u8>>),
    Typed {
        type_id: TypeId,
        type_name: &'static str,
        list: Box<dyn ErasedList>,
    },
}

struct RegisteredState {
    mode: OperatorStateMode,
    content: Content,
}

impl RegisteredState {
    fn description(&self) -> String {
        match &self.content {
            Content::Encoded(_) => format!("{} list state (restored, not read yet)", self.mode),
            Content::Typed { type_name, .. } => describe(self.mode, type_name),
        }
    }
}

/// `split-distribute list state of u64`.
fn describe(mode: OperatorStateMode, element_type: &str) -> String {
    format!("{mode} list state of {element_type}")
}

/// Decodes encoded elements as `T`, naming the state and the element that failed.
fn decode_elements<T: Data>(
    name: &str,
    mode: OperatorStateMode,
    elements: &[Vec<u8>],
) -> FnResult<Vec<T>> {
    elements
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            let failure = |reason: String| {
                format!(
                    "could not restore operator state '{name}' as a {}: element {index} of {} \
                     {reason}; ask for the state with the element type it was written with",
                    describe(mode, type_name::<T>()),
                    elements.len()
                )
            };
            match postcard::take_from_bytes::<T>(bytes) {
                Ok((value, [])) => Ok(value),
                Ok((_, rest)) => Err(failure(format!(
                    "has {} bytes left over after decoding",
                    rest.len()
                ))
                .into()),
                Err(e) => Err(failure(format!("does not decode: {e}")).into()),
            }
        })
        .collect()
}

/// The operator state of one subtask: named lists, each registered with a redistribution mode
/// and an element type.
///
/// A name is registered on first use; asking for it again in another mode or with another
/// element type is an error naming both. States restored from a snapshot keep their elements
/// encoded until first asked for, and are snapshotted again unchanged if never asked for.
#[derive(Default)]
pub struct OperatorStateStore {
    states: BTreeMap<String, RegisteredState>,
}

impl OperatorStateStore {
    /// An empty store (a subtask that starts without restored state).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the lists of `snapshot` (this subtask's share after
    /// [`redistribute`](super::redistribute)). Elements are decoded when their state is first
    /// asked for, with the type asked for.
    pub fn restore(snapshot: OperatorStateSnapshot) -> Self {
        let states = snapshot
            .states
            .into_iter()
            .map(|(name, list)| {
                let state = RegisteredState {
                    mode: list.mode,
                    content: Content::Encoded(list.elements),
                };
                (name, state)
            })
            .collect();
        OperatorStateStore { states }
    }

    /// The split-distribute list state `descriptor` names: on rescale, the lists of all
    /// subtasks are concatenated and divided evenly among the new subtasks.
    pub fn list_state<T: Data>(
        &mut self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<OperatorListState<'_, T>> {
        let list = self.list(descriptor.name(), OperatorStateMode::SplitDistribute)?;
        Ok(OperatorListState { list })
    }

    /// The union list state `descriptor` names: on rescale (and on every restore), each
    /// subtask gets the concatenation of the lists of all subtasks.
    pub fn union_list_state<T: Data>(
        &mut self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<OperatorListState<'_, T>> {
        let list = self.list(descriptor.name(), OperatorStateMode::Union)?;
        Ok(OperatorListState { list })
    }

    /// The broadcast list state `descriptor` names: every subtask holds the same list (the
    /// entries of a broadcast state), and each new subtask gets one old subtask's copy.
    pub fn broadcast_list_state<T: Data>(
        &mut self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<OperatorListState<'_, T>> {
        let list = self.list(descriptor.name(), OperatorStateMode::Broadcast)?;
        Ok(OperatorListState { list })
    }

    /// The names of the states in the store (registered or restored), sorted.
    pub fn state_names(&self) -> Vec<&str> {
        self.states.keys().map(String::as_str).collect()
    }

    /// The redistribution mode of state `name`, if the store has it.
    pub fn mode(&self, name: &str) -> Option<OperatorStateMode> {
        self.states.get(name).map(|state| state.mode)
    }

    /// Every list with its mode and its elements encoded with postcard. Restored lists that
    /// were never asked for are passed on as they were restored.
    pub fn snapshot(&self) -> FnResult<OperatorStateSnapshot> {
        let mut snapshot = OperatorStateSnapshot::new();
        for (name, state) in &self.states {
            let elements = match &state.content {
                Content::Encoded(elements) => elements.clone(),
                Content::Typed { list, .. } => list.encode_elements(name)?,
            };
            snapshot.insert(name.clone(), ListStateSnapshot::new(state.mode, elements));
        }
        Ok(snapshot)
    }

    /// The list of state `name` as `Vec<T>`, registered (or decoded) on first use.
    fn list<T: Data>(&mut self, name: &str, mode: OperatorStateMode) -> FnResult<&mut Vec<T>> {
        let state = self
            .states
            .entry(name.to_owned())
            .or_insert_with(|| RegisteredState {
                mode,
                content: Content::Typed {
                    type_id: TypeId::of::<T>(),
                    type_name: type_name::<T>(),
                    list: Box::new(Vec::<T>::new()),
                },
            });
        let matches = state.mode == mode
            && match &state.content {
                Content::Typed { type_id, .. } => *type_id == TypeId::of::<T>(),
                Content::Encoded(_) => true,
            };
        if !matches {
            return Err(format!(
                "operator state '{name}' is a {} but was asked for as a {}; give states of \
                 different modes or types different names",
                state.description(),
                describe(mode, type_name::<T>())
            )
            .into());
        }
        if let Content::Encoded(elements) = &state.content {
            let decoded: Vec<T> = decode_elements(name, mode, elements)?;
            state.content = Content::Typed {
                type_id: TypeId::of::<T>(),
                type_name: type_name::<T>(),
                list: Box::new(decoded),
            };
        }
        match &mut state.content {
            Content::Typed { list, .. } => list.as_any_mut().downcast_mut::<Vec<T>>(),
            Content::Encoded(_) => None,
        }
        .ok_or_else(|| format!("operator state '{name}' holds a list of another type").into())
    }
}

impl fmt::Debug for OperatorStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.states
                    .iter()
                    .map(|(name, state)| (name, state.description())),
            )
            .finish()
    }
}

/// A list of operator state, borrowed from its [`OperatorStateStore`]. Get it with
/// [`OperatorStateStore::list_state`] or [`OperatorStateStore::union_list_state`].
pub struct OperatorListState<'s, T> {
    list: &'s mut Vec<T>,
}

impl<T: Data> OperatorListState<'_, T> {
    /// The elements in the order they were added (empty if none).
    pub fn get(&self) -> FnResult<Vec<T>> {
        Ok(self.list.clone())
    }

    /// Appends an element.
    pub fn add(&mut self, value: T) -> FnResult<()> {
        self.list.push(value);
        Ok(())
    }

    /// Appends every element of `values`, in order.
    pub fn add_all(&mut self, values: impl IntoIterator<Item = T>) -> FnResult<()> {
        self.list.extend(values);
        Ok(())
    }

    /// Replaces the list with `values`.
    pub fn update(&mut self, values: Vec<T>) -> FnResult<()> {
        *self.list = values;
        Ok(())
    }

    /// Empties the list (the state stays registered, with its mode and type).
    pub fn clear(&mut self) -> FnResult<()> {
        self.list.clear();
        Ok(())
    }
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
