//! Keyed operators through snapshot → restore → rescale in the operator test harness: for
//! every interruption (1 → 1, 1 → 3, 3 → 2) and state backend (including a heap snapshot
//! restored into RocksDB and back), the complete output equals a reference computed by a
//! plain loop over the same input.

use std::collections::{BTreeMap, BTreeSet};

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, StreamRecord, NO_TIMESTAMP};
use eddy_functions::closures::ReduceFn;
use eddy_functions::{
    Collector, FlatMapFunction, KeyedContext, KeyedProcessFunction, RuntimeContext,
};
use eddy_runtime::operators::{
    EitherLogic, FlatMapEach, KeyedFunctionLogic, KeyedProcessLogic, KeyedReduceLogic,
    OneInputLogic, StoredKeyedReduceLogic,
};
use eddy_runtime::testing::HarnessInput;
use eddy_state::time::TimeDomain;
use eddy_state::{KeyedStateStore, ValueStateDescriptor};

use crate::common::{check_every_interruption, Backend};

/// Records `(key, value)` over 37 keys with rising timestamps.
fn reduce_inputs() -> Vec<HarnessInput<(u32, u64)>> {
    (0..1_500u64)
        .map(|i| HarnessInput::Record(((i * 7 % 37) as u32, i), i as i64 * 3))
        .collect()
}

fn key_of_pair(value: &(u32, u64)) -> u32 {
    value.0
}

/// The rolling sum's logic on `backend`: the heap's typed map, or a value state in RocksDB.
fn rolling_sum(backend: Backend, mode: RuntimeMode) -> impl OneInputLogic<(u32, u64), (u32, u64)> {
    let sum = ReduceFn(|a: (u32, u64), b: (u32, u64)| (a.0, a.1 + b.1));
    match backend {
        Backend::Heap => EitherLogic::Left(KeyedReduceLogic::new(key_of_pair, sum, mode)),
        Backend::RocksDb(_) => EitherLogic::Right(StoredKeyedReduceLogic::new(
            key_of_pair,
            sum,
            mode,
            backend.config(),
        )),
    }
}

#[test]
fn rolling_sums_survive_snapshot_restore_and_rescale() {
    let inputs = reduce_inputs();
    // The reference: a running sum per key; every update in STREAMING, each key's final
    // sum with its last timestamp in BATCH.
    let mut sums: BTreeMap<u32, (u64, i64)> = BTreeMap::new();
    let mut updates = Vec::new();
    for input in &inputs {
        let HarnessInput::Record((key, value), timestamp) = input else {
            unreachable!()
        };
        let slot = sums.entry(*key).or_default();
        slot.0 += value;
        slot.1 = *timestamp;
        updates.push(StreamRecord {
            value: (*key, slot.0),
            timestamp: *timestamp,
        });
    }
    let finals: Vec<StreamRecord<(u32, u64)>> = sums
        .iter()
        .map(|(&key, &(sum, timestamp))| StreamRecord {
            value: (key, sum),
            timestamp,
        })
        .collect();
    for (mode, want) in [
        (RuntimeMode::Streaming, &updates),
        (RuntimeMode::Batch, &finals),
    ] {
        check_every_interruption(
            &inputs,
            &[0, 611, 1_500],
            key_of_pair,
            want,
            |backend, _| rolling_sum(backend, mode),
        );
    }
}

/// Counts its key's elements in a `ValueState`; registers an event-time timer at the end of
/// each element's 100 ms period and, for every fourth value, a processing-time timer 50 ms
/// ahead; a timer emits `(key, time, count, domain)`.
#[derive(Clone)]
struct CountWithTimers {
    count: ValueStateDescriptor<u64>,
}

impl KeyedProcessFunction<u32, u32, (u32, i64, u64, u8)> for CountWithTimers {
    fn process_element(
        &mut self,
        value: u32,
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, i64, u64, u8)>,
    ) -> FnResult<()> {
        let mut count = ctx.state().value(&self.count)?;
        count.update(count.value()?.unwrap_or(0) + 1)?;
        let timestamp = ctx.timestamp().ok_or("records carry timestamps here")?;
        let now = ctx.current_processing_time();
        let mut timers = ctx.timer_service();
        timers.register_event_time_timer((timestamp / 100 + 1) * 100);
        if value.is_multiple_of(4) {
            timers.register_processing_time_timer(now + 50);
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64, u64, u8)>,
    ) -> FnResult<()> {
        let count = ctx.state().value(&self.count)?.value()?.unwrap_or(0);
        let domain = match ctx.time_domain() {
            Some(TimeDomain::EventTime) => 0,
            _ => 1,
        };
        out.collect((*ctx.current_key(), timestamp, count, domain));
        Ok(())
    }
}

fn key_of_value(value: &u32) -> u32 {
    value % 23
}

