//! Checkpoints and savepoints in S3 (`s3://` folders, the `s3` feature), against a local
//! S3-compatible server the tests start (moto): recovery after a failure, a savepoint restored
//! at another parallelism, and a server that goes away mid-job failing checkpoints, not the
//! job.

use std::time::{Duration, Instant};

use eddy_api::checkpoint::CheckpointStats;
use eddy_api::core::ids::JobId;
use eddy_api::prelude::*;
use eddy_checkpoint::testing::S3TestServer;

use crate::common::checkpointed::FailOnce;
use crate::common::counting::{add_counting_job, checkpointed_env_in, reference, run_counting_job};
use crate::common::{self, bounded, http};

/// The recovery tests' environment with its checkpoints in `directory` on `server`.
fn s3_env(
    server: &S3TestServer,
    directory: &str,
    parallelism: u32,
    attempts: u32,
) -> StreamExecutionEnvironment {
    let env = checkpointed_env_in(directory, parallelism, attempts);
    for (key, value) in server.settings() {
        env.set_config(key, &value);
    }
    env
}

/// The counting job at parallelism 2 generating `rate` records per second, with its
/// checkpoints in S3 (`configure` adds settings), failing once as `probe` says (after a
/// checkpoint completed): it restores from S3 and counts every record exactly once, skipping
/// what its checkpoint covered. Returns its checkpoint statistics.
fn fail_over_in_s3(
    rate: u64,
    probe: FailOnce,
    configure: impl FnOnce(&StreamExecutionEnvironment),
) -> CheckpointStats {
    const RECORDS: u64 = 3_000;
    let server = S3TestServer::start();
    server.create_bucket("eddy");
    let env = s3_env(&server, "s3://eddy/checkpoints", 2, 1);
    configure(&env);
    let (result, output) = run_counting_job(&env, RECORDS, rate, probe.clone());
    let result = result.unwrap();
    assert_eq!(probe.failures(), 1);
    assert!(
        output == reference(RECORDS),
        "{} records, not {RECORDS}",
        output.len()
    );
    let stats = result.checkpoints.unwrap();
    let restored = stats
        .latest_restored
        .clone()
        .expect("restored from a checkpoint");
    assert!(
        restored.location.starts_with("s3://eddy/checkpoints/") && !restored.is_savepoint,
        "{restored:?}"
    );
    assert!(
        probe.records() - probe.records_before_restart() < RECORDS,
        "the restore skipped what its checkpoint covered"
    );
    assert!(stats
        .history
        .iter()
        .all(|c| c.location.starts_with("s3://eddy/checkpoints/")));
    stats
}

#[test]
fn a_job_recovers_from_its_checkpoints_in_s3() {
    bounded(|| {
        fail_over_in_s3(6_000, FailOnce::at_after_a_checkpoint(1_000), |_| {});
    });
}

#[cfg(feature = "rocksdb")]
#[test]
fn a_job_recovers_from_its_incremental_checkpoints_in_s3() {
    bounded(|| {
        // A checkpoint shares files only with one completed earlier in the same run (the
        // first after a restore uploads everything), and checkpoints into S3 are slow on a
        // loaded machine: the failing run waits for three, at a pace that leaves time for
        // them.
        let probe = FailOnce::at_after_checkpoints(300, 3);
        let stats = fail_over_in_s3(2_000, probe, |env| {
            env.set_config("state.backend.type", "rocksdb")
                .set_config("execution.checkpointing.incremental", "true");
        });
        // Some checkpoint shared files with an earlier one.
        assert!(
            stats
                .history
                .iter()
                .any(|c| c.state_size < c.full_state_size),
            "{:?}",
            stats.history
        );
    });
}

#[test]
fn a_savepoint_in_s3_restores_at_another_parallelism() {
    bounded(|| {
        const RECORDS: u64 = 4_000;
        let server = S3TestServer::start();
        server.create_bucket("eddy");
        let env = s3_env(&server, "s3://eddy/checkpoints", 2, 0);
        env.set_config("execution.checkpointing.interval", "1 h");
        env.set_config("state.savepoints.dir", "s3://eddy/savepoints");
        let probe = FailOnce::never();
        let published = add_counting_job(&env, RECORDS, 4_000, probe.clone());
        let client = env.execute_async("stopped into s3").unwrap();
        let deadline = Instant::now() + common::WATCHDOG;
        while probe.records() < 1_000 {
            assert!(Instant::now() < deadline, "the job does not run");
            std::thread::sleep(Duration::from_millis(2));
        }
        let savepoint = client.stop_with_savepoint(None, false).unwrap();
        let prefix = format!(
            "s3://eddy/savepoints/savepoint-{}-",
            &client.job_id().to_string()[..6]
        );
        assert!(savepoint.starts_with(&prefix), "{savepoint}");
        client.get_job_execution_result().unwrap();
        let mut first = published.lock().unwrap().clone();

        let env = s3_env(&server, "s3://eddy/checkpoints", 3, 0);
        env.set_config("execution.state-recovery.path", &savepoint);
        let (result, second) = run_counting_job(&env, RECORDS, 1_000_000, FailOnce::never());
        let restored = result
            .unwrap()
            .checkpoints
            .unwrap()
            .latest_restored
            .unwrap();
        assert_eq!(
            (restored.location.as_str(), restored.is_savepoint),
            (savepoint.as_str(), true)
        );
        // The sink keeps what it collected in its state: the stopped run handed over what came
        // before its savepoint, the restored one everything, each count exactly once.
        let all = reference(RECORDS);
        assert!(
            second == all,
            "{} records, not the reference's {}",
            second.len(),
            all.len()
        );
        first.sort_unstable();
        assert!(
            !first.is_empty()
                && first.len() < all.len()
                && first.iter().all(|r| all.binary_search(r).is_ok())
        );
    });
}

