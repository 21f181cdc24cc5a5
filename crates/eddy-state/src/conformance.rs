//! The conformance suite every keyed-state backend must pass: each primitive against a plain
//! reference model over random operations on several keys and namespaces, isolation of keys
//! and namespaces, namespace cleanup, type checks and key-group range scans.
//!
//! Each check takes a function making an empty backend, so the heap backend, the on-disk
//! backend (in the `eddy-state` crate) and any future one run the same checks; a backend that
//! differs from the model fails them.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::AggregateFunction;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};
use eddy_core::{FnResult, Key};

pub mod snapshots;
pub mod ttl;

/// A tiny deterministic generator (no dependency on the engine's randomness).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const NAMESPACES: [Namespace; 3] = [
    Namespace::Global,
    Namespace::TimeWindow { start: 0, end: 10 },
    Namespace::TimeWindow { start: 5, end: 15 },
];

/// Average of i64 values as (sum, count), result sum / count.
#[derive(Clone)]
struct Average;

impl AggregateFunction<i64, (i64, i64), f64> for Average {
    fn create_accumulator(&mut self) -> (i64, i64) {
        (0, 0)
    }
    fn add(&mut self, value: i64, acc: &mut (i64, i64)) -> FnResult<()> {
        acc.0 += value;
        acc.1 += 1;
        Ok(())
    }
    fn get_result(&mut self, acc: &(i64, i64)) -> FnResult<f64> {
        Ok(acc.0 as f64 / acc.1 as f64)
    }
    fn merge(&mut self, acc: &mut (i64, i64), other: (i64, i64)) -> FnResult<()> {
        acc.0 += other.0;
        acc.1 += other.1;
        Ok(())
    }
}

/// What the reference model keeps per (key, namespace).
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    value: Option<String>,
    list: Vec<u32>,
    map: BTreeMap<u16, i32>,
    max: Option<i64>,
    average: Option<(i64, i64)>,
}

/// Makes heap backends (the other side of the snapshot checks of any backend).
pub struct HeapFactory;

impl BackendFactory for HeapFactory {
    fn make<K: Key>(&mut self, _max_parallelism: u32) -> KeyedStateBackend<K> {
        KeyedStateBackend::heap()
    }
}

/// Makes empty backends of any key type for the suite.
pub trait BackendFactory {
    /// An empty backend hashing keys into `max_parallelism` key groups.
    fn make<K: Key>(&mut self, max_parallelism: u32) -> KeyedStateBackend<K>;
}

/// Runs every check of the suite on backends made by `factory`.
pub fn run_all(factory: &mut impl BackendFactory) {
    every_primitive_matches_a_reference_model(&mut || factory.make(128));
    namespaces_and_keys_are_isolated(&mut || factory.make(128));
    clearing_a_namespace_drops_every_state_of_that_key_there_and_nothing_else(&mut || {
        factory.make(128)
    });
    asking_for_a_state_as_another_kind_or_type_is_an_error_naming_both(&mut || factory.make(128));
    key_group_range_scans_return_exactly_the_keys_of_the_range(&mut |max| factory.make(max));
    merging_namespaces_folds_the_sources_into_the_target_in_order(&mut || factory.make(128));
    ttl::run_all(&mut || factory.make(128));
}

/// Collects the added values in order; `merge` appends the other accumulator's (so the
/// result shows the order in which accumulators were merged).
#[derive(Clone)]
struct Collect;

impl AggregateFunction<u32, Vec<u32>, Vec<u32>> for Collect {
    fn create_accumulator(&mut self) -> Vec<u32> {
        Vec::new()
    }
    fn add(&mut self, value: u32, acc: &mut Vec<u32>) -> FnResult<()> {
        acc.push(value);
        Ok(())
    }
    fn get_result(&mut self, acc: &Vec<u32>) -> FnResult<Vec<u32>> {
        Ok(acc.clone())
    }
    fn merge(&mut self, acc: &mut Vec<u32>, other: Vec<u32>) -> FnResult<()> {
        acc.extend(other);
        Ok(())
    }
}

