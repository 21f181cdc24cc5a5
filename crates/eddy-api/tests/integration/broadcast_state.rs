//! The broadcast state pattern: `broadcast_with(&descriptor)`, `connect(&broadcast_stream)`,
//! `BroadcastProcessFunction` and `KeyedBroadcastProcessFunction` (plan and errors are in
//! `broadcast_state_errors.rs`). Complete outputs are
//! compared with plain reference loops at parallelism 1 and 3. The two inputs race, so every
//! test orders them explicitly: with gates (a script waits until the other side was processed)
//! or with event time (keyed elements are evaluated from timers, once the watermark — the
//! minimum of both inputs' — has passed them).

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::bounded;
use common::event_time::{collect_sorted, elem, scripted, wait_until, wm, Lcg, Step};
use eddy_api::prelude::*;

/// A broadcast command: `(kind, name, value)`.
type Command = (String, String, Option<i64>);

fn command(kind: &str, name: &str, value: Option<i64>) -> Command {
    (kind.to_string(), name.to_string(), value)
}

/// Non-keyed: the broadcast side keeps two broadcast states (settings by name, labels by id);
/// the element side reads them.
#[derive(Clone)]
struct Settings {
    settings: MapStateDescriptor<String, i64>,
    labels: MapStateDescriptor<u32, String>,
    commands_seen: Arc<AtomicUsize>,
}

