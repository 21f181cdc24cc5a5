//! Eddy's plans, from program to subtasks.
//!
//! 1. [`StreamGraph`]: one node per transformation, edges carrying the partitioner — built by the
//!    DataStream API.
//! 2. [`JobGraph`]: operators chained into [`JobVertex`]es by Flink's chaining rules.
//! 3. [`ExecutionGraph`]: each vertex expanded into parallel subtasks, each edge into channels.
//!
//! All three are plain data (no closures) and serialize to JSON; the code that runs operators
//! is kept apart, keyed by [`NodeId`].

mod execution_graph;
mod job_graph;
mod plan_json;
mod stream_graph;

pub use execution_graph::{ExecutionGraph, ExecutionVertex, InputChannel, OutputChannels};
pub use job_graph::{is_chainable, JobEdge, JobGraph, JobVertex, VertexId};
pub use plan_json::execution_plan_json;
pub use stream_graph::{
    ChainingStrategy, NodeId, NodeKind, PartitionerKind, StreamEdge, StreamGraph, StreamNode,
};

/// A plan that cannot run as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A forward edge between operators of different parallelism.
    #[error("forward partitioning does not allow a change of parallelism: '{upstream}' has parallelism {upstream_parallelism} but '{downstream}' has {downstream_parallelism}; use rebalance() or another partitioner, or give both the same parallelism")]
    ForwardParallelismMismatch {
        /// The upstream operator.
        upstream: String,
        /// Its parallelism.
        upstream_parallelism: u32,
        /// The downstream operator.
        downstream: String,
        /// Its parallelism.
        downstream_parallelism: u32,
    },
    /// An invalid parallelism or max parallelism setting.
    #[error("invalid parallelism for '{operator}': {reason}")]
    InvalidParallelism {
        /// The operator.
        operator: String,
        /// What is wrong.
        reason: String,
    },
    /// An edge names a node the graph does not have.
    #[error("the plan has an edge to or from node {0}, which does not exist")]
    UnknownNode(NodeId),
    /// The program defines no sink or no operator at all.
    #[error("no operators defined in streaming topology; cannot execute")]
    Empty,
}
