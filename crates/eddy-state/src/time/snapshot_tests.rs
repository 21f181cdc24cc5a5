//! Timers through snapshots: heap and store queues snapshot the same rows, and restore them
//! into either kind at another parallelism with exactly the timers of the new key groups.

use crate::tests::MemoryStore;
use crate::time::{InternalTimerService, ProcessingTimeService};
use crate::{KeyedStateBackend, KeyedStateSnapshot, StateBackendConfig};
use eddy_core::config::TimerServiceFactory;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};

const MAX_PARALLELISM: u32 = 64;

/// A timer service with its timers on the heap or in a store.
fn service(in_store: bool, range: KeyGroupRange) -> InternalTimerService<u32, u8> {
    let mut timers = InternalTimerService::new(ProcessingTimeService::new());
    if in_store {
        let backend: KeyedStateBackend<u32> =
            KeyedStateBackend::in_store(Box::new(MemoryStore::default()), MAX_PARALLELISM);
        let config = StateBackendConfig {
            timer_service: TimerServiceFactory::RocksDb,
            ..StateBackendConfig::default()
        };
        timers
            .keep_in_state_store(&backend, &config, range)
            .unwrap();
    }
    timers
}

/// Timers as (time, key, namespace).
type Timers = Vec<(i64, u32, u8)>;

/// Pops every event-time timer and processing-time timer, in firing order.
fn drain(timers: &mut InternalTimerService<u32, u8>) -> (Timers, Timers) {
    timers.advance_watermark(i64::MAX);
    let mut event = Vec::new();
    while let Some(timer) = timers.pop_event_time_due().unwrap() {
        event.push(timer);
    }
    let mut processing = Vec::new();
    while let Some(timer) = timers.pop_processing_time_due(i64::MAX).unwrap() {
        processing.push(timer);
    }
    event.sort_unstable();
    processing.sort_unstable();
    (event, processing)
}

#[test]
fn timers_restore_into_either_queue_at_another_parallelism() {
    let everything = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    // The reference: timers of keys 0..100 at times derived from the key; a few deleted.
    let mut event_timers = Vec::new();
    let mut processing_timers = Vec::new();
    for key in 0..100u32 {
        event_timers.push((i64::from(key % 7) * 10, key, (key % 3) as u8));
        event_timers.push((i64::from(key) - 50, key, 0));
        processing_timers.push((1_000 + i64::from(key % 5), key, 1));
    }
    for from_store in [false, true] {
        let mut timers = service(from_store, everything);
        for &(time, key, ns) in &event_timers {
            timers.register_event_time_timer(&key, &ns, time);
        }
        for &(time, key, ns) in &processing_timers {
            timers.register_processing_time_timer(&key, &ns, time);
        }
        timers.register_event_time_timer(&1000, &9, 5);
        timers.delete_event_time_timer(&1000, &9, 5);
        timers.check().unwrap();
        let mut snapshot = KeyedStateSnapshot::for_key::<u32>(MAX_PARALLELISM);
        timers.snapshot_into(&mut snapshot).unwrap();
        let snapshot = KeyedStateSnapshot::from_bytes(&snapshot.to_bytes().unwrap()).unwrap();
        for into_store in [false, true] {
            for parallelism in [1u32, 3] {
                for subtask in 0..parallelism {
                    let range = KeyGroupRange::for_subtask(MAX_PARALLELISM, parallelism, subtask);
                    let mine = |timers: &[(i64, u32, u8)]| {
                        let mut mine: Vec<(i64, u32, u8)> = timers
                            .iter()
                            .copied()
                            .filter(|(_, key, _)| {
                                range.contains(
                                    KeyHasher::new().key_group(key, MAX_PARALLELISM).unwrap(),
                                )
                            })
                            .collect();
                        mine.sort_unstable();
                        mine
                    };
                    let mut restored = service(into_store, range);
                    restored
                        .restore(std::slice::from_ref(&snapshot), range)
                        .unwrap();
                    let want_wakeup = mine(&processing_timers).first().map(|t| t.0);
                    assert_eq!(restored.clock().next_wakeup(), want_wakeup);
                    assert_eq!(
                        drain(&mut restored),
                        (mine(&event_timers), mine(&processing_timers)),
                        "store {from_store} -> {into_store}, subtask {subtask}/{parallelism}"
                    );
                }
            }
        }
    }
}

#[test]
fn timers_of_another_namespace_type_are_refused() {
    let everything = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    let mut timers = service(false, everything);
    timers.register_event_time_timer(&1, &0, 5);
    let mut snapshot = KeyedStateSnapshot::for_key::<u32>(MAX_PARALLELISM);
    timers.snapshot_into(&mut snapshot).unwrap();
    let mut other: InternalTimerService<u32, String> =
        InternalTimerService::new(ProcessingTimeService::new());
    let err = other
        .restore(std::slice::from_ref(&snapshot), everything)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Timers<u8>") && err.contains("Timers<alloc::string::String>"),
        "{err}"
    );
}
