use eddy_api::prelude::*;

#[test]
fn keyed_sum_over_parallel_pipeline() {
    let env = StreamExecutionEnvironment::with_configuration(Configuration::new());
    env.set_parallelism(3);
    let out = env
        .from_sequence(1, 1000)
        .map(|x| (x % 7, x))
        .key_by(|t: &(u64, u64)| t.0)
        .sum(|t| &mut t.1)
        .execute_and_collect("smoke")
        .unwrap();
    assert_eq!(out.len(), 1000);
    let mut finals = std::collections::BTreeMap::new();
    for (k, v) in out {
        let e = finals.entry(k).or_insert(0);
        *e = v.max(*e);
    }
    let mut expected = std::collections::BTreeMap::new();
    for x in 1..=1000u64 {
        *expected.entry(x % 7).or_insert(0) += x;
    }
    assert_eq!(finals, expected);
}
