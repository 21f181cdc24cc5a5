//! The keyed-state backend of a job, as configured (`state.backend.type` and the backend's
//! options); the runtime opens each keyed operator subtask's backend from it.

use serde::{Deserialize, Serialize};

use eddy_core::config::{
    ConfigError, Configuration, MemorySize, StateBackendType, TimerServiceFactory,
    ROCKSDB_MEMORY_FIXED_PER_SLOT, ROCKSDB_MEMORY_MANAGED, ROCKSDB_WRITE_BUFFER_SIZE,
    TASK_MANAGER_MEMORY_MANAGED_SIZE,
};

/// Where keyed state lives, and the on-disk backend's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBackendConfig {
    /// `state.backend.type`.
    pub backend: StateBackendType,
    /// `state.backend.rocksdb.localdir` (empty: the system's temporary directory).
    pub local_dir: String,
    /// The memory budget of the RocksDB instances of one slot together (`None`: unbounded,
    /// each instance with RocksDB's defaults): `state.backend.rocksdb.memory.fixed-per-slot`
    /// if set, else the slot's share of `taskmanager.memory.managed.size` while
    /// `state.backend.rocksdb.memory.managed` is on.
    pub memory_budget: Option<MemorySize>,
    /// The slot a subtask runs in (set per subtask when it is deployed): the instances of one
    /// job in one slot share its budget.
    pub slot: Option<String>,
    /// `state.backend.rocksdb.timer-service.factory`: where the `rocksdb` backend keeps timers.
    pub timer_service: TimerServiceFactory,
    /// `state.backend.rocksdb.writebuffer.size`: one memtable's size (within a budget, at most
    /// a quarter of it).
    pub write_buffer_size: MemorySize,
}

impl Default for StateBackendConfig {
    fn default() -> Self {
        StateBackendConfig {
            backend: StateBackendType::HashMap,
            local_dir: String::new(),
            memory_budget: Some(MemorySize::mebibytes(64)),
            slot: None,
            timer_service: TimerServiceFactory::RocksDb,
            write_buffer_size: MemorySize::mebibytes(64),
        }
    }
}

/// The memory budget of the RocksDB instances of one slot, as Flink resolves it: the fixed
/// per-slot size if `state.backend.rocksdb.memory.fixed-per-slot` is set; else, with
/// `state.backend.rocksdb.memory.managed` on (the default), `taskmanager.memory.managed.size`
/// divided by the TaskManager's `slots_per_task_manager`; else none (unbounded).
pub fn rocksdb_slot_budget(
    config: &Configuration,
    slots_per_task_manager: u32,
) -> Result<Option<MemorySize>, ConfigError> {
    if config.contains(&ROCKSDB_MEMORY_FIXED_PER_SLOT) {
        return Ok(Some(config.get(&ROCKSDB_MEMORY_FIXED_PER_SLOT)?));
    }
    if !config.get(&ROCKSDB_MEMORY_MANAGED)? {
        return Ok(None);
    }
    let managed = config.get(&TASK_MANAGER_MEMORY_MANAGED_SIZE)?;
    Ok(Some(MemorySize(
        managed.bytes() / u64::from(slots_per_task_manager.max(1)),
    )))
}

/// The smallest `state.backend.rocksdb.writebuffer.size` accepted: below it RocksDB would
/// flush a file every few writes.
const MIN_WRITE_BUFFER_SIZE: MemorySize = MemorySize(64 << 10);

/// `state.backend.rocksdb.writebuffer.size`, checked: at least 64 KiB.
pub fn rocksdb_write_buffer_size(config: &Configuration) -> Result<MemorySize, ConfigError> {
    let size = config.get(&ROCKSDB_WRITE_BUFFER_SIZE)?;
    if size < MIN_WRITE_BUFFER_SIZE {
        return Err(config.reject(
            &ROCKSDB_WRITE_BUFFER_SIZE,
            "a memtable needs at least 64kb (the default is 64mb)",
        ));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_buffer_below_64_kib_is_refused_naming_the_key() {
        let mut config = Configuration::new();
        assert_eq!(
            rocksdb_write_buffer_size(&config).unwrap(),
            MemorySize::mebibytes(64)
        );
        config.set_string("state.backend.rocksdb.writebuffer.size", "8mb");
        assert_eq!(
            rocksdb_write_buffer_size(&config).unwrap(),
            MemorySize::mebibytes(8)
        );
        config.set_string("state.backend.rocksdb.writebuffer.size", "0");
        let error = rocksdb_write_buffer_size(&config).unwrap_err().to_string();
        assert!(
            error.contains("'state.backend.rocksdb.writebuffer.size'") && error.contains("64kb"),
            "{error}"
        );
    }

    #[test]
    fn the_slot_budget_is_fixed_if_set_else_a_share_of_managed_memory() {
        let mut config = Configuration::new();
        assert_eq!(
            rocksdb_slot_budget(&config, 4).unwrap(),
            Some(MemorySize::mebibytes(32))
        );
        config.set_string("taskmanager.memory.managed.size", "1gb");
        assert_eq!(
            rocksdb_slot_budget(&config, 2).unwrap(),
            Some(MemorySize::mebibytes(512))
        );
        config.set_string("state.backend.rocksdb.memory.managed", "false");
        assert_eq!(rocksdb_slot_budget(&config, 2).unwrap(), None);
        config.set_string("state.backend.rocksdb.memory.fixed-per-slot", "100mb");
        assert_eq!(
            rocksdb_slot_budget(&config, 2).unwrap(),
            Some(MemorySize::mebibytes(100))
        );
        config.set_string("state.backend.rocksdb.memory.managed", "maybe");
        config.set_string("state.backend.rocksdb.memory.fixed-per-slot", "lots");
        let err = rocksdb_slot_budget(&config, 2).unwrap_err().to_string();
        assert!(err.contains("fixed-per-slot"), "{err}");
    }
}
