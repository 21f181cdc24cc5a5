//! Where the general window operator keeps each window's contents and trigger state: typed
//! hash maps on the heap (`hashmap`), or keyed state in the operator's backend of serialized
//! rows (`rocksdb`), so windows larger than memory live on disk like any other keyed state.

use rustc_hash::FxHashMap;

use eddy_core::{Data, FnResult, Key};
use eddy_functions::windowing::Window;
use eddy_state::{
    KeyedState, KeyedStateBackend, Namespace, PendingKeyedSnapshot, ValueStateDescriptor,
};

use super::contents::WindowContents;

/// The name of the trigger state of each window in a backend of serialized rows (its row
/// also marks that the window exists).
pub(super) const STORED_TRIGGER: &str = "_window-trigger";
/// The name of each key's list of merged windows (merging assigners) in a backend of
/// serialized rows, in [`Namespace::Global`].
const STORED_MERGING: &str = "_window-merging";

/// One window of one key on the heap: its contents (none after a purge) and its trigger's
/// state.
pub(super) struct HeapWindow<Acc, S> {
    contents: Option<Acc>,
    trigger: S,
}

/// Per key, the state of each of its windows.
type KeyWindows<K, W, S> = FxHashMap<K, FxHashMap<W, S>>;

/// The windows' state of one operator subtask.
pub(super) enum WindowStates<K, W, Acc, S> {
    /// Typed maps (looked up by `&K`, so a key is cloned only for its first window).
    Heap {
        windows: KeyWindows<K, W, HeapWindow<Acc, S>>,
        /// Merging assigners: each key's current (merged) windows.
        merging: FxHashMap<K, Vec<W>>,
    },
    /// Keyed state in the backend, in each window's namespace.
    Stored {
        trigger: ValueStateDescriptor<S>,
        merging: ValueStateDescriptor<Vec<W>>,
    },
}

impl<K: Key, W: Window, Acc, S: Data + Default> WindowStates<K, W, Acc, S> {
    /// The states for `backend`: on the heap for the heap backend, in the backend otherwise.
    pub(super) fn for_backend(backend: &KeyedStateBackend<K>) -> Self {
        match backend {
            KeyedStateBackend::Heap(_) => WindowStates::Heap {
                windows: FxHashMap::default(),
                merging: FxHashMap::default(),
            },
            KeyedStateBackend::Store(_) => WindowStates::Stored {
                trigger: ValueStateDescriptor::new(STORED_TRIGGER),
                merging: ValueStateDescriptor::new(STORED_MERGING),
            },
        }
    }

