//! Managed keyed state: descriptors, the state of the current key, and the `hashmap` backend.
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
//! Operator state — per-subtask lists any function can keep, with their snapshots and their
//! redistribution on rescale — is in [`OperatorStateStore`] and [`redistribute`].

mod descriptors;
mod handles;
mod heap;
mod operator;
mod redistribute;

use serde::{Deserialize, Serialize};

pub use descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReduceFn,
    ReducingStateDescriptor, ValueStateDescriptor,
};
pub use handles::{AggregatingState, KeyedState, ListState, MapState, ReducingState, ValueState};
pub use heap::HeapKeyedStateBackend;
pub use operator::{
    ListStateSnapshot, OperatorListState, OperatorStateMode, OperatorStateSnapshot,
    OperatorStateStore,
};
pub use redistribute::{redistribute, RedistributionError};

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

#[cfg(test)]
mod tests;
