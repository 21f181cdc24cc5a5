//! Rolling aggregations of a keyed stream (`reduce`, `min`, `max`, `min_by`, `max_by`) on every
//! state backend, at parallelism 1 and 2, in STREAMING (every update) and BATCH (final values)
//! mode, with an owned (`key_by`) and a borrowed (`key_by_ref`) key selector, against reference
//! loops.

use crate::common;

use std::collections::BTreeMap;

use common::{bounded, env_on_backend, env_with, state_backends};
use eddy_api::prelude::*;

/// `(key, value, tag)`: five keys, interleaved, values with ties, a distinct tag per element.
type Element = (u32, i64, String);

fn elements() -> Vec<Element> {
    (0..80u32)
        .map(|i| (i * 7 % 5, i64::from(i * 13 % 11) - 4, format!("e{i}")))
        .collect()
}

/// Which aggregation a run applies.
#[derive(Clone, Copy, Debug)]
enum Aggregation {
    /// `reduce`: values added, tags concatenated in arrival order.
    Reduce,
    Min,
    Max,
    MinBy,
    MaxBy,
}

const AGGREGATIONS: [Aggregation; 5] = [
    Aggregation::Reduce,
    Aggregation::Min,
    Aggregation::Max,
    Aggregation::MinBy,
    Aggregation::MaxBy,
];

/// The reference: the key's accumulated element after each input element (Flink's rules:
/// `min`/`max` change only the field and keep the key's first element otherwise; `min_by` /
/// `max_by` keep the first element holding the extreme value).
fn reference_updates(aggregation: Aggregation, input: &[Element]) -> Vec<Element> {
    let mut accumulated: BTreeMap<u32, Element> = BTreeMap::new();
    let mut out = Vec::new();
    for element in input {
        let next = match accumulated.get(&element.0) {
            None => element.clone(),
            Some(acc) => {
                let mut next = acc.clone();
                match aggregation {
                    Aggregation::Reduce => {
                        next.1 += element.1;
                        next.2 = format!("{}+{}", acc.2, element.2);
                    }
                    Aggregation::Min => next.1 = next.1.min(element.1),
                    Aggregation::Max => next.1 = next.1.max(element.1),
                    Aggregation::MinBy if element.1 < acc.1 => next = element.clone(),
                    Aggregation::MaxBy if element.1 > acc.1 => next = element.clone(),
                    Aggregation::MinBy | Aggregation::MaxBy => {}
                }
                next
            }
        };
        accumulated.insert(element.0, next.clone());
        out.push(next);
    }
    out
}

fn aggregate(
    aggregation: Aggregation,
    keyed: &KeyedStream<Element, u32, impl KeySelector<Element, u32> + Sync>,
) -> DataStream<Element> {
    match aggregation {
        Aggregation::Reduce => {
            keyed.reduce(|a: Element, b: Element| (a.0, a.1 + b.1, format!("{}+{}", a.2, b.2)))
        }
        Aggregation::Min => keyed.min(|t| &mut t.1),
        Aggregation::Max => keyed.max(|t| &mut t.1),
        Aggregation::MinBy => keyed.min_by(|t| t.1),
        Aggregation::MaxBy => keyed.max_by(|t| t.1),
    }
}

/// How the key is selected: cloned out of the element, or lent.
#[derive(Clone, Copy, Debug)]
enum Selector {
    Owned,
    Borrowed,
}

const SELECTORS: [Selector; 2] = [Selector::Owned, Selector::Borrowed];

fn run(
    backend: &str,
    parallelism: u32,
    mode: RuntimeMode,
    aggregation: Aggregation,
    selector: Selector,
) -> Vec<Element> {
    let env = env_on_backend(backend, parallelism);
    env.set_runtime_mode(mode);
    bounded(move || {
        let stream = env.from_elements(elements());
        let out = match selector {
            Selector::Owned => aggregate(aggregation, &stream.key_by(|t: &Element| t.0)),
            Selector::Borrowed => aggregate(aggregation, &stream.key_by_ref(|t: &Element| &t.0)),
        };
        out.execute_and_collect("keyed aggregation").unwrap()
    })
}

