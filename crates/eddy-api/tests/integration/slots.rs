//! Slots: too few fail the job with a clear message once `slot.request.timeout` passes; enough
//! slots spread over several TaskManagers run the job; slot-sharing groups add up.

use crate::common;

use common::{bounded, env_with, failure_cause};
use eddy_api::prelude::*;

fn cluster_config(task_managers: u32, slots_per_task_manager: u32) -> Configuration {
    let mut config = Configuration::new();
    config.set_string("taskmanager.count", task_managers.to_string());
    config.set_string(
        "taskmanager.numberOfTaskSlots",
        slots_per_task_manager.to_string(),
    );
    config.set_string("slot.request.timeout", "200 ms");
    config
}

#[test]
fn too_few_slots_fail_the_job_with_the_numbers() {
    let cause = bounded(|| {
        let env = env_with(cluster_config(1, 2), 4);
        env.from_sequence(1, 100).map(|x| x + 1).discard();
        assert_eq!(env.get_job_graph("slots").unwrap().required_slots(), 4);
        failure_cause(env.execute("too-few-slots"))
    });
    for fact in [
        "slot.request.timeout (200 ms)",
        "the job needs 4 slots",
        "'default' needs 4",
        "the cluster has 2 slots (2 free)",
    ] {
        assert!(cause.contains(fact), "missing {fact:?} in: {cause}");
    }
}

#[test]
fn two_task_managers_with_two_slots_each_run_a_parallelism_four_job() {
    let mut out = bounded(|| {
        let env = env_with(cluster_config(2, 2), 4);
        env.from_sequence(1, 1000)
            .map(|x| x * 2)
            .rebalance()
            .filter(|x| x % 3 != 0)
            .execute_and_collect("four-slots")
            .unwrap()
    });
    out.sort();
    let expected: Vec<u64> = (1..=1000u64)
        .map(|x| x * 2)
        .filter(|x| x % 3 != 0)
        .collect();
    assert_eq!(out, expected);
}

/// Source and map in `default` and the rest in `other`, everything at parallelism 2.
fn two_groups(env: &StreamExecutionEnvironment) -> DataStream<u64> {
    env.from_sequence(1, 500)
        .map(|x| x + 1)
        .rebalance()
        .filter(|x| x % 2 == 0)
        .slot_sharing_group("other")
        .map(|x| x * 10)
}

#[test]
fn two_slot_sharing_groups_of_parallelism_two_need_four_slots() {
    let cause = bounded(|| {
        let env = env_with(cluster_config(1, 3), 2);
        two_groups(&env).discard();
        let job = env.get_job_graph("groups").unwrap();
        assert_eq!(
            job.slot_sharing_groups().into_iter().collect::<Vec<_>>(),
            vec![("default".to_string(), 2), ("other".to_string(), 2)]
        );
        assert_eq!(job.required_slots(), 4);
        failure_cause(env.execute("groups-three-slots"))
    });
    for fact in [
        "the job needs 4 slots",
        "'default' needs 2, 'other' needs 2",
        "the cluster has 3 slots (3 free)",
    ] {
        assert!(cause.contains(fact), "missing {fact:?} in: {cause}");
    }
}

#[test]
fn two_slot_sharing_groups_run_with_four_slots() {
    let mut out = bounded(|| {
        let env = env_with(cluster_config(2, 2), 2);
        two_groups(&env)
            .execute_and_collect("groups-four-slots")
            .unwrap()
    });
    out.sort();
    let expected: Vec<u64> = (1..=500u64)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .map(|x| x * 10)
        .collect();
    assert_eq!(out, expected);
}

#[test]
fn without_a_slot_setting_the_local_cluster_offers_what_the_job_needs() {
    let mut out = bounded(|| {
        let mut config = Configuration::new();
        config.set_string("slot.request.timeout", "200 ms");
        let env = env_with(config, 3);
        two_groups(&env)
            .set_parallelism(5)
            .execute_and_collect("auto-slots")
            .unwrap()
    });
    out.sort();
    let expected: Vec<u64> = (1..=500u64)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .map(|x| x * 10)
        .collect();
    assert_eq!(out, expected);
}