/// Records over 23 keys with timestamps that jitter upwards, a watermark every 50 records
/// and processing time moving every 70; the final watermark ends event time.
fn timer_inputs() -> Vec<HarnessInput<u32>> {
    let mut inputs = Vec::new();
    let mut max_timestamp = 0;
    for i in 0..2_000u32 {
        let timestamp = i64::from(i) * 2 + i64::from(i * 13 % 17);
        max_timestamp = max_timestamp.max(timestamp);
        inputs.push(HarnessInput::Record(i * 31 % 1_000, timestamp));
        if i % 50 == 49 {
            inputs.push(HarnessInput::Watermark(max_timestamp - 30));
        }
        if i % 70 == 69 {
            inputs.push(HarnessInput::ProcessingTime(i64::from(i / 70 + 1) * 40));
        }
    }
    inputs.push(HarnessInput::Watermark(i64::MAX));
    inputs
}

/// What `CountWithTimers` must output for `inputs`, by a plain simulation of its rules.
fn timer_reference(inputs: &[HarnessInput<u32>]) -> Vec<StreamRecord<(u32, i64, u64, u8)>> {
    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    let mut event_timers: BTreeSet<(i64, u32)> = BTreeSet::new();
    let mut processing_timers: BTreeSet<(i64, u32)> = BTreeSet::new();
    let mut now = 0;
    let mut out = Vec::new();
    let mut fire =
        |timers: &mut BTreeSet<(i64, u32)>, upto: i64, domain: u8, counts: &BTreeMap<u32, u64>| {
            while let Some(&(time, key)) = timers.first() {
                if time > upto {
                    break;
                }
                timers.remove(&(time, key));
                let timestamp = if domain == 0 { time } else { NO_TIMESTAMP };
                out.push(StreamRecord {
                    value: (key, time, counts[&key], domain),
                    timestamp,
                });
            }
        };
    for input in inputs {
        match *input {
            HarnessInput::Record(value, timestamp) => {
                let key = key_of_value(&value);
                *counts.entry(key).or_default() += 1;
                event_timers.insert(((timestamp / 100 + 1) * 100, key));
                if value.is_multiple_of(4) {
                    processing_timers.insert((now + 50, key));
                }
            }
            HarnessInput::Watermark(watermark) => fire(&mut event_timers, watermark, 0, &counts),
            HarnessInput::ProcessingTime(time) => {
                now = time;
                fire(&mut processing_timers, now, 1, &counts);
            }
        }
    }
    out
}

#[test]
fn keyed_process_state_and_pending_timers_survive_snapshot_restore_and_rescale() {
    let inputs = timer_inputs();
    let want = timer_reference(&inputs);
    assert!(
        want.iter().any(|r| r.value.3 == 1),
        "the input fires processing-time timers"
    );
    let function = CountWithTimers {
        count: ValueStateDescriptor::new("count"),
    };
    check_every_interruption(
        &inputs,
        &[0, 1_017, 1_800],
        key_of_value,
        &want,
        |backend, clock| {
            KeyedProcessLogic::new(
                key_of_value,
                function.clone(),
                clock,
                RuntimeMode::Streaming,
                backend.config(),
            )
        },
    );
}

/// Emits `(key, value, previous value of the key)` from a `ValueState` reached through the
/// runtime context, as a flat-map on a keyed stream does.
#[derive(Clone)]
struct PreviousValue {
    last: ValueStateDescriptor<u32>,
    state: Option<KeyedStateStore<u32>>,
}

impl FlatMapFunction<u32, (u32, u32, Option<u32>)> for PreviousValue {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = Some(ctx.keyed_state_store::<u32>()?);
        Ok(())
    }

    fn flat_map(
        &mut self,
        value: u32,
        out: &mut Collector<'_, (u32, u32, Option<u32>)>,
    ) -> FnResult<()> {
        let state = self.state.as_ref().ok_or("not opened")?;
        let previous = state.with_state(|key_state| {
            let mut last = key_state.value(&self.last)?;
            let previous = last.value()?;
            last.update(value)?;
            Ok(previous)
        })?;
        out.collect((key_of_value(&value), value, previous));
        Ok(())
    }
}

#[test]
fn keyed_state_of_rich_functions_survives_snapshot_restore_and_rescale() {
    let inputs: Vec<HarnessInput<u32>> = (0..1_500u32)
        .map(|i| HarnessInput::Record(i * 37 % 2_000, i64::from(i)))
        .collect();
    let mut last: BTreeMap<u32, u32> = BTreeMap::new();
    let want: Vec<StreamRecord<(u32, u32, Option<u32>)>> = inputs
        .iter()
        .map(|input| {
            let HarnessInput::Record(value, timestamp) = *input else {
                unreachable!()
            };
            let key = key_of_value(&value);
            StreamRecord {
                value: (key, value, last.insert(key, value)),
                timestamp,
            }
        })
        .collect();
    let function = PreviousValue {
        last: ValueStateDescriptor::new("last"),
        state: None,
    };
    check_every_interruption(&inputs, &[0, 700], key_of_value, &want, |backend, _| {
        KeyedFunctionLogic::new(
            key_of_value,
            FlatMapEach(function.clone()),
            backend.config(),
        )
    });
}
