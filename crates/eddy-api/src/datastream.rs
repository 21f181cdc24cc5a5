//! DataStream: a stream of elements of one type, and its transformations.

use std::fmt::Display;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_connectors::{PrintSink, SocketSink, TextFileSink, WriteMode};
use eddy_core::{Data, FunctionError, Key};
use eddy_functions::closures::{FilterFn, FlatMapFn, MapFn, TryMapFn};
use eddy_functions::windowing::{
    CountEvictor, CountTrigger, GlobalWindow, GlobalWindows, PurgingTrigger, Window, WindowAssigner,
};
use eddy_functions::{
    BorrowedKey, Collector, FilterFunction, FlatMapFunction, KeySelector, MapFunction, OutputTag,
    Partitioner, ProcessFunction, TimestampAssigner, WatermarkGenerator, WatermarkStrategy,
};
use eddy_graph::{ChainingStrategy, NodeId, NodeKind, PartitionerKind};
use eddy_runtime::factory::{EdgeFactory, OneInputFactory, OperatorSetup};
use eddy_runtime::operators::{
    Chained, FilterLogic, FlatMapLogic, MapLogic, OneInputLogic, ProcessLogic,
    TimestampsAndWatermarksOperator,
};
use eddy_runtime::writer::{CustomEdge, KeyGroupEdge, StandardEdge};

use crate::broadcast::Connectable;
use crate::environment::{NodeSpec, StreamExecutionEnvironment};
use crate::joins::{CoGroupedStreams, JoinedStreams};
use crate::keyed::KeyedStream;
use crate::sink::DataStreamSink;
use crate::windowed::{AllWindowedStream, WindowedStream};

/// One upstream of a stream: a node and how records leave it towards the next operator.
#[derive(Clone)]
pub(crate) struct StreamInput {
    pub node: NodeId,
    pub partitioner: Option<PartitionerKind>,
    pub edge: Arc<dyn EdgeFactory>,
    /// The side output of `node` this stream reads (its tag id), or `None` for the main output.
    pub side_output: Option<String>,
}

