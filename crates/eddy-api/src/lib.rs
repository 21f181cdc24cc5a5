//! Eddy's DataStream API.
//!
//! ```no_run
//! use eddy_api::prelude::*;
//!
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.from_elements(vec!["to be".to_string(), "or not to be".to_string()])
//!     .flat_map(|line: String, out: &mut Collector<(String, u64)>| {
//!         for word in line.split(' ') {
//!             out.collect((word.to_string(), 1));
//!         }
//!     })
//!     .key_by(|pair: &(String, u64)| pair.0.clone())
//!     .sum(|pair| &mut pair.1)
//!     .map(|(word, count)| format!("({word},{count})"))
//!     .print();
//! env.execute("word count").unwrap();
//! ```
//!
//! Programs build a StreamGraph through a [`StreamExecutionEnvironment`]; `execute` chains it
//! into a JobGraph and runs it on an embedded mini-cluster made of the real cluster components.

mod aggregations;
mod broadcast;
mod client;
mod collect;
mod connected;
mod datastream;
pub mod environment;
mod error;
mod graph_builder;
mod joins;
mod keyed;
mod params;
mod sink;
mod windowed;

pub use broadcast::{
    BroadcastConnectedStream, BroadcastStream, Connectable, KeyedBroadcastConnectedStream,
};
pub use client::{JobClient, JobExecutionResult};
pub use connected::{ConnectedStreams, KeyedConnectedStreams};
pub use datastream::DataStream;
pub use environment::StreamExecutionEnvironment;
pub use error::JobError;
pub use joins::{
    CoGroup, CoGroupedStreams, IntervalJoin, IntervalJoined, Join, JoinEqualTo, JoinWhere,
    JoinWindow, JoinedStreams, TaggedUnion,
};
pub use keyed::KeyedStream;
pub use params::ParameterTool;
pub use sink::DataStreamSink;
pub use windowed::{AllWindowedStream, WindowedStream};

/// Re-exported lower layers, for users who need more than the prelude.
pub use eddy_checkpoint as checkpoint;
pub use eddy_cluster as cluster;
pub use eddy_connectors as connectors;
pub use eddy_core as core;
pub use eddy_functions as functions;
pub use eddy_graph as graph;
pub use eddy_state as state;

/// Everything a typical job needs.
pub mod prelude {
    pub use crate::{
        AllWindowedStream, BroadcastConnectedStream, BroadcastStream, Connectable,
        ConnectedStreams, DataStream, DataStreamSink, JobClient, JobError, JobExecutionResult,
        KeyedBroadcastConnectedStream, KeyedConnectedStreams, KeyedStream, ParameterTool,
        StreamExecutionEnvironment, WindowedStream,
    };
    pub use eddy_checkpoint::CheckpointingMode;
    pub use eddy_cluster::JobStatus;
    pub use eddy_connectors::WriteMode;
    pub use eddy_core::config::{Configuration, RuntimeMode};
    pub use eddy_core::{Batch, Data, FnResult, FunctionError, Key, StreamRecord};
    pub use eddy_functions::windowing::{
        process_window_fn, AggregateFunction, ContinuousEventTimeTrigger,
        ContinuousProcessingTimeTrigger, CountEvictor, CountTrigger, Elements,
        EventTimeSessionWindows, EventTimeTrigger, Evictor, EvictorContext, GlobalWindow,
        GlobalWindows, NeverTrigger, ProcessWindowFunction, ProcessingTimeSessionWindows,
        ProcessingTimeTrigger, PurgingTrigger, SlidingEventTimeWindows,
        SlidingProcessingTimeWindows, TimeEvictor, TimeWindow, TimestampedValue, Trigger,
        TriggerContext, TriggerResult, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
        Window, WindowAssigner, WindowContext,
    };
    pub use eddy_functions::{
        BorrowedKey, Boundedness, BroadcastContext, BroadcastProcessFunction, CoFlatMapFunction,
        CoMapFunction, CoProcessFunction, Collector, FilterFunction, FlatMapFunction, KeySelector,
        KeyedBroadcastContext, KeyedBroadcastProcessFunction, KeyedCoProcessFunction, KeyedContext,
        KeyedProcessFunction, KeyedReadOnlyBroadcastContext, MapFunction, OutputTag, Partitioner,
        ProcessContext, ProcessFunction, ProcessJoinContext, ProcessJoinFunction,
        ReadOnlyBroadcastContext, ReduceFunction, RuntimeContext, SinkContext, SinkFunction,
        SourceFunction, SourceOutput, SourceStatus, TimestampAssigner, WatermarkGenerator,
        WatermarkOutput, WatermarkStrategy,
    };
    pub use eddy_functions::{FunctionInitializationContext, FunctionSnapshotContext};
    pub use eddy_state::time::{TimeDomain, TimerService};
    pub use eddy_state::{
        AggregatingState, AggregatingStateDescriptor, BroadcastState, KeyedState,
        KeyedStateDescriptor, KeyedStateStore, ListState, ListStateDescriptor, MapState,
        MapStateDescriptor, Namespace, ReadOnlyBroadcastState, ReducingState,
        ReducingStateDescriptor, ValueState, ValueStateDescriptor,
    };
    pub use eddy_state::{OperatorListState, OperatorStateStore};
    pub use eddy_state::{StateTtlConfig, StateVisibility, UpdateType};
}
