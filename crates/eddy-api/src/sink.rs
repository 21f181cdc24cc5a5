//! The handle returned when a stream is written to a sink.

use parking_lot::Mutex;

use eddy_core::Data;
use eddy_functions::SinkFunction;
use eddy_graph::NodeKind;
use eddy_runtime::factory::OneInputFactory;
use eddy_runtime::operators::SinkOperator;

use crate::datastream::{DataStream, StreamInput};
use crate::environment::NodeSpec;

/// A sink operator; its settings can still be changed.
pub struct DataStreamSink {
    stream: DataStream<()>,
}

impl DataStreamSink {
    pub(crate) fn add<T: Data, S: SinkFunction<T>>(
        input: &DataStream<T>,
        name: &str,
        sink: S,
    ) -> DataStreamSink {
        let prototype = Mutex::new(sink);
        let factory = OneInputFactory::<T, ()>::new(move |setup, _unused, _no_side_outputs| {
            Ok(SinkOperator::boxed::<T>(prototype.lock().clone(), setup))
        });
        let inputs: Vec<(u8, &StreamInput)> = input.inputs.iter().map(|i| (0, i)).collect();
        let stream = input.env.add_node(
            NodeSpec {
                name,
                kind: NodeKind::Sink,
                num_inputs: 1,
                parallelism_limit: None,
                boundedness: None,
            },
            factory,
            &inputs,
        );
        DataStreamSink { stream }
    }

    /// Names the sink.
    pub fn name(self, name: &str) -> Self {
        DataStreamSink {
            stream: self.stream.name(name),
        }
    }

    /// Sets the sink's stable id.
    pub fn uid(self, uid: &str) -> Self {
        DataStreamSink {
            stream: self.stream.uid(uid),
        }
    }

    /// Sets the sink's parallelism.
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        DataStreamSink {
            stream: self.stream.set_parallelism(parallelism),
        }
    }

    /// Never chains the sink to its predecessor.
    pub fn disable_chaining(self) -> Self {
        DataStreamSink {
            stream: self.stream.disable_chaining(),
        }
    }

    /// Starts a new chain at the sink.
    pub fn start_new_chain(self) -> Self {
        DataStreamSink {
            stream: self.stream.start_new_chain(),
        }
    }

    /// Puts the sink into a slot-sharing group.
    pub fn slot_sharing_group(self, group: &str) -> Self {
        DataStreamSink {
            stream: self.stream.slot_sharing_group(group),
        }
    }
}
