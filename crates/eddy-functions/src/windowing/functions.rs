//! Window functions: incremental aggregation and the process window function.

use std::marker::PhantomData;

use super::evictors::TimestampedValue;
use crate::{
    AggregateFunction, Collector, FunctionInitializationContext, FunctionSnapshotContext,
    OutputTag, ReduceFunction, RuntimeContext, SideOutputs,
};
use eddy_core::error::FnResult;
use eddy_core::Key;
use eddy_state::time::ProcessingTimeService;
use eddy_state::{KeyedState, KeyedStateBackend, Namespace, OperatorStateStore};

/// A [`ReduceFunction`] as an aggregate whose accumulator is the reduced value so far.
#[derive(Clone)]
pub struct ReduceAggregate<R>(pub R);

impl<T: Clone + Send + 'static, R: ReduceFunction<T>> AggregateFunction<T, Option<T>, T>
    for ReduceAggregate<R>
{
    fn create_accumulator(&mut self) -> Option<T> {
        None
    }

    #[inline]
    fn add(&mut self, value: T, accumulator: &mut Option<T>) -> FnResult<()> {
        *accumulator = Some(match accumulator.take() {
            None => value,
            Some(previous) => self.0.reduce(previous, value)?,
        });
        Ok(())
    }

    fn get_result(&mut self, accumulator: &Option<T>) -> FnResult<T> {
        accumulator
            .clone()
            .ok_or_else(|| "reduce over an empty window".into())
    }

    fn merge(&mut self, accumulator: &mut Option<T>, other: Option<T>) -> FnResult<()> {
        if let Some(other) = other {
            self.add(other, accumulator)?;
        }
        Ok(())
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.0.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.0.snapshot_state(ctx, store)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.0.open(ctx)
    }

    fn close(&mut self) -> FnResult<()> {
        self.0.close()
    }
}

/// The elements a window function sees: the window's contents in arrival order, or the single
/// pre-aggregated result.
pub struct Elements<'a, T> {
    inner: ElementsInner<'a, T>,
}

enum ElementsInner<'a, T> {
    Single(Option<&'a T>),
    Buffered(std::slice::Iter<'a, TimestampedValue<T>>),
}

impl<'a, T> Elements<'a, T> {
    /// One element (for operator implementations).
    pub fn single(value: &'a T) -> Self {
        Elements {
            inner: ElementsInner::Single(Some(value)),
        }
    }

    /// Buffered elements (for operator implementations).
    pub fn buffered(values: &'a [TimestampedValue<T>]) -> Self {
        Elements {
            inner: ElementsInner::Buffered(values.iter()),
        }
    }
}

impl<'a, T> Iterator for Elements<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        match &mut self.inner {
            ElementsInner::Single(value) => value.take(),
            ElementsInner::Buffered(iter) => iter.next().map(|v| &v.value),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            ElementsInner::Single(value) => usize::from(value.is_some()),
            ElementsInner::Buffered(iter) => iter.len(),
        };
        (n, Some(n))
    }
}

impl<T> ExactSizeIterator for Elements<'_, T> {}

/// What a window function knows about the window it computes, and the key's state.
pub struct WindowContext<'a, K, W> {
    window: &'a W,
    watermark: i64,
    clock: &'a ProcessingTimeService,
    runtime: &'a RuntimeContext,
    side_outputs: &'a mut SideOutputs,
    timestamp: i64,
    key: &'a K,
    state: &'a mut KeyedStateBackend<K>,
    merging: bool,
}

impl<'a, K, W: super::Window> WindowContext<'a, K, W> {
    /// A context for computing `window` of `key` (for operator implementations).
    pub fn new(
        window: &'a W,
        watermark: i64,
        clock: &'a ProcessingTimeService,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
        key: &'a K,
        state: &'a mut KeyedStateBackend<K>,
    ) -> Self {
        WindowContext {
            window,
            watermark,
            clock,
            runtime,
            side_outputs,
            timestamp: window.max_timestamp(),
            key,
            state,
            merging: false,
        }
    }

    /// Marks the window as one of a merging assigner (session windows), whose windows have
    /// no state of their own.
    pub fn with_merging_windows(mut self) -> Self {
        self.merging = true;
        self
    }

