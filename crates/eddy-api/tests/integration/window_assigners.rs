//! Window assigners against reference implementations of Flink's assignment rules: tumbling
//! and sliding windows (offsets, negative timestamps, size not a multiple of the slide),
//! global windows, count windows and `window_all`. Session windows are in `window_sessions.rs`.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use common::event_time::*;
use common::windows::*;
use eddy_api::prelude::*;

/// `(key, values)` of a global window.
type GlobalOut = (u32, Vec<i64>);
/// `(start, end, values)` of a window over the whole stream.
type AllOut = (i64, i64, Vec<i64>);
/// Emits a global window's key and values in arrival order.
#[derive(Clone)]
struct GlobalContents;

impl ProcessWindowFunction<Event, (u32, Vec<i64>), u32, GlobalWindow> for GlobalContents {
    fn process(
        &mut self,
        key: &u32,
        _ctx: &mut WindowContext<'_, u32, GlobalWindow>,
        elements: Elements<'_, Event>,
        out: &mut Collector<'_, (u32, Vec<i64>)>,
    ) -> FnResult<()> {
        out.collect((*key, elements.map(|e| e.1).collect()));
        Ok(())
    }
}

/// Timestamps around zero, window edges and far from zero; keys 0..3, value = timestamp.
fn edge_events() -> Vec<(u32, i64, i64)> {
    let timestamps = [
        -20_001, -10_001, -10_000, -9_999, -2_501, -11, -10, -9, -4, -3, -1, 0, 1, 2, 3, 6, 7, 9,
        10, 12, 13, 2_499, 2_500, 9_999, 10_000, 12_345, 1_000_003,
    ];
    timestamps
        .iter()
        .enumerate()
        .map(|(i, &ts)| ((i % 3) as u32, ts, ts))
        .collect()
}

#[test]
fn the_reference_start_formula_is_flinks() {
    assert_eq!(window_start(-1, 0, 10), -10);
    assert_eq!(window_start(-10, 0, 10), -10);
    assert_eq!(window_start(-11, 0, 10), -20);
    assert_eq!(window_start(2, 3, 10), -7);
    assert_eq!(window_start(2, -3, 10), -3);
    assert_eq!(window_start(-10_000, 0, 10_000), -10_000);
    assert_eq!(
        sliding_windows(0, 10_000, 3_000, 0),
        vec![
            (0, 10_000),
            (-3_000, 7_000),
            (-6_000, 4_000),
            (-9_000, 1_000)
        ]
    );
    assert_eq!(sliding_windows(-1, 10, 5, 0), vec![(-5, 5), (-10, 0)]);
}

#[test]
fn tumbling_windows_with_offsets_and_negative_timestamps() {
    let events = edge_events();
    for (size, offset) in [
        (10, 0),
        (10, 3),
        (10, -3),
        (10_000, 0),
        (10_000, -2_500),
        (10_000, 7_000),
    ] {
        let input = events.clone();
        let out = bounded(move || {
            let env = common::env(2);
            let windows = scripted(&env, script(&input))
                .key_by(|e: &Event| e.0)
                .window(
                    TumblingEventTimeWindows::of(Duration::from_millis(size as u64))
                        .with_offset(offset),
                )
                .process(WindowContents);
            collect_stamped_sorted(&windows, "tumbling")
        });
        let expected = reference(&events, |ts| vec![tumbling_window(ts, size, offset)]);
        assert_eq!(out, expected, "size {size}, offset {offset}");
    }
}

