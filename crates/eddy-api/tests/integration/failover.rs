//! Recovery from failures: a subtask fails part-way, the restart strategy restarts the job
//! from its latest completed checkpoint, the sources rewind, and the exactly-once output
//! equals the output of a run without failure. Also: the restart strategies' limits, and a
//! new job started from a retained checkpoint (`execution.state-recovery.path`, the CLI's
//! `-s`) at another parallelism, and one whose checkpoint holds state it no longer claims (the
//! CLI's `-n`).

use std::time::{Duration, Instant};

use eddy_api::prelude::*;

use crate::common::checkpointed::{CheckpointedCollectSink, FailOnce};
use crate::common::counting::{checkpointed_env, reference, run_counting_job, RunningCount, KEYS};
use crate::common::{self, bounded};

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
        // Incremental checkpoints (the RocksDB pass of scripts/test.sh) share files in the
        // job's shared/ folder, which moves along beside the checkpoint.
        let shared = job_folder.join("shared");
        if shared.exists() {
            copy_checkpoint(&shared, &moved.path().join("shared"));
        }
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