    /// The window being computed.
    pub fn window(&self) -> &W {
        self.window
    }

    /// The key whose window this is.
    pub fn current_key(&self) -> &K {
        self.key
    }

    /// The operator's current watermark.
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The wall clock, milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> i64 {
        self.clock.now()
    }

    /// Emits to a side output, with the window's max timestamp.
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.side_outputs.emit(tag, value, self.timestamp);
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.runtime
    }
}

impl<K: Key, W: super::Window> WindowContext<'_, K, W> {
    /// The key's state in this window: kept while the window lives (across late firings)
    /// and dropped when it is cleaned up (after [`ProcessWindowFunction::clear`]). Merging
    /// (session) windows have no per-window state, like in Flink: asking is an error.
    pub fn window_state(&mut self) -> FnResult<KeyedState<'_, K>> {
        if self.merging {
            return Err(
                "per-window state (window_state()) is not available with merging \
                        (session) windows, whose windows come and go as they merge; use \
                        global_state() instead"
                    .into(),
            );
        }
        Ok(KeyedState::new(
            self.state,
            self.key,
            self.window.namespace(),
        ))
    }

    /// The key's own state, shared by all its windows and kept until cleared.
    pub fn global_state(&mut self) -> KeyedState<'_, K> {
        KeyedState::new(self.state, self.key, Namespace::Global)
    }
}

/// Computes a window's result from all its elements (or from its pre-aggregated result, when
/// combined with `reduce`/`aggregate`), with the key and window at hand.
pub trait ProcessWindowFunction<IN, OUT, K, W>: Clone + Send + 'static {
    /// Emits the results of one window of one key.
    fn process(
        &mut self,
        key: &K,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Elements<'_, IN>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()>;

    /// Called when the window is cleaned up (at its end plus the allowed lateness): deletes
    /// what the function kept in [`WindowContext::window_state`]. The operator drops that
    /// state afterwards anyway, so overriding this is only needed for other cleanup.
    fn clear(&mut self, _key: &K, _ctx: &mut WindowContext<'_, K, W>) -> FnResult<()> {
        Ok(())
    }
    eddy_state::lifecycle!();
}

/// A closure as a [`ProcessWindowFunction`]; see [`process_window_fn`].
pub struct ProcessWindowFn<F, IN, K> {
    f: F,
    _types: PhantomData<fn(IN, K)>,
}

impl<F: Clone, IN, K> Clone for ProcessWindowFn<F, IN, K> {
    fn clone(&self) -> Self {
        ProcessWindowFn {
            f: self.f.clone(),
            _types: PhantomData,
        }
    }
}

/// Wraps `|key, ctx, elements, out| -> FnResult<()>` as a process window function.
pub fn process_window_fn<F, IN, K>(f: F) -> ProcessWindowFn<F, IN, K> {
    ProcessWindowFn {
        f,
        _types: PhantomData,
    }
}

impl<IN, OUT, K, W, F> ProcessWindowFunction<IN, OUT, K, W> for ProcessWindowFn<F, IN, K>
where
    IN: 'static,
    K: 'static,
    F: FnMut(
            &K,
            &mut WindowContext<'_, K, W>,
            Elements<'_, IN>,
            &mut Collector<'_, OUT>,
        ) -> FnResult<()>
        + Clone
        + Send
        + 'static,
{
    fn process(
        &mut self,
        key: &K,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Elements<'_, IN>,
        out: &mut Collector<'_, OUT>,
    ) -> FnResult<()> {
        (self.f)(key, ctx, elements, out)
    }
}

/// Emits a window's pre-aggregated result unchanged (`reduce`/`aggregate` without a process
/// function).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl<T: Clone + 'static, K: 'static, W: 'static> ProcessWindowFunction<T, T, K, W> for PassThrough {
    #[inline]
    fn process(
        &mut self,
        _key: &K,
        _ctx: &mut WindowContext<'_, K, W>,
        elements: Elements<'_, T>,
        out: &mut Collector<'_, T>,
    ) -> FnResult<()> {
        for element in elements {
            out.collect(element.clone());
        }
        Ok(())
    }
}
