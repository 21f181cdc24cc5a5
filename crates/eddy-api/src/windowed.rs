//! WindowedStream: a keyed (or, with `window_all`, a non-keyed) stream grouped into windows.

use std::marker::PhantomData;
use std::ops::Add;
use std::time::Duration;

use eddy_core::config::StateBackendType;
use eddy_core::{Data, Key};
use eddy_functions::closures::ReduceFn;
use eddy_functions::windowing::{
    AggregateFunction, Evictor, NoEvictor, PassThrough, ProcessWindowFunction, ReduceAggregate,
    Trigger, Window, WindowAssigner,
};
use eddy_functions::{KeySelector, OutputTag, ReduceFunction};
use eddy_graph::NodeKind;
use eddy_runtime::operators::window::{
    AggregateElements, Aggregating, Buffering, SlicingSpec, SlicingWindowLogic, WindowContents,
    WindowOperatorLogic, WindowSpec,
};
use eddy_runtime::operators::EitherLogic;

use crate::aggregations::{MaxReducer, MinReducer, SumReducer};
use crate::datastream::DataStream;

/// A keyed stream grouped into windows by an assigner, with a trigger, an optional evictor,
/// allowed lateness and a late-data side output; a window function turns it back into a
/// [`DataStream`].
///
/// `window_all` streams are `WindowedStream`s keyed by `()` whose operator runs at
/// parallelism 1.
pub struct WindowedStream<T, K, KS, W, A, Tr, E = NoEvictor> {
    stream: DataStream<T>,
    key_selector: KS,
    assigner: A,
    trigger: Tr,
    custom_trigger: bool,
    evictor: E,
    has_evictor: bool,
    allowed_lateness: i64,
    late_data: Option<OutputTag<T>>,
    non_parallel: bool,
    _types: PhantomData<fn() -> (K, W)>,
}

/// A non-keyed stream grouped into windows (`window_all`): every element goes to one
/// parallel instance; window functions see the key `()`.
pub type AllWindowedStream<T, W, A, Tr, E = NoEvictor> = WindowedStream<T, (), fn(&T), W, A, Tr, E>;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The last path segment of a type's name, without generics (for operator names).
fn short_name<X>() -> &'static str {
    let full = std::any::type_name::<X>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl<T, K, KS, W, A> WindowedStream<T, K, KS, W, A, A::DefaultTrigger, NoEvictor>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K> + Sync,
    W: Window,
    A: WindowAssigner<T, W>,
{
    pub(crate) fn new(
        stream: DataStream<T>,
        key_selector: KS,
        assigner: A,
        non_parallel: bool,
    ) -> Self {
        if let Err(message) = assigner.validate() {
            stream.env.record_error(message);
        }
        let trigger = assigner.default_trigger();
        WindowedStream {
            stream,
            key_selector,
            assigner,
            trigger,
            custom_trigger: false,
            evictor: NoEvictor,
            has_evictor: false,
            allowed_lateness: 0,
            late_data: None,
            non_parallel,
            _types: PhantomData,
        }
    }
}

