//! What a window keeps per key and window, and how it turns that into results.

use std::marker::PhantomData;

use eddy_core::functions::{
    Collector, FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext,
};
use eddy_core::state::OperatorStateStore;
use eddy_core::windowing::{
    AggregateFunction, Elements, Evictor, EvictorContext, ProcessWindowFunction, TimestampedValue,
    Window, WindowContext,
};
use eddy_core::FnResult;

/// A window's contents: an accumulator (incremental aggregation) or the buffered elements.
pub trait WindowContents<T, K, W: Window, O>: Clone + Send + 'static {
    /// The per key and window state.
    type Acc: Clone + Send + 'static;

    /// Empty contents.
    fn create(&mut self) -> Self::Acc;
    /// Adds an element.
    fn add(&mut self, acc: &mut Self::Acc, value: T, timestamp: i64) -> FnResult<()>;
    /// Folds `other` into `acc` (merging windows).
    fn merge(&mut self, acc: &mut Self::Acc, other: Self::Acc) -> FnResult<()>;
    /// Computes the window's results into `out`.
    fn emit(
        &mut self,
        key: &K,
        acc: &mut Self::Acc,
        ctx: &mut WindowContext<'_, K, W>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    /// The window is cleaned up: lets the window function clear its per-window state.
    fn clear(&mut self, key: &K, ctx: &mut WindowContext<'_, K, W>) -> FnResult<()>;
    /// Called once per subtask before `open`: the functions' `initialize_state`.
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()>;
    /// A checkpoint snapshots the operator: the functions' `snapshot_state`.
    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()>;
    /// Called once per subtask before the first element.
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()>;
    /// Called once at the end.
    fn close(&mut self) -> FnResult<()>;
}

/// Incremental aggregation: one accumulator per window, the result passed to a process
/// window function (`PassThrough` emits it unchanged).
pub struct Aggregating<A, P, ACC, R> {
    aggregate: A,
    process: P,
    _types: PhantomData<fn(ACC) -> R>,
}

impl<A: Clone, P: Clone, ACC, R> Clone for Aggregating<A, P, ACC, R> {
    fn clone(&self) -> Self {
        Aggregating {
            aggregate: self.aggregate.clone(),
            process: self.process.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, P, ACC, R> Aggregating<A, P, ACC, R> {
    /// `aggregate` per element, `process` over each window's result.
    pub fn new(aggregate: A, process: P) -> Self {
        Aggregating {
            aggregate,
            process,
            _types: PhantomData,
        }
    }
}

impl<T, K, W, O, A, P, ACC, R> WindowContents<T, K, W, O> for Aggregating<A, P, ACC, R>
where
    W: Window,
    A: AggregateFunction<T, ACC, R>,
    P: ProcessWindowFunction<R, O, K, W>,
    ACC: Clone + Send + 'static,
    R: 'static,
{
    type Acc = ACC;

    fn create(&mut self) -> ACC {
        self.aggregate.create_accumulator()
    }

    #[inline]
    fn add(&mut self, acc: &mut ACC, value: T, _timestamp: i64) -> FnResult<()> {
        self.aggregate.add(value, acc)
    }

    fn merge(&mut self, acc: &mut ACC, other: ACC) -> FnResult<()> {
        self.aggregate.merge(acc, other)
    }

    fn emit(
        &mut self,
        key: &K,
        acc: &mut ACC,
        ctx: &mut WindowContext<'_, K, W>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        let result = self.aggregate.get_result(acc)?;
        self.process
            .process(key, ctx, Elements::single(&result), out)
    }

    fn clear(&mut self, key: &K, ctx: &mut WindowContext<'_, K, W>) -> FnResult<()> {
        self.process.clear(key, ctx)
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.aggregate.initialize_state(ctx)?;
        self.process.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.aggregate.snapshot_state(ctx, store)?;
        self.process.snapshot_state(ctx, store)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.aggregate.open(ctx)?;
        self.process.open(ctx)
    }

    fn close(&mut self) -> FnResult<()> {
        let aggregate = self.aggregate.close();
        aggregate.and(self.process.close())
    }
}

/// Buffered elements, evicted before/after the process window function runs over them.
#[derive(Clone)]
pub struct Buffering<E, P> {
    evictor: E,
    process: P,
}

impl<E, P> Buffering<E, P> {
    /// `process` over the elements that `evictor` keeps.
    pub fn new(evictor: E, process: P) -> Self {
        Buffering { evictor, process }
    }
}

impl<T, K, W, O, E, P> WindowContents<T, K, W, O> for Buffering<E, P>
where
    T: Clone + Send + 'static,
    W: Window,
    E: Evictor<T, W>,
    P: ProcessWindowFunction<T, O, K, W>,
{
    type Acc = Vec<TimestampedValue<T>>;

    fn create(&mut self) -> Self::Acc {
        Vec::new()
    }

    #[inline]
    fn add(&mut self, acc: &mut Self::Acc, value: T, timestamp: i64) -> FnResult<()> {
        acc.push(TimestampedValue { value, timestamp });
        Ok(())
    }

    fn merge(&mut self, acc: &mut Self::Acc, other: Self::Acc) -> FnResult<()> {
        acc.extend(other);
        Ok(())
    }

    fn emit(
        &mut self,
        key: &K,
        acc: &mut Self::Acc,
        ctx: &mut WindowContext<'_, K, W>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        let evictor_ctx = EvictorContext {
            current_watermark: ctx.current_watermark(),
            current_processing_time: ctx.current_processing_time(),
        };
        let window = ctx.window().clone();
        self.evictor.evict_before(acc, &window, &evictor_ctx)?;
        self.process
            .process(key, ctx, Elements::buffered(acc), out)?;
        self.evictor.evict_after(acc, &window, &evictor_ctx)
    }

    fn clear(&mut self, key: &K, ctx: &mut WindowContext<'_, K, W>) -> FnResult<()> {
        self.process.clear(key, ctx)
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.process.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.process.snapshot_state(ctx, store)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.process.open(ctx)
    }

    fn close(&mut self) -> FnResult<()> {
        self.process.close()
    }
}

/// Runs an aggregate over a window's (remaining) elements, then a process window function
/// over the result: `reduce`/`aggregate` on a window with an evictor.
pub struct AggregateElements<A, P, ACC, R> {
    aggregate: A,
    process: P,
    _types: PhantomData<fn(ACC) -> R>,
}

impl<A: Clone, P: Clone, ACC, R> Clone for AggregateElements<A, P, ACC, R> {
    fn clone(&self) -> Self {
        AggregateElements {
            aggregate: self.aggregate.clone(),
            process: self.process.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, P, ACC, R> AggregateElements<A, P, ACC, R> {
    /// `aggregate` over the elements, then `process` over the result.
    pub fn new(aggregate: A, process: P) -> Self {
        AggregateElements {
            aggregate,
            process,
            _types: PhantomData,
        }
    }
}

impl<T, K, W, O, A, P, ACC, R> ProcessWindowFunction<T, O, K, W> for AggregateElements<A, P, ACC, R>
where
    T: Clone + 'static,
    K: 'static,
    W: Window,
    A: AggregateFunction<T, ACC, R>,
    P: ProcessWindowFunction<R, O, K, W>,
    ACC: Send + 'static,
    R: 'static,
{
    fn process(
        &mut self,
        key: &K,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Elements<'_, T>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        let mut acc = self.aggregate.create_accumulator();
        for element in elements {
            self.aggregate.add(element.clone(), &mut acc)?;
        }
        let result = self.aggregate.get_result(&acc)?;
        self.process
            .process(key, ctx, Elements::single(&result), out)
    }

    fn clear(&mut self, key: &K, ctx: &mut WindowContext<'_, K, W>) -> FnResult<()> {
        self.process.clear(key, ctx)
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.aggregate.initialize_state(ctx)?;
        self.process.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.aggregate.snapshot_state(ctx, store)?;
        self.process.snapshot_state(ctx, store)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.aggregate.open(ctx)?;
        self.process.open(ctx)
    }

    fn close(&mut self) -> FnResult<()> {
        let aggregate = self.aggregate.close();
        aggregate.and(self.process.close())
    }
}
