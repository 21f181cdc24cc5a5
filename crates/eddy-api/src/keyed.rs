//! KeyedStream: a stream partitioned by key, with rolling aggregations.

use std::marker::PhantomData;
use std::ops::Add;

use eddy_core::config::StateBackendType;
use eddy_core::{Data, Key};
use eddy_functions::closures::{FilterFn, FlatMapFn, MapFn, ReduceFn};
use eddy_functions::windowing::{
    CountEvictor, CountTrigger, GlobalWindow, GlobalWindows, PurgingTrigger, Window, WindowAssigner,
};
use eddy_functions::{
    Collector, FilterFunction, FlatMapFunction, KeySelector, KeyedProcessFunction, MapFunction,
    ReduceFunction,
};
use eddy_graph::NodeKind;
use eddy_runtime::operators::{
    EitherLogic, FilterEach, FlatMapEach, KeyedFunctionLogic, KeyedProcessLogic, KeyedReduceLogic,
    MapEach, PerElement, StoredKeyedReduceLogic,
};

use crate::aggregations::{MaxByReducer, MaxReducer, MinByReducer, MinReducer, SumReducer};
use crate::broadcast::Connectable;
use crate::connected::KeyedConnectedStreams;
use crate::datastream::DataStream;
use crate::joins::IntervalJoin;
use crate::windowed::WindowedStream;

/// A stream partitioned by the key `KS` extracts: all elements with one key reach the same
/// subtask, where keyed operators keep per-key state.
pub struct KeyedStream<T, K, KS> {
    stream: DataStream<T>,
    key_selector: KS,
    _key: PhantomData<fn() -> K>,
}

impl<T: Data, K: Key, KS: KeySelector<T, K> + Sync> KeyedStream<T, K, KS> {
    pub(crate) fn new(stream: DataStream<T>, key_selector: KS) -> Self {
        KeyedStream {
            stream,
            key_selector,
            _key: PhantomData,
        }
    }

    /// The key-partitioned stream, for operators that are not keyed themselves.
    pub fn as_data_stream(&self) -> &DataStream<T> {
        &self.stream
    }

    /// The key selector.
    pub fn key_selector(&self) -> &KS {
        &self.key_selector
    }

    fn reduce_named<R: ReduceFunction<T>>(&self, name: &str, reducer: R) -> DataStream<T> {
        let key_selector = self.key_selector.clone();
        // The typed hash map serves the heap backend; any other keeps each key's value in the
        // backend.
        self.stream
            .one_input(name, NodeKind::Operator, reducer, move |r, setup| {
                let settings = &setup.settings;
                if settings.state_backend.backend == StateBackendType::HashMap {
                    EitherLogic::Left(KeyedReduceLogic::new(
                        key_selector.clone(),
                        r,
                        settings.runtime_mode,
                    ))
                } else {
                    EitherLogic::Right(StoredKeyedReduceLogic::new(
                        key_selector.clone(),
                        r,
                        settings.runtime_mode,
                        settings.state_backend.clone(),
                    ))
                }
            })
    }

    /// Combines each element with its key's accumulated value and emits the result (every
    /// update in STREAMING mode, only final values in BATCH mode).
    pub fn reduce<F>(&self, f: F) -> DataStream<T>
    where
        F: FnMut(T, T) -> T + Clone + Send + 'static,
    {
        self.reduce_function(ReduceFn(f))
    }

    /// Like [`reduce`](Self::reduce) with a [`ReduceFunction`].
    pub fn reduce_function<R: ReduceFunction<T>>(&self, reducer: R) -> DataStream<T> {
        self.reduce_named("Keyed Reduce", reducer)
    }

    /// Rolling sum of a field; the other fields keep the key's first element's values.
    /// `field` points into the element, e.g. `|t| &mut t.1`.
    pub fn sum<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: Add<Output = F> + Copy + 'static,
    {
        self.reduce_named("Keyed Aggregation", SumReducer { field })
    }

    /// Rolling minimum of a field; the other fields keep the key's first element's values.
    pub fn min<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: PartialOrd + Copy + 'static,
    {
        self.reduce_named("Keyed Aggregation", MinReducer { field })
    }

    /// Rolling maximum of a field; the other fields keep the key's first element's values.
    pub fn max<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: PartialOrd + Copy + 'static,
    {
        self.reduce_named("Keyed Aggregation", MaxReducer { field })
    }

    /// The element with the smallest field value so far (the first one on ties).
    pub fn min_by<F>(&self, field: fn(&T) -> F) -> DataStream<T>
    where
        F: PartialOrd + 'static,
    {
        self.reduce_named("Keyed Aggregation", MinByReducer { field })
    }

    /// The element with the largest field value so far (the first one on ties).
    pub fn max_by<F>(&self, field: fn(&T) -> F) -> DataStream<T>
    where
        F: PartialOrd + 'static,
    {
        self.reduce_named("Keyed Aggregation", MaxByReducer { field })
    }

    /// A per-element function of this keyed stream, with keyed state.
    fn keyed_function<O: Data, F, P>(
        &self,
        name: &str,
        function: F,
        wrap: fn(F) -> P,
    ) -> DataStream<O>
    where
        F: Clone + Send + 'static,
        P: PerElement<T, O> + 'static,
    {
        let key_selector = self.key_selector.clone();
        self.stream
            .one_input(name, NodeKind::Operator, function, move |f, setup| {
                KeyedFunctionLogic::new(
                    key_selector.clone(),
                    wrap(f),
                    setup.settings.state_backend.clone(),
                )
            })
    }

