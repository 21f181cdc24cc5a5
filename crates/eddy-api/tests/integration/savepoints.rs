//! Savepoints: one taken from a running job restores at another parallelism; one that cannot
//! be taken says why; stop-with-savepoint (with and without drain) and resuming at 1 → 3 → 2
//! across state backends, for keyed state and for windows, from a moved folder.

use std::time::{Duration, Instant};

use eddy_api::prelude::*;

use crate::common::checkpointed::{CheckpointedCollectSink, FailOnce};
use crate::common::counting::{add_counting_job, checkpointed_env, reference, run_counting_job};
use crate::common::{self, bounded};

#[test]
fn a_savepoint_of_a_running_job_restores_at_another_parallelism() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let dir = tempfile::tempdir().unwrap();
        let savepoints = tempfile::tempdir().unwrap();
        // Periodic checkpoints out of the way: only the savepoint is taken.
        let env = checkpointed_env(dir.path(), 2, 0);
        env.set_config("execution.checkpointing.interval", "1 h");
        env.set_config("state.savepoints.dir", savepoints.path().to_str().unwrap());
        let probe = FailOnce::never();
        let first_output = add_counting_job(&env, RECORDS, 4_000, probe.clone());
        let client = env.execute_async("savepointed").unwrap();
        let deadline = Instant::now() + common::WATCHDOG;
        while probe.records() < 100 {
            assert!(Instant::now() < deadline, "the job does not run");
            std::thread::sleep(Duration::from_millis(2));
        }
        // No folder named: state.savepoints.dir.
        let savepoint = client.trigger_savepoint(None).unwrap();
        let folder = std::path::Path::new(&savepoint);
        assert_eq!(folder.parent(), Some(savepoints.path()));
        let name = folder.file_name().unwrap().to_str().unwrap();
        let prefix = format!("savepoint-{}-", &client.job_id().to_string()[..6]);
        assert!(name.starts_with(&prefix), "{name}");
        assert!(folder.join("_metadata").exists());
        let seen_at_savepoint = probe.records();
        client.cancel().unwrap();
        assert!(client.get_job_execution_result().is_err());
        assert!(first_output.lock().unwrap().is_empty());
        // The cancelled job's end leaves the savepoint alone.
        assert!(folder.join("_metadata").exists());

        // A new job at parallelism 3 starts from the savepoint and ends with every count
        // exactly once.
        let env = checkpointed_env(dir.path(), 3, 0);
        env.set_config("execution.state-recovery.path", &savepoint);
        let probe = FailOnce::never();
        let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, probe.clone());
        let stats = result.unwrap().checkpoints.unwrap();
        assert_eq!(stats.restored, 1);
        let restored = stats.latest_restored.unwrap();
        assert!(
            restored.is_savepoint && restored.location == savepoint,
            "{restored:?}"
        );
        assert_eq!(output, reference(RECORDS));
        assert!(
            probe.records() <= RECORDS - seen_at_savepoint.min(100),
            "the savepoint's records are not processed again ({} of {RECORDS})",
            probe.records()
        );
    });
}

#[test]
fn a_savepoint_needs_checkpointing_and_a_folder() {
    bounded(|| {
        // Without a folder (no argument, no state.savepoints.dir) it is refused by name.
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 1, 0);
        env.from_generator(Some(1_000), Some(1_000), |i| i)
            .add_sink(eddy_api::connectors::DiscardingSink);
        let client = env.execute_async("no folder").unwrap();
        let error = client.trigger_savepoint(None).unwrap_err().to_string();
        assert!(error.contains("state.savepoints.dir"), "{error}");
        client.cancel().unwrap();
        let _ = client.get_job_execution_result();

        // Without checkpointing there is no coordinator to take it.
        let env = common::env(1);
        env.from_generator(Some(1_000), Some(1_000), |i| i)
            .add_sink(eddy_api::connectors::DiscardingSink);
        let client = env.execute_async("unchecked").unwrap();
        let deadline = Instant::now() + common::WATCHDOG;
        let error = loop {
            let error = client
                .trigger_savepoint(Some(dir.path().to_str().unwrap()))
                .unwrap_err()
                .to_string();
            // Until its slots are allocated the job is not running yet.
            if !error.contains("not running") {
                break error;
            }
            assert!(Instant::now() < deadline, "{error}");
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(
            error.contains("execution.checkpointing.interval"),
            "{error}"
        );
        client.cancel().unwrap();
        let _ = client.get_job_execution_result();
    });
}