#[test]
fn sliding_windows_including_sizes_that_are_not_multiples_of_the_slide() {
    let events = edge_events();
    for (size, slide, offset) in [
        (10_000, 3_000, 0),
        (10_000, 3_000, 1_000),
        (10, 5, 0),
        (10, 3, -2),
        (7, 7, 0),
    ] {
        let input = events.clone();
        let (contents, sums) = bounded(move || {
            let env = common::env(2);
            let keyed = scripted(&env, script(&input)).key_by(|e: &Event| e.0);
            let assigner = SlidingEventTimeWindows::of(
                Duration::from_millis(size as u64),
                Duration::from_millis(slide as u64),
            )
            .with_offset(offset);
            let (contents_sink, contents) = StampedSink::new();
            let (sums_sink, sums) = StampedSink::new();
            keyed
                .window(assigner)
                .process(WindowContents)
                .add_sink(contents_sink);
            // Incremental aggregation over the same windows.
            keyed
                .window(assigner)
                .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
                .add_sink(sums_sink);
            env.execute("sliding").unwrap();
            (stamped_sorted(&contents), stamped_sorted(&sums))
        });
        let expected = reference(&events, |ts| sliding_windows(ts, size, slide, offset));
        assert_eq!(
            contents, expected,
            "size {size}, slide {slide}, offset {offset}"
        );
        let mut expected_sums: Vec<(Event, Option<i64>)> = expected
            .iter()
            .map(|((key, _, _, values), ts)| ((*key, values.iter().sum()), *ts))
            .collect();
        expected_sums.sort();
        assert_eq!(
            sums, expected_sums,
            "size {size}, slide {slide}, offset {offset}"
        );
    }
}

#[test]
fn global_windows_fire_only_by_their_trigger() {
    let (plain, counted) = bounded(|| {
        let env = common::env(2);
        let steps = elements((1..=7).flat_map(|v| [((1u32, v), v), ((2u32, v * 10), v)]));
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let (plain_sink, plain) = StampedSink::new();
        let (counted_sink, counted) = StampedSink::new();
        // Default trigger: never fires, not even at the end of the input.
        keyed
            .window(GlobalWindows::create())
            .process(GlobalContents)
            .add_sink(plain_sink);
        // A count trigger without purging: every third element, everything so far.
        keyed
            .window(GlobalWindows::create())
            .trigger(CountTrigger::of(3))
            .process(GlobalContents)
            .add_sink(counted_sink);
        env.execute("global windows").unwrap();
        (stamped_sorted(&plain), stamped_sorted(&counted))
    });
    assert_eq!(plain, vec![]);
    let max = Some(i64::MAX); // a global window's max timestamp
    assert_eq!(
        counted,
        vec![
            ((1, vec![1, 2, 3]), max),
            ((1, vec![1, 2, 3, 4, 5, 6]), max),
            ((2, vec![10, 20, 30]), max),
            ((2, vec![10, 20, 30, 40, 50, 60]), max),
        ]
    );
}

/// Reference count windows per key: every `slide` elements, the last `size` elements (count
/// windows evict permanently); tumbling when `size == slide`.
fn reference_count_windows(
    events: &[(u32, i64, i64)],
    size: usize,
    slide: usize,
) -> Vec<(GlobalOut, Option<i64>)> {
    let mut buffers: BTreeMap<u32, (Vec<i64>, usize)> = BTreeMap::new();
    let mut out = Vec::new();
    for &(key, value, _) in events {
        let (buffer, count) = buffers.entry(key).or_default();
        buffer.push(value);
        *count += 1;
        if *count == slide {
            *count = 0;
            if buffer.len() > size {
                buffer.drain(..buffer.len() - size);
            }
            out.push(((key, buffer.clone()), Some(i64::MAX)));
            if size == slide {
                buffer.clear();
            }
        }
    }
    out.sort();
    out
}

