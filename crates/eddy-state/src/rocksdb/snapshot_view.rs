//! Point-in-time views of an instance for the synchronous part of a snapshot: a RocksDB
//! checkpoint (memtables flushed, the live files hard-linked into a directory of their own),
//! opened read-only and scanned in the asynchronous part, on any thread, while the instance
//! goes on changing. The checkpoint directory is removed with the view.

use crate::{
    NativeFiles, NativeState, RowVisitor, ScanControl, StateError, StateRow, StoreSnapshotView,
    StoreStateId,
};
use rocksdb::checkpoint::Checkpoint;
use rocksdb::{ReadOptions, DB};

use super::{store_error, visit_rows, InstanceDir, RocksDbOptions};

/// A checkpoint of one instance, opened on first read.
pub(crate) struct CheckpointView {
    /// The opened checkpoint (declared before `dir`, so closed before it is removed).
    db: Option<DB>,
    /// Column family names, by state id (as in the instance).
    families: Vec<String>,
    options: RocksDbOptions,
    dir: InstanceDir,
    /// The instance's folder name (unique within the process).
    instance: String,
}

impl CheckpointView {
    /// Checkpoints `db` (with `families`, opened with `options`) into `dir`, which must not
    /// exist yet.
    pub(crate) fn take(
        db: &DB,
        families: &[String],
        options: &RocksDbOptions,
        dir: std::path::PathBuf,
        instance: String,
    ) -> Result<Self, StateError> {
        let checkpoint = Checkpoint::new(db).map_err(store_error)?;
        checkpoint.create_checkpoint(&dir).map_err(|e| {
            store_error(format!(
                "cannot checkpoint the instance into {}: {e}",
                dir.display()
            ))
        })?;
        Ok(CheckpointView {
            db: None,
            families: families.to_vec(),
            options: options.clone(),
            dir: InstanceDir(dir),
            instance,
        })
    }

    fn db(&mut self) -> Result<&DB, StateError> {
        let db = match self.db.take() {
            Some(db) => db,
            None => {
                let families = self.families.iter().map(|name| {
                    rocksdb::ColumnFamilyDescriptor::new(name, self.options.family_options())
                });
                let mut options = self.options.db_options();
                options.create_if_missing(false);
                DB::open_cf_descriptors_read_only(&options, &self.dir.0, families, false).map_err(
                    |e| {
                        store_error(format!(
                            "cannot open the checkpoint in {}: {e}",
                            self.dir.0.display()
                        ))
                    },
                )?
            }
        };
        Ok(self.db.insert(db))
    }
}

impl StoreSnapshotView for CheckpointView {
    fn scan(&mut self, state: StoreStateId, visit: &mut RowVisitor<'_>) -> Result<(), StateError> {
        let name = self
            .families
            .get(state.0 as usize)
            .cloned()
            .ok_or_else(|| store_error(format!("unknown state id {}", state.0)))?;
        let db = self.db()?;
        let family = db
            .cf_handle(&name)
            .ok_or_else(|| store_error(format!("column family '{name}' is missing")))?;
        let mut rows = db.raw_iterator_cf_opt(family, ReadOptions::default());
        rows.seek_to_first();
        visit_rows(rows, visit)
    }

    fn native_files(&self) -> Option<NativeFiles> {
        let listing = std::fs::read_dir(&self.dir.0).ok()?;
        let mut files: Vec<String> = listing
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        files.sort_unstable();
        Some(NativeFiles {
            dir: self.dir.0.clone(),
            instance: self.instance.clone(),
            files,
            families: self.families.clone(),
        })
    }

    fn backend_name(&self) -> &'static str {
        "rocksdb"
    }
}

/// The rows of each of `states` from the RocksDB checkpoint in `dir` (a native snapshot's
/// files, fetched back), opened read-only.
pub(crate) fn read_checkpoint_rows(
    dir: &std::path::Path,
    states: &[NativeState],
) -> Result<Vec<Vec<StateRow>>, StateError> {
    let options = RocksDbOptions::unbounded();
    let mut db_options = options.db_options();
    db_options.create_if_missing(false);
    let families = DB::list_cf(&db_options, dir).map_err(|e| {
        store_error(format!(
            "cannot read the checkpoint's files in {}: {e}",
            dir.display()
        ))
    })?;
    let descriptors = families
        .iter()
        .map(|name| rocksdb::ColumnFamilyDescriptor::new(name, options.family_options()));
    let db =
        DB::open_cf_descriptors_read_only(&db_options, dir, descriptors, false).map_err(|e| {
            store_error(format!(
                "cannot open the checkpoint in {}: {e}",
                dir.display()
            ))
        })?;
    let mut all = Vec::with_capacity(states.len());
    for state in states {
        let family = db.cf_handle(&state.family).ok_or_else(|| {
            store_error(format!(
                "state '{}': column family '{}' is not in the checkpoint",
                state.name, state.family
            ))
        })?;
        let mut rows = db.raw_iterator_cf_opt(family, ReadOptions::default());
        rows.seek_to_first();
        let mut collected = Vec::new();
        visit_rows(rows, &mut |row, value| {
            collected.push((row.to_vec(), value.to_vec()));
            Ok(ScanControl::Continue)
        })?;
        all.push(collected);
    }
    Ok(all)
}
