//! Checkpoints of running jobs: barriers pass through every task, each subtask snapshots at
//! the same logical point of the stream, and a completed checkpoint read back from its folder
//! holds the state of every operator, consistent across operators: the counts kept by the
//! keyed operator are exactly the records the sources' positions say were emitted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use eddy_api::checkpoint::{CheckpointMetadata, CheckpointStorage};
use eddy_api::core::ids::JobId;
use eddy_api::core::keygroup::KeyGroupRange;
use eddy_api::prelude::*;
use eddy_api::state::restore_value_rows;
use eddy_runtime::checkpoint::decode_subtask_state;
use eddy_runtime::snapshot::OperatorSubtaskState;
use serde::{Deserialize, Serialize};

use crate::common;

const KEYS: u64 = 10;
const PARALLELISM: u64 = 2;

/// A generator subtask's position as it stores it (`generator-source-splits`): the indexes
/// `next, next + stride, …` are still to come.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Split {
    next: u64,
    stride: u64,
    remaining: Option<u128>,
}

/// Counts the records of each key in a `ValueState` named `count`.
#[derive(Clone)]
struct CountPerKey {
    count: ValueStateDescriptor<u64>,
}

impl KeyedProcessFunction<u64, u64, u64> for CountPerKey {
    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        let mut count = ctx.state().value(&self.count)?;
        let next = count.value()?.unwrap_or(0) + 1;
        count.update(next)
    }
}

