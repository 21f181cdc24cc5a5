//! Two-input keyed operators through snapshot → restore → rescale: the interval join (both
//! buffers and their cleanup timers), the keyed co-process function (state and timers) and
//! the keyed broadcast process function (keyed state and broadcast state), each against a
//! plain reference over the same input.

use std::collections::BTreeMap;

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, StreamRecord};
use eddy_functions::{
    BroadcastContext, BroadcastProcessFunction, Collector, KeyedBroadcastContext,
    KeyedBroadcastProcessFunction, KeyedCoProcessFunction, KeyedContext,
    KeyedReadOnlyBroadcastContext, ProcessJoinContext, ReadOnlyBroadcastContext,
};
use eddy_runtime::operators::{
    BroadcastProcessLogic, IntervalJoinLogic, KeyedBroadcastProcessLogic, KeyedCoProcessLogic,
};
use eddy_runtime::testing::{EitherInput, HarnessInput, TwoInputAdapter};
use eddy_state::{BroadcastStateDeclaration, MapStateDescriptor, ValueStateDescriptor};

use crate::common::{check_every_interruption, check_interruptions};

/// A record of either side: (key, id).
type Pair = (u32, u64);
type Input = EitherInput<Pair, Pair>;

fn key_of(input: &Input) -> u32 {
    match input {
        EitherInput::First((key, _)) | EitherInput::Second((key, _)) => *key,
    }
}

/// Both sides over 11 keys (three records in a row share one), timestamps rising with jitter (never behind the watermark), a
/// watermark every 30 records.
fn two_sided_inputs() -> Vec<HarnessInput<Input>> {
    let mut inputs = Vec::new();
    let mut max_timestamp = 0;
    for i in 0..1_000u64 {
        let timestamp = (i * 3) as i64 + (i * 7 % 13) as i64;
        max_timestamp = max_timestamp.max(timestamp);
        let pair = ((i / 3 % 11) as u32, i);
        let input = if i % 3 == 0 {
            EitherInput::Second(pair)
        } else {
            EitherInput::First(pair)
        };
        inputs.push(HarnessInput::Record(input, timestamp));
        if i % 30 == 29 {
            inputs.push(HarnessInput::Watermark(max_timestamp - 40));
        }
    }
    inputs.push(HarnessInput::Watermark(i64::MAX));
    inputs
}

#[test]
fn interval_join_buffers_and_cleanup_timers_survive_snapshot_restore_and_rescale() {
    let inputs = two_sided_inputs();
    let (lower, upper) = (-20, 30);
    // The reference: every pair of a left and a right record of one key with
    // left + lower <= right <= left + upper (no record arrives behind the watermark).
    let records: Vec<(bool, Pair, i64)> = inputs
        .iter()
        .filter_map(|input| match input {
            HarnessInput::Record(EitherInput::First(p), t) => Some((true, *p, *t)),
            HarnessInput::Record(EitherInput::Second(p), t) => Some((false, *p, *t)),
            _ => None,
        })
        .collect();
    let mut want = Vec::new();
    for &(is_left, (key, left_id), lt) in &records {
        if !is_left {
            continue;
        }
        for &(is_right, (right_key, right_id), rt) in &records {
            if !is_right && right_key == key && lt + lower <= rt && rt <= lt + upper {
                want.push(StreamRecord {
                    value: (key, left_id, right_id),
                    timestamp: lt.max(rt),
                });
            }
        }
    }
    assert!(
        want.len() > 500,
        "the input joins many pairs ({})",
        want.len()
    );
    check_every_interruption(&inputs, &[0, 400, 900], key_of, &want, |backend, clock| {
        let join = |left: &Pair,
                    right: &Pair,
                    _: &ProcessJoinContext,
                    out: &mut Collector<'_, (u32, u64, u64)>| {
            out.collect((left.0, left.1, right.1));
            Ok(())
        };
        TwoInputAdapter::new(IntervalJoinLogic::new(
            |p: &Pair| p.0,
            |p: &Pair| p.0,
            join,
            (lower, upper),
            clock,
            backend.config(),
        ))
    });
}