/// A stream of `T` elements.
///
/// Created from a [`StreamExecutionEnvironment`]'s sources and by transformations. The
/// settings methods (`name`, `set_parallelism`, …) apply to the operator that produced the
/// stream.
pub struct DataStream<T> {
    pub(crate) env: StreamExecutionEnvironment,
    pub(crate) inputs: Vec<StreamInput>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream {
            env: self.env.clone(),
            inputs: self.inputs.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Data> DataStream<T> {
    pub(crate) fn from_node(env: StreamExecutionEnvironment, node: NodeId) -> Self {
        DataStream {
            env,
            inputs: vec![StreamInput {
                node,
                partitioner: None,
                edge: Arc::new(StandardEdge::<T>::new()),
                side_output: None,
            }],
            _type: PhantomData,
        }
    }

    /// The environment this stream belongs to.
    pub fn execution_environment(&self) -> &StreamExecutionEnvironment {
        &self.env
    }

    // ----- operator settings -----

    fn update(self, f: impl Fn(&mut crate::graph_builder::Transformation)) -> Self {
        for input in &self.inputs {
            self.env.update_node(input.node, &f);
        }
        self
    }

    /// Names the operator (shown in plans, logs and errors).
    pub fn name(self, name: &str) -> Self {
        self.update(|t| t.name = name.to_string())
    }

    /// Sets the operator's stable id, used to match its state on restore.
    pub fn uid(self, uid: &str) -> Self {
        self.update(|t| t.uid = Some(uid.to_string()))
    }

    /// Sets the operator's parallelism (overrides the environment's).
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        if parallelism == 0 {
            self.env
                .record_error("an operator's parallelism must be at least 1".into());
        }
        self.update(|t| t.parallelism = Some(parallelism))
    }

    /// Sets the operator's max parallelism (its number of key groups).
    pub fn set_max_parallelism(self, max_parallelism: u32) -> Self {
        self.update(|t| t.max_parallelism = Some(max_parallelism))
    }

    /// Never chains this operator to its neighbours.
    pub fn disable_chaining(self) -> Self {
        self.update(|t| t.chaining = ChainingStrategy::Never)
    }

    /// Starts a new chain at this operator (it may still chain to its successors).
    pub fn start_new_chain(self) -> Self {
        self.update(|t| t.chaining = ChainingStrategy::Head)
    }

    /// Puts the operator into a slot-sharing group (default: its inputs' group, or `default`).
    pub fn slot_sharing_group(self, group: &str) -> Self {
        self.update(|t| t.slot_sharing_group = Some(group.to_string()))
    }

    // ----- one-input transformations -----

    pub(crate) fn one_input<O: Data, F, L>(
        &self,
        name: &str,
        kind: NodeKind,
        function: F,
        make: impl Fn(F, &OperatorSetup) -> L + Send + Sync + 'static,
    ) -> DataStream<O>
    where
        F: Clone + Send + 'static,
        L: OneInputLogic<T, O> + 'static,
    {
        let prototype = Mutex::new(function);
        let factory = OneInputFactory::<T, O>::new(move |setup, next, sides| {
            let logic = make(prototype.lock().clone(), &setup);
            Ok(Chained::boxed(logic, setup, next, sides))
        });
        let inputs: Vec<(u8, &StreamInput)> = self.inputs.iter().map(|i| (0, i)).collect();
        self.env.add_node(
            NodeSpec {
                name,
                kind,
                num_inputs: 1,
                parallelism_limit: None,
                boundedness: None,
            },
            factory,
            &inputs,
        )
    }

    /// Transforms every element with a closure.
    pub fn map<O: Data, F>(&self, f: F) -> DataStream<O>
    where
        F: FnMut(T) -> O + Clone + Send + 'static,
    {
        self.map_function(MapFn(f))
    }

    /// Transforms every element with a fallible closure; an error fails the job.
    pub fn try_map<O: Data, E, F>(&self, f: F) -> DataStream<O>
    where
        F: FnMut(T) -> Result<O, E> + Clone + Send + 'static,
        E: Into<FunctionError> + 'static,
    {
        self.map_function(TryMapFn(f))
    }

    /// Transforms every element with a [`MapFunction`].
    pub fn map_function<O: Data, F: MapFunction<T, O>>(&self, function: F) -> DataStream<O> {
        self.one_input("Map", NodeKind::Operator, function, |f, _| MapLogic(f))
    }

    /// Emits zero or more elements per element, with a closure.
    pub fn flat_map<O: Data, F>(&self, f: F) -> DataStream<O>
    where
        F: FnMut(T, &mut Collector<'_, O>) + Clone + Send + 'static,
    {
        self.flat_map_function(FlatMapFn(f))
    }

    /// Emits zero or more elements per element, with a [`FlatMapFunction`].
    pub fn flat_map_function<O: Data, F: FlatMapFunction<T, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        self.one_input("Flat Map", NodeKind::Operator, function, |f, _| {
            FlatMapLogic(f)
        })
    }

    /// Keeps the elements for which the closure returns `true`.
    pub fn filter<F>(&self, f: F) -> DataStream<T>
    where
        F: FnMut(&T) -> bool + Clone + Send + 'static,
    {
        self.filter_function(FilterFn(f))
    }

    /// Keeps the elements a [`FilterFunction`] accepts.
    pub fn filter_function<F: FilterFunction<T>>(&self, function: F) -> DataStream<T> {
        self.one_input("Filter", NodeKind::Operator, function, |f, _| {
            FilterLogic(f)
        })
    }

    /// Applies a [`ProcessFunction`]; it may emit to side outputs (`ctx.output(&tag, v)`).
    pub fn process<O: Data, F: ProcessFunction<T, O>>(&self, function: F) -> DataStream<O> {
        let stream = self.one_input("Process", NodeKind::Operator, function, |f, _| {
            ProcessLogic::new(f)
        });
        stream.allow_side_outputs()
    }

    pub(crate) fn allow_side_outputs(self) -> Self {
        self.update(|t| t.emits_side_outputs = true)
    }

    /// The side output `tag` of the process function that produced this stream.
    pub fn get_side_output<X: Data>(&self, tag: &OutputTag<X>) -> DataStream<X> {
        let node = match self.inputs.as_slice() {
            [single] => single.node,
            _ => {
                self.env.record_error(format!(
                    "get_side_output('{}') needs the stream of one process operator, not a union",
                    tag.id()
                ));
                self.inputs[0].node
            }
        };
        let emits = self
            .env
            .state
            .lock()
            .program
            .get_mut(node)
            .emits_side_outputs;
        if !emits {
            self.env.record_error(format!(
                "get_side_output('{}'): only process functions emit side outputs; call it on the stream a `process(...)` returned",
                tag.id()
            ));
        }
        DataStream {
            env: self.env.clone(),
            inputs: vec![StreamInput {
                node,
                partitioner: None,
                edge: Arc::new(StandardEdge::<X>::new()),
                side_output: Some(tag.id().to_string()),
            }],
            _type: PhantomData,
        }
    }

    /// Assigns event timestamps and generates watermarks with `strategy` (Flink's
    /// `assignTimestampsAndWatermarks`); chained to its input like a map.
    pub fn assign_timestamps_and_watermarks<G, A>(
        &self,
        strategy: WatermarkStrategy<G, A>,
    ) -> DataStream<T>
    where
        G: WatermarkGenerator<T> + Sync,
        A: TimestampAssigner<T> + Sync,
    {
        let WatermarkStrategy {
            generator,
            assigner,
        } = strategy;
        let factory = OneInputFactory::<T, T>::new(move |setup, next, _no_side_outputs| {
            Ok(TimestampsAndWatermarksOperator::boxed(
                generator.clone(),
                assigner.clone(),
                setup,
                next,
            ))
        });
        let inputs: Vec<(u8, &StreamInput)> = self.inputs.iter().map(|i| (0, i)).collect();
        self.env.add_node(
            NodeSpec {
                name: "Timestamps/Watermarks",
                kind: NodeKind::Operator,
                num_inputs: 1,
                parallelism_limit: None,
                boundedness: None,
            },
            factory,
            &inputs,
        )
    }

    // ----- partitioning -----

    fn repartition(&self, kind: PartitionerKind, edge: Arc<dyn EdgeFactory>) -> Self {
        let mut stream = self.clone();
        for input in &mut stream.inputs {
            input.partitioner = Some(kind);
            input.edge = edge.clone();
        }
        stream
    }

    fn standard(&self, kind: PartitionerKind) -> Self {
        self.repartition(kind, Arc::new(StandardEdge::<T>::new()))
    }

    /// Subtask i feeds subtask i of the next operator (same parallelism required).
    pub fn forward(&self) -> Self {
        self.standard(PartitionerKind::Forward)
    }

    /// Round-robin over all subtasks of the next operator.
    pub fn rebalance(&self) -> Self {
        self.standard(PartitionerKind::Rebalance)
    }

    /// Round-robin over a local subset of the next operator's subtasks.
    pub fn rescale(&self) -> Self {
        self.standard(PartitionerKind::Rescale)
    }

    /// Uniformly random subtasks of the next operator.
    pub fn shuffle(&self) -> Self {
        self.standard(PartitionerKind::Shuffle)
    }

    /// Every element to every subtask of the next operator.
    pub fn broadcast(&self) -> Self {
        self.standard(PartitionerKind::Broadcast)
    }

    /// Everything to the first subtask of the next operator.
    pub fn global(&self) -> Self {
        self.standard(PartitionerKind::Global)
    }

    /// Routes each element to the partition `partitioner` picks for its key.
    pub fn partition_custom<K, P, KS>(&self, partitioner: P, key_selector: KS) -> Self
    where
        K: 'static,
        P: Partitioner<K> + Sync,
        KS: KeySelector<T, K> + Sync,
    {
        self.repartition(
            PartitionerKind::Custom,
            Arc::new(CustomEdge::<T, K, KS, P>::new(key_selector, partitioner)),
        )
    }

    /// Partitions the stream by key: elements with equal keys go to the same subtask (key →
    /// key group → subtask).
    pub fn key_by<K: Key, KS>(&self, key_selector: KS) -> KeyedStream<T, K, KS>
    where
        KS: KeySelector<T, K> + Sync,
    {
        let stream = self.repartition(
            PartitionerKind::KeyGroup,
            Arc::new(KeyGroupEdge::<T, K, KS>::new(key_selector.clone())),
        );
        KeyedStream::new(stream, key_selector)
    }

    /// Partitions the stream by a key lent out of each element, e.g. `key_by_ref(|t| &t.0)`:
    /// the same partitioning as [`key_by`](Self::key_by) with a selector returning a clone, but
    /// routing and keyed-state lookups borrow the key instead of cloning it per record (for
    /// string or other heap-allocated keys, that is most of what a keyed exchange costs).
    pub fn key_by_ref<K, F>(&self, field: F) -> KeyedStream<T, K, BorrowedKey<F>>
    where
        K: Key,
        F: for<'a> Fn(&'a T) -> &'a K + Clone + Send + Sync + 'static,
    {
        self.key_by(BorrowedKey::new(field))
    }

