//! Session windows against a reference of Flink's merging rule (windows `[t, t + gap)` merge
//! when they overlap or touch): static and dynamic gaps, out-of-order elements bridging two
//! sessions, and a count trigger whose state merges with the windows.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use common::event_time::*;
use common::windows::*;
use eddy_api::prelude::*;

type Script = Vec<Step<Event>>;

#[test]
fn session_windows_merge_when_an_out_of_order_element_bridges_two_sessions() {
    let out = bounded(|| {
        let env = common::env(2);
        let steps = vec![
            elem((1, 0), 0),
            elem((1, 5), 5), // session [0, 15)
            elem((1, 24), 24),
            elem((1, 26), 26), // session [24, 36)
            elem((2, 3), 3),   // session [3, 13)
            wm(13),            // fires key 2's session only
            elem((1, 14), 14), // [14, 24) overlaps [0, 15) and touches [24, 36): one session
            elem((2, 30), 30),
            wm(40),
            elem((1, 50), 50),
            elem((1, 61), 61), // [50, 60) and [61, 71) stay apart
            elem((1, 71), 71), // [71, 81) touches [61, 71): merged
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(Duration::from_millis(10)))
            .process(WindowContents);
        collect_stamped_sorted(&windows, "sessions")
    });
    assert_eq!(
        out,
        vec![
            ((1, 0, 36, vec![0, 5, 14, 24, 26]), Some(35)),
            ((1, 50, 60, vec![50]), Some(59)),
            ((1, 61, 81, vec![61, 71]), Some(80)),
            ((2, 3, 13, vec![3]), Some(12)),
            ((2, 30, 40, vec![30]), Some(39)),
        ]
    );
}

/// Reference sessions: windows `[ts, ts + gap(value))` per key, merged while they overlap or
/// touch (Flink's `TimeWindow.intersects`).
fn reference_sessions(
    events: &[(u32, i64, i64)],
    gap: impl Fn(i64) -> i64,
) -> Vec<(Contents, Option<i64>)> {
    let mut per_key: BTreeMap<u32, Vec<(i64, i64, i64)>> = BTreeMap::new();
    for &(key, value, ts) in events {
        per_key
            .entry(key)
            .or_default()
            .push((ts, ts + gap(value), value));
    }
    let mut out = Vec::new();
    for (key, mut windows) in per_key {
        windows.sort();
        let mut current: Option<(i64, i64, Vec<i64>)> = None;
        for (start, end, value) in windows {
            match &mut current {
                Some((_, cur_end, values)) if start <= *cur_end => {
                    *cur_end = (*cur_end).max(end);
                    values.push(value);
                }
                _ => {
                    if let Some((s, e, mut values)) = current.take() {
                        values.sort();
                        out.push(((key, s, e, values), Some(e - 1)));
                    }
                    current = Some((start, end, vec![value]));
                }
            }
        }
        if let Some((s, e, mut values)) = current {
            values.sort();
            out.push(((key, s, e, values), Some(e - 1)));
        }
    }
    out.sort();
    out
}

/// Random events; after each one a watermark low enough that no session an upcoming element
/// could join has fired yet (`min(upcoming) - max_gap - 1`).
fn generated_sessions(seed: u64, max_gap: i64) -> (Vec<(u32, i64, i64)>, Script) {
    let mut rng = Lcg::new(seed);
    let events: Vec<(u32, i64, i64)> = (0..300)
        .map(|i| {
            let ts = rng.range(-500, 2_500);
            (rng.below(5) as u32, ts * 7 + i, ts)
        })
        .collect();
    let mut steps = Vec::new();
    for (i, &(key, value, ts)) in events.iter().enumerate() {
        steps.push(elem((key, value), ts));
        if let Some(min_upcoming) = events[i + 1..].iter().map(|e| e.2).min() {
            steps.push(wm(min_upcoming - max_gap - 1));
        }
    }
    (events, steps)
}

#[test]
fn session_windows_with_a_static_gap_match_the_reference() {
    let (events, steps) = generated_sessions(7, 10);
    let out = bounded(move || {
        let env = common::env(3);
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(Duration::from_millis(10)))
            .process(WindowContents);
        collect_stamped_sorted(&windows, "static sessions")
    });
    assert_eq!(out, reference_sessions(&events, |_| 10));
}

#[test]
fn session_windows_with_a_dynamic_gap_match_the_reference() {
    // The gap depends on the element: 5, 10, 15 or 20 ms.
    let gap = |value: i64| 5 + value.rem_euclid(4) * 5;
    let (events, steps) = generated_sessions(11, 20);
    let out = bounded(move || {
        let env = common::env(2);
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_dynamic_gap(
                move |e: &Event| gap(e.1),
            ))
            .process(WindowContents);
        collect_stamped_sorted(&windows, "dynamic sessions")
    });
    assert_eq!(out, reference_sessions(&events, gap));
}

#[test]
fn session_windows_with_a_count_trigger_merge_the_trigger_state() {
    let out = bounded(|| {
        let env = common::env(1);
        let steps = elements(
            [
                (0, 0),
                (5, 5),
                (30, 30),
                (32, 32),
                (14, 14),
                (22, 22),
                (100, 100),
                (101, 101),
            ]
            .into_iter()
            .map(|(v, ts)| ((1u32, v), ts)),
        );
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(Duration::from_millis(10)))
            .trigger(CountTrigger::of(3))
            .process(WindowContents);
        collect_stamped(&windows, "session count trigger")
    });
    // 0, 5 → [0, 15) count 2; 30, 32 → [30, 42) count 2; 14 → [0, 24): 2 + 1 = 3, fires and
    // resets the count; 22 bridges [0, 24) (count 0) and [30, 42) (count 2): 3, fires again.
    // 100, 101 reach 2 only; the end of input fires nothing (a count trigger ignores time).
    assert_eq!(
        out,
        vec![
            ((1, 0, 24, vec![0, 5, 14]), Some(23)),
            ((1, 0, 42, vec![0, 5, 14, 22, 30, 32]), Some(41)),
        ]
    );
}

#[test]
fn a_continuous_trigger_on_sessions_keeps_the_earliest_fire_time_of_merged_windows() {
    let out = bounded(|| {
        let env = common::env(1);
        let steps = vec![
            elem((1, 1), 0),  // [0, 10): first fire time 5
            elem((1, 2), 20), // [20, 30): first fire time 25
            elem((1, 4), 8),  // merges into [0, 18), keeping fire time 5
            wm(6),            // fires [0, 18) at 5, next at 10
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(Duration::from_millis(10)))
            .trigger(ContinuousEventTimeTrigger::of(Duration::from_millis(5)))
            .reduce(|a: Event, b: Event| (a.0, a.1 + b.1));
        collect_stamped(&windows, "continuous sessions")
    });
    // [0, 18) fires at 5, 10, 15 and its end 17; [20, 30) at 25 and its end 29. The timer the
    // replaced window [0, 10) left at its end (9) finds no window and emits nothing.
    let first = ((1, 5), Some(17));
    let second = ((1, 2), Some(29));
    assert_eq!(out, vec![first, first, first, first, second, second]);
}
