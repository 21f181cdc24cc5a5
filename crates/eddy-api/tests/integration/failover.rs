//! Recovery from failures: a subtask fails part-way, the restart strategy restarts the job
//! from its latest completed checkpoint, the sources rewind, and the exactly-once output
//! equals the output of a run without failure. Also: the restart strategies' limits, and a
//! new job started from a retained checkpoint (`execution.state-recovery.path`, the CLI's
//! `-s`) at another parallelism, and one whose checkpoint holds state it no longer claims (the
//! CLI's `-n`).

use std::time::{Duration, Instant};

use eddy_api::prelude::*;

use crate::common::checkpointed::{CheckpointedCollectSink, FailOnce};
use crate::common::{self, bounded};

const KEYS: u64 = 7;

/// `(key, running count of the key)` after each record of `0..records`, sorted.
fn reference(records: u64) -> Vec<(u64, u64)> {
    let mut counts = [0u64; KEYS as usize];
    let mut out: Vec<(u64, u64)> = (0..records)
        .map(|i| {
            let key = i % KEYS;
            counts[key as usize] += 1;
            (key, counts[key as usize])
        })
        .collect();
    out.sort_unstable();
    out
}

/// A running count per key in keyed state; `probe` may fail it.
#[derive(Clone)]
struct RunningCount {
    count: ValueStateDescriptor<u64>,
    probe: FailOnce,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for RunningCount {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, (u64, u64)>,
    ) -> FnResult<()> {
        self.probe.check()?;
        let mut count = ctx.state().value(&self.count)?;
        let next = count.value()?.unwrap_or(0) + 1;
        count.update(next)?;
        out.collect((value % KEYS, next));
        Ok(())
    }

    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        self.probe.opened();
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> FnResult<()> {
        self.probe.checkpoint_completed()
    }
}

/// The environment of the failover tests: checkpoints every 20 ms into `dir`, fixed-delay
/// restarts 10 ms apart.
fn checkpointed_env(
    dir: &std::path::Path,
    parallelism: u32,
    attempts: u32,
) -> StreamExecutionEnvironment {
    let env = common::env(parallelism);
    env.enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_storage(dir.to_str().unwrap())
        .set_config("restart-strategy.type", "fixed-delay")
        .set_config(
            "restart-strategy.fixed-delay.attempts",
            &attempts.to_string(),
        )
        .set_config("restart-strategy.fixed-delay.delay", "10 ms");
    env
}

/// generator(records, rate) → key_by → running count (which `probe` may fail) → checkpointed
/// collect sink. Returns the job's outcome and what the sink handed over.
fn run_counting_job(
    env: &StreamExecutionEnvironment,
    records: u64,
    rate: u64,
    probe: FailOnce,
) -> (Result<JobExecutionResult, JobError>, Vec<(u64, u64)>) {
    let (sink, published) = CheckpointedCollectSink::new();
    env.from_generator(Some(records), Some(rate), |i| i)
        .key_by(|i: &u64| i % KEYS)
        .process(RunningCount {
            count: ValueStateDescriptor::new("count"),
            probe,
        })
        .add_sink(sink);
    let result = env.execute("failover");
    let mut output = published.lock().unwrap().clone();
    output.sort_unstable();
    (result, output)
}

#[test]
fn a_failed_subtask_restarts_from_the_latest_checkpoint_and_the_output_is_exactly_once() {
    bounded(|| {
        const RECORDS: u64 = 6_000;
        for parallelism in [1, 2] {
            let per_subtask = RECORDS / u64::from(parallelism);
            // Mid-stream, and near the end (the sources may have finished by then).
            for at in [per_subtask / 2, per_subtask - 20] {
                let dir = tempfile::tempdir().unwrap();
                let env = checkpointed_env(dir.path(), parallelism, 3);
                // At record `at` or, if no checkpoint completed yet (a slow backend), with the
                // first record or completion after that.
                let probe = FailOnce::at_after_a_checkpoint(at);
                let (result, output) = run_counting_job(&env, RECORDS, 20_000, probe.clone());
                result.unwrap_or_else(|e| panic!("p={parallelism} at={at}: {e}"));
                assert_eq!(probe.failures(), 1, "p={parallelism} at={at}");
                // Restored, not started over: what the checkpoint covered was not seen again.
                let (seen, before) = (probe.records(), probe.records_before_restart());
                assert!(
                    before < seen && seen - before < RECORDS,
                    "p={parallelism} at={at}: {seen} records processed, {before} before the restart"
                );
                assert_eq!(output, reference(RECORDS), "p={parallelism} at={at}");
                // A finished job deletes its checkpoints.
                let left: Vec<_> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .flat_map(|job| std::fs::read_dir(job.unwrap().path()).unwrap())
                    .collect();
                assert!(left.is_empty(), "{left:?}");
            }
        }
    });
}

