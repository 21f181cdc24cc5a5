//! Merging namespaces: when merging windows (session windows) become one, the state of the
//! windows that go is folded into the state of the window that stays — lists appended,
//! reducing state reduced, accumulators merged with the aggregate function's `merge`.
//!
//! As in Flink, the sources are combined with each other first, in the given order, and the
//! result is then combined into the target (`target ++ s1 ++ s2`, `reduce(target,
//! reduce(s1, s2))`, `merge(target, merge(s1, s2))`); the sources are cleared.

use super::descriptors::ReduceFn;
use super::handles::{Access, AggregatingState, ListState, ReducingState};
use super::Namespace;
use crate::AggregateFunction;
use eddy_core::error::FnResult;
use eddy_core::{Data, Key};

impl<K: Key, T: Data> ListState<'_, K, T> {
    /// Appends the lists of `sources` (same key) to this one, in order, and clears them.
    pub fn merge_namespaces(&mut self, sources: &[Namespace]) -> FnResult<()> {
        let target = self.access.namespace();
        let mut merged = Vec::new();
        for &source in sources.iter().filter(|&&source| source != target) {
            self.access.set_namespace(source);
            merged.extend(self.get()?);
            self.clear()?;
        }
        self.access.set_namespace(target);
        self.add_all(merged)
    }
}

impl<K: Key, T: Data> ReducingState<'_, K, T> {
    fn reduce_fn(&mut self) -> FnResult<ReduceFn<T>> {
        match &mut self.access {
            Access::Heap { table, .. } => Ok(table.reduce.clone()),
            Access::Store(cell) => cell.function::<ReduceFn<T>>().cloned(),
            Access::Ttl(ttl) => ttl.get_mut().reduce_fn(),
        }
    }

    /// Reduces the values of `sources` (same key) into this one and clears them.
    pub fn merge_namespaces(&mut self, sources: &[Namespace]) -> FnResult<()> {
        let target = self.access.namespace();
        let reduce = self.reduce_fn()?;
        let mut merged: Option<T> = None;
        for &source in sources.iter().filter(|&&source| source != target) {
            self.access.set_namespace(source);
            if let Some(value) = self.get()? {
                merged = Some(match merged {
                    Some(held) => reduce(held, value),
                    None => value,
                });
            }
            self.clear()?;
        }
        self.access.set_namespace(target);
        match merged {
            Some(value) => self.add(value),
            None => Ok(()),
        }
    }
}

impl<K, IN, ACC, OUT, F> AggregatingState<'_, K, IN, ACC, OUT, F>
where
    K: Key,
    IN: 'static,
    ACC: Data,
    OUT: 'static,
    F: AggregateFunction<IN, ACC, OUT>,
{
    /// The accumulator itself (not its result).
    fn accumulator(&mut self) -> FnResult<Option<ACC>> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => Ok(table.accumulators.get(key, *namespace).cloned()),
            Access::Store(cell) => cell.read(None),
            Access::Ttl(ttl) => ttl.get_mut().read_value(),
        }
    }

    fn set_accumulator(&mut self, acc: ACC) -> FnResult<()> {
        match &mut self.access {
            Access::Heap {
                table,
                key,
                namespace,
            } => {
                table.accumulators.insert(key, *namespace, acc);
                Ok(())
            }
            Access::Store(cell) => cell.write(None, &acc),
            Access::Ttl(ttl) => ttl.get_mut().write_value(acc),
        }
    }

    fn merge_into(&mut self, into: &mut ACC, other: ACC) -> FnResult<()> {
        match &mut self.access {
            Access::Heap { table, .. } => table.function.merge(into, other),
            Access::Store(cell) => cell.function::<F>()?.merge(into, other),
            Access::Ttl(ttl) => ttl.get_mut().aggregate_fn()?.merge(into, other),
        }
    }

    /// Merges the accumulators of `sources` (same key) into this one with the aggregate
    /// function's `merge`, and clears them.
    pub fn merge_namespaces(&mut self, sources: &[Namespace]) -> FnResult<()> {
        let target = self.access.namespace();
        let mut merged: Option<ACC> = None;
        for &source in sources.iter().filter(|&&source| source != target) {
            self.access.set_namespace(source);
            if let Some(acc) = self.accumulator()? {
                merged = Some(match merged {
                    Some(mut held) => {
                        self.merge_into(&mut held, acc)?;
                        held
                    }
                    None => acc,
                });
            }
            self.clear()?;
        }
        self.access.set_namespace(target);
        let Some(merged) = merged else {
            return Ok(());
        };
        let combined = match self.accumulator()? {
            Some(mut acc) => {
                self.merge_into(&mut acc, merged)?;
                acc
            }
            None => merged,
        };
        self.set_accumulator(combined)
    }
}