    /// Transforms every element with a closure, as on any stream.
    pub fn map<O: Data, F>(&self, f: F) -> DataStream<O>
    where
        F: FnMut(T) -> O + Clone + Send + 'static,
    {
        self.map_function(MapFn(f))
    }

    /// Transforms every element with a [`MapFunction`], which may keep keyed state: take
    /// `ctx.keyed_state_store::<K>()?` in `open`; each access is scoped to the current
    /// element's key (Flink's `getRuntimeContext().getState(…)` on a keyed stream).
    pub fn map_function<O: Data, F: MapFunction<T, O>>(&self, function: F) -> DataStream<O> {
        self.keyed_function("Map", function, MapEach)
    }

    /// Emits zero or more elements per element, with a closure.
    pub fn flat_map<O: Data, F>(&self, f: F) -> DataStream<O>
    where
        F: FnMut(T, &mut Collector<'_, O>) + Clone + Send + 'static,
    {
        self.flat_map_function(FlatMapFn(f))
    }

    /// Emits zero or more elements per element with a [`FlatMapFunction`], which may keep
    /// keyed state (see [`map_function`](Self::map_function)).
    pub fn flat_map_function<O: Data, F: FlatMapFunction<T, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        self.keyed_function("Flat Map", function, FlatMapEach)
    }

    /// Keeps the elements a closure accepts.
    pub fn filter<F>(&self, f: F) -> DataStream<T>
    where
        F: FnMut(&T) -> bool + Clone + Send + 'static,
    {
        self.filter_function(FilterFn(f))
    }

    /// Keeps the elements a [`FilterFunction`] accepts; it may keep keyed state (see
    /// [`map_function`](Self::map_function)).
    pub fn filter_function<F: FilterFunction<T>>(&self, function: F) -> DataStream<T> {
        self.keyed_function("Filter", function, FilterEach)
    }

    /// Applies a [`KeyedProcessFunction`]: per element with its key, per-key event-time and
    /// processing-time timers, and side outputs.
    pub fn process<O: Data, P: KeyedProcessFunction<K, T, O>>(&self, function: P) -> DataStream<O> {
        let key_selector = self.key_selector.clone();
        self.stream
            .one_input(
                "KeyedProcess",
                NodeKind::Operator,
                function,
                move |f, setup| {
                    KeyedProcessLogic::new(
                        key_selector.clone(),
                        f,
                        setup.clock.clone(),
                        setup.settings.runtime_mode,
                        setup.settings.state_backend.clone(),
                    )
                },
            )
            .allow_side_outputs()
    }

    /// Groups the stream into windows of `assigner`.
    pub fn window<W: Window, A: WindowAssigner<T, W>>(
        &self,
        assigner: A,
    ) -> WindowedStream<T, K, KS, W, A, A::DefaultTrigger> {
        WindowedStream::new(
            self.stream.clone(),
            self.key_selector.clone(),
            assigner,
            false,
        )
    }

    /// Tumbling count windows: fire and purge every `size` elements of a key.
    pub fn count_window(
        &self,
        size: u64,
    ) -> WindowedStream<T, K, KS, GlobalWindow, GlobalWindows, PurgingTrigger<CountTrigger>> {
        self.window(GlobalWindows::create())
            .trigger(PurgingTrigger::of(CountTrigger::of(size)))
    }

    /// Sliding count windows: every `slide` elements of a key, fire over its last `size`
    /// elements.
    pub fn count_window_sliding(
        &self,
        size: u64,
        slide: u64,
    ) -> WindowedStream<T, K, KS, GlobalWindow, GlobalWindows, CountTrigger, CountEvictor> {
        self.window(GlobalWindows::create())
            .evictor(CountEvictor::of(
                usize::try_from(size).unwrap_or(usize::MAX),
            ))
            .trigger(CountTrigger::of(slide))
    }

    /// Joins with another keyed stream on equal keys and timestamps within an interval:
    /// `interval_join(other).between(lower, upper).process(f)`.
    pub fn interval_join<U: Data, KS2: KeySelector<U, K> + Sync>(
        &self,
        other: &KeyedStream<U, K, KS2>,
    ) -> IntervalJoin<T, U, K, KS, KS2> {
        IntervalJoin::new(self.clone_parts(), other.clone_parts())
    }

    /// Connects with another stream keyed by the same key type, for a
    /// [`KeyedCoProcessFunction`](eddy_functions::KeyedCoProcessFunction).
    pub fn connect_keyed<U: Data, KS2: KeySelector<U, K> + Sync>(
        &self,
        other: &KeyedStream<U, K, KS2>,
    ) -> KeyedConnectedStreams<T, U, K, KS, KS2> {
        KeyedConnectedStreams::new(self.clone_parts(), other.clone_parts())
    }

    pub(crate) fn clone_parts(&self) -> (DataStream<T>, KS) {
        (self.stream.clone(), self.key_selector.clone())
    }

    /// Connects with another stream for a two-input operator: `connect(&data_stream)` gives
    /// [`ConnectedStreams`](crate::ConnectedStreams) (this stream keeps its key partitioning);
    /// `connect(&broadcast_stream)` (from
    /// [`broadcast_with`](DataStream::broadcast_with)) gives a
    /// [`KeyedBroadcastConnectedStream`](crate::KeyedBroadcastConnectedStream) for a
    /// [`KeyedBroadcastProcessFunction`](eddy_functions::KeyedBroadcastProcessFunction).
    pub fn connect<C: Connectable<Self>>(&self, other: C) -> C::Connected {
        other.connect_to(self)
    }
}
