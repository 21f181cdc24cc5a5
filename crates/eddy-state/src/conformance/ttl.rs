//! Conformance checks for state time-to-live: every primitive against a reference model of
//! Flink's TTL rules, under a manual clock, for each update type and visibility.
//!
//! The model's rules (Flink's): a value expires once `last access + ttl <= now`; writes stamp
//! the time, reads too with `OnReadAndWrite`; a read drops what expired and returns it only
//! with `ReturnExpiredIfNotCleanedUp`; `add` on reducing and aggregating state ignores an
//! expired value; list elements and map entries expire one by one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::{Average, Lcg, NAMESPACES};
use crate::*;

const TTL: i64 = 100;

/// A stamped value of the model.
type Stamped<T> = (T, i64);

#[derive(Default, Debug)]
struct Model {
    value: Option<Stamped<String>>,
    list: Vec<Stamped<u32>>,
    map: BTreeMap<u16, Stamped<i32>>,
    max: Option<Stamped<i64>>,
    average: Option<Stamped<(i64, i64)>>,
}

/// The model's TTL rules at one moment.
#[derive(Clone, Copy)]
struct Rules {
    now: i64,
    update_on_read: bool,
    return_expired: bool,
}

impl Rules {
    fn expired(&self, stamp: i64) -> bool {
        stamp + TTL <= self.now
    }

    /// Reads a single stamped value: drops it if expired, renews it if reads renew.
    fn read<T: Clone>(&self, slot: &mut Option<Stamped<T>>) -> Option<T> {
        let (value, stamp) = slot.as_mut()?;
        if self.expired(*stamp) {
            let value = value.clone();
            *slot = None;
            return self.return_expired.then_some(value);
        }
        if self.update_on_read {
            *stamp = self.now;
        }
        Some(value.clone())
    }

    /// The value unless expired (what `add` starts from).
    fn live<T: Clone>(&self, slot: &Option<Stamped<T>>) -> Option<T> {
        slot.as_ref()
            .filter(|(_, stamp)| !self.expired(*stamp))
            .map(|(value, _)| value.clone())
    }

    fn read_list(&self, list: &mut Vec<Stamped<u32>>) -> Vec<u32> {
        let out = list
            .iter()
            .filter(|(_, stamp)| self.return_expired || !self.expired(*stamp))
            .map(|(value, _)| *value)
            .collect();
        list.retain(|(_, stamp)| !self.expired(*stamp));
        if self.update_on_read {
            for (_, stamp) in list.iter_mut() {
                *stamp = self.now;
            }
        }
        out
    }

    fn read_entry(&self, map: &mut BTreeMap<u16, Stamped<i32>>, user_key: u16) -> Option<i32> {
        let mut slot = map.remove(&user_key);
        let value = self.read(&mut slot);
        if let Some(entry) = slot {
            map.insert(user_key, entry);
        }
        value
    }

    fn read_entries(&self, map: &mut BTreeMap<u16, Stamped<i32>>) -> Vec<(u16, i32)> {
        let user_keys: Vec<u16> = map.keys().copied().collect();
        user_keys
            .into_iter()
            .filter_map(|user_key| Some((user_key, self.read_entry(map, user_key)?)))
            .collect()
    }
}

/// The TTL configurations the checks run under.
fn configs(background_cleanup: bool) -> Vec<StateTtlConfig> {
    let mut configs = Vec::new();
    for update in [UpdateType::OnCreateAndWrite, UpdateType::OnReadAndWrite] {
        let visibilities: &[StateVisibility] = if background_cleanup {
            // With background cleanup, whether an expired value is still there to be returned
            // depends on the backend's cleanup; only "never return expired" is deterministic.
            &[StateVisibility::NeverReturnExpired]
        } else {
            &[
                StateVisibility::NeverReturnExpired,
                StateVisibility::ReturnExpiredIfNotCleanedUp,
            ]
        };
        for visibility in visibilities {
            let builder = StateTtlConfig::new_builder(Duration::from_millis(TTL as u64))
                .set_update_type(update)
                .set_state_visibility(*visibility);
            configs.push(if background_cleanup {
                builder.cleanup_incrementally(3, true).build()
            } else {
                builder.disable_cleanup_in_background().build()
            });
        }
    }
    configs
}

/// Random operations and clock moves on every primitive with a time-to-live, each read
/// compared with the model, for both update types and both visibilities (background cleanup
/// off, so expired values stay until read).
pub fn every_primitive_with_a_ttl_matches_the_reference_rules(
    make: &mut dyn FnMut() -> KeyedStateBackend<u8>,
) {
    for config in configs(false) {
        run_model(make(), config, false);
    }
}