/// Random adds to list, reducing and aggregating state in four namespaces of three keys,
/// and random merges of some namespaces into another: the target holds `target ++ sources`
/// in order (an order-sensitive reduce and merge show it), the sources are empty, other keys
/// and namespaces untouched.
pub fn merging_namespaces_folds_the_sources_into_the_target_in_order(
    make: &mut dyn FnMut() -> KeyedStateBackend<u8>,
) {
    let list = ListStateDescriptor::<u32>::new("list");
    let concat = ReducingStateDescriptor::<String>::new("concat", |a: String, b: String| a + &b);
    let collect = AggregatingStateDescriptor::new("collect", Collect);
    let namespaces = [
        Namespace::TimeWindow { start: 0, end: 10 },
        Namespace::TimeWindow { start: 5, end: 15 },
        Namespace::TimeWindow { start: 12, end: 20 },
        Namespace::GlobalWindow,
    ];
    let mut backend = make();
    macro_rules! at {
        ($key:expr, $namespace:expr) => {
            KeyedState::new(&mut backend, &$key, $namespace)
        };
    }
    // Per (key, namespace): the list, which is also what concat and collect must show.
    let mut model: BTreeMap<(u8, usize), Vec<u32>> = BTreeMap::new();
    let mut rng = Lcg(99);
    for step in 0..3_000u32 {
        let key = rng.below(3) as u8;
        if rng.below(5) > 0 {
            let ns = rng.below(4) as usize;
            at!(key, namespaces[ns])
                .list(&list)
                .unwrap()
                .add(step)
                .unwrap();
            at!(key, namespaces[ns])
                .reducing(&concat)
                .unwrap()
                .add(format!("{step},"))
                .unwrap();
            at!(key, namespaces[ns])
                .aggregating(&collect)
                .unwrap()
                .add(step)
                .unwrap();
            model.entry((key, ns)).or_default().push(step);
            continue;
        }
        let target = rng.below(4) as usize;
        let mut sources: Vec<usize> = (0..4).filter(|&ns| ns != target).collect();
        // A random order and subset of the others (the target itself may be listed too).
        for i in (1..sources.len()).rev() {
            sources.swap(i, rng.below(i as u64 + 1) as usize);
        }
        sources.truncate(1 + rng.below(3) as usize);
        if rng.below(4) == 0 {
            sources.push(target);
        }
        let source_namespaces: Vec<Namespace> = sources.iter().map(|&s| namespaces[s]).collect();
        at!(key, namespaces[target])
            .list(&list)
            .unwrap()
            .merge_namespaces(&source_namespaces)
            .unwrap();
        at!(key, namespaces[target])
            .reducing(&concat)
            .unwrap()
            .merge_namespaces(&source_namespaces)
            .unwrap();
        at!(key, namespaces[target])
            .aggregating(&collect)
            .unwrap()
            .merge_namespaces(&source_namespaces)
            .unwrap();
        let mut merged = model.remove(&(key, target)).unwrap_or_default();
        for source in sources.iter().filter(|&&s| s != target) {
            merged.extend(model.remove(&(key, *source)).unwrap_or_default());
        }
        model.insert((key, target), merged);
        for key in 0..3u8 {
            for (ns, namespace) in namespaces.iter().enumerate() {
                let expected = model.get(&(key, ns)).cloned().unwrap_or_default();
                assert_eq!(
                    at!(key, *namespace).list(&list).unwrap().get().unwrap(),
                    expected
                );
                let text: String = expected.iter().map(|v| format!("{v},")).collect();
                assert_eq!(
                    at!(key, *namespace)
                        .reducing(&concat)
                        .unwrap()
                        .get()
                        .unwrap(),
                    (!expected.is_empty()).then_some(text)
                );
                assert_eq!(
                    at!(key, *namespace)
                        .aggregating(&collect)
                        .unwrap()
                        .get()
                        .unwrap(),
                    (!expected.is_empty()).then_some(expected)
                );
            }
        }
    }
}

