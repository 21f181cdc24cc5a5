//! User-function traits: what a job implements and operators call, and windowing (assigners,
//! triggers, evictors, window functions).
//!
//! Each trait is the "rich" form of a Flink function: the per-record method plus optional
//! `open`/`close` lifecycle hooks with a [`RuntimeContext`], and the checkpointed-function
//! hooks `initialize_state` (called before `open`) and `snapshot_state`, through which any
//! function keeps operator state (see [`eddy_state::checkpointed`]). Every function is `Clone`, because
//! each parallel subtask runs its own copy, cloned from the one the program built.
//!
//! The DataStream API also accepts plain closures for the common cases (`map(|x| x + 1)`); it
//! wraps them into these traits with the adapters in [`closures`].

mod broadcast;
pub mod closures;
mod collector;
mod context;
mod join;
mod keyed;
mod side_output;
mod sink;
mod source;
mod transform;
pub mod two_phase_commit;
mod watermarks;
pub mod windowing;

pub use broadcast::{
    BroadcastContext, BroadcastProcessFunction, KeyedBroadcastContext,
    KeyedBroadcastProcessFunction, KeyedReadOnlyBroadcastContext, ReadOnlyBroadcastContext,
};
pub use collector::Collector;
pub use context::ProcessContext;
pub use eddy_state::{
    AggregateFunction, FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext,
};
pub use join::{ProcessJoinContext, ProcessJoinFunction};
pub use keyed::{CoProcessFunction, KeyedCoProcessFunction, KeyedContext, KeyedProcessFunction};
pub use side_output::{OutputTag, SideOutputs};
pub use sink::{SinkContext, SinkFunction};
pub use source::{Boundedness, SourceFunction, SourceOutput, SourceStatus};
pub use transform::{
    BorrowedKey, CoFlatMapFunction, CoMapFunction, FilterFunction, FlatMapFunction, KeySelector,
    MapFunction, Partitioner, ProcessFunction, ReduceFunction,
};
pub use two_phase_commit::{TwoPhaseCommitSink, TwoPhaseCommitSinkFunction};
pub use watermarks::{
    BoundedOutOfOrderness, IngestionTime, NoWatermarks, RecordTimestamps, TimestampAssigner,
    WatermarkGenerator, WatermarkOutput, WatermarkStrategy, WithIdleness,
};