/// With background cleanup (incremental on access and after records, a compaction filter
/// on disk) and "never return expired", reads return exactly what they would without it.
pub fn background_cleanup_never_changes_what_reads_return(
    make: &mut dyn FnMut() -> KeyedStateBackend<u8>,
) {
    for config in configs(true) {
        run_model(make(), config, true);
    }
}

fn run_model(mut backend: KeyedStateBackend<u8>, config: StateTtlConfig, per_record: bool) {
    let clock = ManualTtlClock::new(1_000);
    backend.set_ttl_clock(Arc::new(clock.clone()));
    let value = ValueStateDescriptor::<String>::new("value").with_time_to_live(config);
    let list = ListStateDescriptor::<u32>::new("list").with_time_to_live(config);
    let map = MapStateDescriptor::<u16, i32>::new("map").with_time_to_live(config);
    let max = ReducingStateDescriptor::<i64>::new("max", |a: i64, b: i64| a.max(b))
        .with_time_to_live(config);
    let average = AggregatingStateDescriptor::new("average", Average).with_time_to_live(config);
    let mut model: HashMap<(u8, Namespace), Model> = HashMap::new();
    let mut rng = Lcg(7);
    let context = |step: u32| format!("{config:?}, step {step}");
    for step in 0..6_000u32 {
        if rng.below(4) == 0 {
            clock.advance(rng.below(45) as i64);
        }
        if per_record && rng.below(3) == 0 {
            backend.cleanup_for_record();
        }
        let rules = Rules {
            now: clock.current_timestamp(),
            update_on_read: config.update_type() == UpdateType::OnReadAndWrite,
            return_expired: config.state_visibility()
                == StateVisibility::ReturnExpiredIfNotCleanedUp,
        };
        let key = rng.below(4) as u8;
        let namespace = NAMESPACES[rng.below(2) as usize];
        let expected = model.entry((key, namespace)).or_default();
        macro_rules! state {
            () => {
                KeyedState::new(&mut backend, &key, namespace)
            };
        }
        match rng.below(17) {
            0 => {
                let v = format!("v{step}");
                state!().value(&value).unwrap().update(v.clone()).unwrap();
                expected.value = Some((v, rules.now));
            }
            1 => {
                let got = state!().value(&value).unwrap().value().unwrap();
                assert_eq!(got, rules.read(&mut expected.value), "{}", context(step));
            }
            2 => {
                state!().value(&value).unwrap().clear().unwrap();
                expected.value = None;
            }
            3 => {
                state!().list(&list).unwrap().add(step).unwrap();
                expected.list.push((step, rules.now));
            }
            4 => {
                let more = vec![step, step + 1];
                state!().list(&list).unwrap().add_all(more.clone()).unwrap();
                expected
                    .list
                    .extend(more.into_iter().map(|v| (v, rules.now)));
            }
            5 => {
                let replace = if rng.below(3) == 0 {
                    vec![]
                } else {
                    vec![step]
                };
                let mut handle = state!().list(&list).unwrap();
                handle.update(replace.clone()).unwrap();
                expected.list = replace.into_iter().map(|v| (v, rules.now)).collect();
            }
            6 => {
                let got = state!().list(&list).unwrap().get().unwrap();
                assert_eq!(
                    got,
                    rules.read_list(&mut expected.list),
                    "{}",
                    context(step)
                );
            }
            7 => {
                let user_key = rng.below(6) as u16;
                let v = rng.below(1000) as i32;
                state!().map(&map).unwrap().put(user_key, v).unwrap();
                expected.map.insert(user_key, (v, rules.now));
            }
            8 => {
                let user_key = rng.below(6) as u16;
                state!().map(&map).unwrap().remove(&user_key).unwrap();
                expected.map.remove(&user_key);
            }
            9 => {
                let user_key = rng.below(6) as u16;
                let handle = state!().map(&map).unwrap();
                if rng.below(2) == 0 {
                    let got = handle.get(&user_key).unwrap();
                    let want = rules.read_entry(&mut expected.map, user_key);
                    assert_eq!(got, want, "{}", context(step));
                } else {
                    let got = handle.contains(&user_key).unwrap();
                    let want = rules.read_entry(&mut expected.map, user_key).is_some();
                    assert_eq!(got, want, "{}", context(step));
                }
            }
            10 => {
                let handle = state!().map(&map).unwrap();
                let want = rules.read_entries(&mut expected.map);
                let at = context(step);
                match rng.below(4) {
                    0 => {
                        let mut got = handle.entries().unwrap();
                        got.sort_unstable();
                        assert_eq!(got, want, "{at}");
                    }
                    1 => {
                        let mut got = handle.keys().unwrap();
                        got.sort_unstable();
                        let keys: Vec<u16> = want.iter().map(|(k, _)| *k).collect();
                        assert_eq!(got, keys, "{at}");
                    }
                    2 => assert_eq!(handle.is_empty().unwrap(), want.is_empty(), "{at}"),
                    _ => {
                        let mut got = handle.values().unwrap();
                        got.sort_unstable();
                        let mut values: Vec<i32> = want.iter().map(|(_, v)| *v).collect();
                        values.sort_unstable();
                        assert_eq!(got, values, "{at}");
                    }
                }
            }
            11 => {
                let v = rng.below(1000) as i64;
                state!().reducing(&max).unwrap().add(v).unwrap();
                let held = rules.live(&expected.max);
                expected.max = Some((held.map_or(v, |m| m.max(v)), rules.now));
            }
            12 => {
                let got = state!().reducing(&max).unwrap().get().unwrap();
                assert_eq!(got, rules.read(&mut expected.max), "{}", context(step));
            }
            13 => {
                let v = rng.below(100) as i64;
                state!().aggregating(&average).unwrap().add(v).unwrap();
                let (sum, count) = rules.live(&expected.average).unwrap_or((0, 0));
                expected.average = Some(((sum + v, count + 1), rules.now));
            }
            14 => {
                let got = state!().aggregating(&average).unwrap().get().unwrap();
                let want = rules
                    .read(&mut expected.average)
                    .map(|(sum, count)| sum as f64 / count as f64);
                assert_eq!(got, want, "{}", context(step));
            }
            15 => {
                state!().map(&map).unwrap().clear().unwrap();
                state!().list(&list).unwrap().clear().unwrap();
                expected.map.clear();
                expected.list.clear();
            }
            _ => {
                state!().reducing(&max).unwrap().clear().unwrap();
                state!().aggregating(&average).unwrap().clear().unwrap();
                expected.max = None;
                expected.average = None;
            }
        }
    }
}

