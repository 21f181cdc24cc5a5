//! How each operator's parallelism and max parallelism are resolved, and the errors for
//! parallelism settings that cannot run.

use crate::common;

use std::sync::Arc;

use common::{bounded, env, env_with};
use eddy_api::core::config::{PARALLELISM_DEFAULT, TASK_MANAGER_NUM_TASK_SLOTS};
use eddy_api::environment::context::{
    clear_client_context, set_client_context, ClientContext, ClientMode,
};
use eddy_api::graph::GraphError;
use eddy_api::prelude::*;

/// `(name, parallelism)` of every StreamGraph node.
fn parallelisms(env: &StreamExecutionEnvironment) -> Vec<(String, u32)> {
    env.get_stream_graph("parallelism")
        .unwrap()
        .nodes
        .into_iter()
        .map(|n| (n.name, n.parallelism))
        .collect()
}

/// `(name, max parallelism)` of every StreamGraph node.
fn max_parallelisms(env: &StreamExecutionEnvironment) -> Vec<(String, u32)> {
    env.get_stream_graph("parallelism")
        .unwrap()
        .nodes
        .into_iter()
        .map(|n| (n.name, n.max_parallelism))
        .collect()
}

fn expect(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    pairs.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

/// A program: a non-parallel source, a parallel source, a map with `map_parallelism` if given,
/// and a sink.
fn build(env: &StreamExecutionEnvironment, map_parallelism: Option<u32>) {
    let elements = env.from_elements(vec![1u64, 2, 3]);
    let sequence = env.from_sequence(1, 10);
    let mut mapped = elements.union(&sequence).map(|x| x + 1);
    if let Some(p) = map_parallelism {
        mapped = mapped.set_parallelism(p);
    }
    mapped.discard();
}

fn config_with_default(p: u32) -> Configuration {
    let mut config = Configuration::new();
    config.set(&PARALLELISM_DEFAULT, p);
    config
}

#[test]
fn parallelism_default_from_the_configuration_applies_to_every_parallel_operator() {
    let env = StreamExecutionEnvironment::with_configuration(config_with_default(3));
    build(&env, None);
    assert_eq!(env.get_parallelism(), 3);
    assert_eq!(
        parallelisms(&env),
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 3),
            ("Map", 3),
            ("Sink: Discard", 3),
        ])
    );
}

#[test]
fn a_local_environment_without_configuration_uses_the_number_of_cores() {
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    let env = StreamExecutionEnvironment::with_configuration(Configuration::new());
    build(&env, None);
    assert_eq!(
        parallelisms(&env),
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", cores),
            ("Map", cores),
            ("Sink: Discard", cores),
        ])
    );
}

/// Runs `program` with an environment from `get_execution_environment()` under a client
/// context carrying `config`, as the `eddy` CLI does.
fn under_cli<R>(config: Configuration, program: impl FnOnce(StreamExecutionEnvironment) -> R) -> R {
    set_client_context(ClientContext {
        configuration: config,
        mode: ClientMode::Execute,
        current_job: Arc::new(parking_lot::Mutex::new(None)),
    });
    let result = program(StreamExecutionEnvironment::get_execution_environment());
    clear_client_context();
    result
}

#[test]
fn cli_p_overrides_the_configured_default_and_the_environment_overrides_p() {
    // The configuration file says 3; `-p 5` sets parallelism.default on top (as the CLI does).
    let mut config = config_with_default(3);
    config.set(&PARALLELISM_DEFAULT, 5);

    let from_p = under_cli(config.clone(), |env| {
        build(&env, None);
        parallelisms(&env)
    });
    assert_eq!(
        from_p,
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 5),
            ("Map", 5),
            ("Sink: Discard", 5),
        ])
    );

    let from_env = under_cli(config.clone(), |env| {
        env.set_parallelism(2);
        build(&env, None);
        parallelisms(&env)
    });
    assert_eq!(
        from_env,
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 2),
            ("Map", 2),
            ("Sink: Discard", 2),
        ])
    );

    let from_operator = under_cli(config, |env| {
        env.set_parallelism(2);
        build(&env, Some(4));
        parallelisms(&env)
    });
    assert_eq!(
        from_operator,
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 2),
            ("Map", 4),
            ("Sink: Discard", 2),
        ])
    );
}

#[test]
fn under_the_cli_without_any_setting_the_default_is_one() {
    let resolved = under_cli(Configuration::new(), |env| {
        build(&env, None);
        parallelisms(&env)
    });
    assert_eq!(
        resolved,
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 1),
            ("Map", 1),
            ("Sink: Discard", 1),
        ])
    );
}

#[test]
fn operator_overrides_environment_which_overrides_configuration() {
    let env = env_with(config_with_default(5), 2);
    build(&env, Some(4));
    assert_eq!(
        parallelisms(&env),
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 2),
            ("Map", 4),
            ("Sink: Discard", 2),
        ])
    );
}

