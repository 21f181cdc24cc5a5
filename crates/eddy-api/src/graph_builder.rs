//! Records the program's transformations and turns them into a StreamGraph.

use std::collections::HashMap;
use std::sync::Arc;

use eddy_core::config::{Configuration, RuntimeMode, MAX_PARALLELISM, RUNTIME_MODE};
use eddy_core::keygroup::default_max_parallelism;
use eddy_functions::Boundedness;
use eddy_graph::{
    ChainingStrategy, NodeId, NodeKind, PartitionerKind, StreamEdge, StreamGraph, StreamNode,
};
use eddy_runtime::factory::{EdgeFactory, JobCode, OperatorFactory};

use crate::error::JobError;

/// One transformation as the program declared it (settings still unresolved).
pub(crate) struct Transformation {
    pub name: String,
    pub kind: NodeKind,
    pub parallelism: Option<u32>,
    pub max_parallelism: Option<u32>,
    pub uid: Option<String>,
    pub slot_sharing_group: Option<String>,
    pub chaining: ChainingStrategy,
    pub num_inputs: u8,
    /// `Some(1)` for non-parallel operators (e.g. a collection source).
    pub parallelism_limit: Option<u32>,
    /// For sources: whether they end.
    pub boundedness: Option<Boundedness>,
    /// Whether the operator's function can emit side outputs (process functions).
    pub emits_side_outputs: bool,
    pub factory: Arc<dyn OperatorFactory>,
}

/// An edge as declared: `None` partitioner means "forward if the parallelism matches, else
/// rebalance", as in Flink.
pub(crate) struct DeclaredEdge {
    pub source: NodeId,
    pub target: NodeId,
    pub partitioner: Option<PartitionerKind>,
    pub input_index: u8,
    pub side_output: Option<String>,
    pub factory: Arc<dyn EdgeFactory>,
}

/// Everything `execute` needs: the plan and the code.
pub(crate) struct BuiltProgram {
    pub graph: StreamGraph,
    pub code: JobCode,
}

/// The program recorded so far.
#[derive(Default)]
pub(crate) struct ProgramRecorder {
    pub transformations: Vec<Transformation>,
    pub edges: Vec<DeclaredEdge>,
    pub errors: Vec<String>,
}

impl ProgramRecorder {
    /// Adds a transformation; ids start at 1.
    pub fn add(&mut self, t: Transformation) -> NodeId {
        self.transformations.push(t);
        self.transformations.len() as NodeId
    }

    pub fn get_mut(&mut self, id: NodeId) -> &mut Transformation {
        &mut self.transformations[id as usize - 1]
    }

    /// Resolves parallelism, max parallelism, slot-sharing groups, default partitioners and
    /// the runtime mode, and validates the result.
    pub fn build(
        &self,
        job_name: &str,
        default_parallelism: u32,
        env_max_parallelism: Option<u32>,
        env_runtime_mode: Option<RuntimeMode>,
        chaining_enabled: bool,
        config: &Configuration,
    ) -> Result<BuiltProgram, JobError> {
        if let Some(error) = self.errors.first() {
            return Err(JobError::InvalidProgram(error.clone()));
        }
        if self.transformations.is_empty() {
            return Err(eddy_graph::GraphError::Empty.into());
        }
        let config_max = config.get(&MAX_PARALLELISM)?;
        let mut nodes: Vec<StreamNode> = Vec::with_capacity(self.transformations.len());
        let mut groups: HashMap<NodeId, String> = HashMap::new();
        for (index, t) in self.transformations.iter().enumerate() {
            let id = index as NodeId + 1;
            let parallelism = match (t.parallelism, t.parallelism_limit) {
                (Some(p), Some(limit)) if p > limit => {
                    return Err(JobError::InvalidProgram(format!(
                        "the parallelism of non-parallel operator '{}' must be {limit}, but it was set to {p}",
                        t.name
                    )))
                }
                (Some(p), _) => p,
                (None, Some(limit)) => limit,
                (None, None) => default_parallelism,
            };
            let max_parallelism = t
                .max_parallelism
                .or(env_max_parallelism)
                .or((config_max > 0).then_some(config_max as u32))
                .unwrap_or_else(|| default_max_parallelism(parallelism));
            // Flink: an operator without a group joins its inputs' group when they agree.
            let group = t.slot_sharing_group.clone().unwrap_or_else(|| {
                let mut input_groups = self
                    .edges
                    .iter()
                    .filter(|e| e.target == id)
                    .filter_map(|e| groups.get(&e.source));
                match input_groups.next() {
                    Some(first) if input_groups.all(|g| g == first) => first.clone(),
                    _ => "default".to_string(),
                }
            });
            groups.insert(id, group.clone());
            nodes.push(StreamNode {
                id,
                name: t.name.clone(),
                kind: t.kind,
                parallelism,
                max_parallelism,
                uid: t.uid.clone(),
                slot_sharing_group: group,
                chaining: t.chaining,
                num_inputs: t.num_inputs,
            });
        }
        let edges = self
            .edges
            .iter()
            .map(|e| {
                let (up, down) = (&nodes[e.source as usize - 1], &nodes[e.target as usize - 1]);
                let partitioner = e
                    .partitioner
                    .unwrap_or(if up.parallelism == down.parallelism {
                        PartitionerKind::Forward
                    } else {
                        PartitionerKind::Rebalance
                    });
                StreamEdge {
                    source: e.source,
                    target: e.target,
                    partitioner,
                    input_index: e.input_index,
                    side_output: e.side_output.clone(),
                }
            })
            .collect();
        let runtime_mode = self.resolve_runtime_mode(env_runtime_mode, config)?;
        let graph = StreamGraph {
            job_name: job_name.to_string(),
            nodes,
            edges,
            chaining_enabled,
            runtime_mode,
        };
        graph.validate()?;
        let code = JobCode {
            operators: self
                .transformations
                .iter()
                .enumerate()
                .map(|(i, t)| (i as NodeId + 1, t.factory.clone()))
                .collect(),
            edges: self.edges.iter().map(|e| e.factory.clone()).collect(),
        };
        Ok(BuiltProgram { graph, code })
    }

    fn resolve_runtime_mode(
        &self,
        env_mode: Option<RuntimeMode>,
        config: &Configuration,
    ) -> Result<RuntimeMode, JobError> {
        let mode = match env_mode {
            Some(mode) => mode,
            None => config.get(&RUNTIME_MODE)?,
        };
        let unbounded: Vec<&str> = self
            .transformations
            .iter()
            .filter(|t| t.boundedness == Some(Boundedness::ContinuousUnbounded))
            .map(|t| t.name.as_str())
            .collect();
        match mode {
            RuntimeMode::Automatic if unbounded.is_empty() => Ok(RuntimeMode::Batch),
            RuntimeMode::Automatic => Ok(RuntimeMode::Streaming),
            RuntimeMode::Batch if !unbounded.is_empty() => Err(JobError::InvalidProgram(format!(
                "execution.runtime-mode BATCH needs bounded sources, but {} is unbounded; use STREAMING or AUTOMATIC",
                unbounded.join(", ")
            ))),
            mode => Ok(mode),
        }
    }
}
