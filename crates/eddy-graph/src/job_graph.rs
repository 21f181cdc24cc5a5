//! The JobGraph: operators chained into vertices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stream_graph::{ChainingStrategy, NodeId, PartitionerKind, StreamEdge, StreamGraph};
use crate::GraphError;

/// Identifies a vertex of the JobGraph (index into [`JobGraph::vertices`]).
pub type VertexId = usize;

/// One operator chain: the unit that is parallelized and scheduled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobVertex {
    /// The vertex's id.
    pub id: VertexId,
    /// The chained operator names joined by ` -> `, e.g. `Source: Collection Source -> Map`; where
    /// the chain fans out, the branches are listed in parentheses, as in Flink:
    /// `Source -> (Map -> Sink: A, Filter -> Sink: B)`.
    pub name: String,
    /// The chained operators, head first, in chain (depth-first) order.
    pub operators: Vec<NodeId>,
    /// Parallel subtasks.
    pub parallelism: u32,
    /// The head operator's max parallelism.
    pub max_parallelism: u32,
    /// Slot-sharing group.
    pub slot_sharing_group: String,
}

impl JobVertex {
    /// The first operator of the chain.
    pub fn head(&self) -> NodeId {
        self.operators[0]
    }
}

/// A data exchange between two vertices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEdge {
    /// The producing vertex.
    pub source_vertex: VertexId,
    /// The consuming vertex.
    pub target_vertex: VertexId,
    /// Index of that edge in [`StreamGraph::edges`].
    pub stream_edge_index: usize,
    /// The StreamGraph edge this exchange realizes (its source node is inside the producing
    /// chain, its target is the consuming chain's head).
    pub stream_edge: StreamEdge,
}

/// The job as chained vertices and the exchanges between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobGraph {
    /// The job's name.
    pub job_name: String,
    /// The vertices, ordered by their head operator's id.
    pub vertices: Vec<JobVertex>,
    /// The exchanges, in StreamGraph edge order.
    pub edges: Vec<JobEdge>,
    /// The operator-level graph the vertices were built from.
    pub stream_graph: StreamGraph,
}

