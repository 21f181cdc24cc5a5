//! The StreamGraph: the program as the DataStream API recorded it.

use serde::{Deserialize, Serialize};

use eddy_core::config::RuntimeMode;

use crate::GraphError;

/// Identifies a node of the StreamGraph (a transformation), numbered from 1 in creation order.
pub type NodeId = u32;

/// How records travel along an edge to the parallel instances of the downstream operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartitionerKind {
    /// Subtask i sends to subtask i (same parallelism required); the edge can be chained.
    Forward,
    /// Round-robin over all downstream subtasks.
    Rebalance,
    /// Round-robin over a local subset of downstream subtasks (pointwise connection).
    Rescale,
    /// Uniformly random downstream subtask.
    Shuffle,
    /// Every record to every downstream subtask.
    Broadcast,
    /// Everything to downstream subtask 0.
    Global,
    /// By key: key → key group → owning subtask (`key_by`).
    KeyGroup,
    /// A user [`Partitioner`](eddy_functions::Partitioner) (`partition_custom`).
    Custom,
}

impl PartitionerKind {
    /// Flink's ship-strategy name shown in plans.
    pub fn ship_strategy(self) -> &'static str {
        match self {
            PartitionerKind::Forward => "FORWARD",
            PartitionerKind::Rebalance => "REBALANCE",
            PartitionerKind::Rescale => "RESCALE",
            PartitionerKind::Shuffle => "SHUFFLE",
            PartitionerKind::Broadcast => "BROADCAST",
            PartitionerKind::Global => "GLOBAL",
            PartitionerKind::KeyGroup => "HASH",
            PartitionerKind::Custom => "CUSTOM",
        }
    }

    /// Whether each producer connects to only some consumers (forward, rescale).
    pub fn is_pointwise(self) -> bool {
        matches!(self, PartitionerKind::Forward | PartitionerKind::Rescale)
    }
}

/// Whether an operator may be chained to its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainingStrategy {
    /// Chains to its predecessor and successors where the rules allow (default).
    Always,
    /// Starts a new chain: never chained to its predecessor (`start_new_chain`, sources).
    Head,
    /// Never chained on either side (`disable_chaining`).
    Never,
}

/// What role a node plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// Produces records from outside.
    Source,
    /// Transforms records.
    Operator,
    /// Writes records out.
    Sink,
}

/// One transformation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamNode {
    /// The node's id.
    pub id: NodeId,
    /// The operator's name, e.g. `Map` or `Source: Collection Source`.
    pub name: String,
    /// Source, operator or sink.
    pub kind: NodeKind,
    /// Parallel instances.
    pub parallelism: u32,
    /// Key groups of keyed state (and the bound on rescaling).
    pub max_parallelism: u32,
    /// The user's stable id for state mapping, if set.
    pub uid: Option<String>,
    /// Slot-sharing group name (`default` unless set).
    pub slot_sharing_group: String,
    /// Chaining strategy.
    pub chaining: ChainingStrategy,
    /// Number of logical inputs: 0 (source), 1, or 2 (connected streams).
    pub num_inputs: u8,
}

/// A connection from one node to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEdge {
    /// Producing node.
    pub source: NodeId,
    /// Consuming node.
    pub target: NodeId,
    /// How records are partitioned.
    pub partitioner: PartitionerKind,
    /// Which input of the target this feeds: 0, or 1 for the second input of a two-input
    /// operator.
    pub input_index: u8,
    /// The side output this edge carries (its tag id), or `None` for the main output.
    #[serde(default)]
    pub side_output: Option<String>,
}

/// The program as a graph of transformations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamGraph {
    /// The job's name.
    pub job_name: String,
    /// Nodes in id order.
    pub nodes: Vec<StreamNode>,
    /// Edges in creation order.
    pub edges: Vec<StreamEdge>,
    /// `pipeline.operator-chaining.enabled` / `disable_operator_chaining()`.
    pub chaining_enabled: bool,
    /// The runtime mode, already resolved (never `Automatic`).
    pub runtime_mode: RuntimeMode,
}

impl StreamGraph {
    /// The node with the given id.
    pub fn node(&self, id: NodeId) -> &StreamNode {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .expect("node ids in a StreamGraph refer to its own nodes")
    }

    /// The id under which a node's state is stored in checkpoints and savepoints: its `uid`
    /// when the program sets one, otherwise a hash of its position in the graph (its id and
    /// the ids of the nodes feeding it), which stays the same as long as the program builds
    /// the same graph. Renaming an operator or changing its parallelism keeps the id.
    pub fn operator_id(&self, id: NodeId) -> String {
        if let Some(uid) = &self.node(id).uid {
            return uid.clone();
        }
        // FNV-1a: tiny, and stable across Rust versions (unlike `DefaultHasher`).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |value: u64| {
            for byte in value.to_le_bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        feed(id as u64);
        for edge in self.in_edges(id) {
            feed(edge.source as u64);
            feed(u64::from(edge.input_index));
        }
        format!("{hash:016x}")
    }

    /// Edges into a node.
    pub fn in_edges(&self, id: NodeId) -> impl Iterator<Item = &StreamEdge> {
        self.edges.iter().filter(move |e| e.target == id)
    }

    /// Edges out of a node.
    pub fn out_edges(&self, id: NodeId) -> impl Iterator<Item = &StreamEdge> {
        self.edges.iter().filter(move |e| e.source == id)
    }

    /// Checks what the plan requires: valid parallelism, forward edges between equal
    /// parallelism, at least one node.
    pub fn validate(&self) -> Result<(), GraphError> {
        if self.nodes.is_empty() {
            return Err(GraphError::Empty);
        }
        for node in &self.nodes {
            if node.parallelism == 0 {
                return Err(GraphError::InvalidParallelism {
                    operator: node.name.clone(),
                    reason: "parallelism must be at least 1".into(),
                });
            }
            if node.max_parallelism < node.parallelism {
                return Err(GraphError::InvalidParallelism {
                    operator: node.name.clone(),
                    reason: format!(
                        "parallelism {} is larger than the max parallelism {}",
                        node.parallelism, node.max_parallelism
                    ),
                });
            }
        }
        for edge in &self.edges {
            for end in [edge.source, edge.target] {
                if !self.nodes.iter().any(|n| n.id == end) {
                    return Err(GraphError::UnknownNode(end));
                }
            }
            let (up, down) = (self.node(edge.source), self.node(edge.target));
            if edge.partitioner == PartitionerKind::Forward && up.parallelism != down.parallelism {
                return Err(GraphError::ForwardParallelismMismatch {
                    upstream: up.name.clone(),
                    upstream_parallelism: up.parallelism,
                    downstream: down.name.clone(),
                    downstream_parallelism: down.parallelism,
                });
            }
        }
        Ok(())
    }
}
