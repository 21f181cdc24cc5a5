//! `map`, `flat_map` and `filter` applied to a keyed stream: before each element the operator
//! makes the element's key current in its keyed state, which the function reaches through
//! the [`KeyedStateStore`] its `RuntimeContext` hands out in `open` (Flink's
//! `getRuntimeContext().getState(…)` in a rich function on a `KeyedStream`).

use eddy_core::{FnResult, Key};
use eddy_functions::{
    Collector, FilterFunction, FlatMapFunction, FunctionInitializationContext,
    FunctionSnapshotContext, KeySelector, MapFunction, RuntimeContext, SideOutputs,
};
use eddy_state::time::InternalTimerService;
use eddy_state::{
    KeyedStateSnapshot, KeyedStateStore, OperatorStateStore, PendingKeyedSnapshot,
    StateBackendConfig,
};

use super::OneInputLogic;
use crate::output::Batch;
use crate::snapshot::{restore_keyed, snapshot_keyed};
use crate::state_backend::open_keyed_state_backend;

/// A function called once per element, with a collector (what the keyed operator needs of a
/// map, flat-map or filter function).
pub trait PerElement<I, O>: Send {
    /// The function's `initialize_state`.
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()>;
    /// The function's `snapshot_state`.
    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()>;
    /// The function's `open`.
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()>;
    /// The function's `notify_checkpoint_complete` or `notify_checkpoint_aborted`.
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()>;
    /// Processes one element.
    fn call(&mut self, value: I, out: &mut Collector<'_, O>) -> FnResult<()>;
    /// The function's `close`.
    fn close(&mut self) -> FnResult<()>;
}

/// Implements the lifecycle of [`PerElement`] by forwarding to the wrapped function.
macro_rules! forward_lifecycle {
    () => {
        fn initialize_state(
            &mut self,
            ctx: &mut FunctionInitializationContext<'_>,
        ) -> FnResult<()> {
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
        fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
            if completed {
                self.0.notify_checkpoint_complete(checkpoint_id)
            } else {
                self.0.notify_checkpoint_aborted(checkpoint_id)
            }
        }
        fn close(&mut self) -> FnResult<()> {
            self.0.close()
        }
    };
}

/// A [`MapFunction`] as a [`PerElement`].
pub struct MapEach<F>(pub F);

impl<I, O, F: MapFunction<I, O>> PerElement<I, O> for MapEach<F> {
    forward_lifecycle!();
    #[inline]
    fn call(&mut self, value: I, out: &mut Collector<'_, O>) -> FnResult<()> {
        out.collect(self.0.map(value)?);
        Ok(())
    }
}

/// A [`FlatMapFunction`] as a [`PerElement`].
pub struct FlatMapEach<F>(pub F);

impl<I, O, F: FlatMapFunction<I, O>> PerElement<I, O> for FlatMapEach<F> {
    forward_lifecycle!();
    #[inline]
    fn call(&mut self, value: I, out: &mut Collector<'_, O>) -> FnResult<()> {
        self.0.flat_map(value, out)
    }
}

/// A [`FilterFunction`] as a [`PerElement`].
pub struct FilterEach<F>(pub F);

impl<T, F: FilterFunction<T>> PerElement<T, T> for FilterEach<F> {
    forward_lifecycle!();
    #[inline]
    fn call(&mut self, value: T, out: &mut Collector<'_, T>) -> FnResult<()> {
        if self.0.filter(&value)? {
            out.collect(value);
        }
        Ok(())
    }
}

/// The error of a keyed operator used before it opened.
const NOT_OPEN: &str = "a keyed operator was used before it was opened";

/// A per-element function on a keyed stream, with keyed state (see the module
/// documentation). Outputs keep their input's timestamp.
pub struct KeyedFunctionLogic<K, KS, P> {
    key_selector: KS,
    function: P,
    store: Option<KeyedStateStore<K>>,
    state_backend: StateBackendConfig,
}

impl<K, KS, P> KeyedFunctionLogic<K, KS, P> {
    /// Runs `function` on elements keyed by `key_selector`, with keyed state in the backend
    /// `state_backend` opens.
    pub fn new(key_selector: KS, function: P, state_backend: StateBackendConfig) -> Self {
        KeyedFunctionLogic {
            key_selector,
            function,
            store: None,
            state_backend,
        }
    }
}

impl<I, O, K, KS, P> OneInputLogic<I, O> for KeyedFunctionLogic<K, KS, P>
where
    K: Key,
    KS: KeySelector<I, K>,
    P: PerElement<I, O>,
{
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.function.initialize_state(ctx)
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.function.snapshot_state(ctx, store)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> FnResult<()> {
        self.function.notify_checkpoint(checkpoint_id, completed)
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        let store = KeyedStateStore::new(open_keyed_state_backend(&self.state_backend, ctx)?);
        let mut keyed_ctx = ctx.clone();
        keyed_ctx.keyed_state = Some(store.erased());
        self.store = Some(store);
        self.function.open(&keyed_ctx)
    }

    fn snapshot_keyed_state(
        &mut self,
        ctx: &RuntimeContext,
    ) -> FnResult<Option<PendingKeyedSnapshot>> {
        let store = self.store.as_ref().ok_or(NOT_OPEN)?;
        store.with_backend(|backend| {
            snapshot_keyed(backend, None::<&InternalTimerService<K, ()>>, ctx).map(Some)
        })
    }

    fn restore_keyed_state(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        ctx: &RuntimeContext,
    ) -> FnResult<()> {
        let store = self.store.as_ref().ok_or(NOT_OPEN)?;
        store.with_backend(|backend| {
            restore_keyed(
                snapshots,
                backend,
                None::<&mut InternalTimerService<K, ()>>,
                ctx,
            )
        })
    }

    fn process(
        &mut self,
        batch: Batch<I>,
        _ctx: &RuntimeContext,
        _side_outputs: &mut SideOutputs,
    ) -> FnResult<Batch<O>> {
        let store = self.store.as_ref().ok_or(NOT_OPEN)?;
        let mut out = Batch::with_capacity(batch.len());
        for record in batch.into_records() {
            store.set_current_key(self.key_selector.get_key(&record.value));
            let mut collector = Collector::new(&mut out, record.timestamp);
            self.function.call(record.value, &mut collector)?;
        }
        Ok(out)
    }

    fn close(&mut self) -> FnResult<()> {
        self.function.close()
    }
}
