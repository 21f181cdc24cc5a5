//! Opens the keyed-state backend of a keyed operator subtask, as `state.backend.type` says.

use eddy_core::config::StateBackendType;
use eddy_core::functions::RuntimeContext;
use eddy_core::state::{KeyedStateBackend, StateBackendConfig};
use eddy_core::{FnResult, Key};

/// The keyed state of the operator subtask `ctx` describes: on the heap, or in a new RocksDB
/// instance of its own.
pub fn open_keyed_state_backend<K: Key>(
    config: &StateBackendConfig,
    ctx: &RuntimeContext,
) -> FnResult<KeyedStateBackend<K>> {
    match config.backend {
        StateBackendType::HashMap => Ok(KeyedStateBackend::heap()),
        StateBackendType::RocksDb => rocksdb::open(config, ctx),
    }
}

#[cfg(feature = "rocksdb")]
mod rocksdb {
    use super::*;

    pub(super) fn open<K: Key>(
        config: &StateBackendConfig,
        ctx: &RuntimeContext,
    ) -> FnResult<KeyedStateBackend<K>> {
        let store = eddy_state::RocksDbStore::open_for_subtask(config, ctx)?;
        Ok(KeyedStateBackend::in_store(
            Box::new(store),
            ctx.max_parallelism,
        ))
    }
}

#[cfg(not(feature = "rocksdb"))]
mod rocksdb {
    use super::*;

    pub(super) fn open<K: Key>(
        _config: &StateBackendConfig,
        _ctx: &RuntimeContext,
    ) -> FnResult<KeyedStateBackend<K>> {
        Err(
            "state.backend.type is 'rocksdb', but this build of Eddy has no RocksDB backend; \
             build it with the `rocksdb` feature (e.g. `cargo run --release --features rocksdb \
             -- run …`) or set state.backend.type: hashmap"
                .into(),
        )
    }
}
