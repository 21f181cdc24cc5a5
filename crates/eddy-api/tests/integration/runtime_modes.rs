//! STREAMING vs BATCH execution of keyed rolling aggregations, AUTOMATIC resolution, and the
//! error for BATCH over an unbounded source.

use crate::common;

use std::collections::BTreeMap;

use common::{bounded, env, env_with};
use eddy_api::prelude::*;

/// `(key, value, tag)` elements: several keys, interleaved, with a per-element tag.
fn elements() -> Vec<(u32, i64, u32)> {
    (0..60u32)
        .map(|i| (i * 7 % 5, i64::from(i * 13 % 11) - 3, i))
        .collect()
}

/// Reference for `sum` in STREAMING mode: after each element, its key's accumulated element
/// (value summed, other fields from the key's first element).
fn reference_running_sums(input: &[(u32, i64, u32)]) -> Vec<(u32, i64, u32)> {
    let mut acc: BTreeMap<u32, (u32, i64, u32)> = BTreeMap::new();
    let mut out = Vec::new();
    for &(k, v, tag) in input {
        let entry = acc.entry(k).and_modify(|a| a.1 += v).or_insert((k, v, tag));
        out.push(*entry);
    }
    out
}

/// Reference for `sum` in BATCH mode: one final element per key, sorted.
fn reference_final_sums(input: &[(u32, i64, u32)]) -> Vec<(u32, i64, u32)> {
    let mut last: BTreeMap<u32, (u32, i64, u32)> = BTreeMap::new();
    for element in reference_running_sums(input) {
        last.insert(element.0, element);
    }
    last.into_values().collect()
}

fn run_sum(env: StreamExecutionEnvironment) -> Vec<(u32, i64, u32)> {
    bounded(move || {
        env.from_elements(elements())
            .key_by(|t: &(u32, i64, u32)| t.0)
            .sum(|t| &mut t.1)
            .execute_and_collect("sum")
            .unwrap()
    })
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Groups by key, keeping arrival order within each key.
fn by_key(values: &[(u32, i64, u32)]) -> BTreeMap<u32, Vec<(u32, i64, u32)>> {
    let mut out: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for v in values {
        out.entry(v.0).or_default().push(*v);
    }
    out
}

#[test]
fn streaming_sum_emits_every_update_in_order_at_parallelism_one() {
    let env = env(1);
    env.set_runtime_mode(RuntimeMode::Streaming);
    let out = run_sum(env);
    // One source, one reducer, one collector: the whole output order is fixed.
    assert_eq!(out, reference_running_sums(&elements()));
}

#[test]
fn streaming_is_the_default_mode() {
    let out = run_sum(env(1));
    assert_eq!(out, reference_running_sums(&elements()));
}

#[test]
fn streaming_reduce_at_parallelism_two_keeps_each_keys_updates_in_order() {
    let out = bounded(|| {
        let env = env(2);
        env.from_elements(elements())
            .key_by(|t: &(u32, i64, u32)| t.0)
            .reduce(|a, b| (a.0, a.1 + b.1, a.2))
            .execute_and_collect("reduce")
            .unwrap()
    });
    // Subtasks interleave, but every key lives on one subtask, fed by one producer.
    assert_eq!(by_key(&out), by_key(&reference_running_sums(&elements())));
}

#[test]
fn batch_sum_emits_only_the_final_value_per_key() {
    for parallelism in [1, 3] {
        let env = env(parallelism);
        env.set_runtime_mode(RuntimeMode::Batch);
        assert_eq!(
            env.get_parallelism(),
            parallelism,
            "the environment keeps its parallelism"
        );
        let out = run_sum(env);
        assert_eq!(
            sorted(out),
            reference_final_sums(&elements()),
            "parallelism {parallelism}"
        );
    }
}

#[test]
fn batch_mode_from_the_configuration() {
    let mut config = Configuration::new();
    config.set_string("execution.runtime-mode", "BATCH");
    let out = run_sum(env_with(config, 2));
    assert_eq!(sorted(out), reference_final_sums(&elements()));
}

#[test]
fn the_environment_mode_overrides_the_configuration() {
    let mut config = Configuration::new();
    config.set_string("execution.runtime-mode", "BATCH");
    let env = env_with(config, 1);
    env.set_runtime_mode(RuntimeMode::Streaming);
    assert_eq!(run_sum(env), reference_running_sums(&elements()));
}

#[test]
fn automatic_with_bounded_sources_runs_as_batch() {
    let env = env(2);
    env.set_runtime_mode(RuntimeMode::Automatic);
    env.from_sequence(1, 3).discard();
    assert_eq!(
        env.get_stream_graph("auto").unwrap().runtime_mode,
        RuntimeMode::Batch
    );
    // `get_stream_graph` keeps the program; start a fresh one for the run.
    let env = common::env(2);
    env.set_runtime_mode(RuntimeMode::Automatic);
    assert_eq!(sorted(run_sum(env)), reference_final_sums(&elements()));
}

#[test]
fn automatic_with_an_unbounded_source_runs_as_streaming() {
    let env = env(1);
    env.set_runtime_mode(RuntimeMode::Automatic);
    env.from_generator(None, None, |i| i).discard();
    assert_eq!(
        env.get_stream_graph("auto").unwrap().runtime_mode,
        RuntimeMode::Streaming
    );
}

#[test]
fn batch_with_an_unbounded_source_is_a_clear_error() {
    let env = env(1);
    env.set_runtime_mode(RuntimeMode::Batch);
    env.from_generator(None, Some(10), |i| i).discard();
    match env.execute("batch-unbounded") {
        Err(JobError::InvalidProgram(message)) => assert_eq!(
            message,
            "execution.runtime-mode BATCH needs bounded sources, but Source: Generator Source is unbounded; use STREAMING or AUTOMATIC"
        ),
        other => panic!("expected InvalidProgram, got {other:?}"),
    }
}

#[test]
fn rolling_min_max_min_by_max_by_follow_flink_field_semantics() {
    type T = (u32, i64, u32);
    // References: min/max replace only the field (other fields from the key's first element);
    // min_by/max_by keep the whole element with the extreme field (the first one on ties).
    fn reference(input: &[T], combine: fn(T, T) -> T) -> Vec<T> {
        let mut acc: BTreeMap<u32, T> = BTreeMap::new();
        input
            .iter()
            .map(|&e| {
                let next = match acc.get(&e.0) {
                    Some(&a) => combine(a, e),
                    None => e,
                };
                acc.insert(e.0, next);
                next
            })
            .collect()
    }
    let input = elements();
    let run = |which: u8| -> Vec<T> {
        let input = input.clone();
        bounded(move || {
            let env = env(1);
            let keyed = env.from_elements(input).key_by(|t: &T| t.0);
            let stream = match which {
                0 => keyed.min(|t| &mut t.1),
                1 => keyed.max(|t| &mut t.1),
                2 => keyed.min_by(|t| t.1),
                _ => keyed.max_by(|t| t.1),
            };
            stream.execute_and_collect("aggregation").unwrap()
        })
    };
    assert_eq!(run(0), reference(&input, |a, e| (a.0, a.1.min(e.1), a.2)));
    assert_eq!(run(1), reference(&input, |a, e| (a.0, a.1.max(e.1), a.2)));
    assert_eq!(
        run(2),
        reference(&input, |a, e| if e.1 < a.1 { e } else { a })
    );
    assert_eq!(
        run(3),
        reference(&input, |a, e| if e.1 > a.1 { e } else { a })
    );
}
