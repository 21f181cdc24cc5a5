//! [`KeyedStateDescriptor`]: what every keyed-state descriptor has in common, so code can take
//! "any keyed state" and hand out its typed handle (`apply_to_keyed_state` in keyed broadcast
//! process functions).

use super::descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
    ValueStateDescriptor,
};
use super::handles::{AggregatingState, ListState, MapState, ReducingState, ValueState};
use super::keyed_state::KeyedState;
use crate::AggregateFunction;
use eddy_core::error::FnResult;
use eddy_core::{Data, Key};

/// A descriptor of one keyed state primitive, for keys of type `K`: its name, and how to get
/// its handle from a key's [`KeyedState`]. Implemented by every descriptor
/// ([`ValueStateDescriptor`], [`ListStateDescriptor`], [`MapStateDescriptor`],
/// [`ReducingStateDescriptor`], [`AggregatingStateDescriptor`]).
pub trait KeyedStateDescriptor<K: Key> {
    /// The handle of the state (e.g. [`ValueState`] for a [`ValueStateDescriptor`]).
    type State<'s>;

    /// The state's name.
    fn state_name(&self) -> &str;

    /// The handle of this state in `state` (the state of one key in one namespace); fails if
    /// the name is registered with another kind or type.
    fn bind<'s>(&self, state: KeyedState<'s, K>) -> FnResult<Self::State<'s>>;
}

impl<K: Key, T: Data> KeyedStateDescriptor<K> for ValueStateDescriptor<T> {
    type State<'s> = ValueState<'s, K, T>;

    fn state_name(&self) -> &str {
        self.name()
    }

    fn bind<'s>(&self, state: KeyedState<'s, K>) -> FnResult<ValueState<'s, K, T>> {
        state.value(self)
    }
}

impl<K: Key, T: Data> KeyedStateDescriptor<K> for ListStateDescriptor<T> {
    type State<'s> = ListState<'s, K, T>;

    fn state_name(&self) -> &str {
        self.name()
    }

    fn bind<'s>(&self, state: KeyedState<'s, K>) -> FnResult<ListState<'s, K, T>> {
        state.list(self)
    }
}

impl<K: Key, UK: Key, UV: Data> KeyedStateDescriptor<K> for MapStateDescriptor<UK, UV> {
    type State<'s> = MapState<'s, K, UK, UV>;

    fn state_name(&self) -> &str {
        self.name()
    }

    fn bind<'s>(&self, state: KeyedState<'s, K>) -> FnResult<MapState<'s, K, UK, UV>> {
        state.map(self)
    }
}

impl<K: Key, T: Data> KeyedStateDescriptor<K> for ReducingStateDescriptor<T> {
    type State<'s> = ReducingState<'s, K, T>;

    fn state_name(&self) -> &str {
        self.name()
    }

    fn bind<'s>(&self, state: KeyedState<'s, K>) -> FnResult<ReducingState<'s, K, T>> {
        state.reducing(self)
    }
}

impl<K, IN, ACC, OUT, F> KeyedStateDescriptor<K> for AggregatingStateDescriptor<IN, ACC, OUT, F>
where
    K: Key,
    IN: 'static,
    ACC: Data,
    OUT: 'static,
    F: AggregateFunction<IN, ACC, OUT>,
{
    type State<'s> = AggregatingState<'s, K, IN, ACC, OUT, F>;

    fn state_name(&self) -> &str {
        self.name()
    }

    fn bind<'s>(
        &self,
        state: KeyedState<'s, K>,
    ) -> FnResult<AggregatingState<'s, K, IN, ACC, OUT, F>> {
        state.aggregating(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyedStateBackend, Namespace};

    /// Binds `descriptor` for every key that has it in the global namespace, like
    /// `apply_to_keyed_state`.
    fn for_each_key<D: KeyedStateDescriptor<u32>>(
        backend: &mut KeyedStateBackend<u32>,
        descriptor: &D,
        mut function: impl FnMut(&u32, D::State<'_>) -> FnResult<()>,
    ) -> FnResult<Vec<u32>> {
        let mut keys = backend.keys_in_namespace(descriptor.state_name(), Namespace::Global)?;
        keys.sort_unstable();
        for key in &keys {
            let state = KeyedState::new(backend, key, Namespace::Global);
            function(key, descriptor.bind(state)?)?;
        }
        Ok(keys)
    }

    #[test]
    fn keys_with_global_state_are_listed_and_bound_by_any_descriptor() {
        let mut backend = KeyedStateBackend::<u32>::heap();
        let count = ValueStateDescriptor::<u64>::new("count");
        let sum = ReducingStateDescriptor::new("sum", |a: i64, b: i64| a + b);
        for key in 1..=5u32 {
            let mut state = KeyedState::new(&mut backend, &key, Namespace::Global)
                .value(&count)
                .unwrap();
            state.update(u64::from(key)).unwrap();
            KeyedState::new(&mut backend, &key, Namespace::Global)
                .reducing(&sum)
                .unwrap()
                .add(i64::from(key))
                .unwrap();
        }
        // A window namespace's entry does not count, nor does a cleared key.
        let window = Namespace::TimeWindow { start: 0, end: 10 };
        KeyedState::new(&mut backend, &9, window)
            .value(&count)
            .unwrap()
            .update(9)
            .unwrap();
        KeyedState::new(&mut backend, &3, Namespace::Global)
            .value(&count)
            .unwrap()
            .clear()
            .unwrap();
        let visited = for_each_key(&mut backend, &count, |key, mut state| {
            assert_eq!(state.value()?, Some(u64::from(*key)));
            state.update(0)
        })
        .unwrap();
        assert_eq!(visited, vec![1, 2, 4, 5]);
        let mut totals = Vec::new();
        let visited = for_each_key(&mut backend, &sum, |_, state| {
            totals.push(state.get()?.unwrap_or(0));
            Ok(())
        })
        .unwrap();
        assert_eq!(visited, vec![1, 2, 3, 4, 5]);
        assert_eq!(totals, vec![1, 2, 3, 4, 5]);
        assert!(backend
            .keys_in_namespace("never-registered", Namespace::Global)
            .unwrap()
            .is_empty());
        let mut window_keys = backend.keys_in_namespace("count", window).unwrap();
        window_keys.sort_unstable();
        assert_eq!(window_keys, vec![9]);
        let as_list = ListStateDescriptor::<u64>::new("count");
        let err = for_each_key(&mut backend, &as_list, |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "state 'count' is a ValueState<u64> but was asked for as a ListState<u64>"
            ),
            "{err}"
        );
    }
}
