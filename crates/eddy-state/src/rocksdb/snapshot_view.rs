//! Point-in-time views of an instance for the synchronous part of a snapshot: a RocksDB
//! checkpoint (memtables flushed, the live files hard-linked into a directory of their own),
//! opened read-only and scanned in the asynchronous part, on any thread, while the instance
//! goes on changing. The checkpoint directory is removed with the view.

use crate::{RowVisitor, StateError, StoreSnapshotView, StoreStateId};
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
}

impl CheckpointView {
    /// Checkpoints `db` (with `families`, opened with `options`) into `dir`, which must not
    /// exist yet.
    pub(crate) fn take(
        db: &DB,
        families: &[String],
        options: &RocksDbOptions,
        dir: std::path::PathBuf,
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
}