/// Counts a key's records of both inputs in a `ValueState`, emitting `(key, side, count)`
/// per record, and `(key, 2, count)` from an event-time timer at the end of each record's
/// 100 ms period.
#[derive(Clone)]
struct CountBothSides {
    count: ValueStateDescriptor<u64>,
}

impl CountBothSides {
    fn count(
        &self,
        ctx: &mut KeyedContext<'_, u32>,
        side: u8,
        out: &mut Collector<'_, (u32, u8, u64)>,
    ) -> FnResult<()> {
        let mut count = ctx.state().value(&self.count)?;
        let now = count.value()?.unwrap_or(0) + 1;
        count.update(now)?;
        let timestamp = ctx.timestamp().ok_or("records carry timestamps")?;
        ctx.timer_service()
            .register_event_time_timer((timestamp / 100 + 1) * 100);
        out.collect((*ctx.current_key(), side, now));
        Ok(())
    }
}

impl KeyedCoProcessFunction<u32, Pair, Pair, (u32, u8, u64)> for CountBothSides {
    fn process_element1(
        &mut self,
        _: Pair,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, u8, u64)>,
    ) -> FnResult<()> {
        self.count(ctx, 0, out)
    }

    fn process_element2(
        &mut self,
        _: Pair,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, u8, u64)>,
    ) -> FnResult<()> {
        self.count(ctx, 1, out)
    }

    fn on_timer(
        &mut self,
        _: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, u8, u64)>,
    ) -> FnResult<()> {
        let count = ctx.state().value(&self.count)?.value()?.unwrap_or(0);
        out.collect((*ctx.current_key(), 2, count));
        Ok(())
    }
}

#[test]
fn keyed_co_process_state_and_timers_survive_snapshot_restore_and_rescale() {
    let inputs = two_sided_inputs();
    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    let mut timers: BTreeMap<(i64, u32), ()> = BTreeMap::new();
    let mut want = Vec::new();
    for input in &inputs {
        match input {
            HarnessInput::Record(record, t) => {
                let key = key_of(record);
                let side = u8::from(matches!(record, EitherInput::Second(_)));
                let count = counts.entry(key).or_default();
                *count += 1;
                want.push(StreamRecord {
                    value: (key, side, *count),
                    timestamp: *t,
                });
                timers.insert(((t / 100 + 1) * 100, key), ());
            }
            HarnessInput::Watermark(w) => {
                let due: Vec<(i64, u32)> =
                    timers.range(..=(*w, u32::MAX)).map(|(k, _)| *k).collect();
                for (time, key) in due {
                    timers.remove(&(time, key));
                    want.push(StreamRecord {
                        value: (key, 2, counts[&key]),
                        timestamp: time,
                    });
                }
            }
            HarnessInput::ProcessingTime(_) => {}
        }
    }
    let function = CountBothSides {
        count: ValueStateDescriptor::new("count"),
    };
    check_every_interruption(&inputs, &[0, 555], key_of, &want, |backend, clock| {
        TwoInputAdapter::new(KeyedCoProcessLogic::new(
            |p: &Pair| p.0,
            |p: &Pair| p.0,
            function.clone(),
            clock,
            RuntimeMode::Streaming,
            backend.config(),
        ))
    });
}

/// Keyed records `(key, value)` meet a broadcast threshold (the latest broadcast value): each
/// emits `(key, value, threshold, number of the key's records at or above their threshold)`.
#[derive(Clone)]
struct AboveThreshold {
    threshold: MapStateDescriptor<String, u64>,
    above: ValueStateDescriptor<u64>,
}