impl Settings {
    fn new() -> Self {
        Settings {
            settings: MapStateDescriptor::new("settings"),
            labels: MapStateDescriptor::new("labels"),
            commands_seen: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl BroadcastProcessFunction<u32, Command, String> for Settings {
    fn process_element(
        &mut self,
        x: u32,
        ctx: &mut ReadOnlyBroadcastContext<'_>,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        let settings = ctx.broadcast_state(&self.settings)?;
        let labels = ctx.broadcast_state(&self.labels)?;
        let scale = settings.get(&"scale".to_string())?.unwrap_or(1);
        let sum: i64 = settings.values()?.iter().sum();
        let mut names = settings.keys()?;
        names.sort();
        let mut entries = settings.entries()?;
        entries.sort();
        let label = labels.get(&(x % 4))?.unwrap_or_else(|| "-".into());
        out.collect(format!(
            "x={x} scaled={} sum={sum} names={names:?} entries={} offset={} labels-empty={} \
             label={label}",
            i64::from(x) * scale,
            entries.len(),
            settings.contains(&"offset".to_string())?,
            labels.is_empty()?,
        ));
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        (kind, name, value): Command,
        ctx: &mut BroadcastContext<'_>,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        let subtask = ctx.runtime_context().subtask_index;
        match (kind.as_str(), value) {
            ("set", Some(v)) => ctx.broadcast_state(&self.settings)?.put(name.clone(), v)?,
            ("set-all", Some(v)) => ctx
                .broadcast_state(&self.settings)?
                .put_all(name.split('+').map(|n| (n.to_string(), v)))?,
            ("unset", _) => ctx.broadcast_state(&self.settings)?.remove(&name)?,
            ("label", Some(id)) => ctx
                .broadcast_state(&self.labels)?
                .put(id as u32, name.clone())?,
            ("clear-labels", _) => ctx.broadcast_state(&self.labels)?.clear()?,
            other => return Err(format!("unknown command {other:?}").into()),
        }
        let settings = ctx.broadcast_state(&self.settings)?;
        let (count, had) = (settings.keys()?.len(), settings.contains(&name)?);
        let labels = ctx.broadcast_state(&self.labels)?.keys()?.len();
        out.collect(format!(
            "subtask={subtask} {kind} {name} settings={count} has={had} labels={labels}"
        ));
        self.commands_seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn settings_commands() -> Vec<Command> {
    vec![
        command("set", "scale", Some(3)),
        command("set", "offset", Some(10)),
        command("label", "zero", Some(0)),
        command("label", "two", Some(2)),
        command("clear-labels", "", None),
        command("label", "one", Some(1)),
        command("set-all", "a+b", Some(5)),
        command("unset", "offset", None),
        command("set", "scale", Some(2)),
    ]
}

/// What [`Settings`] emits: every subtask applies every command (in order), then every element
/// sees the final state.
fn settings_reference(commands: &[Command], elements: &[u32], parallelism: u32) -> Vec<String> {
    let mut settings: BTreeMap<String, i64> = BTreeMap::new();
    let mut labels: BTreeMap<u32, String> = BTreeMap::new();
    let mut per_command = Vec::new();
    for (kind, name, value) in commands {
        match kind.as_str() {
            "set" => {
                settings.insert(name.clone(), value.unwrap());
            }
            "set-all" => {
                for n in name.split('+') {
                    settings.insert(n.to_string(), value.unwrap());
                }
            }
            "unset" => {
                settings.remove(name);
            }
            "label" => {
                labels.insert(value.unwrap() as u32, name.clone());
            }
            "clear-labels" => labels.clear(),
            _ => unreachable!(),
        }
        per_command.push(format!(
            "{kind} {name} settings={} has={} labels={}",
            settings.len(),
            settings.contains_key(name),
            labels.len()
        ));
    }
    let mut out = Vec::new();
    for subtask in 0..parallelism {
        out.extend(per_command.iter().map(|c| format!("subtask={subtask} {c}")));
    }
    let names: Vec<String> = settings.keys().cloned().collect();
    for &x in elements {
        out.push(format!(
            "x={x} scaled={} sum={} names={names:?} entries={} offset={} labels-empty={} \
             label={}",
            i64::from(x) * settings.get("scale").copied().unwrap_or(1),
            settings.values().sum::<i64>(),
            settings.len(),
            settings.contains_key("offset"),
            labels.is_empty(),
            labels.get(&(x % 4)).cloned().unwrap_or_else(|| "-".into()),
        ));
    }
    out.sort();
    out
}

#[test]
fn non_keyed_broadcast_state_is_written_by_the_broadcast_side_on_every_subtask() {
    let commands = settings_commands();
    let elements: Vec<u32> = (0..60).collect();
    for parallelism in [1, 3] {
        let expected = settings_reference(&commands, &elements, parallelism);
        let (commands, elements) = (commands.clone(), elements.clone());
        let actual = bounded(move || {
            let env = common::env(parallelism);
            let function = Settings::new();
            // The elements wait until every subtask has applied every command.
            let seen = function.commands_seen.clone();
            let all = commands.len() * parallelism as usize;
            let mut script: Vec<Step<u32>> =
                vec![wait_until(move || seen.load(Ordering::SeqCst) == all)];
            script.extend(elements.iter().map(|&x| elem(x, i64::from(x))));
            let rules = scripted(&env, commands.iter().map(|c| elem(c.clone(), 0)).collect())
                .broadcast_with(&function.settings)
                .and(&function.labels);
            let out = scripted(&env, script).connect(&rules).process(function);
            collect_sorted(&out, "non-keyed broadcast")
        });
        assert_eq!(actual, expected, "p={parallelism}");
    }
}

/// Keyed: per-key counts and totals in keyed state; broadcast commands snapshot every key's
/// count, reset the odd keys (`apply_to_keyed_state`) and bump a generation number kept in
/// broadcast state, which every element reads.
#[derive(Clone)]
struct Counters {
    count: ValueStateDescriptor<u64>,
    total: ReducingStateDescriptor<i64>,
    generation: MapStateDescriptor<String, u64>,
    items_seen: Arc<AtomicUsize>,
    commands_seen: Arc<AtomicUsize>,
}

impl Counters {
    fn new() -> Self {
        Counters {
            count: ValueStateDescriptor::new("count"),
            total: ReducingStateDescriptor::new("total", |a: i64, b: i64| a + b),
            generation: MapStateDescriptor::new("generation"),
            items_seen: Arc::new(AtomicUsize::new(0)),
            commands_seen: Arc::new(AtomicUsize::new(0)),
        }
    }
}

const GENERATION: &str = "generation";

impl KeyedBroadcastProcessFunction<u32, (u32, i64), String, String> for Counters {
    fn process_element(
        &mut self,
        (key, value): (u32, i64),
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        // The read-only handle does not borrow the context: keyed state stays usable.
        let generation = ctx.broadcast_state(&self.generation)?;
        let mut count = ctx.state().value(&self.count)?;
        let c = count.value()?.unwrap_or(0) + 1;
        count.update(c)?;
        let mut total = ctx.state().reducing(&self.total)?;
        total.add(value)?;
        let t = total.get()?.unwrap_or(0);
        let g = generation.get(&GENERATION.to_string())?.unwrap_or(0);
        assert_eq!(*ctx.current_key(), key);
        out.collect(format!("item key={key} count={c} total={t} gen={g}"));
        self.items_seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        command: String,
        ctx: &mut KeyedBroadcastContext<'_, u32>,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        let g = ctx
            .broadcast_state(&self.generation)?
            .get(&GENERATION.to_string())?
            .unwrap_or(0);
        match command.as_str() {
            "snapshot" => {
                let total = self.total.clone();
                let mut totals = Vec::new();
                ctx.apply_to_keyed_state(&total, |key, state| {
                    totals.push((*key, state.get()?.unwrap_or(0)));
                    Ok(())
                })?;
                let totals: BTreeMap<u32, i64> = totals.into_iter().collect();
                ctx.apply_to_keyed_state(&self.count, |key, state| {
                    let c = state.value()?.unwrap_or(0);
                    out.collect(format!(
                        "snapshot gen={g} key={key} count={c} total={}",
                        totals.get(key).copied().unwrap_or(0)
                    ));
                    Ok(())
                })?;
            }
            "reset-odd" => {
                ctx.apply_to_keyed_state(&self.count, |key, mut state| {
                    if key % 2 == 1 {
                        state.clear()?;
                    }
                    Ok(())
                })?;
                ctx.apply_to_keyed_state(&self.total, |key, mut state| {
                    if key % 2 == 1 {
                        state.clear()?;
                    }
                    Ok(())
                })?;
            }
            "bump" => ctx
                .broadcast_state(&self.generation)?
                .put(GENERATION.to_string(), g + 1)?,
            other => return Err(format!("unknown command {other:?}").into()),
        }
        self.commands_seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn keyed_items(seed: u64, n: usize) -> Vec<(u32, i64)> {
    let mut rng = Lcg::new(seed);
    (0..n)
        .map(|_| (rng.below(9) as u32, rng.range(-50, 100)))
        .collect()
}

/// What [`Counters`] emits for `first`, then the commands snapshot / reset-odd / bump, then
/// `second`, then snapshot.
fn counters_reference(first: &[(u32, i64)], second: &[(u32, i64)]) -> Vec<String> {
    let mut state: BTreeMap<u32, (u64, i64)> = BTreeMap::new();
    let mut out = Vec::new();
    let mut run = |items: &[(u32, i64)], gen: u64, state: &mut BTreeMap<u32, (u64, i64)>| {
        for &(key, value) in items {
            let entry = state.entry(key).or_default();
            entry.0 += 1;
            entry.1 += value;
            out.push(format!(
                "item key={key} count={} total={} gen={gen}",
                entry.0, entry.1
            ));
        }
        for (key, (count, total)) in state.iter() {
            out.push(format!(
                "snapshot gen={gen} key={key} count={count} total={total}"
            ));
        }
    };
    run(first, 0, &mut state);
    state.retain(|key, _| key % 2 == 0);
    run(second, 1, &mut state);
    out.sort();
    out
}

#[test]
fn keyed_broadcast_applies_to_the_keyed_state_of_every_key() {
    let (first, second) = (keyed_items(3, 400), keyed_items(4, 300));
    let expected = counters_reference(&first, &second);
    for parallelism in [1, 3] {
        let (first, second) = (first.clone(), second.clone());
        let actual = bounded(move || {
            let env = common::env(parallelism);
            let function = Counters::new();
            let (items_seen, commands_seen) =
                (function.items_seen.clone(), function.commands_seen.clone());
            let (n1, n2) = (first.len(), first.len() + second.len());
            let all_commands = 3 * parallelism as usize;
            // Items: the first batch, then (after every subtask ran the three commands) the
            // second. Commands: wait for the first batch, snapshot, reset, bump; wait for the
            // second batch, snapshot.
            let mut items: Vec<Step<(u32, i64)>> = first.iter().map(|&i| elem(i, 0)).collect();
            items.push(wait_until(move || {
                commands_seen.load(Ordering::SeqCst) == all_commands
            }));
            items.extend(second.iter().map(|&i| elem(i, 1)));
            let seen = items_seen.clone();
            let commands = vec![
                wait_until(move || seen.load(Ordering::SeqCst) == n1),
                elem("snapshot".to_string(), 0),
                elem("reset-odd".to_string(), 0),
                elem("bump".to_string(), 0),
                wait_until(move || items_seen.load(Ordering::SeqCst) == n2),
                elem("snapshot".to_string(), 1),
            ];
            let commands = scripted(&env, commands).broadcast_with(&function.generation);
            let out = scripted(&env, items)
                .key_by(|item: &(u32, i64)| item.0)
                .connect(&commands)
                .process(function);
            collect_sorted(&out, "keyed broadcast")
        });
        assert_eq!(actual, expected, "p={parallelism}");
    }
}

/// Keyed and in event time: items are buffered per key and evaluated from an event-time timer
/// against the threshold that was in force at their timestamp (the broadcast threshold with
/// the latest timestamp ≤ the item's). The result does not depend on how the inputs
/// interleave.
#[derive(Clone)]
struct Thresholds {
    /// Broadcast: threshold by the timestamp it takes effect.
    thresholds: MapStateDescriptor<i64, i64>,
    /// Keyed: pending values by timestamp.
    pending: MapStateDescriptor<i64, Vec<i64>>,
}

/// `(key, timestamp, value, threshold in force, value ≥ threshold)`.
type Verdict = (u32, i64, i64, Option<i64>, bool);

impl KeyedBroadcastProcessFunction<u32, (u32, i64), i64, Verdict> for Thresholds {
    fn process_element(
        &mut self,
        (_, value): (u32, i64),
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, Verdict>,
    ) -> FnResult<()> {
        let ts = ctx.timestamp().ok_or("items need timestamps")?;
        let mut pending = ctx.state().map(&self.pending)?;
        let mut values = pending.get(&ts)?.unwrap_or_default();
        values.push(value);
        pending.put(ts, values)?;
        ctx.timer_service().register_event_time_timer(ts);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        threshold: i64,
        ctx: &mut KeyedBroadcastContext<'_, u32>,
        _out: &mut Collector<'_, Verdict>,
    ) -> FnResult<()> {
        let ts = ctx.timestamp().ok_or("thresholds need timestamps")?;
        ctx.broadcast_state(&self.thresholds)?.put(ts, threshold)
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, u32>,
        out: &mut Collector<'_, Verdict>,
    ) -> FnResult<()> {
        assert_eq!(ctx.time_domain(), Some(TimeDomain::EventTime));
        let threshold = ctx
            .broadcast_state(&self.thresholds)?
            .entries()?
            .into_iter()
            .filter(|&(since, _)| since <= timestamp)
            .max_by_key(|&(since, _)| since)
            .map(|(_, threshold)| threshold);
        let key = *ctx.current_key();
        let mut pending = ctx.state().map(&self.pending)?;
        for value in pending.get(&timestamp)?.unwrap_or_default() {
            let alert = threshold.is_some_and(|t| value >= t);
            out.collect((key, timestamp, value, threshold, alert));
        }
        pending.remove(&timestamp)
    }
}

/// A script with a watermark of `timestamp - 1` after every element (timestamps must not
/// decrease): an element at `t` is never behind the watermark, and once the watermark reaches
/// `t` every element at `t` or earlier has been emitted.
fn with_watermarks<T: Clone>(pairs: &[(T, i64)]) -> Vec<Step<T>> {
    let mut steps = Vec::new();
    for (value, ts) in pairs {
        steps.push(elem(value.clone(), *ts));
        steps.push(wm(ts - 1));
    }
    steps
}

#[test]
fn keyed_elements_evaluated_from_event_time_timers_see_the_rules_of_their_time() {
    let mut rng = Lcg::new(11);
    let mut ts = 0;
    let items: Vec<((u32, i64), i64)> = (0..500)
        .map(|_| {
            ts += rng.below(4) as i64;
            ((rng.below(7) as u32, rng.range(0, 100)), ts)
        })
        .collect();
    let mut ts = -20;
    let thresholds: Vec<(i64, i64)> = (0..25)
        .map(|_| {
            ts += rng.below(60) as i64;
            (rng.range(10, 90), ts)
        })
        .collect();
    // The reference: thresholds in order (a later one at the same time replaces an earlier).
    let mut in_force: BTreeMap<i64, i64> = BTreeMap::new();
    for &(threshold, since) in &thresholds {
        in_force.insert(since, threshold);
    }
    let mut expected: Vec<Verdict> = items
        .iter()
        .map(|&((key, value), ts)| {
            let threshold = in_force.range(..=ts).next_back().map(|(_, &t)| t);
            (
                key,
                ts,
                value,
                threshold,
                threshold.is_some_and(|t| value >= t),
            )
        })
        .collect();
    expected.sort();
    for parallelism in [1, 3] {
        let (items, thresholds) = (items.clone(), thresholds.clone());
        let actual = bounded(move || {
            let env = common::env(parallelism);
            let function = Thresholds {
                thresholds: MapStateDescriptor::new("thresholds"),
                pending: MapStateDescriptor::new("pending"),
            };
            let rules =
                scripted(&env, with_watermarks(&thresholds)).broadcast_with(&function.thresholds);
            let out = scripted(&env, with_watermarks(&items))
                .key_by(|item: &(u32, i64)| item.0)
                .connect(&rules)
                .process(function);
            collect_sorted(&out, "event-time broadcast")
        });
        assert_eq!(actual, expected, "p={parallelism}");
    }
}