/// Random operations on every primitive over 5 keys and 3 namespaces, read back after
/// every 97th step against a reference model.
pub fn every_primitive_matches_a_reference_model(make: &mut dyn FnMut() -> KeyedStateBackend<u8>) {
    let value = ValueStateDescriptor::<String>::new("value");
    let list = ListStateDescriptor::<u32>::new("list");
    let map = MapStateDescriptor::<u16, i32>::new("map");
    let max = ReducingStateDescriptor::<i64>::new("max", |a: i64, b: i64| a.max(b));
    let average = AggregatingStateDescriptor::new("average", Average);
    let mut backend = make();
    let mut model: HashMap<(u8, Namespace), Model> = HashMap::new();
    let mut rng = Lcg(42);
    for step in 0..20_000u32 {
        let key = rng.below(5) as u8;
        let namespace = NAMESPACES[rng.below(3) as usize];
        let expected = model.entry((key, namespace)).or_default();
        macro_rules! state {
            () => {
                KeyedState::new(&mut backend, &key, namespace)
            };
        }
        match rng.below(14) {
            0 => {
                let v = format!("v{step}");
                state!().value(&value).unwrap().update(v.clone()).unwrap();
                expected.value = Some(v);
            }
            1 => {
                state!().value(&value).unwrap().clear().unwrap();
                expected.value = None;
            }
            2 => {
                state!().list(&list).unwrap().add(step).unwrap();
                expected.list.push(step);
            }
            3 => {
                let more = vec![step, step + 1];
                state!().list(&list).unwrap().add_all(more.clone()).unwrap();
                expected.list.extend(more);
            }
            4 => {
                let replace = if rng.below(3) == 0 {
                    vec![]
                } else {
                    vec![step]
                };
                state!()
                    .list(&list)
                    .unwrap()
                    .update(replace.clone())
                    .unwrap();
                expected.list = replace;
            }
            5 => {
                state!().list(&list).unwrap().clear().unwrap();
                expected.list.clear();
            }
            6 | 7 => {
                let user_key = rng.below(8) as u16;
                let v = rng.below(1000) as i32 - 500;
                state!().map(&map).unwrap().put(user_key, v).unwrap();
                expected.map.insert(user_key, v);
            }
            8 => {
                let user_key = rng.below(8) as u16;
                state!().map(&map).unwrap().remove(&user_key).unwrap();
                expected.map.remove(&user_key);
            }
            9 => {
                let entries = vec![(rng.below(8) as u16, 1), (rng.below(8) as u16, 2)];
                state!()
                    .map(&map)
                    .unwrap()
                    .put_all(entries.clone())
                    .unwrap();
                expected.map.extend(entries);
            }
            10 => {
                state!().map(&map).unwrap().clear().unwrap();
                expected.map.clear();
            }
            11 => {
                let v = rng.below(1000) as i64;
                state!().reducing(&max).unwrap().add(v).unwrap();
                expected.max = Some(expected.max.map_or(v, |m| m.max(v)));
            }
            12 => {
                let v = rng.below(100) as i64;
                state!().aggregating(&average).unwrap().add(v).unwrap();
                let (sum, count) = expected.average.unwrap_or((0, 0));
                expected.average = Some((sum + v, count + 1));
            }
            _ => {
                state!().reducing(&max).unwrap().clear().unwrap();
                state!().aggregating(&average).unwrap().clear().unwrap();
                expected.max = None;
                expected.average = None;
            }
        }
        // Every (key, namespace) reads back what the model holds, after every step.
        if step % 97 == 0 || step > 19_900 {
            for ((key, namespace), expected) in &model {
                macro_rules! state {
                    () => {
                        KeyedState::new(&mut backend, key, *namespace)
                    };
                }
                assert_eq!(
                    state!().value(&value).unwrap().value().unwrap(),
                    expected.value
                );
                assert_eq!(state!().list(&list).unwrap().get().unwrap(), expected.list);
                let map_state = state!().map(&map).unwrap();
                let mut entries = map_state.entries().unwrap();
                entries.sort_unstable();
                let want: Vec<(u16, i32)> = expected.map.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(entries, want);
                let mut keys = map_state.keys().unwrap();
                keys.sort_unstable();
                assert_eq!(keys, expected.map.keys().copied().collect::<Vec<_>>());
                let mut values = map_state.values().unwrap();
                values.sort_unstable();
                let mut want_values: Vec<i32> = expected.map.values().copied().collect();
                want_values.sort_unstable();
                assert_eq!(values, want_values);
                assert_eq!(map_state.is_empty().unwrap(), expected.map.is_empty());
                for user_key in 0..8u16 {
                    assert_eq!(
                        map_state.get(&user_key).unwrap(),
                        expected.map.get(&user_key).copied()
                    );
                    assert_eq!(
                        map_state.contains(&user_key).unwrap(),
                        expected.map.contains_key(&user_key)
                    );
                }
                assert_eq!(
                    state!().reducing(&max).unwrap().get().unwrap(),
                    expected.max
                );
                assert_eq!(
                    state!().aggregating(&average).unwrap().get().unwrap(),
                    expected
                        .average
                        .map(|(sum, count)| sum as f64 / count as f64)
                );
            }
        }
    }
}

