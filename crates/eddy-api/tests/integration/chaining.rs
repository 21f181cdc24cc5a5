//! Chaining decisions as the DataStream API produces them (JobGraph vertex names and operator
//! lists), slot needs, and the execution-plan JSON.

use crate::common;

use common::{bounded, env, RecordingSink};
use eddy_api::graph::{NodeId, PartitionerKind};
use eddy_api::prelude::*;
use serde_json::json;

/// `(vertex name, operator ids)` for every vertex of the program's JobGraph.
fn vertices(env: &StreamExecutionEnvironment) -> Vec<(String, Vec<NodeId>)> {
    env.get_job_graph("chaining")
        .unwrap()
        .vertices
        .into_iter()
        .map(|v| (v.name, v.operators))
        .collect()
}

fn v(name: &str, operators: &[NodeId]) -> (String, Vec<NodeId>) {
    (name.to_string(), operators.to_vec())
}

#[test]
fn source_map_filter_sink_at_equal_parallelism_is_one_chain() {
    bounded(|| {
        let env = env(2);
        let (sink, records) = RecordingSink::new();
        env.from_sequence(1, 100)
            .map(|x| x * 3)
            .filter(|x| x % 2 == 0)
            .add_sink(sink);
        assert_eq!(
            vertices(&env),
            vec![v(
                "Source: Sequence Source -> Map -> Filter -> Sink: Unnamed",
                &[1, 2, 3, 4]
            )]
        );
        let job = env.get_job_graph("chaining").unwrap();
        assert!(job.edges.is_empty());
        assert_eq!(job.vertices[0].parallelism, 2);

        // The chained job still computes the right thing.
        env.execute("chain").unwrap();
        let mut got: Vec<u64> = common::recorded(&records)
            .into_iter()
            .map(|r| r.1)
            .collect();
        got.sort();
        let expected: Vec<u64> = (1..=100u64).map(|x| x * 3).filter(|x| x % 2 == 0).collect();
        assert_eq!(got, expected);
    });
}

#[test]
fn a_parallelism_change_breaks_the_chain_with_rebalance() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_parallelism(3)
        .filter(|x| x % 2 == 0)
        .set_parallelism(3)
        .discard()
        .set_parallelism(3);
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Map -> Filter -> Sink: Discard", &[2, 3, 4]),
        ]
    );
    let graph = env.get_stream_graph("chaining").unwrap();
    assert_eq!(graph.edges[0].partitioner, PartitionerKind::Rebalance);
    assert_eq!(
        graph
            .edges
            .iter()
            .skip(1)
            .map(|e| e.partitioner)
            .collect::<Vec<_>>(),
        vec![PartitionerKind::Forward, PartitionerKind::Forward]
    );
}

#[test]
fn key_by_breaks_the_chain() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| (x % 3, x))
        .key_by(|t: &(u64, u64)| t.0)
        .sum(|t| &mut t.1)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source -> Map", &[1, 2]),
            v("Keyed Aggregation -> Sink: Discard", &[3, 4]),
        ]
    );
}

#[test]
fn rebalance_breaks_the_chain_even_at_equal_parallelism() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .rebalance()
        .filter(|x| x % 2 == 0)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source -> Map", &[1, 2]),
            v("Filter -> Sink: Discard", &[3, 4]),
        ]
    );
}

#[test]
fn disable_chaining_isolates_an_operator_on_both_sides() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .disable_chaining()
        .map(|x| x * 2)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source -> Map", &[1, 2]),
            v("Filter", &[3]),
            v("Map -> Sink: Discard", &[4, 5]),
        ]
    );
}

#[test]
fn start_new_chain_breaks_only_before_the_operator() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .start_new_chain()
        .map(|x| x * 2)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source -> Map", &[1, 2]),
            v("Filter -> Map -> Sink: Discard", &[3, 4, 5]),
        ]
    );
}

#[test]
fn slot_sharing_group_breaks_the_chain_and_successors_inherit_it() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .slot_sharing_group("other")
        .filter(|x| x % 2 == 0)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Map -> Filter -> Sink: Discard", &[2, 3, 4]),
        ]
    );
    let job = env.get_job_graph("chaining").unwrap();
    let groups: Vec<&str> = job
        .vertices
        .iter()
        .map(|v| v.slot_sharing_group.as_str())
        .collect();
    assert_eq!(groups, vec!["default", "other"]);
    // Each group needs its largest parallelism: 2 + 2.
    assert_eq!(job.required_slots(), 4);
}

#[test]
fn required_slots_sum_each_groups_max_parallelism() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_parallelism(4)
        .filter(|x| x % 2 == 0)
        .set_parallelism(3)
        .slot_sharing_group("other")
        .discard()
        .set_parallelism(1);
    let job = env.get_job_graph("chaining").unwrap();
    let groups: Vec<(String, u32)> = job.slot_sharing_groups().into_iter().collect();
    // default: Source (2), Map (4); other: Filter (3), Sink (1, inherits "other").
    assert_eq!(
        groups,
        vec![("default".to_string(), 4), ("other".to_string(), 3)]
    );
    assert_eq!(job.required_slots(), 7);
}

#[test]
fn disable_operator_chaining_gives_one_vertex_per_operator() {
    let env = env(2);
    env.disable_operator_chaining();
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Map", &[2]),
            v("Filter", &[3]),
            v("Sink: Discard", &[4]),
        ]
    );
}

