//! Conformance checks for snapshots: what one backend snapshots, any backend restores, at the
//! same parallelism and at another, with every primitive (and time-to-live timestamps)
//! intact, keys outside a subtask's key groups left out, and changed state types refused.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::{Average, BackendFactory, Lcg, NAMESPACES};
use crate::*;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};

const MAX_PARALLELISM: u32 = 128;

/// What the model keeps per (key, namespace).
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    value: Option<String>,
    list: Vec<u32>,
    map: BTreeMap<u16, i32>,
    max: Option<i64>,
    average: Option<(i64, i64)>,
}

struct Descriptors {
    value: ValueStateDescriptor<String>,
    list: ListStateDescriptor<u32>,
    map: MapStateDescriptor<u16, i32>,
    max: ReducingStateDescriptor<i64>,
    average: AggregatingStateDescriptor<i64, (i64, i64), f64, Average>,
}

impl Descriptors {
    fn new() -> Self {
        Descriptors {
            value: ValueStateDescriptor::new("value"),
            list: ListStateDescriptor::new("list"),
            map: MapStateDescriptor::new("map"),
            max: ReducingStateDescriptor::new("max", |a: i64, b: i64| a.max(b)),
            average: AggregatingStateDescriptor::new("average", Average),
        }
    }
}

type Models = HashMap<(u32, Namespace), Model>;

fn key_group(key: &u32) -> u32 {
    KeyHasher::new().key_group(key, MAX_PARALLELISM).unwrap()
}

/// `steps` random operations on keys `0..keys` that `owns`, applied to the backend and the
/// model alike.
fn drive(
    backend: &mut KeyedStateBackend<u32>,
    models: &mut Models,
    d: &Descriptors,
    rng: &mut Lcg,
    steps: u32,
    owns: impl Fn(u32) -> bool,
) {
    let mut done = 0;
    while done < steps {
        let key = rng.below(200) as u32;
        if !owns(key) {
            continue;
        }
        done += 1;
        let namespace = NAMESPACES[rng.below(3) as usize];
        let model = models.entry((key, namespace)).or_default();
        let state = KeyedState::new(backend, &key, namespace);
        let step = done;
        match rng.below(9) {
            0 => {
                let v = format!("v{step}-{key}");
                state.value(&d.value).unwrap().update(v.clone()).unwrap();
                model.value = Some(v);
            }
            1 => {
                state.value(&d.value).unwrap().clear().unwrap();
                model.value = None;
            }
            2 | 3 => {
                state.list(&d.list).unwrap().add(step).unwrap();
                model.list.push(step);
            }
            4 => {
                let (user_key, v) = (rng.below(6) as u16, rng.below(100) as i32 - 50);
                state.map(&d.map).unwrap().put(user_key, v).unwrap();
                model.map.insert(user_key, v);
            }
            5 => {
                let user_key = rng.below(6) as u16;
                state.map(&d.map).unwrap().remove(&user_key).unwrap();
                model.map.remove(&user_key);
            }
            6 => {
                let v = rng.below(1000) as i64;
                state.reducing(&d.max).unwrap().add(v).unwrap();
                model.max = Some(model.max.map_or(v, |m| m.max(v)));
            }
            7 => {
                let v = rng.below(100) as i64;
                state.aggregating(&d.average).unwrap().add(v).unwrap();
                let (sum, count) = model.average.unwrap_or((0, 0));
                model.average = Some((sum + v, count + 1));
            }
            _ => {
                state.list(&d.list).unwrap().clear().unwrap();
                model.list.clear();
            }
        }
    }
}

/// Every state of `key` in `namespace`, read through the handles.
fn read(
    backend: &mut KeyedStateBackend<u32>,
    d: &Descriptors,
    key: u32,
    namespace: Namespace,
) -> (Model, Option<f64>) {
    macro_rules! state {
        () => {
            KeyedState::new(backend, &key, namespace)
        };
    }
    let value = state!().value(&d.value).unwrap().value().unwrap();
    let list = state!().list(&d.list).unwrap().get().unwrap();
    let map = state!()
        .map(&d.map)
        .unwrap()
        .entries()
        .unwrap()
        .into_iter()
        .collect();
    let max = state!().reducing(&d.max).unwrap().get().unwrap();
    let average = state!().aggregating(&d.average).unwrap().get().unwrap();
    let model = Model {
        value,
        list,
        map,
        max,
        average: None,
    };
    (model, average)
}

