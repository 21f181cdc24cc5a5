//! How a RocksDB instance is tuned: one memory budget for block cache and memtables (shared by
//! the instances of a slot, as Flink shares a slot's managed memory), LZ4 compression, and the
//! merge operator that appends list elements.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, DBCompressionType, MergeOperands, Options,
    WriteBufferManager,
};

/// The smallest budget that leaves RocksDB room to work (a few memtables and blocks).
const MIN_BUDGET: u64 = 8 << 20;

/// The budgets of the slots with open instances, by (job, slot).
type SlotBudgets = HashMap<(String, String), Weak<SharedMemory>>;

/// A memory budget: one LRU block cache, with the memtables charged to it through a write
/// buffer manager (up to half of it, Flink's default write-buffer ratio), so one number bounds
/// both. Several instances may share one.
pub struct SharedMemory {
    budget: usize,
    cache: Cache,
    write_buffers: WriteBufferManager,
}

impl SharedMemory {
    /// A budget of `budget` bytes (at least 8 MiB).
    pub fn new(budget: u64) -> Self {
        let budget = budget.max(MIN_BUDGET) as usize;
        let cache = Cache::new_lru_cache(budget);
        let write_buffers = WriteBufferManager::new_write_buffer_manager_with_cache(
            budget / 2,
            false,
            cache.clone(),
        );
        SharedMemory {
            budget,
            cache,
            write_buffers,
        }
    }

    /// The budget of the instances of `slot` in job `job`: created by the first instance,
    /// shared by the others while any of them is open.
    pub fn for_slot(job: &str, slot: &str, budget: u64) -> Arc<SharedMemory> {
        static SLOTS: OnceLock<Mutex<SlotBudgets>> = OnceLock::new();
        let mut slots = SLOTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.retain(|_, memory| memory.strong_count() > 0);
        let key = (job.to_owned(), slot.to_owned());
        if let Some(memory) = slots.get(&key).and_then(Weak::upgrade) {
            return memory;
        }
        let memory = Arc::new(SharedMemory::new(budget));
        slots.insert(key, Arc::downgrade(&memory));
        memory
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// What the block cache holds now, memtables charged to it included.
    pub fn usage(&self) -> usize {
        self.cache.get_usage()
    }
}

/// The options of one instance: bounded by a (possibly shared) memory budget, or unbounded
/// (RocksDB's own defaults per instance).
#[derive(Clone)]
pub struct RocksDbOptions {
    memory: Option<Arc<SharedMemory>>,
    /// One memtable's size (`None`: a quarter of the budget up to 64 MiB, or RocksDB's
    /// default when unbounded).
    write_buffer_size: Option<usize>,
}

/// Appends list elements: the operands' bytes after the existing value's (list rows are
/// concatenated element encodings).
fn append_elements(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let size = existing.map_or(0, <[u8]>::len) + operands.iter().map(<[u8]>::len).sum::<usize>();
    let mut merged = Vec::with_capacity(size);
    if let Some(existing) = existing {
        merged.extend_from_slice(existing);
    }
    for operand in operands {
        merged.extend_from_slice(operand);
    }
    Some(merged)
}

impl RocksDbOptions {
    /// Options holding block cache and memtables together to `budget` bytes (at least 8 MiB)
    /// for this instance alone.
    pub fn with_budget(budget: u64) -> Self {
        Self::shared(Arc::new(SharedMemory::new(budget)))
    }

    /// Options within `memory`, which other instances may share.
    pub fn shared(memory: Arc<SharedMemory>) -> Self {
        RocksDbOptions {
            memory: Some(memory),
            write_buffer_size: None,
        }
    }

    /// Options without a memory budget (RocksDB's defaults).
    pub fn unbounded() -> Self {
        RocksDbOptions {
            memory: None,
            write_buffer_size: None,
        }
    }

    /// These options with memtables of `bytes` each (within a budget, at most a quarter of
    /// it).
    pub fn with_write_buffer_size(mut self, bytes: u64) -> Self {
        self.write_buffer_size = Some(bytes.max(1) as usize);
        self
    }

    /// The budget in bytes (`None`: unbounded).
    pub fn budget(&self) -> Option<usize> {
        self.memory.as_ref().map(|m| m.budget)
    }

    /// What the block cache holds now, memtables charged to it included (shared with the
    /// other instances of the budget); 0 when unbounded.
    pub fn cache_usage(&self) -> usize {
        self.memory.as_ref().map_or(0, |m| m.usage())
    }

    /// The options of the database.
    pub(crate) fn db_options(&self) -> Options {
        let mut options = self.family_options();
        options.create_if_missing(true);
        if let Some(memory) = &self.memory {
            options.set_write_buffer_manager(&memory.write_buffers);
        }
        options.set_max_background_jobs(2);
        // Table readers outside the cache would escape the budget: keep few files open, and
        // index and filter blocks in the cache.
        options.set_max_open_files(512);
        options
    }

    /// The options of one state's column family.
    pub(crate) fn family_options(&self) -> Options {
        let mut options = Options::default();
        let mut table = BlockBasedOptions::default();
        if let Some(memory) = &self.memory {
            table.set_block_cache(&memory.cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_cache_index_and_filter_blocks_with_high_priority(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            // Index and filter in small partitions (Flink's partitioned index/filters for
            // bounded memory): a lookup loads one partition of a few KiB into the cache,
            // not a whole file's filter, which a small cache would evict and re-read (and
            // re-checksum) on every lookup.
            table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
            table.set_partition_filters(true);
            table.set_metadata_block_size(4096);
            table.set_pin_top_level_index_and_filter(true);
            // A memtable is at most a quarter of the budget, so flushes happen well within it.
            let wanted = self.write_buffer_size.unwrap_or(64 << 20);
            options.set_write_buffer_size((memory.budget / 4).min(wanted));
        } else if let Some(bytes) = self.write_buffer_size {
            options.set_write_buffer_size(bytes);
        }
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        options.set_compression_type(DBCompressionType::Lz4);
        options.set_max_write_buffer_number(2);
        options.set_merge_operator_associative("eddy-list-append", append_elements);
        options
    }
}