impl KeyedBroadcastProcessFunction<u32, Pair, Pair, (u32, u64, u64, u64)> for AboveThreshold {
    fn process_element(
        &mut self,
        (key, value): Pair,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        out: &mut Collector<'_, (u32, u64, u64, u64)>,
    ) -> FnResult<()> {
        let threshold = ctx
            .broadcast_state(&self.threshold)?
            .get(&"threshold".to_string())?
            .unwrap_or(0);
        let mut above = ctx.state().value(&self.above)?;
        let mut count = above.value()?.unwrap_or(0);
        if value % 100 >= threshold {
            count += 1;
            above.update(count)?;
        }
        out.collect((key, value, threshold, count));
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        (_, value): Pair,
        ctx: &mut KeyedBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, (u32, u64, u64, u64)>,
    ) -> FnResult<()> {
        ctx.broadcast_state(&self.threshold)?
            .put("threshold".to_string(), value % 100)
    }
}

fn is_broadcast(input: &Input) -> bool {
    matches!(input, EitherInput::Second(_))
}

#[test]
fn keyed_broadcast_state_survives_snapshot_restore_and_rescale() {
    let inputs = two_sided_inputs();
    let mut threshold = 0;
    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    let mut want = Vec::new();
    for input in &inputs {
        if let HarnessInput::Record(record, t) = input {
            match *record {
                EitherInput::Second((_, value)) => threshold = value % 100,
                EitherInput::First((key, value)) => {
                    let count = counts.entry(key).or_default();
                    if value % 100 >= threshold {
                        *count += 1;
                    }
                    want.push(StreamRecord {
                        value: (key, value, threshold, *count),
                        timestamp: *t,
                    });
                }
            }
        }
    }
    let function = AboveThreshold {
        threshold: MapStateDescriptor::new("thresholds"),
        above: ValueStateDescriptor::new("above"),
    };
    let declarations = [BroadcastStateDeclaration::of(&function.threshold)];
    check_interruptions(
        &inputs,
        &[0, 301, 802],
        (key_of, is_broadcast),
        &want,
        |_, _| true,
        |backend, clock| {
            TwoInputAdapter::new(KeyedBroadcastProcessLogic::new(
                |p: &Pair| p.0,
                function.clone(),
                &declarations,
                clock,
                RuntimeMode::Streaming,
                backend.config(),
            ))
        },
    );
}

/// Tags each record of a non-keyed stream with the latest broadcast threshold.
#[derive(Clone)]
struct TagWithThreshold {
    threshold: MapStateDescriptor<String, u64>,
}

impl BroadcastProcessFunction<Pair, Pair, (u32, u64, u64)> for TagWithThreshold {
    fn process_element(
        &mut self,
        (key, value): Pair,
        ctx: &mut ReadOnlyBroadcastContext<'_>,
        out: &mut Collector<'_, (u32, u64, u64)>,
    ) -> FnResult<()> {
        let threshold = ctx
            .broadcast_state(&self.threshold)?
            .get(&"threshold".to_string())?
            .unwrap_or(0);
        out.collect((key, value, threshold));
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        (_, value): Pair,
        ctx: &mut BroadcastContext<'_>,
        _out: &mut Collector<'_, (u32, u64, u64)>,
    ) -> FnResult<()> {
        ctx.broadcast_state(&self.threshold)?
            .put("threshold".to_string(), value % 100)
    }
}

#[test]
fn broadcast_state_of_a_non_keyed_stream_survives_snapshot_restore_and_rescale() {
    let inputs = two_sided_inputs();
    let mut threshold = 0;
    let mut want = Vec::new();
    for input in &inputs {
        if let HarnessInput::Record(record, t) = input {
            match *record {
                EitherInput::Second((_, value)) => threshold = value % 100,
                EitherInput::First((key, value)) => want.push(StreamRecord {
                    value: (key, value, threshold),
                    timestamp: *t,
                }),
            }
        }
    }
    let function = TagWithThreshold {
        threshold: MapStateDescriptor::new("thresholds"),
    };
    let declarations = [BroadcastStateDeclaration::of(&function.threshold)];
    // The non-broadcast records are spread over the subtasks by key, as a rebalance would.
    check_interruptions(
        &inputs,
        &[0, 301, 802],
        (key_of, is_broadcast),
        &want,
        |_, _| true,
        |_, clock| {
            TwoInputAdapter::new(BroadcastProcessLogic::new(
                function.clone(),
                &declarations,
                clock,
            ))
        },
    );
}
