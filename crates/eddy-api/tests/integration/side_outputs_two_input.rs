//! Side outputs from two-input process functions: `CoProcessFunction`,
//! `KeyedCoProcessFunction`, `BroadcastProcessFunction` and `KeyedBroadcastProcessFunction`
//! emit with `ctx.output(&tag, v)` from either input and from timers, and every value reaches
//! `get_side_output(&tag)`. Complete outputs are compared with reference loops, at parallelism
//! 1 and 2 of the two-input operator.

use crate::common;

use common::event_time::{elem, scripted, wm, Step};
use common::{env, recorded_sorted, RecordingSink};
use eddy_api::prelude::*;

fn sorted_vec<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values
}

/// Numbers on input 1: evens to the main output, odds to "odd"; words on input 2: their length
/// to the main output, the word in upper case to "upper".
#[derive(Clone)]
struct SplitBoth {
    odd: OutputTag<u64>,
    upper: OutputTag<String>,
}

impl CoProcessFunction<u64, String, u64> for SplitBoth {
    fn process_element1(
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
        Ok(())
    }

    fn process_element2(
        &mut self,
        value: String,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        out.collect(value.len() as u64);
        ctx.output(&self.upper, value.to_uppercase());
        Ok(())
    }
}

fn words() -> Vec<String> {
    [
        "ant",
        "bee",
        "cicada",
        "dragonfly",
        "earwig",
        "firefly",
        "gnat",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect()
}

#[test]
fn co_process_function_side_outputs_from_both_inputs() {
    for parallelism in [1, 2] {
        let env = env(parallelism);
        let function = SplitBoth {
            odd: OutputTag::new("odd"),
            upper: OutputTag::new("upper"),
        };
        let numbers = env.from_sequence(1, 60);
        let text = env.from_collection(words());
        let main = numbers.connect(&text).process(function.clone());
        let (main_sink, main_records) = RecordingSink::<u64>::new();
        let (odd_sink, odd_records) = RecordingSink::<u64>::new();
        let (upper_sink, upper_records) = RecordingSink::<String>::new();
        main.add_sink(main_sink);
        main.get_side_output(&function.odd).add_sink(odd_sink);
        main.get_side_output(&function.upper)
            .rebalance()
            .add_sink(upper_sink);
        env.execute("co-process side outputs").unwrap();

        let mut expected_main: Vec<u64> = (1..=60).filter(|v: &u64| v.is_multiple_of(2)).collect();
        expected_main.extend(words().iter().map(|w| w.len() as u64));
        let expected_odd: Vec<u64> = (1..=60).filter(|v| v % 2 == 1).collect();
        let expected_upper: Vec<String> = words().iter().map(|w| w.to_uppercase()).collect();
        assert_eq!(
            recorded_sorted(&main_records),
            sorted_vec(expected_main),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&odd_records),
            expected_odd,
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&upper_records),
            sorted_vec(expected_upper),
            "p={parallelism}"
        );
    }
}

/// Keyed by `value % 5`: input 1 counts per key to the main output and registers an event-time
/// timer at the element's timestamp + 10; input 2 sends `key:word` to "words"; each timer sends
/// `(key, time)` to "fired".
#[derive(Clone)]
struct KeyedSides {
    words: OutputTag<String>,
    fired: OutputTag<(u64, i64)>,
}

impl KeyedCoProcessFunction<u64, u64, (u64, String), u64> for KeyedSides {
    fn process_element1(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        out.collect(value);
        let timestamp = ctx.timestamp().expect("scripted elements carry timestamps");
        ctx.timer_service()
            .register_event_time_timer(timestamp + 10);
        Ok(())
    }

    fn process_element2(
        &mut self,
        (key, word): (u64, String),
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        ctx.output(&self.words, format!("{key}:{word}"));
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        let key = *ctx.current_key();
        ctx.output(&self.fired, (key, timestamp));
        Ok(())
    }
}

/// 1..=40 at timestamps `3 * v`, watermarks every 10 elements, then the end of input (which
/// fires every remaining timer).
fn numbers_script() -> Vec<Step<u64>> {
    let mut steps = Vec::new();
    for v in 1..=40u64 {
        steps.push(elem(v, 3 * v as i64));
        if v % 10 == 0 {
            steps.push(wm(3 * v as i64));
        }
    }
    steps
}

