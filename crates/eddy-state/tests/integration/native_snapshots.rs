//! Native (incremental) snapshots of the RocksDB backend: the states kept as the files of a
//! RocksDB checkpoint, stored by an uploader, read back into exactly the rows of a full
//! snapshot taken at the same moment.

use std::collections::HashMap;

use eddy_core::FnResult;
use eddy_state::rocksdb::{RocksDbOptions, RocksDbStore};
use eddy_state::{
    KeyedState, KeyedStateBackend, KeyedStateSnapshot, ListStateDescriptor, Namespace, NativeFile,
    NativeFileUploader, NativeFiles, StoredFile, ValueStateDescriptor,
};

/// Keeps every file it is given, by a name unique per instance and file.
#[derive(Default)]
struct MemoryUploader {
    stored: HashMap<String, Vec<u8>>,
}

impl NativeFileUploader for MemoryUploader {
    fn upload(&mut self, files: &NativeFiles) -> FnResult<Vec<NativeFile>> {
        let mut out = Vec::new();
        for name in &files.files {
            let bytes = std::fs::read(files.dir.join(name))?;
            let stored = format!("{}/{name}", files.instance);
            out.push(NativeFile {
                name: name.clone(),
                stored: StoredFile::Shared(stored.clone()),
                size: bytes.len() as u64,
                uploaded_now: true,
            });
            self.stored.insert(stored, bytes);
        }
        Ok(out)
    }
}

#[test]
fn a_native_snapshot_reads_back_into_the_rows_of_a_full_one() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        RocksDbStore::open(dir.path(), "native", RocksDbOptions::with_budget(8 << 20)).unwrap();
    let mut backend: KeyedStateBackend<u64> = KeyedStateBackend::in_store(Box::new(store), 128);
    let value = ValueStateDescriptor::<String>::new("value");
    let list = ListStateDescriptor::<u32>::new("list");
    for key in 0..3_000u64 {
        KeyedState::new(&mut backend, &key, Namespace::Global)
            .value(&value)
            .unwrap()
            .update(format!("v{key}"))
            .unwrap();
        for i in 0..(key % 4) as u32 {
            KeyedState::new(&mut backend, &key, Namespace::Global)
                .list(&list)
                .unwrap()
                .add(i)
                .unwrap();
        }
    }

    let native = backend.snapshot_pending(128).unwrap();
    let full = backend.snapshot_pending(128).unwrap().finish().unwrap();
    let mut uploader = MemoryUploader::default();
    let native = native.finish_with(Some(&mut uploader)).unwrap();
    let handle = native.native().expect("RocksDB offers its files").clone();
    assert_eq!(handle.backend, "rocksdb");
    let mut names: Vec<&str> = handle.states.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["list", "value"]);
    assert!(handle.files.iter().any(|f| f.name.ends_with(".sst")));
    assert!(handle.files.iter().any(|f| f.name == "CURRENT"));
    assert!(native.states().is_empty(), "no rows beside the files");
    assert!(full.native().is_none() && full.states().len() == 2);

    // Through the encoded form, as a checkpoint stores it.
    let mut restored = KeyedStateSnapshot::from_bytes(&native.to_bytes().unwrap()).unwrap();
    restored
        .materialize_native(&mut |file| match file {
            StoredFile::Shared(name) | StoredFile::Private(name) => uploader
                .stored
                .get(name)
                .cloned()
                .ok_or_else(|| format!("{name} was never stored").into()),
        })
        .unwrap();
    assert!(restored == full, "the rows differ from the full snapshot's");

    // A missing file is an error naming it.
    let mut broken = native.clone();
    let error = broken
        .materialize_native(&mut |_| Err("gone".into()))
        .unwrap_err()
        .to_string();
    assert!(error.contains("gone"), "{error}");
}
