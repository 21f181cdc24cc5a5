//! The broadcast state pattern's plan and errors: the partitioners of the broadcast operator's
//! inputs, broadcast state asked for with other types or not declared, a name declared with
//! two types, and `apply_to_keyed_state` with a descriptor of another kind.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::event_time::{elem, scripted, wait_until};
use common::{bounded, failure_cause};
use eddy_api::graph::PartitionerKind;
use eddy_api::prelude::*;

/// Passes keyed elements through; ignores broadcast elements.
#[derive(Clone)]
struct PassThrough;

impl KeyedBroadcastProcessFunction<u32, (u32, i64), i64, (u32, i64)> for PassThrough {
    fn process_element(
        &mut self,
        value: (u32, i64),
        _ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        out.collect(value);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        _value: i64,
        _ctx: &mut KeyedBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        Ok(())
    }
}

#[test]
fn the_plan_broadcasts_the_rules_and_partitions_the_keyed_input_by_key() {
    let env = common::env(3);
    let rules = env
        .from_elements(vec![1i64])
        .broadcast_with(&MapStateDescriptor::<i64, i64>::new("thresholds"));
    env.from_elements(vec![(1u32, 2i64)])
        .key_by(|item: &(u32, i64)| item.0)
        .connect(&rules)
        .process(PassThrough)
        .discard();
    let graph = env.get_stream_graph("plan").unwrap();
    let node = graph
        .nodes
        .iter()
        .find(|n| n.name == "Co-Process-Broadcast-Keyed")
        .expect("the keyed broadcast operator is in the plan");
    let mut inputs: Vec<(u8, PartitionerKind)> = graph
        .edges
        .iter()
        .filter(|e| e.target == node.id)
        .map(|e| (e.input_index, e.partitioner))
        .collect();
    inputs.sort_by_key(|i| i.0);
    assert_eq!(
        inputs,
        vec![
            (0, PartitionerKind::KeyGroup),
            (1, PartitionerKind::Broadcast)
        ]
    );
}

/// Asks for broadcast state `asked` in `process_broadcast_element` (read-write) and for
/// `asked_read_only` in `process_element` (read-only).
#[derive(Clone)]
struct AskFor {
    asked: MapStateDescriptor<String, String>,
    asked_read_only: MapStateDescriptor<String, i64>,
}

impl BroadcastProcessFunction<u32, u32, u32> for AskFor {
    fn process_element(
        &mut self,
        value: u32,
        ctx: &mut ReadOnlyBroadcastContext<'_>,
        out: &mut Collector<'_, u32>,
    ) -> FnResult<()> {
        ctx.broadcast_state(&self.asked_read_only)?;
        out.collect(value);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        value: u32,
        ctx: &mut BroadcastContext<'_>,
        out: &mut Collector<'_, u32>,
    ) -> FnResult<()> {
        ctx.broadcast_state(&self.asked)?;
        out.collect(value);
        Ok(())
    }
}

fn run_ask_for(
    declared: &MapStateDescriptor<String, i64>,
    function: AskFor,
    elements: Vec<u32>,
    commands: Vec<u32>,
) -> String {
    let env = common::env(2);
    let rules = env.from_elements(commands).broadcast_with(declared);
    let out = env
        .from_elements(elements)
        .connect(&rules)
        .process(function);
    failure_cause(out.execute_and_collect("ask for broadcast state"))
}

#[test]
fn broadcast_state_of_another_type_or_not_declared_fails_the_job_naming_it() {
    let declared = MapStateDescriptor::<String, i64>::new("rules");
    let cause = bounded({
        let declared = declared.clone();
        move || {
            let function = AskFor {
                asked: MapStateDescriptor::new("rules"),
                asked_read_only: MapStateDescriptor::new("rules"),
            };
            run_ask_for(&declared, function, vec![], vec![1])
        }
    });
    assert!(
        cause.contains(
            "broadcast state 'rules' is a BroadcastState<alloc::string::String, i64> but was \
             asked for as a BroadcastState<alloc::string::String, alloc::string::String>"
        ),
        "{cause}"
    );
    assert!(cause.contains("Co-Process-Broadcast"), "{cause}");
    let cause = bounded(move || {
        let function = AskFor {
            asked: MapStateDescriptor::new("unused"),
            asked_read_only: MapStateDescriptor::new("rulez"),
        };
        run_ask_for(&declared, function, vec![7], vec![])
    });
    assert!(
        cause.contains(
            "broadcast state 'rulez' was not declared (declared: 'rules'); pass its descriptor \
             to broadcast_with(&descriptor) or .and(&descriptor) on the broadcast stream"
        ),
        "{cause}"
    );
}

#[test]
fn a_broadcast_state_declared_with_two_types_is_an_invalid_program() {
    let env = common::env(1);
    let rules = env
        .from_elements(vec![1u32])
        .broadcast_with(&MapStateDescriptor::<String, i64>::new("rules"))
        .and(&MapStateDescriptor::<String, i64>::new("rules"))
        .and(&MapStateDescriptor::<u32, i64>::new("rules"));
    assert_eq!(
        rules.declarations().len(),
        1,
        "a repeated declaration is kept once"
    );
    let function = AskFor {
        asked: MapStateDescriptor::new("rules"),
        asked_read_only: MapStateDescriptor::new("rules"),
    };
    let result = env
        .from_elements(vec![1u32])
        .connect(&rules)
        .process(function)
        .execute_and_collect("declared twice");
    match result {
        Err(JobError::InvalidProgram(message)) => assert!(
            message.contains(
                "broadcast state 'rules' is declared twice, as a BroadcastState<alloc::string::\
                 String, i64> and as a BroadcastState<u32, i64>"
            ),
            "{message}"
        ),
        other => panic!("expected an invalid program, got {other:?}"),
    }
}

/// Applies a list-state descriptor to a name registered as a value state.
#[derive(Clone)]
struct WrongKind {
    count: ValueStateDescriptor<u64>,
    as_list: ListStateDescriptor<u64>,
    items_seen: Arc<AtomicUsize>,
}

impl KeyedBroadcastProcessFunction<u32, u32, u32, u32> for WrongKind {
    fn process_element(
        &mut self,
        _value: u32,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, u32>,
    ) -> FnResult<()> {
        ctx.state().value(&self.count)?.update(1)?;
        self.items_seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        _value: u32,
        ctx: &mut KeyedBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, u32>,
    ) -> FnResult<()> {
        ctx.apply_to_keyed_state(&self.as_list, |_key, _state| Ok(()))
    }
}

#[test]
fn apply_to_keyed_state_with_another_kind_fails_the_job_naming_both() {
    let cause = bounded(|| {
        let env = common::env(1);
        let function = WrongKind {
            count: ValueStateDescriptor::new("count"),
            as_list: ListStateDescriptor::new("count"),
            items_seen: Arc::new(AtomicUsize::new(0)),
        };
        let keyed_seen = function.items_seen.clone();
        let items = env.from_elements(vec![5u32]).key_by(|x: &u32| *x);
        let declared = MapStateDescriptor::<String, i64>::new("unused");
        // The broadcast element comes once the keyed element created the value state.
        let commands = scripted(
            &env,
            vec![
                wait_until(move || keyed_seen.load(Ordering::SeqCst) == 1),
                elem(0u32, 0),
            ],
        )
        .broadcast_with(&declared);
        failure_cause(
            items
                .connect(&commands)
                .process(function)
                .execute_and_collect("wrong kind"),
        )
    });
    assert!(
        cause.contains("state 'count' is a ValueState<u64> but was asked for as a ListState<u64>"),
        "{cause}"
    );
}