/// The timers the reference expects: one per key and distinct `3 * v + 10`.
fn expected_timers() -> Vec<(u64, i64)> {
    let mut fired: Vec<(u64, i64)> = (1..=40u64).map(|v| (v % 5, 3 * v as i64 + 10)).collect();
    fired.sort();
    fired.dedup();
    fired
}

#[test]
fn keyed_co_process_function_side_outputs_from_input_2_and_timers() {
    for parallelism in [1, 2] {
        let env = env(parallelism);
        let function = KeyedSides {
            words: OutputTag::new("words"),
            fired: OutputTag::new("fired"),
        };
        let numbers = scripted(&env, numbers_script());
        let pairs: Vec<(u64, String)> = words()
            .into_iter()
            .enumerate()
            .map(|(i, w)| (i as u64 % 5, w))
            .collect();
        let text = env.from_collection(pairs.clone());
        let main = numbers
            .connect(&text)
            .key_by(|v: &u64| v % 5, |p: &(u64, String)| p.0)
            .process(function.clone());
        let (main_sink, main_records) = RecordingSink::<u64>::new();
        let (words_sink, words_records) = RecordingSink::<String>::new();
        let (fired_sink, fired_records) = RecordingSink::<(u64, i64)>::new();
        main.add_sink(main_sink);
        main.get_side_output(&function.words).add_sink(words_sink);
        main.get_side_output(&function.fired).add_sink(fired_sink);
        env.execute("keyed co-process side outputs").unwrap();

        let expected_words: Vec<String> = pairs.iter().map(|(k, w)| format!("{k}:{w}")).collect();
        assert_eq!(
            recorded_sorted(&main_records),
            (1..=40).collect::<Vec<u64>>(),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&words_records),
            sorted_vec(expected_words),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&fired_records),
            expected_timers(),
            "p={parallelism}"
        );
    }
}

/// Non-keyed broadcast: elements above 25 go to "high", the rest to the main output; every
/// broadcast rule is echoed to "rules" by each subtask that receives it (so once per
/// subtask).
#[derive(Clone)]
struct BroadcastSides {
    rules: MapStateDescriptor<String, u64>,
    high: OutputTag<u64>,
    echoed: OutputTag<(u32, String)>,
}

impl BroadcastProcessFunction<u64, String, u64> for BroadcastSides {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut ReadOnlyBroadcastContext<'_>,
        out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        if value > 25 {
            ctx.output(&self.high, value);
        } else {
            out.collect(value);
        }
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        rule: String,
        ctx: &mut BroadcastContext<'_>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        let subtask = ctx.runtime_context().subtask_index;
        ctx.broadcast_state(&self.rules)?.put(rule.clone(), 1)?;
        ctx.output(&self.echoed, (subtask, rule));
        Ok(())
    }
}

fn rules() -> Vec<String> {
    ["alpha", "beta", "gamma"]
        .iter()
        .map(|r| r.to_string())
        .collect()
}

#[test]
fn broadcast_process_function_side_outputs_from_both_inputs() {
    for parallelism in [1, 2] {
        let env = env(parallelism);
        let function = BroadcastSides {
            rules: MapStateDescriptor::new("rules"),
            high: OutputTag::new("high"),
            echoed: OutputTag::new("echoed"),
        };
        let rules_stream = env.from_collection(rules()).broadcast_with(&function.rules);
        let main = env
            .from_sequence(1, 50)
            .connect(&rules_stream)
            .process(function.clone());
        let (main_sink, main_records) = RecordingSink::<u64>::new();
        let (high_sink, high_records) = RecordingSink::<u64>::new();
        let (echo_sink, echo_records) = RecordingSink::<(u32, String)>::new();
        main.add_sink(main_sink);
        main.get_side_output(&function.high).add_sink(high_sink);
        main.get_side_output(&function.echoed).add_sink(echo_sink);
        env.execute("broadcast side outputs").unwrap();

        let expected_echo: Vec<(u32, String)> = (0..parallelism)
            .flat_map(|subtask| rules().into_iter().map(move |r| (subtask, r)))
            .collect();
        assert_eq!(
            recorded_sorted(&main_records),
            (1..=25).collect::<Vec<u64>>(),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&high_records),
            (26..=50).collect::<Vec<u64>>(),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&echo_records),
            sorted_vec(expected_echo),
            "p={parallelism}"
        );
    }
}

