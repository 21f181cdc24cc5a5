//! Side outputs: `ctx.output(&tag, v)` in process functions, `get_side_output(&tag)`.

use crate::common;

use std::sync::{Arc, Mutex};

use common::{env, failure_cause, recorded_sorted, RecordingSink};
use eddy_api::prelude::*;

/// Evens to the main output, odds to the "odd" side output, and every multiple of 3 also to
/// the "three" side output, as text.
#[derive(Clone)]
struct Split {
    odd: OutputTag<u64>,
    three: OutputTag<String>,
}

impl Split {
    fn new() -> Self {
        Split {
            odd: OutputTag::new("odd"),
            three: OutputTag::new("three"),
        }
    }
}

impl ProcessFunction<u64, u64> for Split {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        if value.is_multiple_of(2) {
            out.collect(value);
        } else {
            ctx.output(&self.odd, value);
        }
        if value.is_multiple_of(3) {
            ctx.output(&self.three, format!("three:{value}"));
        }
        Ok(())
    }
}

#[test]
fn main_and_side_outputs_carry_exactly_their_records_chained_and_across_exchanges() {
    let env = env(2);
    let split = Split::new();
    let main = env.from_sequence(1, 100).process(split.clone());
    let (main_sink, main_records) = RecordingSink::<u64>::new();
    let (odd_sink, odd_records) = RecordingSink::<u64>::new();
    let (odd_again_sink, odd_again_records) = RecordingSink::<u64>::new();
    let (three_sink, three_records) = RecordingSink::<String>::new();
    main.add_sink(main_sink);
    // Chained (forward, same parallelism) consumer of a side output...
    main.get_side_output(&split.odd).add_sink(odd_sink);
    // ...a second consumer of the same tag across an exchange at another parallelism...
    main.get_side_output(&split.odd)
        .map(|v| v * 10)
        .set_parallelism(3)
        .add_sink(odd_again_sink)
        .set_parallelism(3);
    // ...and another tag, repartitioned.
    main.get_side_output(&split.three)
        .rebalance()
        .add_sink(three_sink);
    env.execute("side outputs").unwrap();

    let evens: Vec<u64> = (1..=100).filter(|v| v % 2 == 0).collect();
    let odds: Vec<u64> = (1..=100).filter(|v| v % 2 == 1).collect();
    let mut threes: Vec<String> = (1..=100u64)
        .filter(|v| v % 3 == 0)
        .map(|v| format!("three:{v}"))
        .collect();
    threes.sort();
    assert_eq!(recorded_sorted(&main_records), evens);
    assert_eq!(recorded_sorted(&odd_records), odds);
    assert_eq!(
        recorded_sorted(&odd_again_records),
        odds.iter().map(|v| v * 10).collect::<Vec<_>>()
    );
    assert_eq!(recorded_sorted(&three_records), threes);
}

#[test]
fn side_outputs_keep_the_element_timestamp() {
    #[derive(Clone)]
    struct Stamped(u64);
    impl SourceFunction<u64> for Stamped {
        fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
            if self.0 == 0 {
                return Ok(SourceStatus::Finished);
            }
            out.collect_with_timestamp(self.0, self.0 as i64 * 1000);
            self.0 -= 1;
            Ok(SourceStatus::MoreAvailable)
        }
        fn boundedness(&self) -> Boundedness {
            Boundedness::Bounded
        }
    }
    type Seen = Arc<Mutex<Vec<(u64, Option<i64>)>>>;
    #[derive(Clone)]
    struct TimestampSink(Seen);
    impl SinkFunction<u64> for TimestampSink {
        fn invoke(&mut self, value: u64, ctx: &SinkContext) -> FnResult<()> {
            self.0.lock().unwrap().push((value, ctx.timestamp()));
            Ok(())
        }
    }
    let env = env(1);
    let split = Split::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let main = env.add_source(Stamped(6)).process(split.clone());
    main.discard();
    main.get_side_output(&split.odd)
        .add_sink(TimestampSink(seen.clone()));
    env.execute("timestamps").unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![(1, Some(1000)), (3, Some(3000)), (5, Some(5000))]
    );
}

