//! ConnectedStreams: two streams feeding one two-input operator.

use parking_lot::Mutex;

use eddy_core::functions::closures::{CoFlatMapFn, CoMapFn};
use eddy_core::functions::{CoFlatMapFunction, CoMapFunction, Collector};
use eddy_core::Data;
use eddy_graph::NodeKind;
use eddy_runtime::factory::{OperatorSetup, TwoInputFactory};
use eddy_runtime::operators::{CoFlatMapLogic, CoMapLogic, TwoInputLogic, TwoInputOperatorImpl};

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

    fn two_input<O: Data, F, L>(
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
        let factory = TwoInputFactory::<A, B, O>::new(move |setup, next| {
            let logic = make(prototype.lock().clone(), &setup);
            Ok(TwoInputOperatorImpl::boxed(logic, setup, next))
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
}
