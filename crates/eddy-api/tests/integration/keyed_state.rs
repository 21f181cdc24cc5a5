//! Keyed state in process functions (`ctx.state()`), on every backend: every primitive,
//! scoped to the current key, across parallelism, in `on_timer`, and in a
//! `KeyedCoProcessFunction`. Outputs are compared with a plain per-key reference loop.

use crate::common;

use std::collections::{BTreeMap, HashMap};

use common::event_time::{collect_sorted, elem, scripted, wm, Step};
use eddy_api::prelude::*;

/// `(user, item, amount)`.
type Purchase = (u32, u16, i64);

/// After each purchase: `(user, purchases so far, total for this item, distinct items,
/// largest amount, last three amounts, average amount × 100)`.
type Report = (u32, u64, i64, usize, i64, Vec<i64>, i64);

#[derive(Clone)]
struct Average;

impl AggregateFunction<i64, (i64, i64), i64> for Average {
    fn create_accumulator(&mut self) -> (i64, i64) {
        (0, 0)
    }
    fn add(&mut self, value: i64, acc: &mut (i64, i64)) -> FnResult<()> {
        acc.0 += value;
        acc.1 += 1;
        Ok(())
    }
    fn get_result(&mut self, acc: &(i64, i64)) -> FnResult<i64> {
        Ok(acc.0 * 100 / acc.1)
    }
    fn merge(&mut self, acc: &mut (i64, i64), other: (i64, i64)) -> FnResult<()> {
        acc.0 += other.0;
        acc.1 += other.1;
        Ok(())
    }
}

#[derive(Clone)]
struct Profile {
    count: ValueStateDescriptor<u64>,
    per_item: MapStateDescriptor<u16, i64>,
    recent: ListStateDescriptor<i64>,
    largest: ReducingStateDescriptor<i64>,
    average: AggregatingStateDescriptor<i64, (i64, i64), i64, Average>,
}

impl Profile {
    fn new() -> Self {
        Profile {
            count: ValueStateDescriptor::new("count"),
            per_item: MapStateDescriptor::new("per-item"),
            recent: ListStateDescriptor::new("recent"),
            largest: ReducingStateDescriptor::new("largest", |a: i64, b: i64| a.max(b)),
            average: AggregatingStateDescriptor::new("average", Average),
        }
    }
}

impl KeyedProcessFunction<u32, Purchase, Report> for Profile {
    fn process_element(
        &mut self,
        (user, item, amount): Purchase,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, Report>,
    ) -> FnResult<()> {
        let mut count = ctx.state().value(&self.count)?;
        let purchases = count.value()?.unwrap_or(0) + 1;
        count.update(purchases)?;
        let mut per_item = ctx.state().map(&self.per_item)?;
        let item_total = per_item.get(&item)?.unwrap_or(0) + amount;
        per_item.put(item, item_total)?;
        let distinct = per_item.keys()?.len();
        let mut recent = ctx.state().list(&self.recent)?;
        recent.add(amount)?;
        let mut last = recent.get()?;
        if last.len() > 3 {
            last.remove(0);
            recent.update(last.clone())?;
        }
        let mut largest = ctx.state().reducing(&self.largest)?;
        largest.add(amount)?;
        let largest = largest.get()?.unwrap_or(i64::MIN);
        let mut average = ctx.state().aggregating(&self.average)?;
        average.add(amount)?;
        let average = average.get()?.unwrap_or(0);
        out.collect((
            user, purchases, item_total, distinct, largest, last, average,
        ));
        Ok(())
    }
}

fn purchases() -> Vec<Purchase> {
    let mut seed = 7u64;
    (0..3000)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let r = seed >> 20;
            (
                (r % 13) as u32,
                ((r >> 8) % 5) as u16,
                ((r >> 16) % 1000) as i64,
            )
        })
        .collect()
}

/// The reports a correct run emits: a plain loop per user, in input order.
fn reference(input: &[Purchase]) -> Vec<Report> {
    #[derive(Default)]
    struct User {
        count: u64,
        per_item: BTreeMap<u16, i64>,
        recent: Vec<i64>,
        largest: Option<i64>,
        sum: i64,
    }
    let mut users: HashMap<u32, User> = HashMap::new();
    let mut out = Vec::new();
    for &(user, item, amount) in input {
        let u = users.entry(user).or_default();
        u.count += 1;
        *u.per_item.entry(item).or_default() += amount;
        u.recent.push(amount);
        if u.recent.len() > 3 {
            u.recent.remove(0);
        }
        u.largest = Some(u.largest.map_or(amount, |m| m.max(amount)));
        u.sum += amount;
        out.push((
            user,
            u.count,
            u.per_item[&item],
            u.per_item.len(),
            u.largest.unwrap_or(i64::MIN),
            u.recent.clone(),
            u.sum * 100 / u.count as i64,
        ));
    }
    out.sort();
    out
}

