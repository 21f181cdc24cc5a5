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
