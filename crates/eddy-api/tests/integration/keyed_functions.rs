//! Keyed state from `map`, `flat_map` and `filter` on a keyed stream (Flink's
//! `getRuntimeContext().getState(…)` in a rich function): the temperature alert keeps each
//! sensor's last reading, on every backend at parallelism 1 and 2, against a reference loop;
//! and the errors for keyed state where there is none.

use crate::common;

use std::collections::BTreeMap;

use common::{bounded, env, env_on_backend, failure_cause, state_backends};
use eddy_api::prelude::*;

/// `(sensor, temperature in tenths of a degree)`.
type Reading = (String, i64);
/// `(sensor, previous temperature, temperature)`.
type Alert = (String, i64, i64);

fn readings() -> Vec<Reading> {
    (0..120i64)
        .map(|i| {
            let sensor = format!("sensor-{}", i % 4);
            // A slow ramp with a jump every seventh reading.
            let temperature = 200 + (i * 3) % 17 + if i % 7 == 3 { 60 } else { 0 };
            (sensor, temperature)
        })
        .collect()
}

/// Flink's training exercise: an alert when a sensor's reading moves by more than
/// `threshold` from its previous one.
#[derive(Clone)]
struct TemperatureChangeAlert {
    threshold: i64,
    last: ValueStateDescriptor<i64>,
    state: Option<KeyedStateStore<String>>,
}

impl TemperatureChangeAlert {
    fn new(threshold: i64) -> Self {
        TemperatureChangeAlert {
            threshold,
            last: ValueStateDescriptor::new("last-temperature"),
            state: None,
        }
    }
}

impl FlatMapFunction<Reading, Alert> for TemperatureChangeAlert {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = Some(ctx.keyed_state_store::<String>()?);
        Ok(())
    }

    fn flat_map(
        &mut self,
        (sensor, temperature): Reading,
        out: &mut Collector<'_, Alert>,
    ) -> FnResult<()> {
        let state = self.state.as_ref().ok_or("not opened")?;
        let previous = state.with_state(|key_state| {
            let mut last = key_state.value(&self.last)?;
            let previous = last.value()?;
            last.update(temperature)?;
            Ok(previous)
        })?;
        if let Some(previous) = previous {
            if (temperature - previous).abs() > self.threshold {
                out.collect((sensor, previous, temperature));
            }
        }
        Ok(())
    }
}

/// The alerts a plain loop finds, per sensor in input order.
fn reference_alerts(threshold: i64) -> BTreeMap<String, Vec<Alert>> {
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    let mut alerts: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for (sensor, temperature) in readings() {
        if let Some(previous) = last.insert(sensor.clone(), temperature) {
            if (temperature - previous).abs() > threshold {
                alerts
                    .entry(sensor.clone())
                    .or_default()
                    .push((sensor, previous, temperature));
            }
        }
    }
    alerts
}

fn per_sensor(alerts: Vec<Alert>) -> BTreeMap<String, Vec<Alert>> {
    let mut out: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for alert in alerts {
        out.entry(alert.0.clone()).or_default().push(alert);
    }
    out
}

#[test]
fn flat_map_on_a_keyed_stream_keeps_per_key_state_on_every_backend() {
    let expected = reference_alerts(40);
    assert!(!expected.is_empty(), "the input must produce alerts");
    for backend in state_backends() {
        for parallelism in [1, 2] {
            let env = env_on_backend(backend, parallelism);
            let alerts = bounded(move || {
                env.from_elements(readings())
                    .key_by(|r: &Reading| r.0.clone())
                    .flat_map_function(TemperatureChangeAlert::new(40))
                    .execute_and_collect("temperature alerts")
                    .unwrap()
            });
            assert_eq!(
                per_sensor(alerts),
                expected,
                "on {backend} at p={parallelism}"
            );
        }
    }
}

/// Numbers each element within its key (1, 2, 3, … per key) with a `map`, and keeps only each
/// key's elements after its third with a `filter` that counts separately.
#[derive(Clone)]
struct NumberWithinKey {
    count: ValueStateDescriptor<u64>,
    state: Option<KeyedStateStore<u32>>,
}

impl MapFunction<(u32, u64), (u32, u64, u64)> for NumberWithinKey {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = Some(ctx.keyed_state_store::<u32>()?);
        Ok(())
    }

    fn map(&mut self, (key, value): (u32, u64)) -> FnResult<(u32, u64, u64)> {
        let count = self.state.as_ref().ok_or("not opened")?.with_state(|s| {
            let mut count = s.value(&self.count)?;
            let next = count.value()?.unwrap_or(0) + 1;
            count.update(next)?;
            Ok(next)
        })?;
        Ok((key, value, count))
    }
}

#[derive(Clone)]
struct AfterThird {
    seen: ValueStateDescriptor<u64>,
    state: Option<KeyedStateStore<u32>>,
}

impl FilterFunction<(u32, u64, u64)> for AfterThird {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = Some(ctx.keyed_state_store::<u32>()?);
        Ok(())
    }

    fn filter(&mut self, _value: &(u32, u64, u64)) -> FnResult<bool> {
        self.state.as_ref().ok_or("not opened")?.with_state(|s| {
            let mut seen = s.value(&self.seen)?;
            let next = seen.value()?.unwrap_or(0) + 1;
            seen.update(next)?;
            Ok(next > 3)
        })
    }
}

#[test]
fn map_and_filter_on_keyed_streams_keep_per_key_state_on_every_backend() {
    let input: Vec<(u32, u64)> = (0..50u64).map(|i| ((i * 7 % 6) as u32, i)).collect();
    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    let mut expected: Vec<(u32, u64, u64)> = Vec::new();
    for &(key, value) in &input {
        let count = counts.entry(key).or_insert(0);
        *count += 1;
        if *count > 3 {
            expected.push((key, value, *count));
        }
    }
    expected.sort();
    for backend in state_backends() {
        for parallelism in [1, 2] {
            let env = env_on_backend(backend, parallelism);
            let input = input.clone();
            let mut got = bounded(move || {
                env.from_elements(input)
                    .key_by(|e: &(u32, u64)| e.0)
                    .map_function(NumberWithinKey {
                        count: ValueStateDescriptor::new("count"),
                        state: None,
                    })
                    .key_by(|e: &(u32, u64, u64)| e.0)
                    .filter_function(AfterThird {
                        seen: ValueStateDescriptor::new("seen"),
                        state: None,
                    })
                    .execute_and_collect("numbered")
                    .unwrap()
            });
            got.sort();
            assert_eq!(got, expected, "on {backend} at p={parallelism}");
        }
    }
}

#[test]
fn keyed_state_on_a_stream_that_is_not_keyed_fails_naming_the_operator() {
    let env = env(2);
    let result = bounded(move || {
        env.from_elements(readings())
            .flat_map_function(TemperatureChangeAlert::new(40))
            .execute_and_collect("not keyed")
    });
    let cause = failure_cause(result);
    assert!(
        cause.contains("Flat Map (")
            && cause
                .contains("keyed state is only available to functions applied to a keyed stream")
            && cause.contains("key_by"),
        "{cause}"
    );
}

#[test]
fn keyed_state_asked_for_with_another_key_type_names_both() {
    let env = env(1);
    let result = bounded(move || {
        env.from_elements(readings())
            .key_by(|r: &Reading| r.1)
            .flat_map_function(TemperatureChangeAlert::new(40))
            .execute_and_collect("wrong key type")
    });
    let cause = failure_cause(result);
    assert!(
        cause.contains("alloc::string::String") && cause.contains("keyed by i64"),
        "{cause}"
    );
}
