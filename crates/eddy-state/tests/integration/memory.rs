//! The memory budget: the instances of one job in one slot share it, others do not.

use eddy_core::config::{MemorySize, StateBackendType};
use eddy_state::rocksdb::RocksDbStore;
use eddy_state::RuntimeContext;
use eddy_state::{OrderedStateStore, StateBackendConfig};

/// The store of subtask `subtask` of an operator of job `ctx`, in `slot`.
fn store(dir: &std::path::Path, ctx: &RuntimeContext, slot: &str) -> RocksDbStore {
    let config = StateBackendConfig {
        backend: StateBackendType::RocksDb,
        local_dir: dir.display().to_string(),
        memory_budget: Some(MemorySize::mebibytes(16)),
        slot: Some(slot.to_owned()),
        ..StateBackendConfig::default()
    };
    RocksDbStore::open_for_subtask(&config, ctx).unwrap()
}

#[test]
fn instances_in_one_slot_share_its_budget_and_other_slots_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut window = RuntimeContext::for_testing(0, 2);
    window.operator_name = "Window".into();
    let mut reduce = RuntimeContext::for_testing(0, 2);
    reduce.operator_name = "Reduce".into();
    let mut a = store(dir.path(), &window, "tm-1/0");
    let b = store(dir.path(), &reduce, "tm-1/0");
    let c = store(dir.path(), &window, "tm-1/1");
    let (before_b, before_c) = (b.memory_usage(), c.memory_usage());
    // Memtables are charged to the slot's cache: writing into one instance shows in the
    // usage of every instance of the slot.
    let state = a.register_state("values", None).unwrap();
    for i in 0..20_000u32 {
        a.put(state, &i.to_be_bytes(), &[7; 100]).unwrap();
    }
    assert_eq!(a.memory_usage(), b.memory_usage());
    assert!(
        b.memory_usage() > before_b + 1_000_000,
        "{} {}",
        before_b,
        b.memory_usage()
    );
    assert_eq!(c.memory_usage(), before_c);
}

/// Writes 4 MiB of rows into one state of a subtask's instance opened with `write_buffer_size`
/// memtables; the bytes of its SST files then.
fn flushed_after_4_mib(write_buffer_size: MemorySize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let config = StateBackendConfig {
        backend: StateBackendType::RocksDb,
        local_dir: dir.path().display().to_string(),
        memory_budget: Some(MemorySize::mebibytes(256)),
        write_buffer_size,
        ..StateBackendConfig::default()
    };
    let mut store =
        RocksDbStore::open_for_subtask(&config, &RuntimeContext::for_testing(0, 1)).unwrap();
    let state = store.register_state("values", None).unwrap();
    // Pseudo-random bytes: compression must not shrink them away.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut value = vec![0u8; 1024];
    for i in 0..4096u32 {
        for byte in &mut value {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
        store.put(state, &i.to_be_bytes(), &value).unwrap();
    }
    store.disk_usage().unwrap()
}

#[test]
fn the_write_buffer_size_sets_when_memtables_are_flushed() {
    // 64 MiB memtables (the default) hold it all in memory; 256 KiB ones must have flushed
    // most of it (with two memtables at most, writes wait for flushes).
    assert_eq!(flushed_after_4_mib(MemorySize::mebibytes(64)), 0);
    let flushed = flushed_after_4_mib(MemorySize(256 << 10));
    assert!(flushed > 1 << 20, "only {flushed} bytes flushed");
}
