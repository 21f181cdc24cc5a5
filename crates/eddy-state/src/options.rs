//! How a RocksDB instance is tuned: one memory budget for block cache and memtables, LZ4
//! compression, and the merge operator that appends list elements.

use rocksdb::{
    BlockBasedOptions, Cache, DBCompressionType, MergeOperands, Options, WriteBufferManager,
};

/// The smallest budget that leaves RocksDB room to work (a few memtables and blocks).
const MIN_BUDGET: u64 = 8 << 20;

/// The options of one instance, with the cache and write buffer manager that hold its memory
/// to the budget.
pub struct RocksDbOptions {
    budget: usize,
    cache: Cache,
    write_buffers: WriteBufferManager,
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
    /// Options holding block cache and memtables together to `budget` bytes (at least 8 MiB):
    /// memtables may take half of it, as Flink's default write-buffer ratio.
    pub fn with_budget(budget: u64) -> Self {
        let budget = budget.max(MIN_BUDGET) as usize;
        let cache = Cache::new_lru_cache(budget);
        let write_buffers = WriteBufferManager::new_write_buffer_manager_with_cache(
            budget / 2,
            false,
            cache.clone(),
        );
        RocksDbOptions {
            budget,
            cache,
            write_buffers,
        }
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// What the block cache holds now, memtables charged to it included.
    pub fn cache_usage(&self) -> usize {
        self.cache.get_usage()
    }

    /// The options of the database.
    pub(crate) fn db_options(&self) -> Options {
        let mut options = self.family_options();
        options.create_if_missing(true);
        options.set_write_buffer_manager(&self.write_buffers);
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
        table.set_block_cache(&self.cache);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        options.set_compression_type(DBCompressionType::Lz4);
        // A memtable is at most a quarter of the budget, so flushes happen well within it.
        options.set_write_buffer_size((self.budget / 4).min(64 << 20));
        options.set_max_write_buffer_number(2);
        options.set_merge_operator_associative("eddy-list-append", append_elements);
        options
    }
}