/// The expiry boundary, renewal on read and the kind check, spelled out.
pub fn ttl_boundaries_and_registration(make: &mut dyn FnMut() -> KeyedStateBackend<u8>) {
    let mut backend = make();
    let clock = ManualTtlClock::new(0);
    backend.set_ttl_clock(Arc::new(clock.clone()));
    let renewing = StateTtlConfig::new_builder(Duration::from_millis(100))
        .update_ttl_on_read_and_write()
        .build();
    let plain = StateTtlConfig::new_builder(Duration::from_millis(100)).build();
    let seen = ValueStateDescriptor::<u32>::new("seen").with_time_to_live(plain);
    let read_renews = ValueStateDescriptor::<u32>::new("renewed").with_time_to_live(renewing);
    macro_rules! state {
        () => {
            KeyedState::new(&mut backend, &1, Namespace::Global)
        };
    }
    state!().value(&seen).unwrap().update(1).unwrap();
    state!().value(&read_renews).unwrap().update(2).unwrap();
    clock.set(99);
    assert_eq!(state!().value(&seen).unwrap().value().unwrap(), Some(1));
    assert_eq!(
        state!().value(&read_renews).unwrap().value().unwrap(),
        Some(2)
    );
    clock.set(100);
    // Written at 0 with a ttl of 100: gone at 100 exactly.
    assert_eq!(state!().value(&seen).unwrap().value().unwrap(), None);
    // Read (and renewed) at 99: lives until 199.
    clock.set(198);
    assert_eq!(
        state!().value(&read_renews).unwrap().value().unwrap(),
        Some(2)
    );
    clock.set(298);
    assert_eq!(state!().value(&read_renews).unwrap().value().unwrap(), None);
    // The same name without a time-to-live is another state: an error naming both.
    let err = state!()
        .value(&ValueStateDescriptor::<u32>::new("seen"))
        .err()
        .expect("a state with a ttl asked for without one")
        .to_string();
    assert!(
        err.contains(
            "is a ValueState<u32> with a time-to-live but was asked for as a ValueState<u32>"
        ),
        "{err}"
    );
}

/// Runs every TTL check.
pub fn run_all(make: &mut dyn FnMut() -> KeyedStateBackend<u8>) {
    every_primitive_with_a_ttl_matches_the_reference_rules(make);
    background_cleanup_never_changes_what_reads_return(make);
    ttl_boundaries_and_registration(make);
}
