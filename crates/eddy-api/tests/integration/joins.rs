//! Joins against nested-loop references: window joins and co-groups (inner per key and
//! window, results stamped with the window's max timestamp) and interval joins (inclusive and
//! exclusive bounds, negative bounds, results stamped with the later timestamp, late elements
//! dropped).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
/// `(key, value, timestamp)`.
type Timed = (u32, i64, i64);
type Script = Vec<Step<Event>>;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Random events of keys `0..keys`, value `base + i`, and a script whose watermarks stay
/// below every upcoming timestamp of the same script (so no element is ever late, whatever the
/// other input does).
fn generated(seed: u64, keys: u64, base: i64, n: i64) -> (Vec<Timed>, Script) {
    let mut rng = Lcg::new(seed);
    let events: Vec<Timed> = (0..n)
        .map(|i| (rng.below(keys) as u32, base + i, rng.range(-60, 240)))
        .collect();
    let mut steps = Vec::new();
    for (i, &(key, value, ts)) in events.iter().enumerate() {
        steps.push(elem((key, value), ts));
        if i % 7 == 6 {
            if let Some(min) = events[i + 1..].iter().map(|e| e.2).min() {
                steps.push(wm(min - 1));
            }
        }
    }
    (events, steps)
}

/// Reference window join: every pair of equal keys sharing a window, stamped with the window's
/// max timestamp (a pair sharing two sliding windows appears twice).
fn reference_join(
    left: &[Timed],
    right: &[Timed],
    assign: impl Fn(i64) -> Vec<(i64, i64)>,
) -> Vec<((u32, i64, i64), Option<i64>)> {
    let mut out = Vec::new();
    for &(lk, lv, lt) in left {
        for &(rk, rv, rt) in right {
            if lk != rk {
                continue;
            }
            let right_windows = assign(rt);
            for window in assign(lt) {
                if right_windows.contains(&window) {
                    out.push(((lk, lv, rv), Some(window.1 - 1)));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn window_join_on_tumbling_and_sliding_windows() {
    let (left, left_steps) = generated(1, 4, 0, 60);
    let (right, right_steps) = generated(2, 5, 1_000, 60);
    let (tumbling, sliding) = bounded(move || {
        let env = common::env(2);
        let a = scripted(&env, left_steps);
        let b = scripted(&env, right_steps);
        let (tumbling_sink, tumbling) = StampedSink::new();
        let (sliding_sink, sliding) = StampedSink::new();
        a.join(&b)
            .where_key(|l: &Event| l.0)
            .equal_to(|r: &Event| r.0)
            .window(TumblingEventTimeWindows::of(ms(50)))
            .apply(|l: &Event, r: &Event| (l.0, l.1, r.1))
            .add_sink(tumbling_sink);
        a.join(&b)
            .where_key(|l: &Event| l.0)
            .equal_to(|r: &Event| r.0)
            .window(SlidingEventTimeWindows::of(ms(50), ms(20)))
            .flat_apply(
                |l: &Event, r: &Event, out: &mut Collector<'_, (u32, i64, i64)>| {
                    out.collect((l.0, l.1, r.1))
                },
            )
            .add_sink(sliding_sink);
        env.execute("window joins").unwrap();
        (stamped_sorted(&tumbling), stamped_sorted(&sliding))
    });
    let expected = reference_join(&left, &right, |ts| vec![tumbling_window(ts, 50, 0)]);
    assert!(!expected.is_empty());
    assert_eq!(tumbling, expected);
    let expected = reference_join(&left, &right, |ts| sliding_windows(ts, 50, 20, 0));
    assert_eq!(sliding, expected);
}

/// `(key, left values sorted, right values sorted)`.
type Grouped = (u32, Vec<i64>, Vec<i64>);

#[test]
fn co_group_calls_the_function_for_keys_present_on_one_side_only() {
    let (left, left_steps) = generated(3, 6, 0, 40);
    let (right, right_steps) = generated(4, 6, 1_000, 40);
    // Keys only one side has: 7 on the left, 8 on the right.
    let left_only: Vec<Timed> = vec![(7, 500, 10), (7, 501, 20), (7, 502, 130)];
    let right_only: Vec<Timed> = vec![(8, 1_500, 15)];
    let mut left_steps = left_steps;
    left_steps.extend(elements(left_only.iter().map(|&(k, v, t)| ((k, v), t))));
    let mut right_steps = right_steps;
    right_steps.extend(elements(right_only.iter().map(|&(k, v, t)| ((k, v), t))));
    let out = bounded(move || {
        let env = common::env(2);
        let a = scripted(&env, left_steps);
        let b = scripted(&env, right_steps);
        let grouped = a
            .co_group(&b)
            .where_key(|l: &Event| l.0)
            .equal_to(|r: &Event| r.0)
            .window(TumblingEventTimeWindows::of(ms(100)))
            .apply(
                |l: &[Event], r: &[Event], out: &mut Collector<'_, Grouped>| -> FnResult<()> {
                    let key = l
                        .first()
                        .or(r.first())
                        .map(|e| e.0)
                        .ok_or("empty co-group")?;
                    let mut lv: Vec<i64> = l.iter().map(|e| e.1).collect();
                    let mut rv: Vec<i64> = r.iter().map(|e| e.1).collect();
                    lv.sort();
                    rv.sort();
                    out.collect((key, lv, rv));
                    Ok(())
                },
            );
        collect_stamped_sorted(&grouped, "co-group")
    });
    // Reference: one group per key and window with any element on either side.
    let mut groups: BTreeMap<(u32, i64), (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    let all_left = left.iter().chain(left_only.iter());
    for &(k, v, t) in all_left {
        let (_, end) = tumbling_window(t, 100, 0);
        groups.entry((k, end)).or_default().0.push(v);
    }
    for &(k, v, t) in right.iter().chain(right_only.iter()) {
        let (_, end) = tumbling_window(t, 100, 0);
        groups.entry((k, end)).or_default().1.push(v);
    }
    let mut expected: Vec<(Grouped, Option<i64>)> = groups
        .into_iter()
        .map(|((k, end), (mut l, mut r))| {
            l.sort();
            r.sort();
            ((k, l, r), Some(end - 1))
        })
        .collect();
    expected.sort();
    assert!(expected
        .iter()
        .any(|((k, _, r), _)| *k == 7 && r.is_empty()));
    assert!(expected
        .iter()
        .any(|((k, l, _), _)| *k == 8 && l.is_empty()));
    assert_eq!(out, expected);
}

/// `(key, left value, right value, ctx.left_timestamp(), ctx.right_timestamp())`.
type Joined = (u32, i64, i64, i64, i64);

/// Reference interval join: left at `lt` with right at `rt` when `lt + lower <= rt <= lt +
/// upper` (each bound moved inwards by one when exclusive), stamped `max(lt, rt)`.
fn reference_interval(
    left: &[Timed],
    right: &[Timed],
    (lower, upper, lower_exclusive, upper_exclusive): (i64, i64, bool, bool),
) -> Vec<(Joined, Option<i64>)> {
    let mut out = Vec::new();
    for &(lk, lv, lt) in left {
        for &(rk, rv, rt) in right {
            let above = if lower_exclusive {
                rt > lt + lower
            } else {
                rt >= lt + lower
            };
            let below = if upper_exclusive {
                rt < lt + upper
            } else {
                rt <= lt + upper
            };
            if lk == rk && above && below {
                out.push(((lk, lv, rv, lt, rt), Some(lt.max(rt))));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn interval_join_with_inclusive_exclusive_and_negative_bounds() {
    let (left, left_steps) = generated(5, 3, 0, 80);
    let (right, right_steps) = generated(6, 3, 1_000, 80);
    let cases = [
        (-2, 3, false, false),
        (-2, 3, true, false),
        (-2, 3, false, true),
        (-2, 3, true, true),
        (0, 0, false, false),
        (-7, -1, false, false),
        (1, 10, true, false),
    ];
    for case in cases {
        let (lower, upper, lower_exclusive, upper_exclusive) = case;
        let (ls, rs) = (left_steps.clone(), right_steps.clone());
        let out = bounded(move || {
            let env = common::env(2);
            let a = scripted(&env, ls).key_by(|l: &Event| l.0);
            let b = scripted(&env, rs).key_by(|r: &Event| r.0);
            let mut join = a.interval_join(&b).between(lower, upper);
            if lower_exclusive {
                join = join.lower_bound_exclusive();
            }
            if upper_exclusive {
                join = join.upper_bound_exclusive();
            }
            let joined = join.process(
                |l: &Event,
                 r: &Event,
                 ctx: &ProcessJoinContext,
                 out: &mut Collector<'_, Joined>|
                 -> FnResult<()> {
                    out.collect((l.0, l.1, r.1, ctx.left_timestamp(), ctx.right_timestamp()));
                    Ok(())
                },
            );
            collect_stamped_sorted(&joined, "interval join")
        });
        let expected = reference_interval(&left, &right, case);
        assert!(!expected.is_empty(), "{case:?}");
        assert_eq!(out, expected, "{case:?}");
    }
}

#[test]
fn interval_join_drops_elements_later_than_the_watermark() {
    // Both inputs pass watermark 50, then a probe pair; once the probe pair joined, the join
    // operator's watermark is at least 50 and each input sends an element older than that.
    let probe_joined = Arc::new(AtomicBool::new(false));
    let left: Vec<Step<Event>> = vec![
        elem((1, 10), 10),
        wm(50),
        elem((1, 100), 100), // probe
        wait_for(&probe_joined),
        elem((1, 40), 40), // late: would join right 101 (40 - 5 <= 101 <= 40 + 100)
        elem((1, 60), 60),
    ];
    let right: Vec<Step<Event>> = vec![
        elem((1, 11), 11),
        elem((1, 41), 41),
        wm(50),
        elem((1, 101), 101), // probe
        wait_for(&probe_joined),
        elem((1, 42), 42), // late: would join left 10 (10 - 5 <= 42 <= 10 + 100)
        elem((1, 61), 61),
    ];
    let flag = probe_joined.clone();
    let out = bounded(move || {
        let env = common::env(1);
        let a = scripted(&env, left).key_by(|l: &Event| l.0);
        let b = scripted(&env, right).key_by(|r: &Event| r.0);
        let joined = a.interval_join(&b).between(-5, 100).process(
            move |l: &Event,
                  r: &Event,
                  _ctx: &ProcessJoinContext,
                  out: &mut Collector<'_, (i64, i64)>|
                  -> FnResult<()> {
                if (l.1, r.1) == (100, 101) {
                    flag.store(true, Ordering::SeqCst);
                }
                out.collect((l.1, r.1));
                Ok(())
            },
        );
        collect_stamped_sorted(&joined, "late interval join")
    });
    // The nested loop over the elements that were not late.
    let left_kept = [10, 100, 60];
    let right_kept = [11, 41, 101, 61];
    let mut expected = Vec::new();
    for l in left_kept {
        for r in right_kept {
            if l - 5 <= r && r <= l + 100 {
                expected.push(((l, r), Some(l.max(r))));
            }
        }
    }
    expected.sort();
    let pairs: BTreeSet<(i64, i64)> = out.iter().map(|(p, _)| *p).collect();
    assert!(!pairs.contains(&(40, 101)), "the late left element joined");
    assert!(!pairs.contains(&(10, 42)), "the late right element joined");
    assert_eq!(out, expected);
}