/// Keyed broadcast, keyed by `value % 5`: odd elements go to "odd" (evens to the main output)
/// and register a timer at timestamp + 10, which sends `(key, time)` to "fired"; each
/// broadcast rule is echoed to "echoed" with the subtask that processed it.
#[derive(Clone)]
struct KeyedBroadcastSides {
    rules: MapStateDescriptor<String, u64>,
    odd: OutputTag<u64>,
    fired: OutputTag<(u64, i64)>,
    echoed: OutputTag<(u32, String)>,
}

impl KeyedBroadcastProcessFunction<u64, u64, String, u64> for KeyedBroadcastSides {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u64>,
        out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        if value % 2 == 1 {
            ctx.output(&self.odd, value);
            let timestamp = ctx.timestamp().expect("scripted elements carry timestamps");
            ctx.timer_service()
                .register_event_time_timer(timestamp + 10);
        } else {
            out.collect(value);
        }
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        rule: String,
        ctx: &mut KeyedBroadcastContext<'_, u64>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        let subtask = ctx.runtime_context().subtask_index;
        ctx.broadcast_state(&self.rules)?.put(rule.clone(), 1)?;
        ctx.output(&self.echoed, (subtask, rule));
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u64>,
        _out: &mut Collector<'_, u64>,
    ) -> FnResult<()> {
        let key = *ctx.current_key();
        ctx.output(&self.fired, (key, timestamp));
        Ok(())
    }
}

#[test]
fn keyed_broadcast_process_function_side_outputs_from_both_inputs_and_timers() {
    for parallelism in [1, 2] {
        let env = env(parallelism);
        let function = KeyedBroadcastSides {
            rules: MapStateDescriptor::new("rules"),
            odd: OutputTag::new("odd"),
            fired: OutputTag::new("fired"),
            echoed: OutputTag::new("echoed"),
        };
        let rules_stream = env.from_collection(rules()).broadcast_with(&function.rules);
        let main = scripted(&env, numbers_script())
            .key_by(|v: &u64| v % 5)
            .connect(&rules_stream)
            .process(function.clone());
        let (main_sink, main_records) = RecordingSink::<u64>::new();
        let (odd_sink, odd_records) = RecordingSink::<u64>::new();
        let (fired_sink, fired_records) = RecordingSink::<(u64, i64)>::new();
        let (echo_sink, echo_records) = RecordingSink::<(u32, String)>::new();
        main.add_sink(main_sink);
        main.get_side_output(&function.odd).add_sink(odd_sink);
        main.get_side_output(&function.fired).add_sink(fired_sink);
        main.get_side_output(&function.echoed).add_sink(echo_sink);
        env.execute("keyed broadcast side outputs").unwrap();

        let mut expected_fired: Vec<(u64, i64)> = (1..=40u64)
            .filter(|v| v % 2 == 1)
            .map(|v| (v % 5, 3 * v as i64 + 10))
            .collect();
        expected_fired.sort();
        expected_fired.dedup();
        let expected_echo: Vec<(u32, String)> = (0..parallelism)
            .flat_map(|subtask| rules().into_iter().map(move |r| (subtask, r)))
            .collect();
        assert_eq!(
            recorded_sorted(&main_records),
            (1..=40)
                .filter(|v: &u64| v.is_multiple_of(2))
                .collect::<Vec<u64>>(),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&odd_records),
            (1..=40).filter(|v| v % 2 == 1).collect::<Vec<u64>>(),
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&fired_records),
            expected_fired,
            "p={parallelism}"
        );
        assert_eq!(
            recorded_sorted(&echo_records),
            sorted_vec(expected_echo),
            "p={parallelism}"
        );
    }
}