#[test]
fn the_resolved_parallelism_is_what_runs() {
    // Each map subtask tags the values it sees with its index.
    let mut out = bounded(|| {
        let env = env_with(config_with_default(5), 2);
        env.from_sequence(1, 30)
            .map_function(common::TagWithSubtask::default())
            .set_parallelism(3)
            .execute_and_collect("parallelism")
            .unwrap()
    });
    out.sort();
    // Reference: the sequence source at parallelism 2 emits 1..=15 and 16..=30; each producer
    // p rebalances round-robin over the 3 map subtasks starting at p % 3.
    let mut expected = Vec::new();
    for (producer, range) in [(0u32, 1..=15u64), (1, 16..=30)] {
        let mut next = producer % 3;
        for value in range {
            expected.push((next, value));
            next = (next + 1) % 3;
        }
    }
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn setting_parallelism_on_a_non_parallel_source_is_an_invalid_program() {
    let env = env(4);
    env.from_elements(vec![1u64, 2, 3])
        .set_parallelism(2)
        .discard();
    match env.execute("non-parallel") {
        Err(JobError::InvalidProgram(message)) => {
            assert_eq!(
                message,
                "the parallelism of non-parallel operator 'Source: Collection Source' must be 1, but it was set to 2"
            );
        }
        other => panic!("expected InvalidProgram, got {other:?}"),
    }
}

#[test]
fn non_parallel_custom_sources_are_limited_to_one_too() {
    #[derive(Clone)]
    struct Single;
    impl SourceFunction<u64> for Single {
        fn poll_next(&mut self, _out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
            Ok(SourceStatus::Finished)
        }
        fn boundedness(&self) -> Boundedness {
            Boundedness::Bounded
        }
    }
    let env = env(4);
    env.add_source(Single).discard();
    assert_eq!(
        parallelisms(&env),
        expect(&[("Source: Custom Source", 1), ("Sink: Discard", 4)])
    );
    let env = common::env(4);
    env.add_source(Single).set_parallelism(3).discard();
    assert!(matches!(
        env.execute("non-parallel"),
        Err(JobError::InvalidProgram(m)) if m.contains("'Source: Custom Source' must be 1, but it was set to 3")
    ));
}

#[test]
fn zero_parallelism_is_an_invalid_program() {
    let env = env(2);
    env.from_sequence(1, 3)
        .map(|x| x)
        .set_parallelism(0)
        .discard();
    assert!(matches!(
        env.execute("zero"),
        Err(JobError::InvalidProgram(m)) if m.contains("parallelism must be at least 1")
    ));
}

#[test]
fn forward_between_different_parallelisms_is_a_graph_error() {
    let env = env(2);
    env.from_sequence(1, 10)
        .forward()
        .map(|x| x + 1)
        .set_parallelism(3)
        .discard();
    let error = env.execute("forward").unwrap_err();
    match &error {
        JobError::Graph(graph_error) => assert_eq!(
            graph_error,
            &GraphError::ForwardParallelismMismatch {
                upstream: "Source: Sequence Source".into(),
                upstream_parallelism: 2,
                downstream: "Map".into(),
                downstream_parallelism: 3,
            }
        ),
        other => panic!("expected a graph error, got {other:?}"),
    }
    assert!(error
        .to_string()
        .contains("forward partitioning does not allow a change of parallelism"));
}

#[test]
fn default_max_parallelism_is_128_for_small_parallelism_and_grows_with_it() {
    let env = env(2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_parallelism(85)
        .filter(|x| *x > 0)
        .set_parallelism(86)
        .discard()
        .set_parallelism(200);
    // parallelism × 1.5 rounded up to a power of two, at least 128.
    assert_eq!(
        max_parallelisms(&env),
        expect(&[
            ("Source: Sequence Source", 128),
            ("Map", 128),
            ("Filter", 256),
            ("Sink: Discard", 512),
        ])
    );
}

#[test]
fn max_parallelism_precedence_operator_environment_configuration() {
    let mut config = Configuration::new();
    config.set_string("pipeline.max-parallelism", "32");
    let env = env_with(config.clone(), 2);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_max_parallelism(16)
        .discard();
    assert_eq!(
        max_parallelisms(&env),
        expect(&[
            ("Source: Sequence Source", 32),
            ("Map", 16),
            ("Sink: Discard", 32)
        ])
    );

    let env = env_with(config, 2);
    env.set_max_parallelism(64);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_max_parallelism(16)
        .discard();
    assert_eq!(
        max_parallelisms(&env),
        expect(&[
            ("Source: Sequence Source", 64),
            ("Map", 16),
            ("Sink: Discard", 64)
        ])
    );
}

#[test]
fn parallelism_above_max_parallelism_is_rejected() {
    let env = env(4);
    env.from_sequence(1, 10)
        .map(|x| x + 1)
        .set_max_parallelism(3)
        .discard();
    match env.execute("max") {
        Err(JobError::Graph(GraphError::InvalidParallelism { operator, reason })) => {
            assert_eq!(operator, "Map");
            assert_eq!(reason, "parallelism 4 is larger than the max parallelism 3");
        }
        other => panic!("expected an invalid-parallelism error, got {other:?}"),
    }
}

#[test]
fn slots_configured_does_not_change_parallelism() {
    // `taskmanager.numberOfTaskSlots` sizes the cluster, not the job.
    let mut config = Configuration::new();
    config.set(&TASK_MANAGER_NUM_TASK_SLOTS, 8);
    let env = env_with(config, 2);
    build(&env, None);
    assert_eq!(
        parallelisms(&env),
        expect(&[
            ("Source: Collection Source", 1),
            ("Source: Sequence Source", 2),
            ("Map", 2),
            ("Sink: Discard", 2),
        ])
    );
}