    // ----- windows over the whole stream -----

    /// Groups the whole (non-keyed) stream into windows; the window operator runs at
    /// parallelism 1.
    pub fn window_all<W: Window, A: WindowAssigner<T, W>>(
        &self,
        assigner: A,
    ) -> AllWindowedStream<T, W, A, A::DefaultTrigger> {
        let no_key: fn(&T) = |_| ();
        let keyed = self.key_by(no_key);
        let (stream, key_selector) = keyed.clone_parts();
        WindowedStream::new(stream, key_selector, assigner, true)
    }

    /// Tumbling count windows over the whole stream.
    pub fn count_window_all(
        &self,
        size: u64,
    ) -> AllWindowedStream<T, GlobalWindow, GlobalWindows, PurgingTrigger<CountTrigger>> {
        self.window_all(GlobalWindows::create())
            .trigger(PurgingTrigger::of(CountTrigger::of(size)))
    }

    /// Sliding count windows over the whole stream.
    pub fn count_window_all_sliding(
        &self,
        size: u64,
        slide: u64,
    ) -> AllWindowedStream<T, GlobalWindow, GlobalWindows, CountTrigger, CountEvictor> {
        self.window_all(GlobalWindows::create())
            .evictor(CountEvictor::of(
                usize::try_from(size).unwrap_or(usize::MAX),
            ))
            .trigger(CountTrigger::of(slide))
    }

