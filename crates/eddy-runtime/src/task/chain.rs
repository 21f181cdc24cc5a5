//! Building a task's operator chain from the job's code.

use eddy_state::time::ProcessingTimeService;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use eddy_functions::RuntimeContext;
use eddy_graph::{JobGraph, NodeId};

use super::TaskDescriptor;
use crate::error::TaskError;
use crate::factory::{
    BuiltOperator, InputProcessor, JobCode, OperatorSetup, SideTarget, SourceDriver, StreamType,
    WriterSetup,
};
use crate::inbox::ChannelSender;
use crate::network::{InboxKey, LocalNetwork};
use crate::output::ErasedOutput;
use crate::restore::JobRestoreState;

/// The first operator of a task.
pub enum ChainHead {
    /// A source chain, driven by polling.
    Source(Box<dyn SourceDriver>),
    /// A chain fed by input channels.
    Input(Box<dyn InputProcessor>),
}

/// Everything needed to build one subtask's chain.
pub struct ChainBuilder<'a> {
    pub(crate) descriptor: &'a TaskDescriptor,
    pub(crate) job: &'a JobGraph,
    pub(crate) code: &'a JobCode,
    pub(crate) network: &'a LocalNetwork,
    pub(crate) cancelled: &'a Arc<AtomicBool>,
    pub(crate) clock: ProcessingTimeService,
    /// Whether the job takes checkpoints.
    pub(crate) checkpointing: bool,
    /// The checkpoint the job restores from, if any.
    pub(crate) restore: Option<&'a JobRestoreState>,
}

impl ChainBuilder<'_> {
    /// Builds the chain of the descriptor's vertex, head first.
    pub fn build(&self) -> Result<ChainHead, TaskError> {
        let vertex = &self.job.vertices[self.descriptor.vertex];
        let head = vertex.head();
        let factory = self.code.operator(head)?;
        match self.build_node(head)? {
            BuiltOperator::Source(driver) => Ok(ChainHead::Source(driver)),
            BuiltOperator::Head(processor) => Ok(ChainHead::Input(processor)),
            BuiltOperator::Chainable(chain) => {
                let input = factory.input_type().ok_or_else(|| {
                    TaskError::Internal(format!("operator {head} has no input type"))
                })?;
                Ok(ChainHead::Input(input.one_input_head(chain)?))
            }
        }
    }

    fn setup(&self, node: NodeId) -> OperatorSetup {
        let d = self.descriptor;
        let stream_node = self.job.stream_graph.node(node);
        let operator_id = self.job.stream_graph.operator_id(node);
        let restored = self
            .restore
            .map(|r| r.for_subtask(&operator_id, d.subtask_index))
            .unwrap_or_default();
        OperatorSetup {
            runtime: RuntimeContext {
                job_id: d.job_id,
                task_name: self.job.vertices[d.vertex].name.clone(),
                operator_name: stream_node.name.clone(),
                subtask_index: d.subtask_index,
                parallelism: stream_node.parallelism,
                max_parallelism: stream_node.max_parallelism,
                attempt_number: d.attempt_number,
                checkpointing: self.checkpointing,
                keyed_state: None,
            },
            settings: {
                let mut settings = d.settings.clone();
                settings.state_backend.slot = Some(d.slot.clone());
                settings
            },
            clock: self.clock.clone(),
            operator_id,
            restored,
        }
    }

    fn build_node(&self, node: NodeId) -> Result<BuiltOperator, TaskError> {
        let graph = &self.job.stream_graph;
        let factory = self.code.operator(node)?;
        // The consumers of the main output, and of each side output by tag, in edge order.
        let mut main: Vec<ErasedOutput> = Vec::new();
        let mut sides: Vec<(String, Vec<ErasedOutput>, Arc<dyn StreamType>)> = Vec::new();
        for (edge_index, edge) in graph.edges.iter().enumerate() {
            if edge.source != node {
                continue;
            }
            let consumer = self.consumer(node, edge_index)?;
            match &edge.side_output {
                None => main.push(consumer),
                Some(tag) => match sides.iter_mut().find(|(t, _, _)| t == tag) {
                    Some((_, outputs, _)) => outputs.push(consumer),
                    None => {
                        let ty = self.code.edge(edge_index)?.stream_type();
                        sides.push((tag.clone(), vec![consumer], ty));
                    }
                },
            }
        }
        let output = factory.output_type().fan_out(main)?;
        let side_outputs = sides
            .into_iter()
            .map(|(id, outputs, ty)| {
                let output = ty.fan_out(outputs)?;
                Ok((SideTarget { id, output }, ty))
            })
            .collect::<Result<Vec<_>, TaskError>>()?;
        factory.build(self.setup(node), output, side_outputs)
    }

    /// The consumer at the end of an edge: the chained operator, or a network writer.
    fn consumer(&self, node: NodeId, edge_index: usize) -> Result<ErasedOutput, TaskError> {
        let vertex = &self.job.vertices[self.descriptor.vertex];
        let target = self.job.stream_graph.edges[edge_index].target;
        if !vertex.operators.contains(&target) {
            return self.writer(node, edge_index);
        }
        match self.build_node(target)? {
            BuiltOperator::Chainable(chained) => Ok(chained),
            _ => Err(TaskError::Internal(format!(
                "operator {target} cannot be chained"
            ))),
        }
    }

    fn writer(&self, node: NodeId, stream_edge: usize) -> Result<ErasedOutput, TaskError> {
        let d = self.descriptor;
        let (job_edge_index, job_edge) = self
            .job
            .edges
            .iter()
            .enumerate()
            .find(|(_, e)| e.stream_edge_index == stream_edge)
            .ok_or_else(|| TaskError::Internal(format!("edge {stream_edge} is not an exchange")))?;
        let channels = d
            .execution_vertex
            .outputs
            .iter()
            .find(|o| o.edge == job_edge_index)
            .ok_or_else(|| TaskError::Internal(format!("no channels for edge {stream_edge}")))?;
        let senders = channels
            .consumers
            .iter()
            .map(|&(subtask, channel)| {
                let key = InboxKey {
                    job: d.job_id,
                    run: d.run,
                    vertex: job_edge.target_vertex,
                    subtask,
                };
                let inbox = self.network.inbox(
                    key,
                    d.settings.buffers_per_channel,
                    d.settings.floating_buffers_per_gate,
                );
                ChannelSender::new(inbox, channel, self.cancelled.clone())
            })
            .collect();
        let consumer = self.job.stream_graph.node(job_edge.stream_edge.target);
        let setup = WriterSetup {
            partitioner: job_edge.stream_edge.partitioner,
            producer_subtask: d.subtask_index,
            consumer_max_parallelism: consumer.max_parallelism,
            batch_size: d.settings.batch_size,
            batch_bytes: d.settings.batch_bytes,
            operator: self.setup(node).display_name(),
        };
        self.code.edge(stream_edge)?.create_writer(senders, &setup)
    }
}
