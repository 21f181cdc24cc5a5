//! User-code errors and panics fail the job with a cause naming the operator and subtask
//! (`Map (2/4)`), and the job always ends.

use crate::common;

use common::{bounded, env, failure_cause};
use eddy_api::prelude::*;

/// The subtask (0-based) a `from_elements` element at `position` reaches through `rebalance()`
/// into `parallelism` subtasks: the single producer (subtask 0) goes round-robin from channel 0.
fn rebalanced_subtask(position: u64, parallelism: u64) -> u64 {
    position % parallelism
}

#[test]
fn a_map_error_names_the_subtask_that_saw_the_element() {
    for bad in [13u64, 22, 39, 4] {
        let cause = bounded(move || {
            let env = env(4);
            env.from_elements((0..40u64).collect())
                .rebalance()
                .try_map(move |x: u64| {
                    if x == bad {
                        Err(format!("bad element {x}"))
                    } else {
                        Ok(x)
                    }
                })
                .discard();
            failure_cause(env.execute("map-error"))
        });
        let subtask = rebalanced_subtask(bad, 4) + 1;
        assert_eq!(
            cause,
            format!("Map ({subtask}/4) failed: bad element {bad}")
        );
    }
}

#[test]
fn a_map_panic_names_the_subtask_and_carries_the_panic_message() {
    let cause = bounded(|| {
        let env = env(4);
        env.from_elements((0..40u64).collect())
            .rebalance()
            .map(|x: u64| {
                if x == 13 {
                    panic!("boom at {x}");
                }
                x
            })
            .discard();
        failure_cause(env.execute("map-panic"))
    });
    assert_eq!(
        cause,
        format!(
            "Map ({}/4) panicked: boom at 13",
            rebalanced_subtask(13, 4) + 1
        )
    );
}

#[test]
fn when_every_subtask_fails_the_cause_names_one_of_them() {
    let cause = bounded(|| {
        let env = env(4);
        env.from_sequence(1, 100)
            .try_map(|x: u64| -> Result<u64, String> { Err(format!("cannot map {x}")) })
            .discard();
        failure_cause(env.execute("all-fail"))
    });
    let subtask: u32 = cause
        .strip_prefix("Map (")
        .and_then(|rest| rest.split_once("/4) failed: cannot map "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected cause: {cause}"));
    assert!((1..=4).contains(&subtask), "{cause}");
    // The failing element is the first of that subtask's share of the sequence: subtask i of 4
    // emits 25·i + 1 ..= 25·(i + 1).
    let value: u64 = cause.rsplit(' ').next().unwrap().parse().unwrap();
    let first = u64::from(subtask - 1) * 25 + 1;
    assert_eq!(value, first, "{cause}");
}

#[test]
fn an_error_in_a_chained_operator_names_that_operator() {
    let cause = bounded(|| {
        let env = env(1);
        env.from_sequence(1, 10)
            .map(|x| x * 2)
            .filter_function(FailingFilter)
            .discard();
        failure_cause(env.execute("chained"))
    });
    assert_eq!(cause, "Filter (1/1) failed: filter refused 2");
}

#[derive(Clone)]
struct FailingFilter;

impl FilterFunction<u64> for FailingFilter {
    fn filter(&mut self, value: &u64) -> FnResult<bool> {
        Err(format!("filter refused {value}").into())
    }
}

/// A parallel source whose subtask `fail_on` fails on its first poll; the others emit forever
/// (so the job only ends because of the failure).
#[derive(Clone)]
struct FailingSource {
    fail_on: u32,
    subtask: u32,
}

impl SourceFunction<u64> for FailingSource {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = ctx.subtask_index;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        if self.subtask == self.fail_on {
            return Err(format!("source broke on subtask {}", self.subtask).into());
        }
        out.collect(1);
        Ok(SourceStatus::NothingAvailable(
            std::time::Duration::from_millis(5),
        ))
    }

    fn is_parallel(&self) -> bool {
        true
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::ContinuousUnbounded
    }
}

#[test]
fn a_failing_source_names_its_operator_and_subtask() {
    let cause = bounded(|| {
        let env = env(2);
        env.add_source(FailingSource {
            fail_on: 1,
            subtask: 0,
        })
        .discard();
        failure_cause(env.execute("source-error"))
    });
    assert_eq!(
        cause,
        "Source: Custom Source (2/2) failed: source broke on subtask 1"
    );
}

#[test]
fn a_renamed_failing_source_uses_its_name() {
    let cause = bounded(|| {
        let env = env(1);
        env.add_source(FailingSource {
            fail_on: 0,
            subtask: 0,
        })
        .name("Source: Flaky")
        .discard();
        failure_cause(env.execute("source-error"))
    });
    assert_eq!(
        cause,
        "Source: Flaky (1/1) failed: source broke on subtask 0"
    );
}

/// A sink failing on one element, or panicking on it.
#[derive(Clone)]
struct FailingSink {
    bad: u64,
    panic: bool,
}

impl SinkFunction<u64> for FailingSink {
    fn invoke(&mut self, value: u64, _ctx: &SinkContext) -> FnResult<()> {
        if value == self.bad {
            if self.panic {
                panic!("sink exploded on {value}");
            }
            return Err(format!("sink rejected {value}").into());
        }
        Ok(())
    }
}

#[test]
fn a_failing_sink_names_its_operator_and_subtask() {
    let cause = bounded(|| {
        let env = env(4);
        env.from_elements((0..40u64).collect())
            .rebalance()
            .add_sink(FailingSink {
                bad: 22,
                panic: false,
            })
            .set_parallelism(4);
        failure_cause(env.execute("sink-error"))
    });
    assert_eq!(
        cause,
        format!(
            "Sink: Unnamed ({}/4) failed: sink rejected 22",
            rebalanced_subtask(22, 4) + 1
        )
    );
}

#[test]
fn a_panicking_sink_names_its_operator_and_subtask() {
    let cause = bounded(|| {
        let env = env(4);
        env.from_elements((0..40u64).collect())
            .rebalance()
            .add_sink(FailingSink {
                bad: 7,
                panic: true,
            })
            .name("Sink: Fragile")
            .set_parallelism(4);
        failure_cause(env.execute("sink-panic"))
    });
    assert_eq!(
        cause,
        format!(
            "Sink: Fragile ({}/4) panicked: sink exploded on 7",
            rebalanced_subtask(7, 4) + 1
        )
    );
}

#[test]
fn a_failure_downstream_of_an_unbounded_source_ends_the_job() {
    let cause = bounded(|| {
        let env = env(2);
        env.from_generator(None, None, |i| i)
            .rebalance()
            .try_map(|x: u64| {
                if x == 5_000 {
                    Err("stop here".to_string())
                } else {
                    Ok(x)
                }
            })
            .set_parallelism(3)
            .discard();
        failure_cause(env.execute("unbounded-failure"))
    });
    // The unbounded generator at parallelism 2 emits i, i + 2, i + 4, … on subtask i, so 5000 is
    // element 2500 of producer 0, which rebalances round-robin from channel 0.
    let (producer, position) = (5_000u64 % 2, 5_000u64 / 2);
    let subtask = (producer % 3 + position) % 3;
    assert_eq!(cause, format!("Map ({}/3) failed: stop here", subtask + 1));
}