/// `counts.<which>` (`completed`, `failed`) of the job's checkpoint statistics, from its REST
/// endpoint.
fn checkpoint_count(address: std::net::SocketAddr, job: JobId, which: &str) -> u64 {
    let (status, body) = http::request(address, "GET", &format!("/jobs/{job}/checkpoints"), None);
    assert_eq!(status, 200, "{body}");
    body["counts"][which].as_u64().unwrap()
}

#[test]
fn checkpoints_fail_while_the_server_is_gone_and_the_job_goes_on() {
    bounded(|| {
        const RECORDS: u64 = 12_000;
        let mut server = S3TestServer::start();
        server.create_bucket("eddy");
        let env = s3_env(&server, "s3://eddy/checkpoints", 2, 0);
        env.set_config(
            "execution.checkpointing.tolerable-failed-checkpoints",
            "1000",
        );
        env.set_config("rest.port", "0");
        let probe = FailOnce::never();
        let published = add_counting_job(&env, RECORDS, 4_000, probe.clone());
        let client = env.execute_async("server gone").unwrap();
        let address = client
            .rest_address()
            .expect("rest.port starts the endpoint");
        let deadline = Instant::now() + common::WATCHDOG;
        while checkpoint_count(address, client.job_id(), "completed") < 2 {
            assert!(Instant::now() < deadline, "no checkpoint completes");
            std::thread::sleep(Duration::from_millis(5));
        }
        server.stop();
        while checkpoint_count(address, client.job_id(), "failed") < 2 {
            assert!(Instant::now() < deadline, "no checkpoint fails");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            probe.records() < RECORDS,
            "the job must still be running when the server comes back"
        );
        server.restart();
        server.create_bucket("eddy");
        let result = client.get_job_execution_result().unwrap();
        let stats = result.checkpoints.unwrap();
        assert!(stats.failed >= 2, "{stats:?}");
        let failure = stats.latest_failed.clone().unwrap();
        assert!(
            failure.message.contains("s3://eddy/checkpoints/"),
            "the failure names the file: {failure:?}"
        );
        assert!(stats.completed > 2, "checkpoints complete again: {stats:?}");
        let mut output = published.lock().unwrap().clone();
        output.sort_unstable();
        assert!(
            output == reference(RECORDS),
            "{} records, not {RECORDS}",
            output.len()
        );
    });
}

#[test]
fn with_local_recovery_a_job_restores_while_s3_is_down() {
    bounded(|| {
        const RECORDS: u64 = 6_000;
        let mut server = S3TestServer::start();
        server.create_bucket("eddy");
        let local = tempfile::tempdir().unwrap();
        let env = s3_env(&server, "s3://eddy/checkpoints", 2, 1);
        env.set_config("state.backend.local-recovery", "true");
        env.set_config(
            "taskmanager.state.local.root-dirs",
            local.path().to_str().unwrap(),
        );
        env.set_config(
            "execution.checkpointing.tolerable-failed-checkpoints",
            "1000",
        );
        env.set_config("rest.port", "0");
        // The failure waits for the test to stop S3 (a slow first checkpoint would otherwise
        // let it come first).
        let probe = FailOnce::at_after_a_checkpoint(1).held();
        let published = add_counting_job(&env, RECORDS, 3_000, probe.clone());
        let client = env.execute_async("local recovery").unwrap();
        let address = client
            .rest_address()
            .expect("rest.port starts the endpoint");
        let deadline = Instant::now() + common::WATCHDOG;
        let job = client.job_id();
        while checkpoint_count(address, job, "completed") < 1 {
            assert!(Instant::now() < deadline, "no checkpoint completes");
            std::thread::sleep(Duration::from_millis(5));
        }
        // S3 goes away before the failure: the restore reads the local copies (with one
        // restart attempt, reading S3 would fail the job).
        server.stop();
        probe.arm();
        while probe.records_before_restart() == u64::MAX {
            // A job that could not restore has ended: its result below says why.
            if client.get_job_status().map_or(true, |s| s.is_terminal()) {
                break;
            }
            assert!(Instant::now() < deadline, "the job does not fail over");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(200));
        server.restart();
        server.create_bucket("eddy");
        let result = client.get_job_execution_result().unwrap();
        assert_eq!(probe.failures(), 1);
        let restored = result.checkpoints.unwrap().latest_restored.unwrap();
        assert!(
            restored.location.starts_with("s3://eddy/checkpoints/"),
            "{restored:?}"
        );
        let mut output = published.lock().unwrap().clone();
        output.sort_unstable();
        assert!(
            output == reference(RECORDS),
            "{} records, not {RECORDS}",
            output.len()
        );
        // The local copies go with the job.
        let left = common::files_under(local.path());
        assert!(left.is_empty(), "{left:?}");
    });
}