impl<T, K, KS, W, A, Tr, E> WindowedStream<T, K, KS, W, A, Tr, E>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K> + Sync,
    W: Window,
    A: WindowAssigner<T, W>,
    Tr: Trigger<T, W>,
    E: Evictor<T, W>,
{
    /// Replaces the assigner's default trigger.
    pub fn trigger<Tr2: Trigger<T, W>>(
        self,
        trigger: Tr2,
    ) -> WindowedStream<T, K, KS, W, A, Tr2, E> {
        if self.assigner.is_merging() && !trigger.can_merge() {
            self.stream.env.record_error(format!(
                "a merging window assigner ({}) cannot be used with a trigger that does not \
                 support merging ({}); implement Trigger::can_merge and on_merge",
                short_name::<A>(),
                short_name::<Tr2>()
            ));
        }
        WindowedStream {
            stream: self.stream,
            key_selector: self.key_selector,
            assigner: self.assigner,
            trigger,
            custom_trigger: true,
            evictor: self.evictor,
            has_evictor: self.has_evictor,
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data,
            non_parallel: self.non_parallel,
            _types: PhantomData,
        }
    }

    /// Removes elements from a firing window before and/or after the window function. Windows
    /// with an evictor buffer their elements (no incremental aggregation).
    pub fn evictor<E2: Evictor<T, W>>(self, evictor: E2) -> WindowedStream<T, K, KS, W, A, Tr, E2> {
        WindowedStream {
            stream: self.stream,
            key_selector: self.key_selector,
            assigner: self.assigner,
            trigger: self.trigger,
            custom_trigger: self.custom_trigger,
            evictor,
            has_evictor: true,
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data,
            non_parallel: self.non_parallel,
            _types: PhantomData,
        }
    }

    /// How long after a window's end (in event time) late elements still update it; the
    /// window re-fires per late element and is dropped when the watermark passes
    /// `end - 1 + lateness`.
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.allowed_lateness = millis(lateness);
        self
    }

    /// Sends elements too late for all their windows to a side output; read it with
    /// `result.get_side_output(&tag)`.
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.late_data = Some(tag.clone());
        self
    }

    fn name(&self, function: &str) -> String {
        format!(
            "Window({}, {}, {function})",
            short_name::<A>(),
            short_name::<Tr>()
        )
    }

    fn finish<O: Data>(&self, stream: DataStream<O>) -> DataStream<O> {
        let stream = stream.allow_side_outputs();
        if self.non_parallel {
            stream.set_parallelism(1).set_max_parallelism(1)
        } else {
            stream
        }
    }

    /// The general window operator over `contents`.
    fn general<O: Data, C: WindowContents<T, K, W, O>>(
        &self,
        name: &str,
        contents: C,
    ) -> DataStream<O> {
        let spec = WindowSpec {
            key_selector: self.key_selector.clone(),
            assigner: self.assigner.clone(),
            trigger: self.trigger.clone(),
            contents,
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data.clone(),
        };
        let stream =
            self.stream
                .one_input(&self.name(name), NodeKind::Operator, spec, |spec, setup| {
                    WindowOperatorLogic::new(
                        spec,
                        setup.clock.clone(),
                        setup.settings.runtime_mode,
                        setup.settings.state_backend.clone(),
                    )
                    .with_batch_size(setup.settings.batch_size)
                });
        self.finish(stream)
    }

    /// Incremental aggregation followed by `process`: per slice for aligned windows with their
    /// default trigger, otherwise in the general operator (buffered when there is an evictor).
    fn incremental<ACC, R, O, AF, P>(&self, name: &str, aggregate: AF, process: P) -> DataStream<O>
    where
        ACC: Data,
        R: 'static,
        O: Data,
        AF: AggregateFunction<T, ACC, R>,
        P: ProcessWindowFunction<R, O, K, W>,
    {
        if self.has_evictor {
            let contents = Buffering::new(
                self.evictor.clone(),
                AggregateElements::new(aggregate, process),
            );
            return self.general(name, contents);
        }
        let contents = Aggregating::new(aggregate, process);
        let slicing = if self.custom_trigger {
            None
        } else {
            self.assigner.slicing()
        };
        let Some(slicing) = slicing else {
            return self.general(name, contents);
        };
        let slicing = SlicingSpec {
            key_selector: self.key_selector.clone(),
            contents: contents.clone(),
            slicing,
            event_time: self.assigner.is_event_time(),
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data.clone(),
        };
        let general = WindowSpec {
            key_selector: self.key_selector.clone(),
            assigner: self.assigner.clone(),
            trigger: self.trigger.clone(),
            contents,
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data.clone(),
        };
        // Slices live in the operator's own heap maps, so the slicing path serves the heap
        // backend; with `rocksdb` the general operator keeps every window's accumulator in
        // the backend (Flink's WindowOperator on RocksDB).
        let stream = self.stream.one_input(
            &self.name(name),
            NodeKind::Operator,
            (slicing, general),
            |(slicing, general), setup| {
                let settings = &setup.settings;
                if settings.state_backend.backend == StateBackendType::HashMap {
                    EitherLogic::Left(SlicingWindowLogic::new(
                        slicing,
                        setup.clock.clone(),
                        settings.runtime_mode,
                        settings.batch_size,
                        settings.state_backend.clone(),
                    ))
                } else {
                    EitherLogic::Right(
                        WindowOperatorLogic::new(
                            general,
                            setup.clock.clone(),
                            settings.runtime_mode,
                            settings.state_backend.clone(),
                        )
                        .with_batch_size(settings.batch_size),
                    )
                }
            },
        );
        self.finish(stream)
    }

    /// Reduces each window incrementally with a closure.
    pub fn reduce<F>(&self, f: F) -> DataStream<T>
    where
        F: FnMut(T, T) -> T + Clone + Send + 'static,
    {
        self.reduce_function(ReduceFn(f))
    }

    /// Reduces each window incrementally with a [`ReduceFunction`].
    pub fn reduce_function<R: ReduceFunction<T>>(&self, reducer: R) -> DataStream<T> {
        self.incremental("ReduceFunction", ReduceAggregate(reducer), PassThrough)
    }

    /// Reduces each window incrementally, then passes the result to a process window function
    /// (which sees the key and window).
    pub fn reduce_with_process<O: Data, F, P>(&self, f: F, process: P) -> DataStream<O>
    where
        F: FnMut(T, T) -> T + Clone + Send + 'static,
        P: ProcessWindowFunction<T, O, K, W>,
    {
        self.incremental("ReduceFunction", ReduceAggregate(ReduceFn(f)), process)
    }

    /// Aggregates each window incrementally (one accumulator per key and window).
    pub fn aggregate<ACC, R, AF>(&self, aggregate: AF) -> DataStream<R>
    where
        ACC: Data,
        R: Data,
        AF: AggregateFunction<T, ACC, R>,
    {
        self.incremental("AggregateFunction", aggregate, PassThrough)
    }

    /// Aggregates each window incrementally, then passes the result to a process window
    /// function.
    pub fn aggregate_with_process<ACC, R, O, AF, P>(
        &self,
        aggregate: AF,
        process: P,
    ) -> DataStream<O>
    where
        ACC: Data,
        R: 'static,
        O: Data,
        AF: AggregateFunction<T, ACC, R>,
        P: ProcessWindowFunction<R, O, K, W>,
    {
        self.incremental("AggregateFunction", aggregate, process)
    }

    /// Runs a process window function over all elements of each window (buffered).
    pub fn process<O: Data, P: ProcessWindowFunction<T, O, K, W>>(
        &self,
        process: P,
    ) -> DataStream<O> {
        self.general(
            "ProcessWindowFunction",
            Buffering::new(self.evictor.clone(), process),
        )
    }

    /// Sum of a field per window; the other fields keep the window's first element's values.
    pub fn sum<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: Add<Output = F> + Copy + 'static,
    {
        self.incremental(
            "SumAggregator",
            ReduceAggregate(SumReducer { field }),
            PassThrough,
        )
    }

    /// Minimum of a field per window; the other fields keep the first element's values.
    pub fn min<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: PartialOrd + Copy + 'static,
    {
        self.incremental(
            "MinAggregator",
            ReduceAggregate(MinReducer { field }),
            PassThrough,
        )
    }

    /// Maximum of a field per window; the other fields keep the first element's values.
    pub fn max<F>(&self, field: fn(&mut T) -> &mut F) -> DataStream<T>
    where
        F: PartialOrd + Copy + 'static,
    {
        self.incremental(
            "MaxAggregator",
            ReduceAggregate(MaxReducer { field }),
            PassThrough,
        )
    }
}