#[test]
fn count_windows_tumbling_and_sliding_match_the_reference() {
    let mut rng = Lcg::new(3);
    let events: Vec<(u32, i64, i64)> = (0..200)
        .map(|i| (rng.below(4) as u32, i, rng.range(0, 1_000)))
        .collect();
    for (size, slide) in [(3, 3), (4, 2), (5, 3), (2, 5)] {
        let input = events.clone();
        let out = bounded(move || {
            let env = common::env(2);
            let keyed = scripted(&env, script(&input)).key_by(|e: &Event| e.0);
            let windows = if size == slide {
                keyed.count_window(size as u64).process(GlobalContents)
            } else {
                keyed
                    .count_window_sliding(size as u64, slide as u64)
                    .process(GlobalContents)
            };
            collect_stamped_sorted(&windows, "count windows")
        });
        assert_eq!(
            out,
            reference_count_windows(&events, size, slide),
            "size {size}, slide {slide}"
        );
    }
    // A hand-checked case of the reference itself.
    let five: Vec<(u32, i64, i64)> = (1..=9).map(|v| (0, v, 0)).collect();
    let firings: Vec<Vec<i64>> = reference_count_windows(&five, 4, 2)
        .into_iter()
        .map(|((_, v), _)| v)
        .collect();
    assert_eq!(
        firings,
        vec![
            vec![1, 2],
            vec![1, 2, 3, 4],
            vec![3, 4, 5, 6],
            vec![5, 6, 7, 8]
        ]
    );
}

#[test]
fn window_all_groups_the_whole_stream() {
    let events = edge_events();
    let input = events.clone();
    let (windows, counted, sliding) = bounded(move || {
        let env = common::env(3);
        let stream = scripted(&env, script(&input));
        let (windows_sink, windows) = StampedSink::new();
        let (counted_sink, counted) = StampedSink::new();
        let (sliding_sink, sliding) = StampedSink::new();
        stream
            .window_all(TumblingEventTimeWindows::of(Duration::from_millis(10)))
            .process(process_window_fn(
                |_key: &(),
                 ctx: &mut WindowContext<'_, _, TimeWindow>,
                 elements: Elements<'_, Event>,
                 out: &mut Collector<'_, (i64, i64, Vec<i64>)>| {
                    let mut values: Vec<i64> = elements.map(|e| e.1).collect();
                    values.sort();
                    out.collect((ctx.window().start(), ctx.window().end(), values));
                    Ok(())
                },
            ))
            .add_sink(windows_sink);
        stream
            .count_window_all(4)
            .reduce(|a: Event, b: Event| (a.0.max(b.0), a.1 + b.1))
            .add_sink(counted_sink);
        stream
            .count_window_all_sliding(3, 2)
            .process(process_window_fn(
                |_key: &(),
                 _ctx: &mut WindowContext<'_, _, GlobalWindow>,
                 elements: Elements<'_, Event>,
                 out: &mut Collector<'_, GlobalOut>| {
                    out.collect((0, elements.map(|e| e.1).collect()));
                    Ok(())
                },
            ))
            .add_sink(sliding_sink);
        env.execute("window all").unwrap();
        (
            stamped_sorted(&windows),
            stamped_sorted(&counted),
            stamped_sorted(&sliding),
        )
    });
    // Every key together: the keyed reference with one key.
    let as_one: Vec<(u32, i64, i64)> = events.iter().map(|&(_, v, ts)| (0, v, ts)).collect();
    let expected: Vec<(AllOut, Option<i64>)> =
        reference(&as_one, |ts| vec![tumbling_window(ts, 10, 0)])
            .into_iter()
            .map(|((_, start, end, values), ts)| ((start, end, values), ts))
            .collect();
    assert_eq!(windows, expected);
    // Count windows of 4 over the whole stream in arrival order; the rest never fires.
    let mut expected_counts: Vec<(Event, Option<i64>)> = events
        .chunks_exact(4)
        .map(|chunk| {
            let key = chunk.iter().map(|e| e.0).max().unwrap();
            ((key, chunk.iter().map(|e| e.1).sum()), Some(i64::MAX))
        })
        .collect();
    expected_counts.sort();
    assert_eq!(counted, expected_counts);
    // Sliding count windows over the whole stream: every 2 elements, the last 3.
    assert_eq!(sliding, reference_count_windows(&as_one, 3, 2));
}
