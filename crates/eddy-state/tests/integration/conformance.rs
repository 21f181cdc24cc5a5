//! The keyed-state conformance suite on the RocksDB backend: the same checks the heap backend
//! passes, so a difference between the two fails here.

use eddy_core::Key;
use eddy_state::conformance::{self, BackendFactory, HeapFactory};
use eddy_state::rocksdb::{RocksDbOptions, RocksDbStore};
use eddy_state::KeyedStateBackend;

struct RocksDb {
    dir: tempfile::TempDir,
}

impl BackendFactory for RocksDb {
    fn make<K: Key>(&mut self, max_parallelism: u32) -> KeyedStateBackend<K> {
        // A small budget, so memtables flush and reads go through SST files too.
        let store = RocksDbStore::open(
            self.dir.path(),
            "conformance",
            RocksDbOptions::with_budget(8 << 20),
        )
        .expect("RocksDB opens in a temporary directory");
        KeyedStateBackend::in_store(Box::new(store), max_parallelism)
    }
}

#[test]
fn the_rocksdb_backend_passes_the_conformance_suite() {
    let mut backend = RocksDb {
        dir: tempfile::tempdir().unwrap(),
    };
    conformance::run_all(&mut backend);
}

#[test]
fn rocksdb_snapshots_restore_into_rocksdb_and_the_heap_and_back() {
    let mut rocksdb = RocksDb {
        dir: tempfile::tempdir().unwrap(),
    };
    conformance::snapshots::run_all(
        &mut rocksdb,
        &mut RocksDb {
            dir: tempfile::tempdir().unwrap(),
        },
    );
    conformance::snapshots::run_all(&mut rocksdb, &mut HeapFactory);
    conformance::snapshots::run_all(&mut HeapFactory, &mut rocksdb);
}

#[test]
fn an_instance_removes_its_directory_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        RocksDbStore::open(dir.path(), "drop", RocksDbOptions::with_budget(8 << 20)).unwrap();
    let path = store.path().to_path_buf();
    assert!(path.exists());
    drop(store);
    assert!(!path.exists());
}