/// A key's state in one namespace is invisible from other keys and namespaces.
pub fn namespaces_and_keys_are_isolated(make: &mut dyn FnMut() -> KeyedStateBackend<String>) {
    let count = ValueStateDescriptor::<u64>::new("count");
    let mut backend = make();
    let (a, b) = ("a".to_string(), "b".to_string());
    let window = Namespace::TimeWindow { start: 0, end: 5 };
    KeyedState::new(&mut backend, &a, Namespace::Global)
        .value(&count)
        .unwrap()
        .update(1)
        .unwrap();
    KeyedState::new(&mut backend, &a, window)
        .value(&count)
        .unwrap()
        .update(2)
        .unwrap();
    let read = |backend: &mut KeyedStateBackend<String>, key: &String, ns| {
        KeyedState::new(backend, key, ns)
            .value(&count)
            .unwrap()
            .value()
            .unwrap()
    };
    assert_eq!(read(&mut backend, &a, Namespace::Global), Some(1));
    assert_eq!(read(&mut backend, &a, window), Some(2));
    assert_eq!(read(&mut backend, &b, Namespace::Global), None);
    assert_eq!(read(&mut backend, &b, window), None);
    assert_eq!(backend.state_names(), vec!["count"]);
}

/// `clear_namespace` drops every state of one key in one namespace, and nothing else.
pub fn clearing_a_namespace_drops_every_state_of_that_key_there_and_nothing_else(
    make: &mut dyn FnMut() -> KeyedStateBackend<u32>,
) {
    let value = ValueStateDescriptor::<u64>::new("value");
    let list = ListStateDescriptor::<u64>::new("list");
    let map = MapStateDescriptor::<u64, u64>::new("map");
    let reducing = ReducingStateDescriptor::<u64>::new("reducing", |a, b| a + b);
    let aggregating = AggregatingStateDescriptor::new("aggregating", Average);
    let mut backend = make();
    let window = Namespace::TimeWindow { start: 0, end: 5 };
    let places = [(1, window), (1, Namespace::Global), (2, window)];
    for (key, namespace) in places {
        macro_rules! state {
            () => {
                KeyedState::new(&mut backend, &key, namespace)
            };
        }
        state!().value(&value).unwrap().update(7).unwrap();
        state!().list(&list).unwrap().add(7).unwrap();
        state!().map(&map).unwrap().put(7, 7).unwrap();
        state!().reducing(&reducing).unwrap().add(7).unwrap();
        state!().aggregating(&aggregating).unwrap().add(7).unwrap();
    }
    backend.clear_namespace(&1, window).unwrap();
    for (key, namespace) in places {
        let expect_present = !(key == 1 && namespace == window);
        macro_rules! read {
            () => {
                KeyedState::new(&mut backend, &key, namespace)
            };
        }
        assert_eq!(
            read!().value(&value).unwrap().value().unwrap().is_some(),
            expect_present
        );
        assert_eq!(
            !read!().list(&list).unwrap().get().unwrap().is_empty(),
            expect_present
        );
        assert_eq!(
            !read!().map(&map).unwrap().is_empty().unwrap(),
            expect_present
        );
        assert_eq!(
            read!()
                .reducing(&reducing)
                .unwrap()
                .get()
                .unwrap()
                .is_some(),
            expect_present
        );
        let average = read!().aggregating(&aggregating).unwrap().get().unwrap();
        assert_eq!(average.is_some(), expect_present, "{key} {namespace:?}");
    }
}

