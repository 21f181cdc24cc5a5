//! ConnectedStreams: two streams feeding one two-input operator.

use parking_lot::Mutex;

use eddy_functions::closures::{CoFlatMapFn, CoMapFn};
use std::marker::PhantomData;

use eddy_core::{Data, Key};
use eddy_functions::{
    CoFlatMapFunction, CoMapFunction, CoProcessFunction, Collector, KeySelector,
    KeyedCoProcessFunction,
};
use eddy_graph::NodeKind;
use eddy_runtime::factory::{OperatorSetup, TwoInputFactory};
use eddy_runtime::operators::{
    CoFlatMapLogic, CoMapLogic, CoProcessLogic, KeyedCoProcessLogic, TwoInputLogic,
    TwoInputOperatorImpl,
};

use crate::datastream::{DataStream, StreamInput};
use crate::environment::NodeSpec;

/// Two streams, possibly of different types, processed together by one operator.
pub struct ConnectedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

impl<A: Data, B: Data> ConnectedStreams<A, B> {
    pub(crate) fn new(first: DataStream<A>, second: DataStream<B>) -> Self {
        ConnectedStreams { first, second }
    }

    pub(crate) fn two_input<O: Data, F, L>(
        &self,
        name: &str,
        function: F,
        make: impl Fn(F, &OperatorSetup) -> L + Send + Sync + 'static,
    ) -> DataStream<O>
    where
        F: Clone + Send + 'static,
        L: TwoInputLogic<A, B, O> + 'static,
    {
        let prototype = Mutex::new(function);
        let factory = TwoInputFactory::<A, B, O>::new(move |setup, next, sides| {
            let logic = make(prototype.lock().clone(), &setup);
            Ok(TwoInputOperatorImpl::boxed(logic, setup, next, sides))
        });
        let inputs: Vec<(u8, &StreamInput)> = self
            .first
            .inputs
            .iter()
            .map(|i| (0, i))
            .chain(self.second.inputs.iter().map(|i| (1, i)))
            .collect();
        self.first.env.add_node(
            NodeSpec {
                name,
                kind: NodeKind::Operator,
                num_inputs: 2,
                parallelism_limit: None,
                boundedness: None,
            },
            factory,
            &inputs,
        )
    }

    /// Maps each input with its own closure into one output type.
    pub fn co_map<O: Data, F1, F2>(&self, map1: F1, map2: F2) -> DataStream<O>
    where
        F1: FnMut(A) -> O + Clone + Send + 'static,
        F2: FnMut(B) -> O + Clone + Send + 'static,
    {
        self.co_map_function(CoMapFn(map1, map2))
    }

    /// Maps each input with a [`CoMapFunction`].
    pub fn co_map_function<O: Data, F: CoMapFunction<A, B, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        self.two_input("Co-Map", function, |f, _| CoMapLogic(f))
    }

    /// Flat-maps each input with its own closure.
    pub fn co_flat_map<O: Data, F1, F2>(&self, flat_map1: F1, flat_map2: F2) -> DataStream<O>
    where
        F1: FnMut(A, &mut Collector<'_, O>) + Clone + Send + 'static,
        F2: FnMut(B, &mut Collector<'_, O>) + Clone + Send + 'static,
    {
        self.co_flat_map_function(CoFlatMapFn(flat_map1, flat_map2))
    }

    /// Flat-maps each input with a [`CoFlatMapFunction`].
    pub fn co_flat_map_function<O: Data, F: CoFlatMapFunction<A, B, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        self.two_input("Co-Flat Map", function, |f, _| CoFlatMapLogic(f))
    }

    /// Processes each input with a [`CoProcessFunction`] (element timestamps and the current
    /// watermark; timers need keyed streams, see [`key_by`](Self::key_by)). It may emit to side
    /// outputs (`ctx.output(&tag, v)`), read with `get_side_output`.
    pub fn process<O: Data, F: CoProcessFunction<A, B, O>>(&self, function: F) -> DataStream<O> {
        self.two_input("Co-Process", function, |f, _| CoProcessLogic::new(f))
            .allow_side_outputs()
    }

    /// Partitions both inputs by key (the selectors must return the same key type), for a
    /// [`KeyedCoProcessFunction`].
    pub fn key_by<K: Key, KS1, KS2>(
        &self,
        key_selector1: KS1,
        key_selector2: KS2,
    ) -> KeyedConnectedStreams<A, B, K, KS1, KS2>
    where
        KS1: KeySelector<A, K> + Sync,
        KS2: KeySelector<B, K> + Sync,
    {
        let first = self.first.key_by(key_selector1).clone_parts();
        let second = self.second.key_by(key_selector2).clone_parts();
        KeyedConnectedStreams::new(first, second)
    }
}

/// Two streams partitioned by the same key type, processed together with per-key timers.
pub struct KeyedConnectedStreams<A, B, K, KS1, KS2> {
    streams: ConnectedStreams<A, B>,
    key_selector1: KS1,
    key_selector2: KS2,
    _key: PhantomData<fn() -> K>,
}

impl<A: Data, B: Data, K: Key, KS1, KS2> KeyedConnectedStreams<A, B, K, KS1, KS2>
where
    KS1: KeySelector<A, K> + Sync,
    KS2: KeySelector<B, K> + Sync,
{
    pub(crate) fn new(first: (DataStream<A>, KS1), second: (DataStream<B>, KS2)) -> Self {
        KeyedConnectedStreams {
            streams: ConnectedStreams::new(first.0, second.0),
            key_selector1: first.1,
            key_selector2: second.1,
            _key: PhantomData,
        }
    }

    /// Processes both inputs with a [`KeyedCoProcessFunction`]. It may emit to side outputs
    /// (`ctx.output(&tag, v)`), read with `get_side_output`.
    pub fn process<O: Data, F: KeyedCoProcessFunction<K, A, B, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        let (ks1, ks2) = (self.key_selector1.clone(), self.key_selector2.clone());
        self.streams
            .two_input("KeyedCo-Process", function, move |f, setup| {
                KeyedCoProcessLogic::new(
                    ks1.clone(),
                    ks2.clone(),
                    f,
                    setup.clock.clone(),
                    setup.settings.runtime_mode,
                    setup.settings.state_backend.clone(),
                )
            })
            .allow_side_outputs()
    }

    /// The underlying connected streams.
    pub(crate) fn streams(&self) -> &ConnectedStreams<A, B> {
        &self.streams
    }

    /// The key selectors.
    pub(crate) fn key_selectors(&self) -> (KS1, KS2) {
        (self.key_selector1.clone(), self.key_selector2.clone())
    }
}