/// Every aggregation with every key selector.
fn combinations() -> impl Iterator<Item = (Aggregation, Selector)> {
    AGGREGATIONS
        .into_iter()
        .flat_map(|a| SELECTORS.into_iter().map(move |s| (a, s)))
}

/// Groups by key, keeping arrival order within each key (the order across keys and subtasks is
/// not defined; within a key it is the input's).
fn by_key(values: &[Element]) -> BTreeMap<u32, Vec<Element>> {
    let mut out: BTreeMap<u32, Vec<Element>> = BTreeMap::new();
    for v in values {
        out.entry(v.0).or_default().push(v.clone());
    }
    out
}

#[test]
fn streaming_aggregations_emit_every_update_per_key_on_every_backend() {
    for backend in state_backends() {
        for parallelism in [1, 2] {
            for (aggregation, selector) in combinations() {
                let got = run(
                    backend,
                    parallelism,
                    RuntimeMode::Streaming,
                    aggregation,
                    selector,
                );
                let expected = reference_updates(aggregation, &elements());
                assert_eq!(
                    by_key(&got),
                    by_key(&expected),
                    "{aggregation:?} ({selector:?} key) on {backend} at p={parallelism}"
                );
            }
        }
    }
}

#[test]
fn batch_aggregations_emit_one_final_value_per_key_on_every_backend() {
    for backend in state_backends() {
        for parallelism in [1, 2] {
            for (aggregation, selector) in combinations() {
                let mut got = run(
                    backend,
                    parallelism,
                    RuntimeMode::Batch,
                    aggregation,
                    selector,
                );
                got.sort();
                let mut last: BTreeMap<u32, Element> = BTreeMap::new();
                for element in reference_updates(aggregation, &elements()) {
                    last.insert(element.0, element);
                }
                let expected: Vec<Element> = last.into_values().collect();
                assert_eq!(
                    got, expected,
                    "{aggregation:?} ({selector:?} key) on {backend} at p={parallelism}"
                );
            }
        }
    }
}

/// An element keyed by a string.
type Named = (String, i64, String);

fn named(element: &Element) -> Named {
    (format!("key-{}", element.0), element.1, element.2.clone())
}

/// Keys that the selector builds (cloned strings: at parallelism 2 the exchange carries them
/// to the reduce, which looks its state up by them) reduce like the reference, in both modes
/// and on every backend. Small batches make the exchange send full ones while the input lasts
/// (a batch sent with the final watermark carries no keys).
#[test]
fn string_keys_built_by_the_selector_reduce_like_the_reference() {
    for backend in state_backends() {
        for parallelism in [1, 2] {
            for mode in [RuntimeMode::Streaming, RuntimeMode::Batch] {
                let mut config = Configuration::new();
                config.set_string("state.backend.type", backend);
                config.set_string("taskmanager.network.batch-size", "8");
                let env = env_with(config, parallelism);
                env.set_runtime_mode(mode);
                let input: Vec<Named> = elements().iter().map(named).collect();
                let mut got = bounded(move || {
                    env.from_elements(input)
                        .key_by(|t: &Named| t.0.clone())
                        .reduce(|a: Named, b: Named| (a.0, a.1 + b.1, format!("{}+{}", a.2, b.2)))
                        .execute_and_collect("string keys")
                        .unwrap()
                });
                let updates: Vec<Named> = reference_updates(Aggregation::Reduce, &elements())
                    .iter()
                    .map(named)
                    .collect();
                let context = format!("{backend} at p={parallelism} in {mode:?}");
                if mode == RuntimeMode::Streaming {
                    let group = |values: &[Named]| {
                        let mut out: BTreeMap<String, Vec<Named>> = BTreeMap::new();
                        for v in values {
                            out.entry(v.0.clone()).or_default().push(v.clone());
                        }
                        out
                    };
                    assert_eq!(group(&got), group(&updates), "{context}");
                } else {
                    let last: BTreeMap<String, Named> =
                        updates.into_iter().map(|u| (u.0.clone(), u)).collect();
                    got.sort();
                    assert_eq!(got, last.into_values().collect::<Vec<_>>(), "{context}");
                }
            }
        }
    }
}