    /// Runs `update` on the trigger state of `key`'s `window` and keeps the result. A window
    /// without state is created first (with the default trigger state) when `create` is set;
    /// otherwise `None` is returned and nothing changes.
    pub(super) fn update_trigger<R>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        key: &K,
        window: &W,
        create: bool,
        update: impl FnOnce(&mut S) -> FnResult<R>,
    ) -> FnResult<Option<R>> {
        match self {
            WindowStates::Heap { windows, .. } => {
                let state = if create {
                    Some(
                        key_windows(windows, key)?
                            .entry(window.clone())
                            .or_insert_with(|| HeapWindow {
                                contents: None,
                                trigger: S::default(),
                            }),
                    )
                } else {
                    windows
                        .get_mut(key)
                        .and_then(|of_key| of_key.get_mut(window))
                };
                match state {
                    Some(state) => update(&mut state.trigger).map(Some),
                    None => Ok(None),
                }
            }
            WindowStates::Stored { trigger, .. } => {
                let mut stored =
                    KeyedState::new(backend, key, window.namespace()).value(trigger)?;
                let mut state = match stored.value()? {
                    Some(state) => state,
                    None if create => S::default(),
                    None => return Ok(None),
                };
                let result = update(&mut state)?;
                stored.update(state)?;
                Ok(Some(result))
            }
        }
    }

    /// Adds an element to the contents of `key`'s `window`, which exists
    /// ([`update_trigger`](Self::update_trigger) with `create` made it).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
        key: &K,
        window: &W,
        value: T,
        timestamp: i64,
    ) -> FnResult<()>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        match self {
            WindowStates::Heap { windows, .. } => {
                let state = windows
                    .get_mut(key)
                    .and_then(|of_key| of_key.get_mut(window))
                    .ok_or("the window to add an element to has no state")?;
                let acc = state.contents.get_or_insert_with(|| contents.create());
                contents.add(acc, value, timestamp)
            }
            WindowStates::Stored { .. } => contents.add_stored(
                KeyedState::new(backend, key, window.namespace()),
                value,
                timestamp,
            ),
        }
    }

    /// Takes the contents of `key`'s `window` out (none if it has none); give them back
    /// with [`put_contents`](Self::put_contents) unless they are to be purged.
    pub(super) fn take_contents<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
        key: &K,
        window: &W,
    ) -> FnResult<Option<Acc>>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        match self {
            WindowStates::Heap { windows, .. } => Ok(windows
                .get_mut(key)
                .and_then(|of_key| of_key.get_mut(window))
                .and_then(|state| state.contents.take())),
            WindowStates::Stored { .. } => {
                contents.load_stored(KeyedState::new(backend, key, window.namespace()))
            }
        }
    }

    /// Sets the contents of `key`'s `window` (`None`: purges them); the window keeps its
    /// trigger state.
    pub(super) fn put_contents<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
        key: &K,
        window: &W,
        acc: Option<Acc>,
    ) -> FnResult<()>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        match self {
            WindowStates::Heap { windows, .. } => {
                if let Some(state) = windows
                    .get_mut(key)
                    .and_then(|of_key| of_key.get_mut(window))
                {
                    state.contents = acc;
                }
                Ok(())
            }
            WindowStates::Stored { .. } => {
                contents.save_stored(KeyedState::new(backend, key, window.namespace()), acc)
            }
        }
    }

    /// Removes `key`'s `window` and returns its contents and trigger state (`None` if it had
    /// no state).
    pub(super) fn remove<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
        key: &K,
        window: &W,
    ) -> FnResult<Option<(Option<Acc>, S)>>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        match self {
            WindowStates::Heap { windows, .. } => {
                let Some(of_key) = windows.get_mut(key) else {
                    return Ok(None);
                };
                let state = of_key.remove(window);
                if of_key.is_empty() {
                    windows.remove(key);
                }
                Ok(state.map(|state| (state.contents, state.trigger)))
            }
            WindowStates::Stored { trigger, .. } => {
                let mut stored =
                    KeyedState::new(backend, key, window.namespace()).value(trigger)?;
                let Some(state) = stored.value()? else {
                    return Ok(None);
                };
                stored.clear()?;
                let namespace = KeyedState::new(backend, key, window.namespace());
                let acc = contents.load_stored(namespace)?;
                contents.save_stored(KeyedState::new(backend, key, window.namespace()), None)?;
                Ok(Some((acc, state)))
            }
        }
    }

    /// Creates `key`'s `window` with the given contents and trigger state.
    pub(super) fn insert<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
        key: &K,
        window: W,
        acc: Option<Acc>,
        trigger_state: S,
    ) -> FnResult<()>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        match self {
            WindowStates::Heap { windows, .. } => {
                key_windows(windows, key)?.insert(
                    window,
                    HeapWindow {
                        contents: acc,
                        trigger: trigger_state,
                    },
                );
                Ok(())
            }
            WindowStates::Stored { trigger, .. } => {
                let namespace = window.namespace();
                KeyedState::new(backend, key, namespace)
                    .value(trigger)?
                    .update(trigger_state)?;
                contents.save_stored(KeyedState::new(backend, key, namespace), acc)
            }
        }
    }

    /// Merging assigners: `key`'s current windows.
    pub(super) fn merged_windows(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        key: &K,
    ) -> FnResult<Vec<W>> {
        match self {
            WindowStates::Heap { merging, .. } => Ok(merging.get(key).cloned().unwrap_or_default()),
            WindowStates::Stored { merging, .. } => {
                Ok(KeyedState::new(backend, key, Namespace::Global)
                    .value(merging)?
                    .value()?
                    .unwrap_or_default())
            }
        }
    }

    /// Merging assigners: sets `key`'s current windows (none: forgets the key).
    pub(super) fn set_merged_windows(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        key: &K,
        windows: Vec<W>,
    ) -> FnResult<()> {
        match self {
            WindowStates::Heap { merging, .. } => {
                if windows.is_empty() {
                    merging.remove(key);
                } else if let Some(current) = merging.get_mut(key) {
                    *current = windows;
                } else {
                    merging.insert(key.clone(), windows);
                }
                Ok(())
            }
            WindowStates::Stored { merging, .. } => {
                let mut stored = KeyedState::new(backend, key, Namespace::Global).value(merging)?;
                if windows.is_empty() {
                    stored.clear()
                } else {
                    stored.update(windows)
                }
            }
        }
    }
}

