//! RocksDB's own cleanup of state with a time-to-live: compactions drop rows whose values all
//! expired, and merging list appends drops expired elements.

use std::sync::Arc;

use eddy_state::rocksdb::{RocksDbOptions, RocksDbStore};
use eddy_state::{
    ManualTtlClock, OrderedStateStore, ScanControl, StoreStateId, TtlRowLayout, TtlRows,
};

const TTL: i64 = 100;

fn stamped(stamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut value = stamp.to_be_bytes().to_vec();
    value.extend_from_slice(payload);
    value
}

fn element(stamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut frame = stamp.to_be_bytes().to_vec();
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

fn rows(store: &RocksDbStore, state: StoreStateId) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rows = Vec::new();
    store
        .scan(state, &[], None, &mut |key, value| {
            rows.push((key.to_vec(), value.to_vec()));
            Ok(ScanControl::Continue)
        })
        .unwrap();
    rows
}

fn ttl_rows(clock: &ManualTtlClock, layout: TtlRowLayout, filter: bool) -> TtlRows {
    TtlRows {
        ttl_millis: TTL,
        layout,
        clock: Arc::new(clock.clone()),
        compaction_filter_query_time_after: filter.then_some(2),
    }
}

#[test]
fn compaction_drops_expired_values_and_keeps_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        RocksDbStore::open(dir.path(), "ttl", RocksDbOptions::with_budget(8 << 20)).unwrap();
    let clock = ManualTtlClock::new(0);
    let filtered = store
        .register_state(
            "filtered",
            Some(&ttl_rows(&clock, TtlRowLayout::Value, true)),
        )
        .unwrap();
    let unfiltered = store
        .register_state(
            "unfiltered",
            Some(&ttl_rows(&clock, TtlRowLayout::Value, false)),
        )
        .unwrap();
    // Rows 0..50 last accessed at 0, rows 50..100 at 60.
    let mut expected_left = Vec::new();
    for i in 0..100u8 {
        let stamp = if i < 50 { 0 } else { 60 };
        let key = [0, 0, i];
        for state in [filtered, unfiltered] {
            store.put(state, &key, &stamped(stamp, &[i])).unwrap();
        }
        if i >= 50 {
            expected_left.push((key.to_vec(), stamped(stamp, &[i])));
        }
    }
    clock.set(120);
    store.compact().unwrap();
    assert_eq!(rows(&store, filtered), expected_left);
    // Without the filter, every row stays until it is read.
    assert_eq!(rows(&store, unfiltered).len(), 100);
    clock.set(160);
    store.compact().unwrap();
    assert!(rows(&store, filtered).is_empty());
}

#[test]
fn merging_list_appends_drops_expired_elements_and_compaction_drops_dead_lists() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = RocksDbStore::open(
        dir.path(),
        "ttl-lists",
        RocksDbOptions::with_budget(8 << 20),
    )
    .unwrap();
    let clock = ManualTtlClock::new(0);
    let list = store
        .register_state("list", Some(&ttl_rows(&clock, TtlRowLayout::List, true)))
        .unwrap();
    let (mixed, dead) = ([0u8, 1, 1], [0u8, 1, 2]);
    store.put(list, &mixed, &element(0, b"old")).unwrap();
    store.append(list, &mixed, &element(50, b"mid")).unwrap();
    store.append(list, &mixed, &element(90, b"new")).unwrap();
    let mut all_dead = element(0, b"a");
    all_dead.extend(element(10, b"b"));
    store.put(list, &dead, &all_dead).unwrap();
    clock.set(140);
    store.compact().unwrap();
    // At 140: the element of 0 expired (0 + 100 <= 140), those of 50 and 90 live; the list
    // whose elements all expired is gone.
    let mut live = element(50, b"mid");
    live.extend(element(90, b"new"));
    assert_eq!(rows(&store, list), vec![(mixed.to_vec(), live)]);
}
