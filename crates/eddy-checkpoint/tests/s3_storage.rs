//! Checkpoint storage in S3, against a local S3-compatible server (moto).
#![cfg(feature = "s3")]

use eddy_checkpoint::metadata::METADATA_VERSION;
use eddy_checkpoint::testing::S3TestServer;
use eddy_checkpoint::{CheckpointMetadata, CheckpointReader, CheckpointStorage};
use eddy_core::ids::JobId;

fn metadata(job: JobId, id: u64, is_savepoint: bool) -> CheckpointMetadata {
    CheckpointMetadata {
        version: METADATA_VERSION,
        job_id: job.to_string(),
        checkpoint_id: id,
        trigger_timestamp: 1,
        completion_timestamp: 2,
        operators: Vec::new(),
        is_savepoint,
    }
}

/// Bytes that differ at every position (a misplaced part would show).
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

#[test]
fn checkpoints_savepoints_and_large_files_live_in_a_bucket() {
    let server = S3TestServer::start();
    server.create_bucket("checkpoints");
    let options = server.storage_options();
    let job = JobId::generate();
    let directory = "s3://checkpoints/jobs/eddy";
    let storage = CheckpointStorage::for_job(directory, &options, job).unwrap();
    assert_eq!(storage.location(), format!("{directory}/{job}"));

    // Larger than the part size (5 MiB): a multipart upload of three parts.
    let large = pattern(11 << 20);
    let handle = storage.write_state(1, "op-0", large.clone()).unwrap();
    assert_eq!(handle.size, large.len() as u64);
    storage.write_state(1, "op-1", vec![7; 10]).unwrap();
    storage.write_metadata(&metadata(job, 1, false)).unwrap();
    storage.write_state(2, "op-0", vec![2]).unwrap();
    storage.write_metadata(&metadata(job, 2, false)).unwrap();
    // Checkpoint 3 never completes.
    storage.write_state(3, "op-0", vec![3]).unwrap();
    assert_eq!(storage.completed_checkpoints().unwrap(), vec![1, 2]);
    assert_eq!(storage.read_state(1, "op-0").unwrap(), large);
    assert_eq!(storage.read_state(1, "op-1").unwrap(), vec![7; 10]);

    // A reader of the job's folder takes its latest completed checkpoint; of a chk folder,
    // that one.
    let latest = CheckpointReader::open(&format!("{directory}/{job}"), &options).unwrap();
    assert_eq!(latest.metadata(), &metadata(job, 2, false));
    let first = CheckpointReader::open(&format!("{directory}/{job}/chk-1"), &options).unwrap();
    assert_eq!(first.read_state("op-0").unwrap(), large);
    for missing in [
        format!("{directory}/{job}/chk-3"),
        "s3://checkpoints/nothing".into(),
    ] {
        let error = CheckpointReader::open(&missing, &options)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no completed checkpoint there"), "{error}");
    }

    // Retention: everything but checkpoint 2 goes, incomplete folders too.
    storage.discard_all_except(&[2]).unwrap();
    assert_eq!(storage.completed_checkpoints().unwrap(), vec![2]);
    assert!(storage.read_state(3, "op-0").is_err());
    assert!(storage.read_state(1, "op-0").is_err());

    // A savepoint into another bucket's folder: self-contained, beside the job's folder.
    server.create_bucket("savepoints");
    let folder = storage
        .begin_savepoint(4, "s3://savepoints/sp", job)
        .unwrap();
    assert!(
        folder.starts_with(&format!(
            "s3://savepoints/sp/savepoint-{}-",
            &job.to_string()[..6]
        )),
        "{folder}"
    );
    storage.write_state(4, "op-0", vec![4, 4]).unwrap();
    storage.write_metadata(&metadata(job, 4, true)).unwrap();
    storage.end_savepoint(4);
    let savepoint = CheckpointReader::open(&folder, &options).unwrap();
    assert_eq!(
        (
            savepoint.metadata().is_savepoint,
            savepoint.read_state("op-0").unwrap()
        ),
        (true, vec![4, 4])
    );
    assert_eq!(storage.completed_checkpoints().unwrap(), vec![2]);

    // Disposing: only a folder with a _metadata, and all of it.
    let error = CheckpointReader::dispose("s3://savepoints/sp", &options)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no _metadata file"), "{error}");
    CheckpointReader::dispose(&folder, &options).unwrap();
    assert!(CheckpointReader::open(&folder, &options).is_err());
    assert_eq!(storage.completed_checkpoints().unwrap(), vec![2]);
}

#[test]
fn a_missing_bucket_or_a_stopped_server_fails_the_write_with_the_files_name() {
    let mut server = S3TestServer::start();
    let options = server.storage_options();
    let job = JobId::generate();
    let storage = CheckpointStorage::for_job("s3://no-such-bucket/x", &options, job).unwrap();
    let error = storage
        .write_state(1, "op-0", vec![1])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("writing s3://no-such-bucket/x/{job}/chk-1/op-0")),
        "{error}"
    );

    server.create_bucket("bucket");
    let storage = CheckpointStorage::for_job("s3://bucket/x", &options, job).unwrap();
    storage.write_state(1, "op-0", vec![1]).unwrap();
    server.stop();
    for bytes in [vec![1], pattern(6 << 20)] {
        let error = storage
            .write_state(2, "op-0", bytes)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("writing s3://bucket/x/{job}/chk-2/op-0")),
            "{error}"
        );
    }
    assert!(storage.completed_checkpoints().is_err());
}