/// A name registered with one kind or type cannot be used as another; the error names both.
pub fn asking_for_a_state_as_another_kind_or_type_is_an_error_naming_both(
    make: &mut dyn FnMut() -> KeyedStateBackend<u32>,
) {
    let mut backend = make();
    macro_rules! state {
        () => {
            KeyedState::new(&mut backend, &7, Namespace::Global)
        };
    }
    state!()
        .value(&ValueStateDescriptor::<u64>::new("seen"))
        .unwrap()
        .update(1)
        .unwrap();
    let err = state!()
        .list(&ListStateDescriptor::<u64>::new("seen"))
        .err()
        .expect("a list under a value's name is rejected")
        .to_string();
    assert!(
        err.contains("'seen'") && err.contains("ValueState<u64>") && err.contains("ListState<u64>"),
        "{err}"
    );
    let err = state!()
        .value(&ValueStateDescriptor::<String>::new("seen"))
        .err()
        .expect("another value type is rejected")
        .to_string();
    assert!(err.contains("ValueState<alloc::string::String>"), "{err}");
}

/// Keys scanned by key-group range: exactly the keys whose key group is in the range, ordered
/// by key group and then by serialized key, each once (also for map state, which has a row
/// per entry on disk), and the ranges of all subtasks together give every key once.
pub fn key_group_range_scans_return_exactly_the_keys_of_the_range(
    make: &mut dyn FnMut(u32) -> KeyedStateBackend<u32>,
) {
    let value = ValueStateDescriptor::<u64>::new("value");
    let map = MapStateDescriptor::<u16, u16>::new("map");
    for max_parallelism in [128u32, 1000] {
        let mut backend = make(max_parallelism);
        let keys: Vec<u32> = (0..600).map(|k| k * 7 + 3).collect();
        for &key in &keys {
            let window = Namespace::TimeWindow { start: 0, end: 10 };
            for namespace in [Namespace::Global, window] {
                KeyedState::new(&mut backend, &key, namespace)
                    .value(&value)
                    .unwrap()
                    .update(u64::from(key))
                    .unwrap();
            }
            if key % 3 == 0 {
                let mut entries = KeyedState::new(&mut backend, &key, Namespace::Global)
                    .map(&map)
                    .unwrap();
                entries.put(1, 1).unwrap();
                entries.put(2, 2).unwrap();
            }
        }
        // The reference: key group and serialized bytes of every key, computed directly.
        let place = |key: &u32| {
            let group = KeyHasher::new().key_group(key, max_parallelism).unwrap();
            (group, postcard::to_allocvec(key).unwrap())
        };
        for parallelism in [1u32, 3, 7] {
            let mut all = Vec::new();
            for subtask in 0..parallelism {
                let range = KeyGroupRange::for_subtask(max_parallelism, parallelism, subtask);
                for (state, only_multiples_of_3) in [("value", false), ("map", true)] {
                    let mut want: Vec<u32> = keys
                        .iter()
                        .copied()
                        .filter(|k| {
                            range.contains(place(k).0) && (!only_multiples_of_3 || k % 3 == 0)
                        })
                        .collect();
                    want.sort_by_key(place);
                    let got = backend.keys_in(state, range, max_parallelism).unwrap();
                    assert_eq!(got, want, "{state} max {max_parallelism} range {range:?}");
                    if state == "value" {
                        all.extend(got);
                    }
                }
            }
            all.sort_unstable();
            assert_eq!(all, keys, "parallelism {parallelism}");
        }
        assert!(backend
            .keys_in(
                "missing",
                KeyGroupRange::for_subtask(max_parallelism, 1, 0),
                max_parallelism
            )
            .unwrap()
            .is_empty());
    }
}
