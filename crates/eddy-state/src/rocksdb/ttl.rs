//! State time-to-live in RocksDB: a compaction filter drops rows whose values all expired,
//! and the merge operator of list rows drops expired elements while it concatenates appends
//! (RocksDB hands the results of merges to no compaction filter, so lists built by appends
//! are cleaned there instead).

use std::ffi::{CStr, CString};

use crate::{TtlRowLayout, TtlRows};
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::{MergeOperands, Options};

/// Sets up `options` (of the column family of a state with a time-to-live) to clean expired
/// rows in compactions, if the state's cleanup asks for it.
pub(crate) fn clean_up_in_compaction(options: &mut Options, rows: &TtlRows) {
    let Some(query_time_after) = rows.compaction_filter_query_time_after else {
        return;
    };
    options.set_compaction_filter_factory(ExpiryFilterFactory {
        rows: rows.clone(),
        query_time_after,
        name: CString::from(c"eddy-ttl-filter-factory"),
    });
    if rows.layout == TtlRowLayout::List {
        let rows = rows.clone();
        options.set_merge_operator_associative(
            "eddy-ttl-list-append",
            move |_key: &[u8], existing: Option<&[u8]>, operands: &MergeOperands| {
                let now = rows.clock.current_timestamp();
                let mut merged = Vec::new();
                for part in existing.into_iter().chain(operands) {
                    rows.append_live_elements(part, now, &mut merged);
                }
                Some(merged)
            },
        );
    }
}

/// Makes one [`ExpiryFilter`] per compaction (a filter made by a factory is used by one
/// thread only).
struct ExpiryFilterFactory {
    rows: TtlRows,
    query_time_after: u64,
    name: CString,
}

impl CompactionFilterFactory for ExpiryFilterFactory {
    type Filter = ExpiryFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> ExpiryFilter {
        ExpiryFilter {
            now: self.rows.clock.current_timestamp(),
            rows: self.rows.clone(),
            query_time_after: self.query_time_after,
            since_query: 0,
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// Drops the rows whose values all expired, re-reading the clock every `query_time_after`
/// rows (as Flink's filter does, so long compactions see time pass).
struct ExpiryFilter {
    rows: TtlRows,
    now: i64,
    query_time_after: u64,
    since_query: u64,
}

impl CompactionFilter for ExpiryFilter {
    fn filter(&mut self, _level: u32, _key: &[u8], value: &[u8]) -> Decision {
        self.since_query += 1;
        if self.since_query >= self.query_time_after {
            self.now = self.rows.clock.current_timestamp();
            self.since_query = 0;
        }
        if self.rows.all_expired(value, self.now) {
            Decision::Remove
        } else {
            Decision::Keep
        }
    }

    fn name(&self) -> &CStr {
        c"eddy-ttl-filter"
    }
}
