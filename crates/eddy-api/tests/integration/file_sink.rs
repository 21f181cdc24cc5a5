//! The exactly-once file sink in running jobs: part files are hidden until the checkpoint
//! that covers them completes, a failure and restore neither loses nor duplicates a line,
//! rolling and bucketing lay the files out, and without checkpointing the end of the input
//! commits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eddy_api::connectors::file_sink::{BasePathBucketAssigner, FnBucketAssigner};
use eddy_api::connectors::{DefaultRollingPolicy, FileSink};
use eddy_api::prelude::*;

use crate::common::checkpointed::FailOnce;
use crate::common::{self, bounded};

fn line(value: &u64, out: &mut Vec<u8>) {
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'\n');
}

/// Every file under `dir`, recursively: (visible files, hidden files).
fn files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut visible, mut hidden) = (Vec::new(), Vec::new());
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                hidden.push(path);
            } else {
                visible.push(path);
            }
        }
    }
    visible.sort();
    hidden.sort();
    (visible, hidden)
}

/// Checks that the finished files under `dir` hold each of `0..records` exactly once, and
/// says which are missing or repeated otherwise.
fn assert_exactly_once(dir: &Path, records: u64) {
    let numbers = committed_numbers(dir);
    let mut seen = vec![0u32; records as usize];
    let mut foreign = Vec::new();
    for &n in &numbers {
        match seen.get_mut(n as usize) {
            Some(count) => *count += 1,
            None => foreign.push(n),
        }
    }
    let missing: Vec<u64> = (0..records).filter(|&i| seen[i as usize] == 0).collect();
    let repeated: Vec<u64> = (0..records).filter(|&i| seen[i as usize] > 1).collect();
    assert!(
        missing.is_empty() && repeated.is_empty() && foreign.is_empty(),
        "{} missing (first {:?}), {} repeated (first {:?}), {} unexpected",
        missing.len(),
        &missing[..missing.len().min(5)],
        repeated.len(),
        &repeated[..repeated.len().min(5)],
        foreign.len()
    );
}

/// The numbers in the finished files under `dir`, sorted.
fn committed_numbers(dir: &Path) -> Vec<u64> {
    let mut numbers: Vec<u64> = files(dir)
        .0
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| l.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

#[test]
fn part_files_are_exactly_once_across_a_failure_and_roll_by_size() {
    bounded(|| {
        const RECORDS: u64 = 6_000;
        for parallelism in [1, 2] {
            let checkpoints = tempfile::tempdir().unwrap();
            let out = tempfile::tempdir().unwrap();
            let env = common::env(parallelism);
            env.enable_checkpointing(Duration::from_millis(20))
                .set_checkpoint_storage(checkpoints.path().to_str().unwrap())
                .set_config("restart-strategy.type", "fixed-delay")
                .set_config("restart-strategy.fixed-delay.delay", "10 ms");
            let probe = FailOnce::at(RECORDS / u64::from(parallelism) / 2);
            let mut failing = probe.clone();
            let sink = FileSink::for_row_format(out.path(), line)
                .with_bucket_assigner(BasePathBucketAssigner)
                .with_rolling_policy(DefaultRollingPolicy::default().with_max_part_size(4096))
                .build();
            env.from_generator(Some(RECORDS), Some(20_000), |i| i)
                .try_map(move |i: u64| failing.check().map(|()| i))
                .add_sink(sink);
            env.execute("file sink").unwrap();
            assert_eq!(probe.failures(), 1);
            let (visible, hidden) = files(out.path());
            assert!(
                hidden.is_empty(),
                "nothing in progress or pending: {hidden:?}"
            );
            assert_exactly_once(out.path(), RECORDS);
            // About 29 KB of lines in parts of at most 4 KB (plus one line), and more parts
            // where checkpoints closed them early.
            assert!(visible.len() >= 8, "{} part files", visible.len());
            for file in &visible {
                let size = std::fs::metadata(file).unwrap().len();
                assert!(size > 0 && size < 4096 + 8, "{file:?}: {size} bytes");
                let name = file.file_name().unwrap().to_string_lossy().to_string();
                assert!(name.starts_with("part-"), "{name}");
            }
        }
    });
}

#[test]
fn buckets_are_folders_and_without_checkpointing_the_end_of_input_commits() {
    bounded(|| {
        let out = tempfile::tempdir().unwrap();
        let env = common::env(2);
        let sink = FileSink::for_row_format(out.path(), line)
            .with_bucket_assigner(FnBucketAssigner(|i: &u64| format!("rest={}", i % 3)))
            .with_output_file_config("numbers", ".txt")
            .build();
        env.from_sequence(0, 99).add_sink(sink);
        env.execute("buckets").unwrap();
        let (visible, hidden) = files(out.path());
        assert!(hidden.is_empty(), "{hidden:?}");
        let mut by_bucket: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for file in &visible {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                name.starts_with("numbers-") && name.ends_with(".txt"),
                "{name}"
            );
            let bucket = file
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            let numbers = by_bucket.entry(bucket.to_string()).or_default();
            for l in std::fs::read_to_string(file).unwrap().lines() {
                numbers.push(l.parse().unwrap());
            }
        }
        for numbers in by_bucket.values_mut() {
            numbers.sort_unstable();
        }
        let expected: BTreeMap<String, Vec<u64>> = (0..3)
            .map(|r| {
                (
                    format!("rest={r}"),
                    (0..100).filter(|i| i % 3 == r).collect(),
                )
            })
            .collect();
        assert_eq!(by_bucket, expected);
    });
}

/// Passes numbers on; its snapshot of checkpoint `fail_at` fails, once.
#[derive(Clone)]
struct FailingSnapshot {
    fail_at: u64,
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MapFunction<u64, u64> for FailingSnapshot {
    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        _store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        use std::sync::atomic::Ordering;
        if ctx.checkpoint_id() >= self.fail_at && !self.failed.swap(true, Ordering::SeqCst) {
            return Err("injected failure while snapshotting".into());
        }
        Ok(())
    }

    fn map(&mut self, value: u64) -> FnResult<u64> {
        Ok(value)
    }
}

#[test]
fn a_checkpoint_that_fails_after_the_sink_pre_committed_commits_nothing_of_it() {
    bounded(|| {
        const RECORDS: u64 = 5_000;
        let checkpoints = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let env = common::env(1);
        env.enable_checkpointing(Duration::from_millis(20))
            .set_checkpoint_storage(checkpoints.path().to_str().unwrap())
            .set_config("restart-strategy.fixed-delay.delay", "10 ms");
        let numbers = env.from_generator(Some(RECORDS), Some(20_000), |i| i);
        // One task: the sink's branch snapshots first, then the failing map's.
        numbers.add_sink(FileSink::for_row_format(out.path(), line).build());
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        numbers
            .map_function(FailingSnapshot {
                fail_at: 3,
                failed: failed.clone(),
            })
            .discard();
        env.execute("failed snapshot").unwrap();
        assert!(failed.load(std::sync::atomic::Ordering::SeqCst));
        assert!(files(out.path()).1.is_empty());
        assert_exactly_once(out.path(), RECORDS);
    });
}
