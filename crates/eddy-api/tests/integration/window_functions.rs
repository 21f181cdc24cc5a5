//! Window functions: reduce, aggregate, process and their combinations agree on the same
//! windows; field aggregations; what a process window function's context offers.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
type Script = Vec<Step<Event>>;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1 + b.1)
}

/// The key and the sum of the values, as an aggregate.
#[derive(Clone)]
struct KeyedSum;

impl AggregateFunction<Event, (u32, i64), Event> for KeyedSum {
    fn create_accumulator(&mut self) -> (u32, i64) {
        (u32::MAX, 0)
    }
    fn add(&mut self, value: Event, acc: &mut (u32, i64)) -> FnResult<()> {
        acc.0 = value.0;
        acc.1 += value.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &(u32, i64)) -> FnResult<Event> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut (u32, i64), other: (u32, i64)) -> FnResult<()> {
        acc.0 = acc.0.min(other.0);
        acc.1 += other.1;
        Ok(())
    }
}

/// The sum of the values, as an aggregate.
#[derive(Clone)]
struct SumOnly;

impl AggregateFunction<Event, i64, i64> for SumOnly {
    fn create_accumulator(&mut self) -> i64 {
        0
    }
    fn add(&mut self, value: Event, acc: &mut i64) -> FnResult<()> {
        *acc += value.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &i64) -> FnResult<i64> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut i64, other: i64) -> FnResult<()> {
        *acc += other;
        Ok(())
    }
}

/// `(variant, key, sum)`; the window is the result's timestamp (its max timestamp).
type Summary = (u8, u32, i64);

/// Runs five window-function variants over the same windows of `assigner`: reduce,
/// aggregate, process, aggregate with process, reduce with process.
fn five_ways<A>(assigner: A, steps: Vec<Step<Event>>) -> Vec<Vec<(Event, Option<i64>)>>
where
    A: WindowAssigner<Event, TimeWindow> + Sync,
{
    let env = common::env(2);
    let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
    let (sink, records) = StampedSink::<Summary>::new();
    keyed
        .window(assigner.clone())
        .reduce(sum)
        .map(|(key, sum)| (0u8, key, sum))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .aggregate(KeyedSum)
        .map(|(key, sum)| (1u8, key, sum))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .process(process_window_fn(
            |key: &u32,
             _ctx: &mut WindowContext<'_, _, TimeWindow>,
             elements: Elements<'_, Event>,
             out: &mut Collector<'_, Summary>| {
                out.collect((2, *key, elements.map(|e| e.1).sum()));
                Ok(())
            },
        ))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .aggregate_with_process(
            SumOnly,
            process_window_fn(
                |key: &u32,
                 _ctx: &mut WindowContext<'_, _, TimeWindow>,
                 elements: Elements<'_, i64>,
                 out: &mut Collector<'_, Summary>| {
                    assert_eq!(elements.len(), 1, "one pre-aggregated result");
                    for sum in elements {
                        out.collect((3, *key, *sum));
                    }
                    Ok(())
                },
            ),
        )
        .add_sink(sink.clone());
    keyed
        .window(assigner)
        .reduce_with_process(
            sum,
            process_window_fn(
                |key: &u32,
                 _ctx: &mut WindowContext<'_, _, TimeWindow>,
                 elements: Elements<'_, Event>,
                 out: &mut Collector<'_, Summary>| {
                    assert_eq!(elements.len(), 1, "one pre-aggregated result");
                    for e in elements {
                        out.collect((4, *key, e.1));
                    }
                    Ok(())
                },
            ),
        )
        .add_sink(sink);
    env.execute("five ways").unwrap();
    let mut per_variant = vec![Vec::new(); 5];
    for ((variant, key, sum), ts) in stamped(&records) {
        per_variant[variant as usize].push(((key, sum), ts));
    }
    per_variant.iter_mut().for_each(|v| v.sort());
    per_variant
}

/// Out-of-order events of three keys with watermarks that leave none of them late for the
/// windows below (each watermark trails the smallest upcoming timestamp by more than 10 ms).
fn unordered(seed: u64) -> (Vec<(u32, i64, i64)>, Script) {
    let mut rng = Lcg::new(seed);
    let events: Vec<(u32, i64, i64)> = (0..150)
        .map(|i| (rng.below(3) as u32, i, rng.range(-100, 400)))
        .collect();
    let mut steps = Vec::new();
    for (i, &(key, value, ts)) in events.iter().enumerate() {
        steps.push(elem((key, value), ts));
        if let Some(min) = events[i + 1..].iter().map(|e| e.2).min() {
            steps.push(wm(min - 11));
        }
    }
    (events, steps)
}