/// Checks that `backend` holds exactly the model's state of the keys in `range`.
fn verify(
    backend: &mut KeyedStateBackend<u32>,
    models: &Models,
    d: &Descriptors,
    range: KeyGroupRange,
    context: &str,
) {
    for key in 0..200u32 {
        for namespace in NAMESPACES {
            let mut want = if range.contains(key_group(&key)) {
                models.get(&(key, namespace)).cloned().unwrap_or_default()
            } else {
                Model::default()
            };
            let want_average = want.average.take().map(|(s, c)| s as f64 / c as f64);
            let (got, got_average) = read(backend, d, key, namespace);
            assert_eq!(got, want, "{context}: key {key} in {namespace:?}");
            assert_eq!(got_average, want_average, "{context}: key {key} average");
        }
    }
}

/// The snapshot through its byte form, as a checkpoint would store it.
fn through_bytes(snapshot: KeyedStateSnapshot) -> KeyedStateSnapshot {
    KeyedStateSnapshot::from_bytes(&snapshot.to_bytes().unwrap()).unwrap()
}

/// Snapshots of backends `from` makes restore into backends `to` makes: 1 → 1, 1 → 3 and,
/// after more work on the three, 3 → 2, each time with exactly the state of each subtask's
/// key groups; the restored backends keep working and snapshot again (also states no
/// function asked for since the restore).
pub fn snapshots_restore_at_any_parallelism(
    from: &mut impl BackendFactory,
    to: &mut impl BackendFactory,
) {
    let d = Descriptors::new();
    let mut models = Models::new();
    let mut rng = Lcg(7);
    let mut first = from.make::<u32>(MAX_PARALLELISM);
    drive(&mut first, &mut models, &d, &mut rng, 6_000, |_| true);
    let snapshot = through_bytes(first.snapshot(MAX_PARALLELISM).unwrap());
    assert_eq!(
        snapshot.states().keys().collect::<Vec<_>>(),
        vec!["average", "list", "map", "max", "value"]
    );

    // 1 → 1: everything, and a snapshot of the restored backend before any access is the
    // same snapshot.
    let all = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    let mut same = to.make::<u32>(MAX_PARALLELISM);
    same.restore(std::slice::from_ref(&snapshot), all, MAX_PARALLELISM)
        .unwrap();
    assert_eq!(
        through_bytes(same.snapshot(MAX_PARALLELISM).unwrap()),
        snapshot
    );
    verify(&mut same, &models, &d, all, "1 -> 1");

    // 1 → 3, then more work on each of the three.
    let mut three = Vec::new();
    for subtask in 0..3 {
        let range = KeyGroupRange::for_subtask(MAX_PARALLELISM, 3, subtask);
        let mut backend = to.make::<u32>(MAX_PARALLELISM);
        backend
            .restore(std::slice::from_ref(&snapshot), range, MAX_PARALLELISM)
            .unwrap();
        let mut keys = backend.keys_in("value", range, MAX_PARALLELISM).unwrap();
        let mut want: Vec<u32> = models
            .iter()
            .filter(|((key, _), m)| m.value.is_some() && range.contains(key_group(key)))
            .map(|((key, _), _)| *key)
            .collect();
        want.sort_unstable();
        want.dedup();
        keys.sort_unstable();
        assert_eq!(keys, want, "keys of subtask {subtask}/3");
        verify(&mut backend, &models, &d, range, "1 -> 3");
        drive(&mut backend, &mut models, &d, &mut rng, 2_000, |key| {
            range.contains(key_group(&key))
        });
        three.push(backend);
    }

    // 3 → 2.
    let snapshots: Vec<KeyedStateSnapshot> = three
        .iter_mut()
        .map(|b| through_bytes(b.snapshot(MAX_PARALLELISM).unwrap()))
        .collect();
    for subtask in 0..2 {
        let range = KeyGroupRange::for_subtask(MAX_PARALLELISM, 2, subtask);
        let mut backend = to.make::<u32>(MAX_PARALLELISM);
        backend.restore(&snapshots, range, MAX_PARALLELISM).unwrap();
        verify(&mut backend, &models, &d, range, "3 -> 2");
    }
}

