//! Eddy's embedded on-disk keyed-state backend (`state.backend.type: rocksdb`).
//!
//! Each keyed operator subtask gets a RocksDB instance of its own in a fresh directory under
//! `state.backend.rocksdb.localdir`, removed when the subtask ends. Every state is a column
//! family; rows are the byte layout of `eddy_state` (key group first, so a key-group
//! range is one scan). The memory of the instances of one job in one slot — block caches and
//! memtables — is held to the slot's budget (`state.backend.rocksdb.memory.fixed-per-slot`, or
//! the slot's share of `taskmanager.memory.managed.size`): they share one LRU cache of that
//! size, to which their memtables are charged through a shared write buffer manager. The write-ahead
//! log is off, as in Flink: durability comes from checkpoints, not from the local instance.

mod options;
mod snapshot_view;
mod ttl;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::RuntimeContext;
use crate::{
    OrderedStateStore, RowVisitor, ScanControl, StateBackendConfig, StateError, StoreSnapshotView,
    StoreStateId, TtlRows,
};
use rocksdb::{ColumnFamily, ReadOptions, WriteOptions, DB};

pub use options::{RocksDbOptions, SharedMemory};
pub(crate) use snapshot_view::read_checkpoint_rows;

/// Makes instance directory names unique within the process.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

fn store_error(error: impl std::fmt::Display) -> StateError {
    StateError::Store {
        backend: "rocksdb",
        message: error.to_string(),
    }
}

/// Visits the rows from the iterator's position on, until `visit` says stop.
fn visit_rows(
    mut rows: rocksdb::DBRawIterator<'_>,
    visit: &mut RowVisitor<'_>,
) -> Result<(), StateError> {
    while rows.valid() {
        let (Some(key), Some(value)) = (rows.key(), rows.value()) else {
            break;
        };
        if visit(key, value)? == ScanControl::Stop {
            return Ok(());
        }
        rows.next();
    }
    rows.status().map_err(store_error)
}

/// Removes the instance directory when the store is dropped (after the database, which is
/// declared before it and so dropped first).
struct InstanceDir(PathBuf);

impl Drop for InstanceDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), "could not remove a RocksDB directory: {e}");
        }
    }
}

/// The state of one keyed operator subtask in RocksDB.
pub struct RocksDbStore {
    db: DB,
    options: RocksDbOptions,
    write: WriteOptions,
    /// Column family names, by [`StoreStateId`].
    families: Vec<String>,
    dir: InstanceDir,
}

