//! Ingestion time: timestamps from the wall clock as elements enter, and event-time windows
//! over them.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::event_time::WithTimestamp;
use eddy_api::prelude::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap()
}

#[test]
fn elements_are_stamped_with_the_wall_clock_at_ingestion() {
    let before = now_ms();
    let env = common::env(2);
    let stamped = env
        .from_sequence(1, 5_000)
        .assign_timestamps_and_watermarks(WatermarkStrategy::for_ingestion_time())
        .process(WithTimestamp)
        .execute_and_collect("ingestion time")
        .unwrap();
    let after = now_ms();
    let mut values: Vec<u64> = stamped.iter().map(|(v, _)| *v).collect();
    values.sort();
    assert_eq!(values, (1..=5_000).collect::<Vec<_>>());
    for (value, timestamp) in &stamped {
        let timestamp = timestamp.unwrap_or_else(|| panic!("{value} has no timestamp"));
        assert!(
            (before..=after).contains(&timestamp),
            "{value}: {timestamp} outside [{before}, {after}]"
        );
    }
}

#[test]
fn event_time_windows_run_on_ingestion_time() {
    let env = common::env(2);
    let results = env
        .from_sequence(1, 3_000)
        .map(|v| (v % 3, v))
        .assign_timestamps_and_watermarks(WatermarkStrategy::for_ingestion_time())
        .key_by(|pair: &(u64, u64)| pair.0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(3_600)))
        .reduce(|a, b| (a.0, a.1 + b.1))
        .execute_and_collect("ingestion-time windows")
        .unwrap();
    // The run may straddle an hour boundary: add up each key's windows.
    let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
    for (key, sum) in results {
        *totals.entry(key).or_default() += sum;
    }
    let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
    for v in 1..=3_000u64 {
        *expected.entry(v % 3).or_default() += v;
    }
    assert_eq!(totals, expected);
}