#[test]
fn every_primitive_is_scoped_to_the_current_key_at_any_parallelism() {
    let input = purchases();
    let expected = reference(&input);
    for backend in common::state_backends() {
        for parallelism in [1, 3] {
            let env = common::env_on_backend(backend, parallelism);
            let reports = env
                .from_collection(input.clone())
                .key_by(|p: &Purchase| p.0)
                .process(Profile::new());
            assert_eq!(
                collect_sorted(&reports, "keyed state"),
                expected,
                "{backend} p={parallelism}"
            );
        }
    }
}

/// Counts a key's elements and emits the count from an event-time timer, then clears it.
#[derive(Clone)]
struct CountUntilTimer {
    count: ValueStateDescriptor<u64>,
}

impl KeyedProcessFunction<u32, (u32, i64), (u32, i64, u64)> for CountUntilTimer {
    fn process_element(
        &mut self,
        (_, timestamp): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, i64, u64)>,
    ) -> FnResult<()> {
        // One timer per 10 ms bucket (timers are deduplicated).
        ctx.timer_service()
            .register_event_time_timer(timestamp - timestamp.rem_euclid(10) + 9);
        let mut count = ctx.state().value(&self.count)?;
        count.update(count.value()?.unwrap_or(0) + 1)
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64, u64)>,
    ) -> FnResult<()> {
        let key = *ctx.current_key();
        let mut count = ctx.state().value(&self.count)?;
        out.collect((key, timestamp, count.value()?.unwrap_or(0)));
        count.clear()
    }
}

#[test]
fn timers_see_and_clear_their_key_state() {
    // (key, timestamp) in timestamp order.
    let input: Vec<(u32, i64)> = (0..200)
        .map(|i| ((i % 3) as u32, i64::from(i) / 2))
        .collect();
    // Reference: per key and 10 ms bucket, the elements counted since the previous timer.
    let mut expected: BTreeMap<(u32, i64), u64> = BTreeMap::new();
    for &(key, ts) in &input {
        *expected
            .entry((key, ts - ts.rem_euclid(10) + 9))
            .or_default() += 1;
    }
    let expected: Vec<(u32, i64, u64)> =
        expected.into_iter().map(|((k, t), c)| (k, t, c)).collect();
    // A watermark of `ts - 1` before each element: a bucket's timer fires before the first
    // element of the next bucket is counted.
    // (The script starts with its first element: that one needs no watermark before it.)
    let steps: Vec<Step<(u32, i64)>> = input
        .iter()
        .enumerate()
        .flat_map(|(i, &(key, ts))| {
            let before = (i > 0).then(|| wm(ts - 1));
            before.into_iter().chain([elem((key, ts), ts)])
        })
        .collect();
    for parallelism in [1, 2] {
        let env = common::env(parallelism);
        let fired = scripted(&env, steps.clone())
            .key_by(|e: &(u32, i64)| e.0)
            .process(CountUntilTimer {
                count: ValueStateDescriptor::new("count"),
            });
        assert_eq!(
            collect_sorted(&fired, "timers and state"),
            expected,
            "p={parallelism}"
        );
    }
}

/// Enrichment: the first input sets a key's rate, the second is multiplied by the latest rate
/// (elements before any rate are held in list state and flushed when the rate arrives).
#[derive(Clone)]
struct Enrich {
    rate: ValueStateDescriptor<i64>,
    waiting: ListStateDescriptor<i64>,
}

impl KeyedCoProcessFunction<u32, (u32, i64), (u32, i64), (u32, i64)> for Enrich {
    fn process_element1(
        &mut self,
        (key, rate): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        ctx.state().value(&self.rate)?.update(rate)?;
        let mut waiting = ctx.state().list(&self.waiting)?;
        for amount in waiting.get()? {
            out.collect((key, amount * rate));
        }
        waiting.clear()
    }

    fn process_element2(
        &mut self,
        (key, amount): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        let rate = ctx.state().value(&self.rate)?.value()?;
        match rate {
            Some(rate) => out.collect((key, amount * rate)),
            None => ctx.state().list(&self.waiting)?.add(amount)?,
        }
        Ok(())
    }
}