impl<K: Key, W: Window, Acc: Clone, S: Data + Default> WindowStates<K, W, Acc, S> {
    /// On the heap: every window's contents and trigger state, and each key's merged
    /// windows, written as the stored variant keeps them, so the snapshot restores on either
    /// backend. `None` when stored: the backend's own snapshot holds them.
    pub(super) fn snapshot_heap<T, O, C>(
        &self,
        contents: &mut C,
        max_parallelism: u32,
    ) -> FnResult<Option<PendingKeyedSnapshot>>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        let WindowStates::Heap { windows, merging } = self else {
            return Ok(None);
        };
        let trigger = ValueStateDescriptor::<S>::new(STORED_TRIGGER);
        let merged = ValueStateDescriptor::<Vec<W>>::new(STORED_MERGING);
        let mut written = KeyedStateBackend::heap();
        for (key, of_key) in windows {
            for (window, state) in of_key {
                let namespace = window.namespace();
                KeyedState::new(&mut written, key, namespace)
                    .value(&trigger)?
                    .update(state.trigger.clone())?;
                if let Some(acc) = &state.contents {
                    contents.save_stored(
                        KeyedState::new(&mut written, key, namespace),
                        Some(acc.clone()),
                    )?;
                }
            }
        }
        for (key, of_key) in merging {
            KeyedState::new(&mut written, key, Namespace::Global)
                .value(&merged)?
                .update(of_key.clone())?;
        }
        Ok(Some(written.into_pending(max_parallelism)?))
    }

    /// On the heap: moves the windows restored into `backend` (as the stored variant keeps
    /// them) into the typed maps. Nothing to do when stored.
    pub(super) fn restore_heap<T, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
    ) -> FnResult<()>
    where
        C: WindowContents<T, K, W, O, Acc = Acc>,
    {
        let WindowStates::Heap { windows, merging } = self else {
            return Ok(());
        };
        let trigger = ValueStateDescriptor::<S>::new(STORED_TRIGGER);
        let merged = ValueStateDescriptor::<Vec<W>>::new(STORED_MERGING);
        for (key, namespace) in backend.entries(STORED_TRIGGER)? {
            let window = W::from_namespace(namespace).ok_or_else(|| {
                format!(
                    "the restored window state has a window {namespace:?}, which is not a \
                     window of this operator's type ({})",
                    std::any::type_name::<W>()
                )
            })?;
            let mut stored = KeyedState::new(backend, &key, namespace).value(&trigger)?;
            let trigger_state = stored.value()?.unwrap_or_default();
            stored.clear()?;
            let acc = contents.load_stored(KeyedState::new(backend, &key, namespace))?;
            contents.save_stored(KeyedState::new(backend, &key, namespace), None)?;
            key_windows(windows, &key)?.insert(
                window,
                HeapWindow {
                    contents: acc,
                    trigger: trigger_state,
                },
            );
        }
        for (key, namespace) in backend.entries(STORED_MERGING)? {
            let mut stored = KeyedState::new(backend, &key, namespace).value(&merged)?;
            if let Some(of_key) = stored.value()? {
                merging.insert(key.clone(), of_key);
            }
            stored.clear()?;
        }
        Ok(())
    }
}

/// The windows of `key`, created if it has none (the key is cloned only then).
fn key_windows<'a, K: Key, W, S>(
    windows: &'a mut KeyWindows<K, W, S>,
    key: &K,
) -> FnResult<&'a mut FxHashMap<W, S>> {
    if !windows.contains_key(key) {
        windows.insert(key.clone(), FxHashMap::default());
    }
    windows
        .get_mut(key)
        .ok_or_else(|| "window state of a key vanished".into())
}