/// One run of the counting job at `parallelism` on `backend`, from `restore` if given, over a
/// generator emitting `RECORDS` at 4 000/s: stopped with a savepoint into `savepoints` once
/// it counted `stop_after` records (it must then finish), or run to its end. Returns the
/// savepoint's folder, if stopped, and what the sink handed over.
fn counting_run(
    dir: &std::path::Path,
    savepoints: &std::path::Path,
    (parallelism, backend): (u32, &str),
    restore: Option<&str>,
    stop_after: Option<u64>,
) -> (Option<String>, Vec<(u64, u64)>) {
    const RECORDS: u64 = 4_000;
    let env = checkpointed_env(dir, parallelism, 0);
    env.set_config("state.backend.type", backend);
    env.set_config("execution.checkpointing.interval", "1 h");
    if let Some(restore) = restore {
        env.set_config("execution.state-recovery.path", restore);
    }
    let probe = FailOnce::never();
    let published = add_counting_job(&env, RECORDS, 4_000, probe.clone());
    let client = env.execute_async("stopped").unwrap();
    let savepoint = stop_after.map(|n| {
        let deadline = Instant::now() + common::WATCHDOG;
        while probe.records() < n {
            assert!(Instant::now() < deadline, "the job does not run");
            std::thread::sleep(Duration::from_millis(2));
        }
        client
            .stop_with_savepoint(Some(savepoints.to_str().unwrap()), false)
            .unwrap()
    });
    let result = client
        .get_job_execution_result()
        .unwrap_or_else(|e| panic!("a stopped job finishes: {e}"));
    assert_eq!(result.stopped_with_savepoint, savepoint);
    let mut output = published.lock().unwrap().clone();
    output.sort_unstable();
    (savepoint, output)
}

#[test]
fn stop_with_savepoint_and_restore_at_1_then_3_then_2_across_backends_is_exactly_once() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let savepoints = tempfile::tempdir().unwrap();
        let backends = common::state_backends();
        let (first, other) = (backends[0], backends[backends.len() - 1]);
        let (one, out_one) =
            counting_run(dir.path(), savepoints.path(), (1, first), None, Some(500));
        let one = one.unwrap();
        let (two, out_two) = counting_run(
            dir.path(),
            savepoints.path(),
            (3, other),
            Some(&one),
            Some(500),
        );
        let two = two.unwrap();
        let (_, out_three) =
            counting_run(dir.path(), savepoints.path(), (2, first), Some(&two), None);
        // The sink keeps what it collected in its state: each stopped run handed over what
        // came before its savepoint, and the last run everything, each count exactly once.
        let all = reference(4_000);
        assert_eq!(out_three, all);
        for (stopped, output) in [("first", &out_one), ("second", &out_two)] {
            assert!(
                output.len() >= 500 && output.len() < all.len(),
                "the {stopped} run stopped part-way ({} records)",
                output.len()
            );
            assert!(output.iter().all(|r| all.binary_search(r).is_ok()));
        }
        assert!(out_one.len() < out_two.len());
        // Both savepoints are kept.
        assert_eq!(std::fs::read_dir(savepoints.path()).unwrap().count(), 2);
    });
}

/// Counts the records passing through (the window tests' progress probe).
#[derive(Clone)]
struct Probe(FailOnce);

impl<T: Data> MapFunction<T, T> for Probe {
    fn map(&mut self, value: T) -> FnResult<T> {
        self.0.check()?;
        Ok(value)
    }
}

/// Records of the window tests: key `i % 3`, event time `i` ms.
const WINDOW_RECORDS: u64 = 4_000;

/// `(key, window start, count)` of 100 ms tumbling windows over the first `records` records,
/// every window fired (the last ones possibly partial).
fn window_counts(records: u64) -> Vec<(u64, i64, u64)> {
    let mut counts: std::collections::BTreeMap<(u64, i64), u64> = Default::default();
    for i in 0..records {
        let t = i as i64;
        *counts.entry((i % 3, t - t.rem_euclid(100))).or_default() += 1;
    }
    counts.into_iter().map(|((k, w), c)| (k, w, c)).collect()
}

