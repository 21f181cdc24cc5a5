//! What a window keeps per key and window, and how it turns that into results.

use std::marker::PhantomData;

use eddy_core::{Data, FnResult, Key};
use eddy_functions::windowing::{
    AggregateFunction, Elements, Evictor, EvictorContext, ProcessWindowFunction, TimestampedValue,
    Window, WindowContext,
};
use eddy_functions::{
    Collector, FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext,
};
use eddy_state::{KeyedState, ListStateDescriptor, OperatorStateStore, ValueStateDescriptor};

/// The name of the keyed state that holds window contents in a backend of serialized rows
/// (`rocksdb`), in each window's namespace. The leading underscore keeps it apart from the
/// window function's own states.
pub(crate) const STORED_CONTENTS: &str = "_window-contents";

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
    /// Adds an element to contents kept in a keyed state backend of serialized rows; `state`
    /// is the key's state in the window's namespace. (An accumulator is read, updated and
    /// written; buffered elements are appended without reading the buffer.)
    fn add_stored(&mut self, state: KeyedState<'_, K>, value: T, timestamp: i64) -> FnResult<()>
    where
        K: Key;
    /// The contents kept in a keyed state backend (`None`: there are none).
    fn load_stored(&mut self, state: KeyedState<'_, K>) -> FnResult<Option<Self::Acc>>
    where
        K: Key;
    /// Replaces the contents kept in a keyed state backend (`None` clears them).
    fn save_stored(&mut self, state: KeyedState<'_, K>, acc: Option<Self::Acc>) -> FnResult<()>
    where
        K: Key;
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
    /// A checkpoint completed: the functions' `notify_checkpoint_complete`.
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()>;
    /// A checkpoint was aborted: the functions' `notify_checkpoint_aborted`.
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> FnResult<()>;
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
    /// The accumulator's state in a backend of serialized rows.
    stored: ValueStateDescriptor<ACC>,
    _types: PhantomData<fn(ACC) -> R>,
}

impl<A: Clone, P: Clone, ACC, R> Clone for Aggregating<A, P, ACC, R> {
    fn clone(&self) -> Self {
        Aggregating {
            aggregate: self.aggregate.clone(),
            process: self.process.clone(),
            stored: self.stored.clone(),
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
            stored: ValueStateDescriptor::new(STORED_CONTENTS),
            _types: PhantomData,
        }
    }
}

impl<T, K, W, O, A, P, ACC, R> WindowContents<T, K, W, O> for Aggregating<A, P, ACC, R>
where
    W: Window,
    A: AggregateFunction<T, ACC, R>,
    P: ProcessWindowFunction<R, O, K, W>,
    ACC: Data,
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

    fn add_stored(&mut self, state: KeyedState<'_, K>, value: T, _timestamp: i64) -> FnResult<()>
    where
        K: Key,
    {
        let mut stored = state.value(&self.stored)?;
        let mut acc = match stored.value()? {
            Some(acc) => acc,
            None => self.aggregate.create_accumulator(),
        };
        self.aggregate.add(value, &mut acc)?;
        stored.update(acc)
    }

    fn load_stored(&mut self, state: KeyedState<'_, K>) -> FnResult<Option<ACC>>
    where
        K: Key,
    {
        state.value(&self.stored)?.value()
    }

    fn save_stored(&mut self, state: KeyedState<'_, K>, acc: Option<ACC>) -> FnResult<()>
    where
        K: Key,
    {
        let mut stored = state.value(&self.stored)?;
        match acc {
            Some(acc) => stored.update(acc),
            None => stored.clear(),
        }
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

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.aggregate.notify_checkpoint_complete(checkpoint_id)?;
        self.process.notify_checkpoint_complete(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.aggregate.notify_checkpoint_aborted(checkpoint_id)?;
        self.process.notify_checkpoint_aborted(checkpoint_id)
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
pub struct Buffering<E, P, T> {
    evictor: E,
    process: P,
    /// The buffer's state in a backend of serialized rows: a list, so adding an element
    /// appends without reading the buffer.
    stored: ListStateDescriptor<TimestampedValue<T>>,
}

impl<E: Clone, P: Clone, T> Clone for Buffering<E, P, T> {
    fn clone(&self) -> Self {
        Buffering {
            evictor: self.evictor.clone(),
            process: self.process.clone(),
            stored: self.stored.clone(),
        }
    }
}

impl<E, P, T> Buffering<E, P, T> {
    /// `process` over the elements that `evictor` keeps.
    pub fn new(evictor: E, process: P) -> Self {
        Buffering {
            evictor,
            process,
            stored: ListStateDescriptor::new(STORED_CONTENTS),
        }
    }
}

impl<T, K, W, O, E, P> WindowContents<T, K, W, O> for Buffering<E, P, T>
where
    T: Data,
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

    fn add_stored(&mut self, state: KeyedState<'_, K>, value: T, timestamp: i64) -> FnResult<()>
    where
        K: Key,
    {
        state
            .list(&self.stored)?
            .add(TimestampedValue { value, timestamp })
    }

    fn load_stored(&mut self, state: KeyedState<'_, K>) -> FnResult<Option<Self::Acc>>
    where
        K: Key,
    {
        let elements = state.list(&self.stored)?.get()?;
        Ok((!elements.is_empty()).then_some(elements))
    }

    fn save_stored(&mut self, state: KeyedState<'_, K>, acc: Option<Self::Acc>) -> FnResult<()>
    where
        K: Key,
    {
        let mut stored = state.list(&self.stored)?;
        match acc {
            Some(elements) => stored.update(elements),
            None => stored.clear(),
        }
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

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.process.notify_checkpoint_complete(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.process.notify_checkpoint_aborted(checkpoint_id)
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

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.aggregate.notify_checkpoint_complete(checkpoint_id)?;
        self.process.notify_checkpoint_complete(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.aggregate.notify_checkpoint_aborted(checkpoint_id)?;
        self.process.notify_checkpoint_aborted(checkpoint_id)
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