/// Runs generator → key_by → count → discard at parallelism 2 with checkpoints every 50 ms
/// in `mode`, cancels it once checkpoint 3 is complete (retaining its checkpoints), and
/// returns the job's id and the operator ids of its StreamGraph by name.
fn run_until_checkpoint_3(
    dir: &Path,
    mode: CheckpointingMode,
) -> (JobId, BTreeMap<String, String>) {
    let env = common::env(PARALLELISM as u32);
    env.enable_checkpointing_with_mode(Duration::from_millis(50), mode)
        .set_checkpoint_storage(&format!("file://{}", dir.display()))
        .set_config(
            "execution.checkpointing.externalized-checkpoint-retention",
            "RETAIN_ON_CANCELLATION",
        )
        // The test reads the keyed state's rows out of the state files: full checkpoints.
        .set_config("execution.checkpointing.incremental", "false");
    env.from_generator(None, Some(20_000), |i| i)
        .key_by(|i: &u64| i % KEYS)
        .process(CountPerKey {
            count: ValueStateDescriptor::new("count"),
        })
        .name("Count")
        .discard();
    let graph = env.get_stream_graph("checkpointed").unwrap();
    let ids = graph
        .nodes
        .iter()
        .map(|n| (n.name.clone(), graph.operator_id(n.id)))
        .collect();
    let client = env.execute_async("checkpointed").unwrap();
    let job = client.job_id();
    let third = dir.join(job.to_string()).join("chk-3").join("_metadata");
    let deadline = Instant::now() + common::WATCHDOG;
    while !third.exists() {
        assert!(
            Instant::now() < deadline,
            "no checkpoint 3 in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    client.cancel().unwrap();
    let result = client.get_job_execution_result();
    assert!(
        result.is_err(),
        "a cancelled job reports no result: {result:?}"
    );
    assert_eq!(client.get_job_status().unwrap(), JobStatus::Canceled);
    (job, ids)
}

/// The state of every subtask of `operator` in the checkpoint.
fn subtask_states(
    storage: &CheckpointStorage,
    metadata: &CheckpointMetadata,
    operator: &str,
) -> Vec<Option<OperatorSubtaskState>> {
    let state = metadata
        .operator(operator)
        .expect("the operator is in the checkpoint");
    state
        .subtasks
        .iter()
        .map(|handle| {
            handle.file.as_ref().map(|file| {
                let bytes = storage.read_state(metadata.checkpoint_id, file).unwrap();
                assert_eq!(bytes.len() as u64, handle.size);
                decode_subtask_state(&bytes).unwrap()
            })
        })
        .collect()
}

/// Reads the latest retained checkpoint and returns (counts the sources' positions imply,
/// counts the keyed operator holds).
fn read_back(dir: &Path, job: JobId, ids: &BTreeMap<String, String>) -> (Vec<u64>, Vec<u64>) {
    let storage =
        CheckpointStorage::for_job(dir.to_str().unwrap(), &Default::default(), job).unwrap();
    let completed = storage.completed_checkpoints().unwrap();
    // execution.checkpointing.num-retained is 1: the newest is kept, the others deleted.
    assert_eq!(completed.len(), 1, "{completed:?}");
    let metadata = storage.read_metadata(completed[0]).unwrap();
    assert!(metadata.checkpoint_id >= 3);
    let mut in_metadata: Vec<&str> = metadata
        .operators
        .iter()
        .map(|o| o.operator_id.as_str())
        .collect();
    let mut in_graph: Vec<&str> = ids.values().map(String::as_str).collect();
    in_metadata.sort();
    in_graph.sort();
    assert_eq!(
        in_metadata, in_graph,
        "every operator of the job is in the checkpoint"
    );

    let mut emitted = vec![0u64; KEYS as usize];
    let sources = subtask_states(&storage, &metadata, &ids["Source: Generator Source"]);
    assert_eq!(sources.len(), PARALLELISM as usize);
    for (subtask, state) in sources.into_iter().enumerate() {
        let state = state.expect("a source subtask stores its position");
        assert!(state.keyed.is_none());
        let splits: Vec<Split> = state
            .operator
            .read_list("generator-source-splits")
            .unwrap()
            .unwrap();
        assert_eq!(splits.len(), 1, "{splits:?}");
        let split = &splits[0];
        assert_eq!((split.stride, split.remaining), (PARALLELISM, None));
        // Subtask s of a fresh job emits s, s + 2, s + 4, … up to its position.
        let mut index = subtask as u64;
        while index < split.next {
            emitted[(index % KEYS) as usize] += 1;
            index += PARALLELISM;
        }
    }

    let mut counted = vec![0u64; KEYS as usize];
    let counters = subtask_states(&storage, &metadata, &ids["Count"]);
    let snapshots: Vec<_> = counters
        .into_iter()
        .map(|s| s.expect("a keyed subtask stores its state").keyed.unwrap())
        .collect();
    let all = KeyGroupRange { start: 0, end: 127 };
    restore_value_rows::<u64, u64>(&snapshots, all, "count", "ValueState<u64>", |key, _, n| {
        counted[key as usize] = n;
        Ok(())
    })
    .unwrap();

    // The discard sink keeps nothing: no files.
    let sink = metadata.operator(&ids["Sink: Discard"]).unwrap();
    assert!(sink
        .subtasks
        .iter()
        .all(|s| s.file.is_none() && s.size == 0));
    (emitted, counted)
}

#[test]
fn an_aligned_checkpoint_holds_every_operators_state_at_one_cut_of_the_stream() {
    common::bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let (job, ids) = run_until_checkpoint_3(dir.path(), CheckpointingMode::ExactlyOnce);
        let (emitted, counted) = read_back(dir.path(), job, &ids);
        assert!(
            emitted.iter().sum::<u64>() > 0,
            "the checkpoint saw records"
        );
        assert_eq!(
            counted, emitted,
            "exactly the records before the barriers are counted"
        );
    });
}

#[test]
fn an_unaligned_at_least_once_checkpoint_never_misses_a_record() {
    common::bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let (job, ids) = run_until_checkpoint_3(dir.path(), CheckpointingMode::AtLeastOnce);
        let (emitted, counted) = read_back(dir.path(), job, &ids);
        for key in 0..KEYS as usize {
            assert!(
                counted[key] >= emitted[key],
                "key {key}: {counted:?} < {emitted:?}"
            );
        }
    });
}