impl RocksDbStore {
    /// A new instance in a fresh directory under `parent`.
    pub fn open(parent: &Path, name: &str, options: RocksDbOptions) -> Result<Self, StateError> {
        let unique = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{name}-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            store_error(format!(
                "cannot create the directory {} (state.backend.rocksdb.localdir): {e}",
                dir.display()
            ))
        })?;
        let dir = InstanceDir(dir);
        let db = DB::open(&options.db_options(), &dir.0).map_err(store_error)?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksDbStore {
            db,
            options,
            write,
            families: Vec::new(),
            dir,
        })
    }

    /// The instance of the operator subtask `ctx` describes, as `config` sets it up.
    pub fn open_for_subtask(
        config: &StateBackendConfig,
        ctx: &RuntimeContext,
    ) -> Result<Self, StateError> {
        let parent = if config.local_dir.is_empty() {
            std::env::temp_dir().join("eddy-rocksdb")
        } else {
            PathBuf::from(&config.local_dir)
        };
        let operator: String = ctx
            .operator_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        let name = format!("job_{}_op_{operator}_{}", ctx.job_id, ctx.subtask_index);
        let options = match (config.memory_budget, &config.slot) {
            (Some(budget), Some(slot)) => RocksDbOptions::shared(SharedMemory::for_slot(
                &ctx.job_id.to_string(),
                slot,
                budget.bytes(),
            )),
            (Some(budget), None) => RocksDbOptions::with_budget(budget.bytes()),
            (None, _) => RocksDbOptions::unbounded(),
        }
        .with_write_buffer_size(config.write_buffer_size.bytes());
        Self::open(&parent, &name, options)
    }

    /// Where the instance keeps its files.
    pub fn path(&self) -> &Path {
        &self.dir.0
    }

    /// Bytes the instance holds in memory now: the block cache's use, which includes the
    /// memtables charged to it.
    pub fn memory_usage(&self) -> usize {
        self.options.cache_usage()
    }

    /// Bytes of the live files on disk (SST files of every column family).
    pub fn disk_usage(&self) -> Result<u64, StateError> {
        let files = self.db.live_files().map_err(store_error)?;
        Ok(files.iter().map(|f| f.size as u64).sum())
    }

    /// Flushes every state's memtable and compacts all its files: expired rows of states with
    /// a time-to-live are dropped on the way (for tools and tests; RocksDB compacts by itself
    /// as files accumulate).
    pub fn compact(&mut self) -> Result<(), StateError> {
        for name in &self.families {
            let family = self
                .db
                .cf_handle(name)
                .ok_or_else(|| store_error(format!("column family '{name}' is missing")))?;
            self.db.flush_cf(family).map_err(store_error)?;
            self.db
                .compact_range_cf(family, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    fn family(&self, state: StoreStateId) -> Result<&ColumnFamily, StateError> {
        let name = self
            .families
            .get(state.0 as usize)
            .ok_or_else(|| store_error(format!("unknown state id {}", state.0)))?;
        self.db
            .cf_handle(name)
            .ok_or_else(|| store_error(format!("column family '{name}' is missing")))
    }
}

impl OrderedStateStore for RocksDbStore {
    fn backend_name(&self) -> &'static str {
        "rocksdb"
    }

    fn snapshot_view(&mut self) -> Result<Box<dyn StoreSnapshotView>, StateError> {
        let unique = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let mut dir = self.dir.0.clone().into_os_string();
        dir.push(format!("-snapshot-{unique}"));
        let instance = self
            .dir
            .0
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let view = snapshot_view::CheckpointView::take(
            &self.db,
            &self.families,
            &self.options,
            PathBuf::from(dir),
            instance,
        )?;
        Ok(Box::new(view))
    }

    fn register_state(
        &mut self,
        name: &str,
        ttl: Option<&TtlRows>,
    ) -> Result<StoreStateId, StateError> {
        if let Some(index) = self.families.iter().position(|f| f == name) {
            return Ok(StoreStateId(index as u32));
        }
        let mut options = self.options.family_options();
        if let Some(ttl) = ttl {
            ttl::clean_up_in_compaction(&mut options, ttl);
        }
        self.db.create_cf(name, &options).map_err(store_error)?;
        self.families.push(name.to_owned());
        Ok(StoreStateId(self.families.len() as u32 - 1))
    }

    fn get(
        &self,
        state: StoreStateId,
        key: &[u8],
        value: &mut Vec<u8>,
    ) -> Result<bool, StateError> {
        value.clear();
        match self
            .db
            .get_pinned_cf(self.family(state)?, key)
            .map_err(store_error)?
        {
            Some(found) => {
                value.extend_from_slice(&found);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn put(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.db
            .put_cf_opt(self.family(state)?, key, value, &self.write)
            .map_err(store_error)
    }

    fn append(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.db
            .merge_cf_opt(self.family(state)?, key, value, &self.write)
            .map_err(store_error)
    }

    fn delete(&mut self, state: StoreStateId, key: &[u8]) -> Result<(), StateError> {
        self.db
            .delete_cf_opt(self.family(state)?, key, &self.write)
            .map_err(store_error)
    }

    fn scan(
        &self,
        state: StoreStateId,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut RowVisitor<'_>,
    ) -> Result<(), StateError> {
        let mut read = ReadOptions::default();
        if let Some(to) = to {
            read.set_iterate_upper_bound(to.to_vec());
        }
        let mut rows = self.db.raw_iterator_cf_opt(self.family(state)?, read);
        rows.seek(from);
        visit_rows(rows, visit)
    }

    fn delete_range(
        &mut self,
        state: StoreStateId,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), StateError> {
        self.db
            .delete_range_cf_opt(self.family(state)?, from, to, &self.write)
            .map_err(store_error)
    }
}