#[test]
fn keyed_co_process_functions_share_state_between_their_inputs() {
    // Amounts arrive first (rates come from a separate, later-finishing input); only one rate
    // per key, so the result does not depend on how the inputs interleave.
    let amounts: Vec<(u32, i64)> = (0..300).map(|i| ((i % 7) as u32, i64::from(i))).collect();
    let rates: Vec<(u32, i64)> = (0..5).map(|k| (k, i64::from(k) + 2)).collect();
    let mut expected: Vec<(u32, i64)> = amounts
        .iter()
        .filter(|(k, _)| *k < 5)
        .map(|&(k, a)| (k, a * (i64::from(k) + 2)))
        .collect();
    expected.sort();
    for parallelism in [1, 3] {
        let env = common::env(parallelism);
        let enriched = env
            .from_collection(rates.clone())
            .connect(&env.from_collection(amounts.clone()))
            .key_by(|r: &(u32, i64)| r.0, |a: &(u32, i64)| a.0)
            .process(Enrich {
                rate: ValueStateDescriptor::new("rate"),
                waiting: ListStateDescriptor::new("waiting"),
            });
        assert_eq!(
            collect_sorted(&enriched, "enrich"),
            expected,
            "p={parallelism}"
        );
    }
}

#[test]
fn a_state_asked_for_as_another_type_fails_the_job_naming_it() {
    #[derive(Clone)]
    struct Confused;
    impl KeyedProcessFunction<u32, u32, u32> for Confused {
        fn process_element(
            &mut self,
            value: u32,
            ctx: &mut KeyedContext<'_, u32>,
            _out: &mut Collector<'_, u32>,
        ) -> FnResult<()> {
            ctx.state()
                .value(&ValueStateDescriptor::<u32>::new("seen"))?
                .update(value)?;
            ctx.state()
                .list(&ListStateDescriptor::<u32>::new("seen"))?
                .add(value)
        }
    }
    let env = common::env(1);
    env.from_collection(vec![1u32, 2])
        .key_by(|v: &u32| *v)
        .process(Confused)
        .add_sink(common::RecordingSink::new().0);
    let cause = common::failure_cause(env.execute("confused state"));
    assert!(
        cause.contains("state 'seen' is a ValueState<u32> but was asked for as a ListState<u32>"),
        "{cause}"
    );
}

#[cfg(not(feature = "rocksdb"))]
#[test]
fn choosing_rocksdb_without_the_feature_is_a_clear_error() {
    let env = common::env_on_backend("rocksdb", 1);
    let reports = env
        .from_collection(purchases())
        .key_by(|p: &Purchase| p.0)
        .process(Profile::new());
    reports.add_sink(common::RecordingSink::new().0);
    // Refused when the job is submitted, before anything runs.
    let cause = env.execute("no rocksdb").unwrap_err().to_string();
    assert!(
        cause.contains("state.backend.type") && cause.contains("--features rocksdb"),
        "{cause}"
    );
}

/// Counts each key's elements in value state and reports the context's current key with the
/// count and the element.
#[derive(Clone)]
struct CountPerKey(ValueStateDescriptor<u64>);

impl KeyedProcessFunction<String, (String, u32), (String, u64, String, u32)> for CountPerKey {
    fn process_element(
        &mut self,
        (word, n): (String, u32),
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, (String, u64, String, u32)>,
    ) -> FnResult<()> {
        let key = ctx.current_key().clone();
        let mut count = ctx.state().value(&self.0)?;
        let next = count.value()?.unwrap_or(0) + 1;
        count.update(next)?;
        out.collect((key, next, word, n));
        Ok(())
    }
}

/// Keys that the selector builds (cloned strings, which an exchange to several subtasks carries
/// to the process function's context) scope state and `current_key` like extracted ones: small
/// batches make the exchange send full ones, so keys are carried.
#[test]
fn string_keys_built_by_the_selector_scope_state_in_a_process_function() {
    let input: Vec<(String, u32)> = (0..90u32).map(|i| (format!("w{}", i * 7 % 6), i)).collect();
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut expected: BTreeMap<String, Vec<(String, u64, String, u32)>> = BTreeMap::new();
    for (word, n) in &input {
        let count = counts.entry(word.clone()).or_default();
        *count += 1;
        expected
            .entry(word.clone())
            .or_default()
            .push((word.clone(), *count, word.clone(), *n));
    }
    for backend in common::state_backends() {
        for parallelism in [1, 2] {
            let mut config = Configuration::new();
            config.set_string("state.backend.type", backend);
            config.set_string("taskmanager.network.batch-size", "8");
            let env = common::env_with(config, parallelism);
            let input = input.clone();
            let got = common::bounded(move || {
                env.from_collection(input)
                    .key_by(|t: &(String, u32)| t.0.clone())
                    .process(CountPerKey(ValueStateDescriptor::new("count")))
                    .execute_and_collect("string keys")
                    .unwrap()
            });
            let mut by_key: BTreeMap<String, Vec<(String, u64, String, u32)>> = BTreeMap::new();
            for row in got {
                by_key.entry(row.2.clone()).or_default().push(row);
            }
            assert_eq!(by_key, expected, "{backend} p={parallelism}");
        }
    }
}