/// Counts per key in 100 ms event-time tumbling windows at `parallelism` on `backend`, from
/// `restore` if given; stopped with a savepoint (drained if `drain`) after about `stop_after`
/// records, or run to the end. Returns the savepoint and the sorted `(key, window start,
/// count)` rows.
fn window_run(
    dir: &std::path::Path,
    (parallelism, backend): (u32, &str),
    restore: Option<&str>,
    stop: Option<(u64, bool)>,
) -> (Option<String>, Vec<(u64, i64, u64)>) {
    let env = checkpointed_env(dir, parallelism, 0);
    env.set_config("state.backend.type", backend);
    env.set_config("execution.checkpointing.interval", "1 h");
    if let Some(restore) = restore {
        env.set_config("execution.state-recovery.path", restore);
    }
    let (sink, published) = CheckpointedCollectSink::<(u64, i64, u64)>::new();
    let probe = FailOnce::never();
    env.from_generator(Some(WINDOW_RECORDS), Some(4_000), |i| i)
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|i: &u64, _| *i as i64),
        )
        .map_function(Probe(probe.clone()))
        .map(|i: u64| (i % 3, i as i64 - (i as i64).rem_euclid(100), 1u64))
        .key_by(|r: &(u64, i64, u64)| r.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
        .reduce(|a, b| (a.0, a.1, a.2 + b.2))
        .add_sink(sink);
    let client = env.execute_async("windows").unwrap();
    let savepoint = stop.map(|(after, drain)| {
        let deadline = Instant::now() + common::WATCHDOG;
        while probe.records() < after {
            assert!(Instant::now() < deadline, "the job does not run");
            std::thread::sleep(Duration::from_millis(2));
        }
        client
            .stop_with_savepoint(Some(dir.join("savepoints").to_str().unwrap()), drain)
            .unwrap()
    });
    client.get_job_execution_result().unwrap();
    let mut output = published.lock().unwrap().clone();
    output.sort_unstable();
    (savepoint, output)
}

#[test]
fn stop_with_drain_fires_every_window_and_without_it_the_windows_wait_in_the_savepoint() {
    bounded(|| {
        // With drain: the final watermark before the savepoint fires every window, the last
        // ones partial, over exactly the records emitted before it.
        let dir = tempfile::tempdir().unwrap();
        let heap = common::state_backends()[0];
        let (_, drained) = window_run(dir.path(), (2, heap), None, Some((1_500, true)));
        let emitted: u64 = drained.iter().map(|r| r.2).sum();
        assert!(
            (1_500..WINDOW_RECORDS).contains(&emitted),
            "stopped part-way ({emitted})"
        );
        assert_eq!(drained, window_counts(emitted));

        // Without: only windows the watermark had passed fired; the open ones are in the
        // savepoint, and the restored job completes them, each window exactly once.
        let dir = tempfile::tempdir().unwrap();
        let (savepoint, stopped) = window_run(dir.path(), (2, heap), None, Some((1_500, false)));
        let all = window_counts(WINDOW_RECORDS);
        assert!(!stopped.is_empty() && stopped.len() < all.len());
        assert!(
            stopped.iter().all(|r| all.binary_search(r).is_ok()),
            "no partial window"
        );
        let (_, finished) = window_run(dir.path(), (2, heap), savepoint.as_deref(), None);
        assert_eq!(finished, all);
    });
}

#[test]
fn windows_stopped_and_resumed_at_1_then_3_then_2_across_backends_fire_exactly_once() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let backends = common::state_backends();
        let (first, other) = (backends[0], backends[backends.len() - 1]);
        let (one, _) = window_run(dir.path(), (1, first), None, Some((1_000, false)));
        // The savepoint folder moves before it is restored from.
        let moved = dir.path().join("moved-savepoint");
        std::fs::rename(one.unwrap(), &moved).unwrap();
        let (two, _) = window_run(
            dir.path(),
            (3, other),
            Some(moved.to_str().unwrap()),
            Some((1_000, false)),
        );
        let (_, finished) = window_run(dir.path(), (2, first), two.as_deref(), None);
        assert_eq!(finished, window_counts(WINDOW_RECORDS));
    });
}
