//! Rolling reduce on a keyed stream.

use std::collections::hash_map::Entry;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;

use eddy_core::config::RuntimeMode;
use eddy_core::functions::{KeySelector, ReduceFunction, RuntimeContext};
use eddy_core::{FnResult, Key, StreamRecord};

use super::OneInputLogic;
use crate::output::Batch;

/// Keeps one accumulated value per key. In STREAMING mode every update is emitted; in BATCH mode
/// only the final value of each key, when the input ends.
pub struct KeyedReduceLogic<T, K, KS, R> {
    key_selector: KS,
    reducer: R,
    // `None` only transiently, while the reducer owns the previous value.
    state: FxHashMap<K, (Option<T>, i64)>,
    emit_updates: bool,
    _types: PhantomData<fn(T)>,
}

impl<T, K: Key, KS, R> KeyedReduceLogic<T, K, KS, R> {
    /// A reduce by `key_selector` with `reducer` in the given runtime mode.
    pub fn new(key_selector: KS, reducer: R, mode: RuntimeMode) -> Self {
        KeyedReduceLogic {
            key_selector,
            reducer,
            state: FxHashMap::default(),
            emit_updates: mode != RuntimeMode::Batch,
            _types: PhantomData,
        }
    }
}

impl<T, K, KS, R> OneInputLogic<T, T> for KeyedReduceLogic<T, K, KS, R>
where
    T: Clone + Send,
    K: Key,
    KS: KeySelector<T, K>,
    R: ReduceFunction<T>,
{
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.reducer.open(ctx)
    }

    fn process(&mut self, batch: Batch<T>, _ctx: &RuntimeContext) -> FnResult<Batch<T>> {
        let mut out = if self.emit_updates {
            Vec::with_capacity(batch.len())
        } else {
            Vec::new()
        };
        for record in batch {
            let key = self.key_selector.get_key(&record.value);
            let emit = self.emit_updates;
            let updated = match self.state.entry(key) {
                Entry::Occupied(entry) => {
                    let slot = entry.into_mut();
                    let previous = slot.0.take().ok_or("reduce state was left empty")?;
                    let value = self.reducer.reduce(previous, record.value)?;
                    slot.1 = record.timestamp;
                    let stored = slot.0.insert(value);
                    emit.then(|| stored.clone())
                }
                Entry::Vacant(entry) => {
                    let copy = emit.then(|| record.value.clone());
                    entry.insert((Some(record.value), record.timestamp));
                    copy
                }
            };
            if let Some(value) = updated {
                out.push(StreamRecord {
                    value,
                    timestamp: record.timestamp,
                });
            }
        }
        Ok(out)
    }

    fn end_of_input(&mut self) -> FnResult<Batch<T>> {
        if self.emit_updates {
            return Ok(Vec::new());
        }
        Ok(self
            .state
            .drain()
            .filter_map(|(_, (value, timestamp))| {
                value.map(|value| StreamRecord { value, timestamp })
            })
            .collect())
    }

    fn close(&mut self) -> FnResult<()> {
        self.reducer.close()
    }
}