    /// Joins with another stream per key and window: `join(other).where_key(..).equal_to(..)
    /// .window(..).apply(..)`.
    pub fn join<U: Data>(&self, other: &DataStream<U>) -> JoinedStreams<T, U> {
        JoinedStreams::new(self.clone(), other.clone())
    }

    /// Groups both streams per key and window: `co_group(other).where_key(..).equal_to(..)
    /// .window(..).apply(..)`.
    pub fn co_group<U: Data>(&self, other: &DataStream<U>) -> CoGroupedStreams<T, U> {
        CoGroupedStreams::new(self.clone(), other.clone())
    }

    // ----- multiple streams -----

    /// Merges streams of the same type.
    pub fn union(&self, other: &DataStream<T>) -> DataStream<T> {
        let mut stream = self.clone();
        stream.inputs.extend(other.inputs.iter().cloned());
        stream
    }

    /// Connects this stream (the first input) with another for an operator with two inputs:
    /// `connect(&other_stream)` gives [`ConnectedStreams`] (`co_map`, `co_flat_map`,
    /// `process`, `key_by`); `connect(&broadcast_stream)` (from
    /// [`broadcast_with`](Self::broadcast_with)) gives a
    /// [`BroadcastConnectedStream`](crate::BroadcastConnectedStream) for the broadcast state
    /// pattern.
    pub fn connect<C: Connectable<Self>>(&self, other: C) -> C::Connected {
        other.connect_to(self)
    }

    // ----- sinks -----

    /// Writes the elements with a [`SinkFunction`](eddy_functions::SinkFunction).
    pub fn add_sink<S: eddy_functions::SinkFunction<T>>(&self, sink: S) -> DataStreamSink {
        DataStreamSink::add(self, "Sink: Unnamed", sink)
    }

    /// Prints every element to stdout (prefixed `N> ` when the sink's parallelism is > 1).
    pub fn print(&self) -> DataStreamSink
    where
        T: Display,
    {
        DataStreamSink::add(self, "Sink: Print to Std. Out", PrintSink::<T>::stdout())
    }

    /// Prints every element to stdout, prefixed with `identifier` (`identifier:N> `).
    pub fn print_with_identifier(&self, identifier: &str) -> DataStreamSink
    where
        T: Display,
    {
        let sink = PrintSink::<T>::stdout().with_identifier(identifier);
        DataStreamSink::add(self, "Sink: Print to Std. Out", sink)
    }

    /// Prints every element to stderr.
    pub fn print_to_err(&self) -> DataStreamSink
    where
        T: Display,
    {
        DataStreamSink::add(self, "Sink: Print to Std. Err", PrintSink::<T>::stderr())
    }

    /// Writes one line per element: to the file `path` at parallelism 1, else to files
    /// `path/1`, `path/2`, … (one per subtask). Fails if the target exists.
    pub fn write_as_text(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        self.write_as_text_with_mode(path, WriteMode::NoOverwrite)
    }

    /// Like [`write_as_text`](Self::write_as_text) with an explicit write mode.
    pub fn write_as_text_with_mode(
        &self,
        path: impl Into<PathBuf>,
        mode: WriteMode,
    ) -> DataStreamSink
    where
        T: Display,
    {
        let sink = TextFileSink::<T>::new(path).with_write_mode(mode);
        DataStreamSink::add(self, "Sink: Text File", sink)
    }

    /// Writes each element's bytes (from `serializer`) to a TCP socket.
    pub fn write_to_socket<F>(&self, host: &str, port: u16, serializer: F) -> DataStreamSink
    where
        F: Fn(&T) -> Vec<u8> + Clone + Send + 'static,
    {
        DataStreamSink::add(
            self,
            "Sink: Socket",
            SocketSink::new(host, port, serializer),
        )
    }

    /// Drops every element (for benchmarks and side-effect-only pipelines).
    pub fn discard(&self) -> DataStreamSink {
        DataStreamSink::add(
            self,
            "Sink: Discard",
            eddy_connectors::DiscardingSink::new(),
        )
    }
}