#[test]
fn without_a_restart_strategy_the_first_failure_fails_the_job_with_its_root_cause() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 2, 3);
        env.set_config("restart-strategy.type", "none");
        let (result, _) = run_counting_job(&env, 4_000, 40_000, FailOnce::at(100));
        let error = result.unwrap_err().to_string();
        assert!(error.contains("injected failure at record 100"), "{error}");
        assert!(error.contains("/2)"), "names the subtask: {error}");
    });
}

#[test]
fn a_job_that_keeps_failing_fails_once_the_attempts_are_used_up() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 1, 2);
        let probe = FailOnce::always_at(50);
        let (result, output) = run_counting_job(&env, 4_000, 40_000, probe.clone());
        let error = result.unwrap_err().to_string();
        assert!(error.contains("injected failure at record 50"), "{error}");
        // The first run and two restarts each failed.
        assert_eq!(probe.failures(), 3);
        assert!(output.is_empty());
    });
}

/// Runs generator → key_by → running count (with `uid`, if given) → checkpointed sink at
/// parallelism 2 (on `backend`, else the tests' default) until checkpoint 2 is complete,
/// cancels it, and returns its job's checkpoint folder (the checkpoints are retained).
fn cancelled_run_with_retained_checkpoints(
    dir: &std::path::Path,
    records: u64,
    uid: Option<&str>,
    backend: Option<&str>,
) -> std::path::PathBuf {
    let env = checkpointed_env(dir, 2, 0);
    if let Some(backend) = backend {
        env.set_config("state.backend.type", backend);
    }
    env.set_config(
        "execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION",
    );
    let (sink, first_output) = CheckpointedCollectSink::<(u64, u64)>::new();
    let counted = env
        .from_generator(Some(records), Some(4_000), |i| i)
        .key_by(|i: &u64| i % KEYS)
        .process(RunningCount {
            count: ValueStateDescriptor::new("count"),
            probe: FailOnce::never(),
        });
    let counted = match uid {
        Some(uid) => counted.uid(uid),
        None => counted,
    };
    counted.add_sink(sink);
    let client = env.execute_async("first").unwrap();
    let job_folder = dir.join(client.job_id().to_string());
    let deadline = Instant::now() + common::WATCHDOG;
    while !job_folder.join("chk-2").join("_metadata").exists() {
        assert!(Instant::now() < deadline, "no checkpoint 2");
        std::thread::sleep(Duration::from_millis(5));
    }
    client.cancel().unwrap();
    assert!(client.get_job_execution_result().is_err());
    assert!(
        first_output.lock().unwrap().is_empty(),
        "a cancelled sink publishes nothing"
    );
    job_folder
}

#[test]
fn a_new_job_starts_from_a_retained_checkpoint_at_another_parallelism() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let dir = tempfile::tempdir().unwrap();
        let job_folder = cancelled_run_with_retained_checkpoints(dir.path(), RECORDS, None, None);

        // The second run restores the job's latest checkpoint at parallelism 3.
        let env = checkpointed_env(dir.path(), 3, 0);
        env.set_config(
            "execution.state-recovery.path",
            &format!("file://{}", job_folder.display()),
        );
        let probe = FailOnce::never();
        let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, probe.clone());
        result.unwrap();
        assert_eq!(output, reference(RECORDS));
        assert!(
            probe.records() < RECORDS,
            "the checkpoint's records are not processed again"
        );
    });
}

#[test]
fn state_of_an_operator_the_job_no_longer_has_fails_the_start_unless_allowed() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let dir = tempfile::tempdir().unwrap();
        let job_folder = cancelled_run_with_retained_checkpoints(
            dir.path(),
            RECORDS,
            Some("running-count"),
            None,
        );

        // The new job's counter has another uid: the checkpoint's counter state is unclaimed.
        let start = |allow: bool| {
            let env = checkpointed_env(dir.path(), 2, 0);
            env.set_config(
                "execution.state-recovery.path",
                job_folder.to_str().unwrap(),
            );
            if allow {
                env.set_config("execution.state-recovery.ignore-unclaimed-state", "true");
            }
            let (sink, published) = CheckpointedCollectSink::<(u64, u64)>::new();
            let probe = FailOnce::never();
            env.from_generator(Some(RECORDS), Some(1_000_000), |i| i)
                .key_by(|i: &u64| i % KEYS)
                .process(RunningCount {
                    count: ValueStateDescriptor::new("count"),
                    probe: probe.clone(),
                })
                .uid("renamed-count")
                .add_sink(sink);
            let result = env.execute("second");
            let output = published.lock().unwrap().clone();
            (result, output, probe.records())
        };
        let (result, _, _) = start(false);
        let error = result.unwrap_err().to_string();
        assert!(error.contains("(uid or id running-count)"), "{error}");
        assert!(error.contains("--allowNonRestoredState"), "{error}");

        // Allowed: the source resumes from the checkpoint and the renamed counter starts
        // empty. The sink's state (the first run's rows up to the checkpoint, counted from 1)
        // is restored too, so every key counts from 1 twice: up to the checkpoint, and again
        // after it.
        let (result, output, processed) = start(true);
        result.unwrap();
        assert!(
            processed < RECORDS,
            "the source resumed from the checkpoint"
        );
        assert_eq!(
            output.len() as u64,
            RECORDS,
            "no record is lost or repeated"
        );
        for key in 0..KEYS {
            let ones = output.iter().filter(|&&(k, c)| k == key && c == 1).count();
            assert_eq!(ones, 2, "key {key}: the counter did not start over");
        }
    });
}

