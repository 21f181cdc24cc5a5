//! The keyed-state backend of a job, as configured (`state.backend.type` and the backend's
//! options); the runtime opens each keyed operator subtask's backend from it.

use serde::{Deserialize, Serialize};

use crate::config::{MemorySize, StateBackendType, TimerServiceFactory};

/// Where keyed state lives, and the on-disk backend's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBackendConfig {
    /// `state.backend.type`.
    pub backend: StateBackendType,
    /// `state.backend.rocksdb.localdir` (empty: the system's temporary directory).
    pub local_dir: String,
    /// `state.backend.rocksdb.memory.fixed-per-slot`: the memory budget of each RocksDB
    /// instance.
    pub memory_budget: MemorySize,
    /// `state.backend.rocksdb.timer-service.factory`: where the `rocksdb` backend keeps timers.
    pub timer_service: TimerServiceFactory,
}

impl Default for StateBackendConfig {
    fn default() -> Self {
        StateBackendConfig {
            backend: StateBackendType::HashMap,
            local_dir: String::new(),
            memory_budget: MemorySize::mebibytes(64),
            timer_service: TimerServiceFactory::RocksDb,
        }
    }
}
