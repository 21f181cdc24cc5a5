//! Restoring a job from a completed checkpoint: each subtask of each operator receives its
//! share of the state the checkpoint holds under the operator's id, redistributed when the
//! parallelism changed (keyed state by key group, operator state by its redistribution mode).

use std::collections::HashMap;

use eddy_checkpoint::CheckpointReader;
use eddy_graph::JobGraph;
use eddy_state::StoredFile;

use crate::checkpoint::decode_subtask_state;
use crate::snapshot::{OperatorSubtaskState, RestoredOperatorState};

/// What every operator of a job restores from one checkpoint.
#[derive(Debug, Default)]
pub struct JobRestoreState {
    /// The checkpoint's id.
    pub checkpoint_id: u64,
    /// Its folder.
    pub location: String,
    /// Whether it is a savepoint.
    pub is_savepoint: bool,
    /// Per operator id: the state of each of its (new) subtasks.
    operators: HashMap<String, Vec<RestoredOperatorState>>,
    /// Per operator id: the old parallelism, and the final states of its old subtasks.
    finished: HashMap<String, (u32, FinalStates)>,
}

/// Reads the files of an incremental snapshot in `state` back into rows (see
/// [`KeyedStateSnapshot::materialize_native`](eddy_state::KeyedStateSnapshot::materialize_native)).
fn read_native_files(
    state: &mut OperatorSubtaskState,
    reader: &CheckpointReader,
) -> eddy_core::FnResult<()> {
    let Some(keyed) = &mut state.keyed else {
        return Ok(());
    };
    keyed.materialize_native(&mut |file| {
        let read = match file {
            StoredFile::Private(name) => reader.read_state(name),
            StoredFile::Shared(name) => reader.read_shared(name),
        };
        read.map_err(|e| e.to_string().into())
    })
}

/// For each old subtask that had finished, its final state as written (empty: none).
type FinalStates = Vec<Option<Vec<u8>>>;

impl JobRestoreState {
    /// Reads the checkpoint behind `reader` and assigns its state to the operators of `job`.
    ///
    /// State of an operator the job no longer has is an error (unless that operator kept no
    /// state), or, with `allow_non_restored_state`, skipped with a warning. Keyed state
    /// written with another number of key groups is an error. Operators the checkpoint does
    /// not know start fresh.
    pub fn load(
        reader: &CheckpointReader,
        job: &JobGraph,
        allow_non_restored_state: bool,
    ) -> Result<Self, String> {
        let metadata = reader.metadata();
        let location = reader.location();
        let graph = &job.stream_graph;
        let in_job: HashMap<String, &eddy_graph::StreamNode> = graph
            .nodes
            .iter()
            .map(|n| (graph.operator_id(n.id), n))
            .collect();
        let mut operators = HashMap::new();
        let mut finished = HashMap::new();
        for operator in &metadata.operators {
            let has_state = operator.subtasks.iter().any(|s| s.file.is_some());
            let Some(node) = in_job.get(&operator.operator_id) else {
                if has_state && !allow_non_restored_state {
                    return Err(format!(
                        "the checkpoint {location} holds state of operator '{}' (uid or id {}), \
                         which this job does not have: give the operator that should take it \
                         over the same uid, or skip that state with -n / \
                         --allowNonRestoredState (execution.state-recovery.ignore-unclaimed-state)",
                        operator.name, operator.operator_id
                    ));
                }
                if has_state {
                    tracing::warn!(
                        operator = %operator.name,
                        id = %operator.operator_id,
                        %location,
                        "skipping the state of an operator this job does not have \
                         (allowNonRestoredState)"
                    );
                }
                continue;
            };
            let mut finals = Vec::with_capacity(operator.subtasks.len());
            let mut old: Vec<OperatorSubtaskState> = Vec::with_capacity(operator.subtasks.len());
            for handle in &operator.subtasks {
                let bytes = match &handle.file {
                    None => Vec::new(),
                    Some(file) => reader
                        .read_state(file)
                        .map_err(|e| format!("restoring '{}' from {location}: {e}", node.name))?,
                };
                old.push(if bytes.is_empty() {
                    OperatorSubtaskState::default()
                } else {
                    let mut state = decode_subtask_state(&bytes)
                        .map_err(|e| format!("restoring '{}' from {location}: {e}", node.name))?;
                    read_native_files(&mut state, reader)
                        .map_err(|e| format!("restoring '{}' from {location}: {e}", node.name))?;
                    state
                });
                finals.push(handle.finished.then_some(bytes));
            }
            finished.insert(operator.operator_id.clone(), (operator.parallelism, finals));
            let keyed = old.iter().any(|s| s.keyed.is_some());
            if keyed && operator.max_parallelism != node.max_parallelism {
                return Err(format!(
                    "cannot restore '{}' from {location}: its keyed state was written with a \
                     max parallelism of {} (key groups), but the operator now has {}; set \
                     set_max_parallelism({}) on it (or pipeline.max-parallelism)",
                    node.name,
                    operator.max_parallelism,
                    node.max_parallelism,
                    operator.max_parallelism
                ));
            }
            let shares = RestoredOperatorState::rescale(&old, node.parallelism)
                .map_err(|e| format!("cannot restore '{}' from {location}: {e}", node.name))?;
            operators.insert(operator.operator_id.clone(), shares);
        }
        Ok(JobRestoreState {
            checkpoint_id: metadata.checkpoint_id,
            location: location.to_string(),
            is_savepoint: metadata.is_savepoint,
            operators,
            finished,
        })
    }

    /// The final state of subtask `subtask` of operator `operator_id` (now at `parallelism`)
    /// if it had finished when the checkpoint was taken (empty: no state). Such a subtask is
    /// not run again. After a change of parallelism no subtask counts as finished: the
    /// operator runs again from its redistributed state.
    pub fn finished_state(
        &self,
        operator_id: &str,
        subtask: u32,
        parallelism: u32,
    ) -> Option<&[u8]> {
        let (old_parallelism, states) = self.finished.get(operator_id)?;
        if *old_parallelism != parallelism {
            return None;
        }
        states.get(subtask as usize)?.as_deref()
    }

    /// What subtask `subtask` of operator `operator_id` starts from (fresh when the checkpoint
    /// does not know the operator).
    pub fn for_subtask(&self, operator_id: &str, subtask: u32) -> RestoredOperatorState {
        self.operators
            .get(operator_id)
            .and_then(|shares| shares.get(subtask as usize))
            .cloned()
            .unwrap_or_default()
    }
}