/// A restored state asked for as another kind or type is an error naming both; keys of
/// another type and another max parallelism are refused when restoring.
pub fn changed_state_types_are_refused_on_restore(
    from: &mut impl BackendFactory,
    to: &mut impl BackendFactory,
) {
    let mut backend = from.make::<u32>(MAX_PARALLELISM);
    KeyedState::new(&mut backend, &1, Namespace::Global)
        .value(&ValueStateDescriptor::<u64>::new("count"))
        .unwrap()
        .update(5)
        .unwrap();
    let snapshot = backend.snapshot(MAX_PARALLELISM).unwrap();
    let all = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    let mut restored = to.make::<u32>(MAX_PARALLELISM);
    restored
        .restore(std::slice::from_ref(&snapshot), all, MAX_PARALLELISM)
        .unwrap();
    let err = KeyedState::new(&mut restored, &1, Namespace::Global)
        .value(&ValueStateDescriptor::<String>::new("count"))
        .err()
        .expect("another type is refused")
        .to_string();
    assert!(
        err.contains("'count'")
            && err.contains("ValueState<u64>")
            && err.contains("ValueState<alloc::string::String>"),
        "{err}"
    );
    let mut strings = to.make::<String>(MAX_PARALLELISM);
    let err = strings
        .restore(std::slice::from_ref(&snapshot), all, MAX_PARALLELISM)
        .unwrap_err()
        .to_string();
    assert!(err.contains("keys of type u32"), "{err}");
    let mut other = to.make::<u32>(256);
    let err = other
        .restore(std::slice::from_ref(&snapshot), all, 256)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max parallelism 128"), "{err}");
}

/// The states of the time-to-live checks (ttl 100 ms), written by a backend `from` makes:
/// keys 1 and 2 each get a value, a list element and a map entry at 0 and 50, and key 1's list
/// another element at 60. The clock stays at 60.
struct TtlFixture {
    value: ValueStateDescriptor<u32>,
    list: ListStateDescriptor<u32>,
    map: MapStateDescriptor<u8, u32>,
    clock: ManualTtlClock,
    backend: KeyedStateBackend<u32>,
}

impl TtlFixture {
    fn write(from: &mut impl BackendFactory, ttl: StateTtlConfig) -> Self {
        let mut value = ValueStateDescriptor::<u32>::new("value");
        value.enable_time_to_live(ttl);
        let mut list = ListStateDescriptor::<u32>::new("list");
        list.enable_time_to_live(ttl);
        let mut map = MapStateDescriptor::<u8, u32>::new("map");
        map.enable_time_to_live(ttl);
        let clock = ManualTtlClock::new(0);
        let mut backend = from.make::<u32>(MAX_PARALLELISM);
        backend.set_ttl_clock(Arc::new(clock.clone()));
        for (key, time) in [(1u32, 0i64), (2, 50)] {
            clock.set(time);
            macro_rules! at {
                () => {
                    KeyedState::new(&mut backend, &key, Namespace::Global)
                };
            }
            at!().value(&value).unwrap().update(key).unwrap();
            at!().list(&list).unwrap().add(key).unwrap();
            at!().map(&map).unwrap().put(7, key).unwrap();
        }
        clock.set(60);
        KeyedState::new(&mut backend, &1, Namespace::Global)
            .list(&list)
            .unwrap()
            .add(10)
            .unwrap();
        TtlFixture {
            value,
            list,
            map,
            clock,
            backend,
        }
    }
}

/// States with a time-to-live keep their last-access times through a snapshot: after the
/// restore, what was written at 0 has expired at 120 (ttl 100) and what was written at 50
/// has not.
pub fn time_to_live_timestamps_survive_a_restore(
    from: &mut impl BackendFactory,
    to: &mut impl BackendFactory,
) {
    let ttl = StateTtlConfig::new_builder(Duration::from_millis(100)).build();
    // Key 1's list gained an element at 60, so its list keeps only that one at 120.
    let TtlFixture {
        value,
        list,
        map,
        clock,
        mut backend,
    } = TtlFixture::write(from, ttl);
    let snapshot = through_bytes(backend.snapshot(MAX_PARALLELISM).unwrap());
    let mut restored = to.make::<u32>(MAX_PARALLELISM);
    restored.set_ttl_clock(Arc::new(clock.clone()));
    let all = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    restored
        .restore(std::slice::from_ref(&snapshot), all, MAX_PARALLELISM)
        .unwrap();
    clock.set(120);
    let mut got = Vec::new();
    for key in [1u32, 2] {
        macro_rules! at {
            () => {
                KeyedState::new(&mut restored, &key, Namespace::Global)
            };
        }
        let v = at!().value(&value).unwrap().value().unwrap();
        let l = at!().list(&list).unwrap().get().unwrap();
        let m = at!().map(&map).unwrap().get(&7).unwrap();
        got.push((key, v, l, m));
    }
    assert_eq!(
        got,
        vec![(1, None, vec![10], None), (2, Some(2), vec![2], Some(2))]
    );
}