#[test]
fn keyed_process_functions_emit_side_outputs_too() {
    #[derive(Clone)]
    struct Late(OutputTag<(u64, u64)>);
    impl KeyedProcessFunction<u64, (u64, u64), (u64, u64)> for Late {
        fn process_element(
            &mut self,
            value: (u64, u64),
            ctx: &mut KeyedContext<'_, u64>,
            out: &mut Collector<'_, (u64, u64)>,
        ) -> FnResult<()> {
            if value.1 >= 50 {
                ctx.output(&self.0, value);
            } else {
                out.collect(value);
            }
            Ok(())
        }
    }
    let env = env(2);
    let tag = OutputTag::<(u64, u64)>::new("big");
    let main = env
        .from_sequence(0, 99)
        .map(|v| (v % 4, v))
        .key_by(|t: &(u64, u64)| t.0)
        .process(Late(tag.clone()));
    main.discard();
    let big = main
        .get_side_output(&tag)
        .key_by(|t: &(u64, u64)| t.0)
        .sum(|t| &mut t.1)
        .execute_and_collect("keyed side output")
        .unwrap();
    // Per key, the running sums of the values >= 50 with that key, in order.
    let mut expected: Vec<(u64, u64)> = Vec::new();
    for key in 0..4u64 {
        let mut sum = 0;
        for v in (50..100u64).filter(|v| v % 4 == key) {
            sum += v;
            expected.push((key, sum));
        }
    }
    let mut big = big;
    big.sort();
    expected.sort();
    assert_eq!(big, expected);
}

#[test]
fn unread_side_outputs_are_dropped() {
    let env = env(1);
    let out = env
        .from_sequence(1, 10)
        .process(Split::new())
        .execute_and_collect("unread")
        .unwrap();
    assert_eq!(out, vec![2, 4, 6, 8, 10]);
}

#[test]
fn side_output_of_a_non_process_operator_is_a_clear_error() {
    let env = env(1);
    let mapped = env.from_sequence(1, 10).map(|v| v + 1);
    let result = mapped
        .get_side_output(&OutputTag::<u64>::new("odd"))
        .execute_and_collect("wrong");
    match result {
        Err(JobError::InvalidProgram(message)) => {
            assert!(
                message.contains("only process functions emit side outputs"),
                "{message}"
            )
        }
        other => panic!("expected an invalid program, got {other:?}"),
    }
}

#[test]
fn emitting_another_type_under_a_read_tag_fails_naming_the_operator() {
    #[derive(Clone)]
    struct WrongType;
    impl ProcessFunction<u64, u64> for WrongType {
        fn process_element(
            &mut self,
            value: u64,
            ctx: &mut ProcessContext<'_>,
            _out: &mut Collector<'_, u64>,
        ) -> FnResult<()> {
            ctx.output(&OutputTag::<u64>::new("odd"), value);
            Ok(())
        }
    }
    let env = env(1);
    let main = env.from_sequence(1, 10).process(WrongType);
    main.discard();
    let result = main
        .get_side_output(&OutputTag::<String>::new("odd"))
        .execute_and_collect("mismatch");
    let cause = failure_cause(result);
    assert!(cause.starts_with("Process (1/1)"), "{cause}");
    assert!(
        cause.contains("side output 'odd'") && cause.contains("u64"),
        "{cause}"
    );
}

#[test]
fn side_output_consumers_chain_like_forward_consumers() {
    let env = env(2);
    let split = Split::new();
    let main = env.from_sequence(1, 10).process(split.clone());
    main.discard();
    main.get_side_output(&split.odd).map(|v| v + 1).discard();
    main.get_side_output(&split.three).rebalance().discard();
    let job = env.get_job_graph("chaining").unwrap();
    let names: Vec<&str> = job.vertices.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Source: Sequence Source -> Process -> (Sink: Discard, Map -> Sink: Discard)",
            "Sink: Discard",
        ]
    );
    let side_edges: Vec<Option<&str>> = job
        .stream_graph
        .edges
        .iter()
        .map(|e| e.side_output.as_deref())
        .collect();
    assert_eq!(
        side_edges,
        vec![None, None, Some("odd"), None, Some("three")]
    );
}
