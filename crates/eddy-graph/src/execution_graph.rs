//! The ExecutionGraph: parallel subtasks and the channels between them.

use serde::{Deserialize, Serialize};

use crate::job_graph::{JobGraph, VertexId};
use crate::stream_graph::PartitionerKind;

/// One input channel of a subtask: records from one producer subtask over one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputChannel {
    /// Index of the exchange in [`JobGraph::edges`].
    pub edge: usize,
    /// Which input of the head operator it feeds (0, or 1 for a second input).
    pub input_index: u8,
    /// The producing subtask.
    pub producer_subtask: u32,
}

/// A subtask's outgoing channels for one exchange, in the order the partitioner indexes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChannels {
    /// Index of the exchange in [`JobGraph::edges`].
    pub edge: usize,
    /// For each channel: the consuming subtask and the channel's index in that subtask's inputs.
    pub consumers: Vec<(u32, usize)>,
}

/// One parallel instance of a vertex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionVertex {
    /// The JobGraph vertex.
    pub vertex: VertexId,
    /// This instance's index, 0-based.
    pub subtask_index: u32,
    /// The vertex's parallelism.
    pub parallelism: u32,
    /// `Name (i/n)` with a 1-based index, as shown in logs and errors.
    pub name: String,
    /// Input channels, grouped by exchange in edge order, producers ascending.
    pub inputs: Vec<InputChannel>,
    /// Output channels, one entry per outgoing exchange in edge order.
    pub outputs: Vec<OutputChannels>,
}

/// Every subtask of a job and how they connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionGraph {
    /// `subtasks[vertex][subtask_index]`.
    pub subtasks: Vec<Vec<ExecutionVertex>>,
}

/// The consumer subtasks producer `producer` of `producers` sends to, ascending.
///
/// All-to-all for every partitioner except forward (i → i) and rescale, which connects
/// pointwise as Flink does (`VertexInputInfoComputationUtils.computeVertexInputInfoForPointwise`):
/// with at least as many producers as consumers, consumer j reads producers ⌊j·p/c⌋ ..
/// ⌊(j+1)·p/c⌋ − 1, so producer i feeds consumer ⌊((i+1)·c − 1)/p⌋; with fewer, producer i feeds
/// consumers ⌈i·c/p⌉ .. ⌈(i+1)·c/p⌉ − 1.
pub fn connected_consumers(
    partitioner: PartitionerKind,
    producers: u32,
    consumers: u32,
    producer: u32,
) -> Vec<u32> {
    let (p, c, i) = (
        u64::from(producers),
        u64::from(consumers),
        u64::from(producer),
    );
    match partitioner {
        PartitionerKind::Forward => vec![producer],
        PartitionerKind::Rescale if p >= c => vec![(((i + 1) * c - 1) / p) as u32],
        PartitionerKind::Rescale => {
            ((i * c).div_ceil(p) as u32..((i + 1) * c).div_ceil(p) as u32).collect()
        }
        _ => (0..consumers).collect(),
    }
}

impl ExecutionGraph {
    /// Expands every vertex into subtasks and every exchange into channels.
    pub fn from_job_graph(job: &JobGraph) -> ExecutionGraph {
        let mut subtasks: Vec<Vec<ExecutionVertex>> = job
            .vertices
            .iter()
            .map(|v| {
                (0..v.parallelism)
                    .map(|i| ExecutionVertex {
                        vertex: v.id,
                        subtask_index: i,
                        parallelism: v.parallelism,
                        name: format!("{} ({}/{})", v.name, i + 1, v.parallelism),
                        inputs: Vec::new(),
                        outputs: Vec::new(),
                    })
                    .collect()
            })
            .collect();
        for (edge_index, edge) in job.edges.iter().enumerate() {
            let producers = job.vertices[edge.source_vertex].parallelism;
            let consumers = job.vertices[edge.target_vertex].parallelism;
            let kind = edge.stream_edge.partitioner;
            for producer in 0..producers {
                let mut channels = Vec::new();
                for consumer in connected_consumers(kind, producers, consumers, producer) {
                    let inputs = &mut subtasks[edge.target_vertex][consumer as usize].inputs;
                    channels.push((consumer, inputs.len()));
                    inputs.push(InputChannel {
                        edge: edge_index,
                        input_index: edge.stream_edge.input_index,
                        producer_subtask: producer,
                    });
                }
                subtasks[edge.source_vertex][producer as usize]
                    .outputs
                    .push(OutputChannels {
                        edge: edge_index,
                        consumers: channels,
                    });
            }
        }
        ExecutionGraph { subtasks }
    }

    /// Every subtask, vertex by vertex.
    pub fn all_subtasks(&self) -> impl Iterator<Item = &ExecutionVertex> {
        self.subtasks.iter().flatten()
    }

    /// Total number of subtasks.
    pub fn num_subtasks(&self) -> usize {
        self.subtasks.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_connects_pointwise_and_covers_every_consumer_once() {
        for p in 1..=8u32 {
            for c in 1..=8u32 {
                let mut fed = vec![0u32; c as usize];
                for i in 0..p {
                    let targets = connected_consumers(PartitionerKind::Rescale, p, c, i);
                    assert!(!targets.is_empty());
                    for t in targets {
                        fed[t as usize] += 1;
                    }
                }
                assert!(fed.iter().all(|&n| n >= 1), "p {p} c {c}: {fed:?}");
                if p <= c {
                    assert!(fed.iter().all(|&n| n == 1), "p {p} c {c}: {fed:?}");
                }
            }
        }
        assert_eq!(
            connected_consumers(PartitionerKind::Rescale, 2, 4, 1),
            vec![2, 3]
        );
        assert_eq!(
            connected_consumers(PartitionerKind::Rescale, 4, 2, 3),
            vec![1]
        );
    }
}
