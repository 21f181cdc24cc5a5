//! Opens the keyed-state backend of a keyed operator subtask, as `state.backend.type` says.

use eddy_core::config::StateBackendType;
use eddy_core::{FnResult, Key};
use eddy_functions::RuntimeContext;
use eddy_state::{KeyedStateBackend, StateBackendConfig};

/// Whether this build has the `rocksdb` state backend (the `rocksdb` cargo feature).
pub const ROCKSDB_BUILT: bool = cfg!(feature = "rocksdb");

/// Why a `rocksdb` backend cannot be used in a build without it, and how to get it.
pub const ROCKSDB_MISSING: &str = "this build of Eddy has no RocksDB state backend; build it \
     with the `rocksdb` cargo feature (e.g. `cargo run --release -p eddy --features rocksdb -- \
     run …`) or set state.backend.type: hashmap";

/// Checks that `backend` is built into this binary, so that a job asking for a missing one is
/// rejected when it is submitted rather than when its first keyed operator opens.
pub fn check_state_backend_built(backend: StateBackendType) -> Result<(), &'static str> {
    check_backend(backend, ROCKSDB_BUILT)
}

fn check_backend(backend: StateBackendType, rocksdb_built: bool) -> Result<(), &'static str> {
    match backend {
        StateBackendType::RocksDb if !rocksdb_built => Err(ROCKSDB_MISSING),
        _ => Ok(()),
    }
}

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
        let store = eddy_state::rocksdb::RocksDbStore::open_for_subtask(config, ctx)?;
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
        Err(format!("state.backend.type is 'rocksdb', but {ROCKSDB_MISSING}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_missing_from_the_build_is_rejected_with_how_to_get_it() {
        assert_eq!(check_backend(StateBackendType::HashMap, false), Ok(()));
        assert_eq!(check_backend(StateBackendType::RocksDb, true), Ok(()));
        let reason = check_backend(StateBackendType::RocksDb, false).unwrap_err();
        assert!(reason.contains("--features rocksdb"), "{reason}");
        assert!(reason.contains("state.backend.type: hashmap"), "{reason}");
    }
}