/// Copies the files of `from` (a checkpoint folder: flat) into `to`.
fn copy_checkpoint(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_checkpoint_moved_to_another_folder_restores_from_there() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let dir = tempfile::tempdir().unwrap();
        let job_folder = cancelled_run_with_retained_checkpoints(dir.path(), RECORDS, None, None);
        // The latest completed checkpoint, copied elsewhere under another name; the original
        // checkpoints are deleted.
        let latest = std::fs::read_dir(&job_folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|chk| chk.join("_metadata").exists())
            .max_by_key(|chk| {
                let name = chk.file_name().unwrap().to_string_lossy().into_owned();
                name.trim_start_matches("chk-").parse::<u64>().unwrap_or(0)
            })
            .expect("a completed checkpoint");
        let moved = tempfile::tempdir().unwrap();
        let copy = moved.path().join("kept-for-later");
        copy_checkpoint(&latest, &copy);
        std::fs::remove_dir_all(&job_folder).unwrap();

        let env = checkpointed_env(dir.path(), 2, 0);
        env.set_config("execution.state-recovery.path", copy.to_str().unwrap());
        let probe = FailOnce::never();
        let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, probe.clone());
        result.unwrap();
        assert_eq!(output, reference(RECORDS));
        assert!(probe.records() < RECORDS, "restored, not started over");
    });
}

#[test]
fn a_checkpoint_of_one_state_backend_restores_on_every_backend() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        for from in common::state_backends() {
            for to in common::state_backends() {
                let dir = tempfile::tempdir().unwrap();
                let job_folder =
                    cancelled_run_with_retained_checkpoints(dir.path(), RECORDS, None, Some(from));
                let env = checkpointed_env(dir.path(), 3, 0);
                env.set_config("state.backend.type", to);
                env.set_config(
                    "execution.state-recovery.path",
                    job_folder.to_str().unwrap(),
                );
                let probe = FailOnce::never();
                let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, probe.clone());
                result.unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
                assert_eq!(output, reference(RECORDS), "{from} -> {to}");
                assert!(probe.records() < RECORDS, "{from} -> {to}: restored");
            }
        }
    });
}

#[test]
fn restoring_from_a_folder_without_a_checkpoint_is_a_clear_error() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 1, 0);
        env.set_config(
            "execution.state-recovery.path",
            dir.path().to_str().unwrap(),
        );
        let (result, _) = run_counting_job(&env, 10, 1_000_000, FailOnce::never());
        let error = result.unwrap_err().to_string();
        assert!(error.contains("cannot restore the job from"), "{error}");
        assert!(error.contains("no completed checkpoint there"), "{error}");
    });
}

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
        let (sink, first_output) = CheckpointedCollectSink::<(u64, u64)>::new();
        let probe = FailOnce::never();
        env.from_generator(Some(RECORDS), Some(4_000), |i| i)
            .key_by(|i: &u64| i % KEYS)
            .process(RunningCount {
                count: ValueStateDescriptor::new("count"),
                probe: probe.clone(),
            })
            .add_sink(sink);
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
    let (sink, published) = CheckpointedCollectSink::<(u64, u64)>::new();
    let probe = FailOnce::never();
    env.from_generator(Some(RECORDS), Some(4_000), |i| i)
        .key_by(|i: &u64| i % KEYS)
        .process(RunningCount {
            count: ValueStateDescriptor::new("count"),
            probe: probe.clone(),
        })
        .add_sink(sink);
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

#[test]
fn a_restore_with_another_max_parallelism_is_refused_with_the_setting_to_use() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let dir = tempfile::tempdir().unwrap();
        let job_folder = cancelled_run_with_retained_checkpoints(dir.path(), RECORDS, None, None);
        let env = checkpointed_env(dir.path(), 2, 0);
        env.set_config("pipeline.max-parallelism", "256");
        env.set_config(
            "execution.state-recovery.path",
            job_folder.to_str().unwrap(),
        );
        let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, FailOnce::never());
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("max parallelism of 128") && error.contains("set_max_parallelism(128)"),
            "{error}"
        );
        assert!(output.is_empty());
    });
}
