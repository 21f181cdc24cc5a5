//! Where state lives: keyed state (descriptors, the state of the current key, the `hashmap`
//! backend and the ordered-store backend, with `rocksdb` behind the feature of that name),
//! operator and broadcast state, time-to-live, timers, snapshots and their redistribution,
//! and the contexts through which functions reach state ([`RuntimeContext`],
//! [`FunctionInitializationContext`]).
//!
//! A keyed function names its state with descriptors ([`ValueStateDescriptor`] and friends)
//! and reaches it through its context, which is always scoped to the key being processed:
//!
//! ```ignore
//! let mut count = ctx.state().value(&self.count)?;
//! count.update(count.value()?.unwrap_or(0) + 1)?;
//! ```
//!
//! Inside windows the state is further scoped to a [`Namespace`]: one window's, or the key's
//! own (global) state. State can only be reached from keyed contexts, so using it outside a
//! keyed stream does not compile.
//!
//! Broadcast state ([`BroadcastStateStore`]) is map-shaped state that every subtask of a
//! broadcast operator holds in full: written by the broadcast input, read by the other one.
//! Operator state — per-subtask lists any function can keep, with their snapshots and their
//! redistribution on rescale — is in [`OperatorStateStore`] and [`redistribute`].

/// Generates the checkpointed-function hooks (`initialize_state`, `snapshot_state`) with
/// empty defaults: Flink's `CheckpointedFunction`, available to every function.
#[doc(hidden)]
#[macro_export]
macro_rules! checkpointed {
    () => {
        /// Called once per subtask before `open`, when the operator's state is set up:
        /// register operator state in `ctx.operator_state_store()` and, when
        /// `ctx.is_restored()`, read back this subtask's share of what `snapshot_state` wrote
        /// before. The store stays with the operator; keep the descriptors (and copies of what
        /// you need) in the function.
        fn initialize_state(
            &mut self,
            _ctx: &mut $crate::FunctionInitializationContext<'_>,
        ) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
        /// Called when a checkpoint snapshots the operator: write everything this function
        /// needs to resume into `store` (e.g. `store.list_state(&d)?.update(buffer)`); the
        /// store's contents then go into the snapshot.
        fn snapshot_state(
            &mut self,
            _ctx: &$crate::FunctionSnapshotContext,
            _store: &mut $crate::OperatorStateStore,
        ) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
        /// Checkpoint `checkpoint_id` is complete: everything this function snapshotted for
        /// it is durable (Flink's `CheckpointListener`); e.g. commit what was pre-committed.
        fn notify_checkpoint_complete(
            &mut self,
            _checkpoint_id: u64,
        ) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
        /// Checkpoint `checkpoint_id` was aborted: it will never complete.
        fn notify_checkpoint_aborted(
            &mut self,
            _checkpoint_id: u64,
        ) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
    };
}

/// Generates `open`/`close` lifecycle methods with empty defaults, and the `checkpointed!()`
/// hooks.
#[doc(hidden)]
#[macro_export]
macro_rules! lifecycle {
    () => {
        $crate::checkpointed!();
        /// Called once per subtask before the first element.
        fn open(&mut self, _ctx: &$crate::RuntimeContext) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
        /// Called once per subtask after the last element (or on cancellation).
        fn close(&mut self) -> $crate::__macro_support::FnResult<()> {
            Ok(())
        }
    };
}

/// What the exported macros name (not part of the API).
#[doc(hidden)]
pub mod __macro_support {
    pub use eddy_core::FnResult;
}

mod aggregate;
mod any_descriptor;
mod broadcast;
pub mod checkpointed;
mod descriptors;
mod handles;
mod heap;
mod heap_codec;
mod keyed_state;
pub(crate) mod layout;
mod merging;
mod native_snapshot;
mod operator;
mod pending_snapshot;
mod redistribute;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
mod runtime_context;
mod scoped;
mod settings;
pub(crate) mod snapshot;
mod store;
mod store_backend;
pub mod time;
mod ttl;
mod ttl_access;
mod ttl_heap;

use serde::{Deserialize, Serialize};

pub use aggregate::AggregateFunction;
pub use any_descriptor::KeyedStateDescriptor;
pub use broadcast::{
    BroadcastState, BroadcastStateDeclaration, BroadcastStateStore, ReadOnlyBroadcastState,
};
pub use checkpointed::{FunctionInitializationContext, FunctionSnapshotContext};
pub use descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReduceFn,
    ReducingStateDescriptor, ValueStateDescriptor,
};
pub use handles::{AggregatingState, ListState, MapState, ReducingState, ValueState};
pub use heap::HeapKeyedStateBackend;
pub use keyed_state::{KeyedState, KeyedStateBackend};
pub use native_snapshot::{
    NativeFile, NativeFileUploader, NativeFiles, NativeState, NativeStateHandle, StoredFile,
};
pub use operator::{
    ListStateSnapshot, OperatorListState, OperatorStateMode, OperatorStateSnapshot,
    OperatorStateStore,
};
pub use pending_snapshot::PendingKeyedSnapshot;
pub use redistribute::{redistribute, RedistributionError};
pub use runtime_context::RuntimeContext;
pub use scoped::{ErasedKeyedStateStore, KeyedStateStore};
pub use settings::{rocksdb_slot_budget, rocksdb_write_buffer_size, StateBackendConfig};
pub use snapshot::{
    restore_value_rows, value_state_description, DecodedRow, ErasedKey, KeyedStateSnapshot,
    RowWriter, SnapshotError, StateRow, StateRows, SNAPSHOT_FORMAT_VERSION,
};
pub use store::{
    OrderedStateStore, RowVisitor, ScanControl, SharedStore, StateError, StoreSnapshotView,
    StoreStateId, TtlRowLayout, TtlRows,
};
pub use store_backend::StoreKeyedStateBackend;
pub use ttl::{
    CleanupStrategies, IncrementalCleanup, ManualTtlClock, StateTtlConfig, StateTtlConfigBuilder,
    StateVisibility, SystemTtlClock, TtlClock, TtlTimeProvider, UpdateType,
};

/// Which part of a key's state: the key's own state, or one window's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Namespace {
    /// The key's own state (keyed process functions; `global_state()` in windows).
    Global,
    /// The state of the global window (`window_state()` in `GlobalWindows` and count
    /// windows).
    GlobalWindow,
    /// The state of the time window `[start, end)` (`window_state()` in windows).
    TimeWindow {
        /// Inclusive start (ms).
        start: i64,
        /// Exclusive end (ms).
        end: i64,
    },
}

pub mod conformance;
#[cfg(test)]
pub(crate) mod tests;