/// With `cleanup_full_snapshot`, a snapshot leaves out what had expired when it was taken
/// (whole values and map entries, and the expired elements of lists); without it, the rows
/// stay (to expire when read).
pub fn full_snapshot_cleanup_leaves_expired_entries_out(
    from: &mut impl BackendFactory,
    to: &mut impl BackendFactory,
) {
    for cleanup in [false, true] {
        let mut builder = StateTtlConfig::new_builder(Duration::from_millis(100));
        if cleanup {
            builder = builder.cleanup_full_snapshot();
        }
        let TtlFixture {
            value,
            list,
            clock,
            mut backend,
            ..
        } = TtlFixture::write(from, builder.build());
        // At 120 key 1's value, map entry and first list element (written at 0) expired;
        // key 2's (written at 50) and the element added at 60 live.
        clock.set(120);
        let snapshot = through_bytes(backend.snapshot(MAX_PARALLELISM).unwrap());
        let rows = |name: &str| snapshot.states()[name].rows.len();
        let want = if cleanup { (1, 2, 1) } else { (2, 2, 2) };
        assert_eq!(
            (rows("value"), rows("list"), rows("map")),
            want,
            "cleanup_full_snapshot {cleanup}"
        );
        let list_bytes: usize = snapshot.states()["list"]
            .rows
            .iter()
            .map(|(_, v)| v.len())
            .sum();
        // Each element: an 8-byte time stamp, a 4-byte length, a 1-byte u32. Without the
        // cleanup the expired element may remain (RocksDB drops it when merging list appends
        // in a flush).
        if cleanup {
            assert_eq!(list_bytes, 2 * 13);
        } else {
            assert!([2 * 13, 3 * 13].contains(&list_bytes), "{list_bytes}");
        }
        let mut restored = to.make::<u32>(MAX_PARALLELISM);
        restored.set_ttl_clock(Arc::new(clock.clone()));
        let all = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
        restored
            .restore(std::slice::from_ref(&snapshot), all, MAX_PARALLELISM)
            .unwrap();
        let got: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|key| {
                let state = KeyedState::new(&mut restored, &key, Namespace::Global);
                let v = state.value(&value).unwrap().value().unwrap();
                let state = KeyedState::new(&mut restored, &key, Namespace::Global);
                let l = state.list(&list).unwrap().get().unwrap();
                (key, v, l)
            })
            .collect();
        assert_eq!(got, vec![(1, None, vec![10]), (2, Some(2), vec![2])]);
    }
}

/// A snapshot holds the state as it was at its synchronous part: work done before it is
/// finished (updates, clears, new keys, a state registered since) does not reach it, also
/// when it is finished on another thread.
pub fn pending_snapshots_ignore_later_changes(
    from: &mut impl BackendFactory,
    to: &mut impl BackendFactory,
) {
    let d = Descriptors::new();
    let mut models = Models::new();
    let mut rng = Lcg(11);
    let mut backend = from.make::<u32>(MAX_PARALLELISM);
    drive(&mut backend, &mut models, &d, &mut rng, 3_000, |_| true);
    let pending = backend.snapshot_pending(MAX_PARALLELISM).unwrap();
    let at_snapshot = models.clone();
    drive(&mut backend, &mut models, &d, &mut rng, 3_000, |_| true);
    for key in 0..200u32 {
        KeyedState::new(&mut backend, &key, Namespace::Global)
            .value(&d.value)
            .unwrap()
            .clear()
            .unwrap();
    }
    let later = ValueStateDescriptor::<u8>::new("registered-later");
    KeyedState::new(&mut backend, &1, Namespace::Global)
        .value(&later)
        .unwrap()
        .update(1)
        .unwrap();
    let snapshot = std::thread::spawn(move || pending.finish().unwrap())
        .join()
        .unwrap();
    assert!(!snapshot.has_state("registered-later"));
    let all = KeyGroupRange::for_subtask(MAX_PARALLELISM, 1, 0);
    let mut restored = to.make::<u32>(MAX_PARALLELISM);
    restored
        .restore(&[through_bytes(snapshot)], all, MAX_PARALLELISM)
        .unwrap();
    verify(&mut restored, &at_snapshot, &d, all, "pending snapshot");
    // The live backend went on: it holds the later state.
    verify(
        &mut backend,
        &models_without_values(models),
        &d,
        all,
        "live backend",
    );
}

/// `models` after every key's global value was cleared.
fn models_without_values(mut models: Models) -> Models {
    for ((_, namespace), model) in models.iter_mut() {
        if *namespace == Namespace::Global {
            model.value = None;
        }
    }
    models
}

/// Runs every snapshot check from backends `from` makes into backends `to` makes.
pub fn run_all(from: &mut impl BackendFactory, to: &mut impl BackendFactory) {
    snapshots_restore_at_any_parallelism(from, to);
    pending_snapshots_ignore_later_changes(from, to);
    changed_state_types_are_refused_on_restore(from, to);
    time_to_live_timestamps_survive_a_restore(from, to);
    full_snapshot_cleanup_leaves_expired_entries_out(from, to);
}