#[test]
fn operator_chaining_can_be_disabled_by_configuration() {
    let mut config = Configuration::new();
    config.set_string("pipeline.operator-chaining.enabled", "false");
    let env = common::env_with(config, 2);
    env.from_sequence(1, 10).map(|x| x + 1).discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Map", &[2]),
            v("Sink: Discard", &[3]),
        ]
    );
}

#[test]
fn union_into_a_map_is_not_chained_to_either_input() {
    let env = env(2);
    let first = env.from_sequence(1, 10);
    let second = env.from_sequence(11, 20);
    first.union(&second).map(|x| x + 1).discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Source: Sequence Source", &[2]),
            v("Map -> Sink: Discard", &[3, 4]),
        ]
    );
}

#[test]
fn connect_co_map_is_not_chained_to_its_inputs() {
    let env = env(2);
    let numbers = env.from_sequence(1, 10);
    let words = env.from_sequence(1, 10).map(|x| x.to_string());
    numbers
        .connect(&words)
        .co_map(|n: u64| n.to_string(), |w: String| w)
        .discard();
    assert_eq!(
        vertices(&env),
        vec![
            v("Source: Sequence Source", &[1]),
            v("Source: Sequence Source -> Map", &[2, 3]),
            v("Co-Map -> Sink: Discard", &[4, 5]),
        ]
    );
    let graph = env.get_stream_graph("chaining").unwrap();
    let inputs: Vec<(NodeId, u8)> = graph
        .in_edges(4)
        .map(|e| (e.source, e.input_index))
        .collect();
    assert_eq!(inputs, vec![(1, 0), (3, 1)]);
}

#[test]
fn fan_out_chains_both_branches_with_flinks_name() {
    let env = env(1);
    let source = env.from_sequence(1, 10);
    source.map(|x| x + 1).discard();
    source.filter(|x| x % 2 == 0).discard();
    assert_eq!(
        vertices(&env),
        vec![v(
            "Source: Sequence Source -> (Map -> Sink: Discard, Filter -> Sink: Discard)",
            &[1, 2, 3, 4, 5]
        )]
    );
}

#[test]
fn execution_plan_json_pins_nodes_pacts_and_ship_strategies() {
    let env = env(2);
    let (sink, _records) = RecordingSink::<u64>::new();
    let mapped = env.from_elements(vec![1u64, 2, 3]).map(|x| x * 2); // 1, 2
    let reduced = mapped.key_by(|x: &u64| x % 2).reduce(|a, b| a + b); // 3
    let sequence = env.from_sequence(1, 10); // 4
    let co = reduced
        .connect(&sequence.shuffle())
        .co_map(|a: u64| a, |b: u64| b); // 5
    co.rescale().add_sink(sink).set_parallelism(4); // 6
    sequence
        .global()
        .filter(|x| *x > 3)
        .set_parallelism(1) // 7
        .discard(); // 8
    sequence
        .broadcast()
        .flat_map(|x: u64, out: &mut Collector<u64>| out.collect(x)); // 9
    mapped
        .partition_custom(|k: &u64, n: u32| (k % n as u64) as u32, |x: &u64| *x)
        .discard(); // 10

    let plan: serde_json::Value = serde_json::from_str(&env.get_execution_plan().unwrap()).unwrap();
    let expected = json!({"nodes": [
        {"id": 1, "type": "Source: Collection Source", "pact": "Data Source",
         "contents": "Source: Collection Source", "parallelism": 1},
        {"id": 2, "type": "Map", "pact": "Operator", "contents": "Map", "parallelism": 2,
         "predecessors": [{"id": 1, "ship_strategy": "REBALANCE", "side": "second"}]},
        {"id": 3, "type": "Keyed Reduce", "pact": "Operator", "contents": "Keyed Reduce",
         "parallelism": 2,
         "predecessors": [{"id": 2, "ship_strategy": "HASH", "side": "second"}]},
        {"id": 4, "type": "Source: Sequence Source", "pact": "Data Source",
         "contents": "Source: Sequence Source", "parallelism": 2},
        {"id": 5, "type": "Co-Map", "pact": "Operator", "contents": "Co-Map", "parallelism": 2,
         "predecessors": [
             {"id": 3, "ship_strategy": "FORWARD", "side": "second"},
             {"id": 4, "ship_strategy": "SHUFFLE", "side": "second"}]},
        {"id": 6, "type": "Sink: Unnamed", "pact": "Data Sink", "contents": "Sink: Unnamed",
         "parallelism": 4,
         "predecessors": [{"id": 5, "ship_strategy": "RESCALE", "side": "second"}]},
        {"id": 7, "type": "Filter", "pact": "Operator", "contents": "Filter", "parallelism": 1,
         "predecessors": [{"id": 4, "ship_strategy": "GLOBAL", "side": "second"}]},
        {"id": 8, "type": "Sink: Discard", "pact": "Data Sink", "contents": "Sink: Discard",
         "parallelism": 2,
         "predecessors": [{"id": 7, "ship_strategy": "REBALANCE", "side": "second"}]},
        {"id": 9, "type": "Flat Map", "pact": "Operator", "contents": "Flat Map",
         "parallelism": 2,
         "predecessors": [{"id": 4, "ship_strategy": "BROADCAST", "side": "second"}]},
        {"id": 10, "type": "Sink: Discard", "pact": "Data Sink", "contents": "Sink: Discard",
         "parallelism": 2,
         "predecessors": [{"id": 2, "ship_strategy": "CUSTOM", "side": "second"}]},
    ]});
    assert_eq!(plan, expected);
}