impl JobGraph {
    /// Chains the StreamGraph's operators by Flink's rules. See [`is_chainable`].
    pub fn from_stream_graph(graph: &StreamGraph) -> Result<JobGraph, GraphError> {
        graph.validate()?;
        let heads: Vec<NodeId> = graph
            .nodes
            .iter()
            .filter(|n| !graph.in_edges(n.id).any(|e| is_chainable(graph, e)))
            .map(|n| n.id)
            .collect();
        let mut vertex_of: BTreeMap<NodeId, VertexId> = BTreeMap::new();
        let mut vertices = Vec::with_capacity(heads.len());
        for head in heads {
            let id = vertices.len();
            let mut operators = Vec::new();
            collect_chain(graph, head, &mut operators);
            for op in &operators {
                vertex_of.insert(*op, id);
            }
            let head_node = graph.node(head);
            let name = chain_name(graph, head);
            vertices.push(JobVertex {
                id,
                name,
                operators,
                parallelism: head_node.parallelism,
                max_parallelism: head_node.max_parallelism,
                slot_sharing_group: head_node.slot_sharing_group.clone(),
            });
        }
        let edges = graph
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| !is_chainable(graph, e))
            .map(|(stream_edge_index, e)| JobEdge {
                stream_edge_index,
                source_vertex: vertex_of[&e.source],
                target_vertex: vertex_of[&e.target],
                stream_edge: e.clone(),
            })
            .collect();
        Ok(JobGraph {
            job_name: graph.job_name.clone(),
            vertices,
            edges,
            stream_graph: graph.clone(),
        })
    }

    /// The vertex that holds an operator.
    pub fn vertex_of(&self, node: NodeId) -> Option<&JobVertex> {
        self.vertices.iter().find(|v| v.operators.contains(&node))
    }

    /// Exchanges into a vertex, in edge order.
    pub fn inputs_of(&self, vertex: VertexId) -> impl Iterator<Item = &JobEdge> {
        self.edges.iter().filter(move |e| e.target_vertex == vertex)
    }

    /// Exchanges out of a vertex, in edge order.
    pub fn outputs_of(&self, vertex: VertexId) -> impl Iterator<Item = &JobEdge> {
        self.edges.iter().filter(move |e| e.source_vertex == vertex)
    }

    /// The pipelined regions: groups of vertices connected by data exchanges (in a streaming
    /// job every exchange is pipelined, so a region is a connected part of the graph). A
    /// failure restarts its region. Each region lists its vertices ascending; regions are
    /// ordered by their first vertex.
    pub fn pipelined_regions(&self) -> Vec<Vec<VertexId>> {
        let mut region: Vec<VertexId> = (0..self.vertices.len()).collect();
        fn root(region: &mut [VertexId], mut v: VertexId) -> VertexId {
            while region[v] != v {
                region[v] = region[region[v]];
                v = region[v];
            }
            v
        }
        for edge in &self.edges {
            let (a, b) = (
                root(&mut region, edge.source_vertex),
                root(&mut region, edge.target_vertex),
            );
            region[a.max(b)] = a.min(b);
        }
        let mut groups: BTreeMap<VertexId, Vec<VertexId>> = BTreeMap::new();
        for v in 0..self.vertices.len() {
            let r = root(&mut region, v);
            groups.entry(r).or_default().push(v);
        }
        groups.into_values().collect()
    }

    /// Slots the job needs: per slot-sharing group, its largest parallelism; summed over groups.
    pub fn required_slots(&self) -> u32 {
        self.slot_sharing_groups().values().sum()
    }

    /// Each slot-sharing group with the slots it needs (its largest parallelism).
    pub fn slot_sharing_groups(&self) -> BTreeMap<String, u32> {
        let mut groups: BTreeMap<String, u32> = BTreeMap::new();
        for v in &self.vertices {
            let slots = groups.entry(v.slot_sharing_group.clone()).or_default();
            *slots = (*slots).max(v.parallelism);
        }
        groups
    }
}

/// Flink's chaining rule: an edge is chained when chaining is enabled, the edge is forward, the
/// target has this single input, both sides have the same parallelism and slot-sharing group,
/// the upstream operator allows chaining after it (not `Never`) and the downstream operator
/// allows chaining before it (`Always`, i.e. no `start_new_chain`/`disable_chaining`).
pub fn is_chainable(graph: &StreamGraph, edge: &StreamEdge) -> bool {
    let up = graph.node(edge.source);
    let down = graph.node(edge.target);
    graph.chaining_enabled
        && edge.partitioner == PartitionerKind::Forward
        && down.num_inputs == 1
        && graph.in_edges(down.id).count() == 1
        && up.parallelism == down.parallelism
        && up.slot_sharing_group == down.slot_sharing_group
        && up.chaining != ChainingStrategy::Never
        && down.chaining == ChainingStrategy::Always
}

/// Flink's `createChainedName`: the operator's name, then ` -> ` and its one chained successor's
/// chain name, or ` -> (a, b)` when several successors are chained.
fn chain_name(graph: &StreamGraph, node: NodeId) -> String {
    let name = &graph.node(node).name;
    let chained: Vec<String> = graph
        .out_edges(node)
        .filter(|e| is_chainable(graph, e))
        .map(|e| chain_name(graph, e.target))
        .collect();
    match chained.as_slice() {
        [] => name.clone(),
        [next] => format!("{name} -> {next}"),
        branches => format!("{name} -> ({})", branches.join(", ")),
    }
}

fn collect_chain(graph: &StreamGraph, node: NodeId, out: &mut Vec<NodeId>) {
    out.push(node);
    for edge in graph.out_edges(node) {
        if is_chainable(graph, edge) {
            collect_chain(graph, edge.target, out);
        }
    }
}