/// Reference sums per key and window, stamped with the window's max timestamp.
fn reference_sums(
    events: &[(u32, i64, i64)],
    assign: impl Fn(i64) -> Vec<(i64, i64)>,
) -> Vec<(Event, Option<i64>)> {
    let mut sums: BTreeMap<(u32, i64), i64> = BTreeMap::new();
    for &(key, value, ts) in events {
        for (_, end) in assign(ts) {
            *sums.entry((key, end - 1)).or_default() += value;
        }
    }
    let mut out: Vec<(Event, Option<i64>)> = sums
        .into_iter()
        .map(|((key, max_ts), sum)| ((key, sum), Some(max_ts)))
        .collect();
    out.sort();
    out
}

#[test]
fn reduce_aggregate_and_process_agree_on_tumbling_and_sliding_windows() {
    let (events, steps) = unordered(5);
    let tumbling = bounded(move || five_ways(TumblingEventTimeWindows::of(ms(10)), steps));
    let expected = reference_sums(&events, |ts| vec![tumbling_window(ts, 10, 0)]);
    for (variant, out) in tumbling.iter().enumerate() {
        assert_eq!(*out, expected, "tumbling, variant {variant}");
    }
    let (events, steps) = unordered(6);
    let sliding = bounded(move || five_ways(SlidingEventTimeWindows::of(ms(10), ms(4)), steps));
    let expected = reference_sums(&events, |ts| sliding_windows(ts, 10, 4, 0));
    for (variant, out) in sliding.iter().enumerate() {
        assert_eq!(*out, expected, "sliding, variant {variant}");
    }
}

#[test]
fn reduce_aggregate_and_process_agree_on_session_windows() {
    let steps = vec![
        elem((1, 1), 0),
        elem((1, 2), 8),
        elem((2, 4), 3),
        elem((1, 8), 27),
        wm(5),
        elem((1, 16), 18), // bridges [0, 18) and [27, 37): merged accumulators
        elem((2, 32), 14), // [14, 24) touches [3, 13)? no: 14 > 13
    ];
    let out = bounded(move || five_ways(EventTimeSessionWindows::with_gap(ms(10)), steps));
    let expected = vec![
        ((1, 27), Some(36)), // [0, 37)
        ((2, 4), Some(12)),  // [3, 13)
        ((2, 32), Some(23)), // [14, 24)
    ];
    for (variant, out) in out.iter().enumerate() {
        assert_eq!(*out, expected, "sessions, variant {variant}");
    }
}

/// `(key, field, tag)`: field aggregations work on the field; the tag shows which element the
/// other fields come from.
type Tagged = (u32, i64, i64);

#[test]
fn field_aggregations_keep_the_other_fields_of_the_first_element() {
    let (sums, mins, maxes) = bounded(|| {
        let env = common::env(2);
        let steps = elements(
            [
                ((1, 5, 100), 1),
                ((1, 3, 200), 2),
                ((1, 9, 300), 3),
                ((1, 4, 400), 12),
            ]
            .into_iter()
            .chain([((2, -1, 500), 4)]),
        );
        let keyed = scripted(&env, steps).key_by(|e: &Tagged| e.0);
        let sinks: Vec<_> = (0..3).map(|_| StampedSink::<Tagged>::new()).collect();
        let window = || keyed.window(TumblingEventTimeWindows::of(ms(10)));
        window().sum(|t| &mut t.1).add_sink(sinks[0].0.clone());
        window().min(|t| &mut t.1).add_sink(sinks[1].0.clone());
        window().max(|t| &mut t.1).add_sink(sinks[2].0.clone());
        env.execute("field aggregations").unwrap();
        (
            stamped_sorted(&sinks[0].1),
            stamped_sorted(&sinks[1].1),
            stamped_sorted(&sinks[2].1),
        )
    });
    let expect = |first: Tagged| {
        let mut v = vec![
            (first, Some(9)),
            ((1, 4, 400), Some(19)),
            ((2, -1, 500), Some(9)),
        ];
        v.sort();
        v
    };
    assert_eq!(sums, expect((1, 17, 100)));
    assert_eq!(mins, expect((1, 3, 100)));
    assert_eq!(maxes, expect((1, 9, 100)));
}

