//! Incremental checkpoints of the RocksDB backend (`execution.checkpointing.incremental`):
//! each checkpoint uploads only the SST files earlier ones did not, shares the rest, deletes
//! what no retained checkpoint refers to, and restores (at another parallelism, into either
//! backend) exactly as a full checkpoint does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use eddy_api::checkpoint::{CheckpointMetadata, CheckpointStorage, SharedFileRef};

use crate::common::checkpointed::FailOnce;
use crate::common::counting::{add_counting_job, checkpointed_env, reference, run_counting_job};
use crate::common::{self, bounded};

/// Every shared file a checkpoint refers to.
fn shared_refs(metadata: &CheckpointMetadata) -> Vec<&SharedFileRef> {
    metadata
        .operators
        .iter()
        .flat_map(|o| &o.subtasks)
        .flat_map(|s| &s.shared)
        .collect()
}

/// A shared file's instance (`<operator>-<subtask>-<token>`) and local SST name (the name
/// is `<instance>-<checkpoint>-<sst>`).
fn split(name: &str) -> (&str, &str) {
    let mut parts = name.rsplitn(3, '-');
    let (sst, _checkpoint, instance) = (parts.next(), parts.next(), parts.next());
    instance
        .zip(sst)
        .expect("<operator>-<subtask>-<token>-<checkpoint>-<sst>")
}

#[test]
fn incremental_checkpoints_upload_new_files_share_the_rest_and_restore_like_full_ones() {
    bounded(|| {
        const RECORDS: u64 = 6_000;
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 2, 0);
        env.set_config("state.backend.type", "rocksdb")
            .set_config("execution.checkpointing.incremental", "true")
            .set_config("execution.checkpointing.num-retained", "3")
            .set_config(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION",
            );
        let probe = FailOnce::never();
        add_counting_job(&env, RECORDS, 3_000, probe.clone());
        let client = env.execute_async("incremental").unwrap();
        let storage = CheckpointStorage::for_job(
            dir.path().to_str().unwrap(),
            &Default::default(),
            client.job_id(),
        )
        .unwrap();
        // Run until several checkpoints completed with some state, then cancel: the last
        // three stay.
        let deadline = Instant::now() + common::WATCHDOG;
        while probe.records() < 2_000 || storage.completed_checkpoints().unwrap().len() < 3 {
            assert!(Instant::now() < deadline, "no checkpoints complete");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A savepoint of the incremental job is full: it names no shared file.
        let savepoints = tempfile::tempdir().unwrap();
        let savepoint = client
            .trigger_savepoint(Some(savepoints.path().to_str().unwrap()))
            .unwrap();
        let savepoint_metadata =
            eddy_api::checkpoint::CheckpointReader::open(&savepoint, &Default::default())
                .unwrap()
                .metadata()
                .clone();
        assert!(savepoint_metadata.is_savepoint);
        assert!(shared_refs(&savepoint_metadata).is_empty());
        assert_eq!(
            savepoint_metadata.state_size(),
            savepoint_metadata.full_state_size()
        );
        std::thread::sleep(Duration::from_millis(300));
        client.cancel().unwrap();
        assert!(client.get_job_execution_result().is_err());

        let retained = storage.completed_checkpoints().unwrap();
        assert_eq!(retained.len(), 3, "{retained:?}");
        let metadata: Vec<CheckpointMetadata> = retained
            .iter()
            .map(|&id| storage.read_metadata(id).unwrap())
            .collect();
        // Per retained checkpoint: instance → the local SST names it refers to.
        let mut reused_somewhere = false;
        for pair in metadata.windows(2) {
            let (earlier, later) = (&pair[0], &pair[1]);
            let mut before: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            let earlier_names: BTreeSet<&str> = shared_refs(earlier)
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            for file in shared_refs(earlier) {
                let (instance, sst) = split(&file.name);
                before.entry(instance).or_default().insert(sst);
            }
            for file in shared_refs(later) {
                let (instance, sst) = split(&file.name);
                if file.uploaded_now {
                    // Uploaded only if the instance's earlier checkpoint did not have it.
                    assert!(
                        !before.get(instance).is_some_and(|s| s.contains(sst)),
                        "checkpoint {} uploaded {} again",
                        later.checkpoint_id,
                        file.name
                    );
                } else {
                    reused_somewhere = true;
                    assert!(
                        earlier_names.contains(file.name.as_str())
                            || metadata.iter().any(|m| shared_refs(m)
                                .iter()
                                .any(|f| f.name == file.name && f.uploaded_now)),
                        "{} reused but never uploaded by a retained checkpoint",
                        file.name
                    );
                }
            }
            assert!(later.state_size() <= later.full_state_size());
        }
        assert!(
            reused_somewhere,
            "no checkpoint reused a file of an earlier one"
        );
        assert!(
            metadata
                .iter()
                .any(|m| m.state_size() < m.full_state_size()),
            "some checkpoint wrote less than all its state"
        );
        let latest = metadata.last().unwrap();

        // The shared folder holds exactly what the retained checkpoints refer to: files of
        // discarded checkpoints are gone, none that is still referred to is.
        let referenced: BTreeSet<String> = metadata
            .iter()
            .flat_map(|m| shared_refs(m).into_iter().map(|f| f.name.clone()))
            .collect();
        let present: BTreeSet<String> = storage.shared_files().unwrap().into_iter().collect();
        assert_eq!(present, referenced);

        // Restoring the latest one at parallelism 3, into each backend, counts every record
        // exactly once (as a restore from a full checkpoint does).
        let latest_folder = storage.checkpoint_location(latest.checkpoint_id);
        for backend in common::state_backends() {
            let fresh = tempfile::tempdir().unwrap();
            let env = checkpointed_env(fresh.path(), 3, 0);
            env.set_config("state.backend.type", backend)
                .set_config("execution.state-recovery.path", &latest_folder);
            let probe = FailOnce::never();
            let (result, output) = run_counting_job(&env, RECORDS, 1_000_000, probe.clone());
            let restored = result
                .unwrap()
                .checkpoints
                .unwrap()
                .latest_restored
                .unwrap();
            assert_eq!(restored.location, latest_folder);
            assert!(
                output == reference(RECORDS),
                "{backend}: {} records, not the reference's {RECORDS}",
                output.len()
            );
            assert!(
                probe.records() < RECORDS,
                "{backend}: the restore skipped what the checkpoint covered"
            );
        }
    });
}

#[test]
fn a_job_fails_over_to_its_incremental_checkpoint_and_cleans_up_when_it_finishes() {
    bounded(|| {
        const RECORDS: u64 = 3_000;
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed_env(dir.path(), 2, 1);
        env.set_config("state.backend.type", "rocksdb")
            .set_config("execution.checkpointing.incremental", "true");
        let probe = FailOnce::at_after_a_checkpoint(1_000);
        let (result, output) = run_counting_job(&env, RECORDS, 6_000, probe.clone());
        let result = result.unwrap();
        assert_eq!(probe.failures(), 1);
        assert!(output == reference(RECORDS), "{} records", output.len());
        assert!(result.checkpoints.unwrap().latest_restored.is_some());
        // A finished job leaves no checkpoint, and no shared file, behind.
        let job_folder = dir.path().join(result.job_id.to_string());
        let left = common::files_under(&job_folder);
        assert!(left.is_empty(), "{left:?}");
    });
}
