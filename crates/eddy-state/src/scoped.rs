//! Keyed state for functions that take no context per element (`map`, `flat_map`, `filter` on
//! a keyed stream), as Flink's `getRuntimeContext().getState(…)`: the function gets a
//! [`KeyedStateStore`] from its [`RuntimeContext`](crate::RuntimeContext) in `open`,
//! and every access through it is scoped to the key of the element being processed.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{KeyedState, KeyedStateBackend, Namespace};
use eddy_core::error::FnResult;
use eddy_core::Key;

/// The operator's keyed state and the key of the element being processed.
struct Scope<K> {
    backend: KeyedStateBackend<K>,
    current_key: Option<K>,
}

/// A keyed operator's state, as a function applied to a keyed stream sees it: each
/// [`with_state`](Self::with_state) reaches the state of the current element's key. Cloning
/// shares the same state. Only the subtask's own thread uses it (the lock is never
/// contended).
pub struct KeyedStateStore<K> {
    scope: Arc<Mutex<Scope<K>>>,
}

impl<K> Clone for KeyedStateStore<K> {
    fn clone(&self) -> Self {
        KeyedStateStore {
            scope: self.scope.clone(),
        }
    }
}

impl<K> fmt::Debug for KeyedStateStore<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyedStateStore<{}>", std::any::type_name::<K>())
    }
}

impl<K: Key> KeyedStateStore<K> {
    /// The store over `backend` (for operator implementations).
    pub fn new(backend: KeyedStateBackend<K>) -> Self {
        KeyedStateStore {
            scope: Arc::new(Mutex::new(Scope {
                backend,
                current_key: None,
            })),
        }
    }

    /// Makes `key` the current key (for operator implementations: before each element).
    #[inline]
    pub fn set_current_key(&self, key: K) {
        self.scope.lock().current_key = Some(key);
    }

    /// Runs `access` on the current key's state (its own namespace), e.g.
    /// `store.with_state(|mut state| state.value(&self.last)?.update(t))`. Calling it again
    /// from inside `access`, or outside the processing of an element, is an error.
    pub fn with_state<R>(
        &self,
        access: impl FnOnce(KeyedState<'_, K>) -> FnResult<R>,
    ) -> FnResult<R> {
        let mut guard = self.scope.try_lock().ok_or(
            "keyed state was accessed again while it was in use (with_state inside with_state)",
        )?;
        let Scope {
            backend,
            current_key,
        } = &mut *guard;
        let key = current_key.as_ref().ok_or(
            "keyed state was accessed outside the processing of an element (in open or close \
             there is no current key)",
        )?;
        access(KeyedState::new(backend, key, Namespace::Global))
    }

    /// Runs `access` on the whole backend (for operator implementations: snapshots and
    /// restores, never while an element's state is in use).
    pub fn with_backend<R>(
        &self,
        access: impl FnOnce(&mut KeyedStateBackend<K>) -> FnResult<R>,
    ) -> FnResult<R> {
        let mut guard = self
            .scope
            .try_lock()
            .ok_or("the keyed state backend was reached while an element's state was in use")?;
        access(&mut guard.backend)
    }

    /// Type-erases the store for a [`RuntimeContext`](crate::RuntimeContext).
    pub fn erased(&self) -> ErasedKeyedStateStore {
        ErasedKeyedStateStore {
            store: Arc::new(self.clone()),
            key_type: std::any::type_name::<K>(),
        }
    }
}

/// A [`KeyedStateStore`] of some key type, as a [`RuntimeContext`](crate::RuntimeContext)
/// carries it.
#[derive(Clone)]
pub struct ErasedKeyedStateStore {
    store: Arc<dyn Any + Send + Sync>,
    key_type: &'static str,
}

impl fmt::Debug for ErasedKeyedStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyedStateStore<{}>", self.key_type)
    }
}

impl ErasedKeyedStateStore {
    /// The store, if its keys are `K`; otherwise an error naming both key types.
    pub fn downcast<K: Key>(&self) -> FnResult<KeyedStateStore<K>> {
        self.store
            .downcast_ref::<KeyedStateStore<K>>()
            .cloned()
            .ok_or_else(|| {
                format!(
                    "keyed state asked for with key type {}, but the stream is keyed by {}",
                    std::any::type_name::<K>(),
                    self.key_type
                )
                .into()
            })
    }
}