#[test]
fn the_window_context_gives_the_watermark_and_side_outputs_stamped_with_the_window() {
    let (main, side) = bounded(|| {
        let env = common::env(1);
        let tag = OutputTag::<i64>::new("sums");
        let side_tag = tag.clone();
        let steps = vec![
            elem((1, 1), 2),
            wm(12),           // fires [0, 10)
            elem((1, 4), 5),  // within the lateness: fires [0, 10) again at once
            elem((1, 2), 15), // [10, 20), fired by the end of input
        ];
        let result = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10)))
            .allowed_lateness(ms(10))
            .process(process_window_fn(
                move |key: &u32,
                      ctx: &mut WindowContext<'_, _, TimeWindow>,
                      elements: Elements<'_, Event>,
                      out: &mut Collector<'_, (u32, i64, i64, i64)>| {
                    let sum: i64 = elements.map(|e| e.1).sum();
                    let start = ctx.window().start();
                    out.collect((*key, start, sum, ctx.current_watermark()));
                    ctx.output(&side_tag, sum);
                    Ok(())
                },
            ));
        let (main_sink, main) = StampedSink::new();
        let (side_sink, side) = StampedSink::new();
        result.add_sink(main_sink);
        result.get_side_output(&tag).add_sink(side_sink);
        env.execute("window context").unwrap();
        (stamped(&main), stamped(&side))
    });
    assert_eq!(
        main,
        vec![
            ((1, 0, 1, 12), Some(9)),
            ((1, 0, 5, 12), Some(9)),
            ((1, 10, 2, i64::MAX), Some(19)),
        ]
    );
    assert_eq!(side, vec![(1, Some(9)), (5, Some(9)), (2, Some(19))]);
}

/// `(word, timestamp, value)`: a string key the selector clones.
type Word = (String, i64, i64);

/// Seven words in turn, 10 ms apart, in four blocks a second apart.
fn words() -> Vec<Word> {
    (0..240)
        .map(|i| (format!("w{}", i % 7), i * 10 + (i / 60) * 1_000, i))
        .collect()
}

/// Per word and window: `(word, earliest timestamp, sum of values)`, sorted; `window_of`
/// gives the start of each window of a word's timestamp, in the word's time order (its
/// previous timestamp given too, for sessions).
fn word_sums(window_of: impl Fn(i64, Option<i64>, Option<i64>) -> Vec<i64>) -> Vec<Word> {
    let mut windows: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    let mut last: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (word, timestamp, value) in words() {
        let previous = last.get(&word).copied();
        let starts = window_of(
            timestamp,
            previous.map(|(t, _)| t),
            previous.map(|(_, s)| s),
        );
        for &start in &starts {
            let entry = windows
                .entry((word.clone(), start))
                .or_insert((timestamp, 0));
            entry.0 = entry.0.min(timestamp);
            entry.1 += value;
        }
        last.insert(word, (timestamp, starts[0]));
    }
    let mut sums: Vec<Word> = windows
        .into_iter()
        .map(|((word, _), (first, sum))| (word, first, sum))
        .collect();
    sums.sort();
    sums
}

/// The windows of `assigner` over [`words`] keyed by a cloned word, summed by `reduce`.
fn window_words<A>(backend: &str, parallelism: u32, assigner: A) -> Vec<Word>
where
    A: WindowAssigner<Word, TimeWindow> + Sync,
{
    let mut config = Configuration::new();
    config.set_string("state.backend.type", backend);
    // Small batches: at parallelism 2 the exchange sends full ones, with the keys the
    // selector built, while the input lasts (the heap's slicing operator uses them).
    config.set_string("taskmanager.network.batch-size", "8");
    let env = common::env_with(config, parallelism);
    let mut got = bounded(move || {
        env.from_elements(words())
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|w: &Word, _| w.1),
            )
            .key_by(|w: &Word| w.0.clone())
            .window(assigner)
            .reduce(|a: Word, b: Word| (a.0, a.1.min(b.1), a.2 + b.2))
            .execute_and_collect("string keys")
            .unwrap()
    });
    got.sort();
    got
}

/// Keys that the selector builds (cloned strings, which a keyed exchange carries with the
/// records) window like the reference at parallelism 1 and 2, on every backend (the heap's
/// slicing operator and the general one) and with merging windows.
#[test]
fn string_keys_built_by_the_selector_window_like_the_reference() {
    let tumbling = word_sums(|t, _, _| vec![t - t.rem_euclid(100)]);
    let sliding = word_sums(|t, _, _| {
        let last = t - t.rem_euclid(50);
        vec![last - 50, last]
    });
    // A word's events are 70 ms apart within a block: with a 100 ms gap a session is one
    // word's part of one block (named here by its first timestamp).
    let sessions = word_sums(|t, previous, start| match (previous, start) {
        (Some(p), Some(s)) if t < p + 100 => vec![s],
        _ => vec![t],
    });
    for backend in common::state_backends() {
        for parallelism in [1, 2] {
            let context = format!("{backend} at p={parallelism}");
            let got = window_words(backend, parallelism, TumblingEventTimeWindows::of(ms(100)));
            assert_eq!(got, tumbling, "tumbling, {context}");
            let got = window_words(
                backend,
                parallelism,
                SlidingEventTimeWindows::of(ms(100), ms(50)),
            );
            assert_eq!(got, sliding, "sliding, {context}");
            let got = window_words(
                backend,
                parallelism,
                EventTimeSessionWindows::with_gap(ms(100)),
            );
            assert_eq!(got, sessions, "sessions, {context}");
        }
    }
}
