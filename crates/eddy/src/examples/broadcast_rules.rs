//! Broadcast rules: Flink's rules-and-items pattern with broadcast state. Items (a color and a
//! shape) are keyed by color; rules (a named pair of shapes) are broadcast to every subtask and
//! kept in broadcast state; a match is emitted when, for one color, an item of a rule's first
//! shape is later followed by an item of its second shape.
//!
//! # Inputs
//!
//! * `--items FILE`: lines `ts,color,shape` — the item's event time in milliseconds (negative
//!   times are fine), its color and its shape (non-empty; no commas).
//! * `--rules FILE`: lines `ts,rule_name,first_shape,second_shape` — from event time `ts` on,
//!   the rule `rule_name` matches `first_shape` followed by `second_shape`. A later line with
//!   the same name replaces the rule from its own `ts` on (a *version* of the rule).
//!
//! Whitespace around fields is ignored. In each file the timestamps must not decrease from one
//! line to the next. A malformed or out-of-order line fails the job, naming the file and the
//! line number, e.g. `items.csv:3: expected ts,color,shape but got "red,square"`.
//!
//! # Matching semantics
//!
//! Per color, items are evaluated in timestamp order (items with equal timestamps in file
//! order). An item at `t` is evaluated against the rules *in force at `t`*: for each rule name,
//! the version with the latest timestamp ≤ `t` (of two versions with the same timestamp, the
//! later line). Versions with a timestamp after `t` do not exist for that item, even if they
//! arrived earlier. For each rule in force, in rule-name order:
//!
//! 1. If the color has a pending item for this rule, recorded under the same version, and the
//!    item's shape is the rule's second shape, a match `first item → this item` is emitted and
//!    the pending item is cleared (the item is consumed by the match).
//! 2. Otherwise, if the item's shape is the rule's first shape, it becomes the color's pending
//!    item for the rule, replacing an older one: a repeated first shape restarts the pattern,
//!    so a match always pairs the *latest* first shape with the next second shape.
//!
//! A pending item recorded under an older version of a rule is ignored (and replaced or
//! dropped) once a newer version is in force: redefining a rule starts it afresh. Items with
//! other shapes do not disturb a pending item. A rule whose two shapes are equal matches
//! consecutive pairs: the first item waits, the second completes the match, the third waits.
//!
//! Each match is written as `color,rule_name,first_ts,first_shape,second_ts,second_shape`.
//!
//! # Determinism
//!
//! The two inputs race, yet the output (as a set of lines) is the same at any parallelism and
//! in any run: the keyed function buffers each item in keyed state and evaluates it from an
//! event-time timer at its timestamp. The operator's watermark is the minimum of both inputs'
//! (each input's watermark is its latest timestamp − 1 ms), so when the timer fires every rule
//! line with a timestamp ≤ the item's has arrived; rules with later timestamps are skipped by
//! the version lookup above.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use eddy_api::prelude::*;

use super::window_events::MAX_EVENT_TIME_MS;
use crate::ProgramError;

/// The arguments, for error messages.
pub const BROADCAST_RULES_USAGE: &str = "--items FILE --rules FILE [--output PATH]";

const ITEM_FORMAT: &str = "ts,color,shape";
const RULE_FORMAT: &str = "ts,rule_name,first_shape,second_shape";

/// One line of the items file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Event time (ms).
    pub ts: i64,
    /// The key.
    pub color: String,
    /// What the rules look at.
    pub shape: String,
}

/// One line of the rules file: a version of the rule `name`, in force from `ts` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Event time (ms) from which this version is in force.
    pub ts: i64,
    /// The rule's name (versions share it).
    pub name: String,
    /// The shape that starts the pattern.
    pub first: String,
    /// The shape that completes it.
    pub second: String,
}

/// A completed pattern; prints as `color,rule_name,first_ts,first_shape,second_ts,second_shape`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleMatch {
    /// The items' color.
    pub color: String,
    /// The rule that matched.
    pub rule: String,
    /// The first item's timestamp.
    pub first_ts: i64,
    /// The first item's shape.
    pub first_shape: String,
    /// The second item's timestamp.
    pub second_ts: i64,
    /// The second item's shape.
    pub second_shape: String,
}

impl fmt::Display for RuleMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{},{}",
            self.color,
            self.rule,
            self.first_ts,
            self.first_shape,
            self.second_ts,
            self.second_shape
        )
    }
}

/// Splits a line into exactly `N` trimmed, non-empty fields and a timestamp in the first.
fn fields<'l, const N: usize>(
    file: &str,
    line_number: u64,
    line: &'l str,
    format: &str,
) -> Result<(i64, [&'l str; N]), String> {
    let parts: Vec<&str> = line.split(',').map(str::trim).collect();
    let Ok(parts) = <[&str; N]>::try_from(parts) else {
        return Err(format!(
            "{file}:{line_number}: expected {format} but got {line:?}"
        ));
    };
    if let Some(empty) = parts.iter().position(|p| p.is_empty()) {
        let name = format.split(',').nth(empty).unwrap_or("a field");
        return Err(format!(
            "{file}:{line_number}: {name} is empty in {line:?} (expected {format})"
        ));
    }
    let ts: i64 = parts[0].parse().map_err(|_| {
        format!(
            "{file}:{line_number}: ts {:?} is not a whole number of milliseconds in {line:?}",
            parts[0]
        )
    })?;
    if !(-MAX_EVENT_TIME_MS..=MAX_EVENT_TIME_MS).contains(&ts) {
        return Err(format!(
            "{file}:{line_number}: ts {ts} is outside the supported range \
             -{MAX_EVENT_TIME_MS}..={MAX_EVENT_TIME_MS} in {line:?}"
        ));
    }
    Ok((ts, parts))
}

/// Parses line `line_number` (1-based) of the items file `file`.
pub fn parse_item(file: &str, line_number: u64, line: &str) -> Result<Item, String> {
    let (ts, [_, color, shape]) = fields::<3>(file, line_number, line, ITEM_FORMAT)?;
    Ok(Item {
        ts,
        color: color.to_string(),
        shape: shape.to_string(),
    })
}

/// Parses line `line_number` (1-based) of the rules file `file`.
pub fn parse_rule(file: &str, line_number: u64, line: &str) -> Result<Rule, String> {
    let (ts, [_, name, first, second]) = fields::<4>(file, line_number, line, RULE_FORMAT)?;
    Ok(Rule {
        ts,
        name: name.to_string(),
        first: first.to_string(),
        second: second.to_string(),
    })
}

/// A parser for one file read in order by one subtask: counts lines and checks that
/// timestamps do not decrease.
#[derive(Clone)]
struct InOrder {
    file: String,
    what: &'static str,
    line_number: u64,
    last_ts: Option<(i64, u64)>,
}

impl InOrder {
    fn new(file: &str, what: &'static str) -> Self {
        InOrder {
            file: file.to_string(),
            what,
            line_number: 0,
            last_ts: None,
        }
    }

    /// Parses the next line with `parse` (given the file name and the line's number) and
    /// checks that its timestamp is not before the previous line's.
    fn parse<T>(
        &mut self,
        line: &str,
        parse: impl FnOnce(&str, u64, &str) -> Result<T, String>,
        ts_of: impl FnOnce(&T) -> i64,
    ) -> Result<T, String> {
        self.line_number += 1;
        let value = parse(&self.file, self.line_number, line)?;
        let ts = ts_of(&value);
        if let Some((last, last_line)) = self.last_ts {
            if ts < last {
                return Err(format!(
                    "{}:{}: ts {ts} is before ts {last} of line {last_line}; the {} must be in \
                     timestamp order",
                    self.file, self.line_number, self.what
                ));
            }
        }
        self.last_ts = Some((ts, self.line_number));
        Ok(value)
    }
}

/// The versions of one rule, oldest first (their timestamps increase).
pub type RuleVersions = Vec<Rule>;

/// The version of a rule in force at `ts`: the latest whose timestamp is ≤ `ts`.
fn in_force(versions: &[Rule], ts: i64) -> Option<&Rule> {
    versions.iter().rev().find(|rule| rule.ts <= ts)
}

/// A color's pending first item for one rule, with the version (its timestamp) it was
/// recorded under.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    version: i64,
    ts: i64,
    shape: String,
}

/// The keyed broadcast function: rules into broadcast state; items buffered per color until
/// the watermark passes them, then matched.
#[derive(Clone)]
pub struct MatchRules {
    rules: MapStateDescriptor<String, RuleVersions>,
    buffered: MapStateDescriptor<i64, Vec<Item>>,
    pending: MapStateDescriptor<String, Pending>,
}

impl MatchRules {
    /// The function with its state descriptors.
    pub fn new() -> Self {
        MatchRules {
            rules: MapStateDescriptor::new("rules"),
            buffered: MapStateDescriptor::new("buffered-items"),
            pending: MapStateDescriptor::new("pending-first"),
        }
    }

    /// The broadcast state the rules stream declares.
    pub fn rules_descriptor(&self) -> &MapStateDescriptor<String, RuleVersions> {
        &self.rules
    }
}

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules::new()
    }
}

impl KeyedBroadcastProcessFunction<String, Item, Rule, RuleMatch> for MatchRules {
    fn process_element(
        &mut self,
        item: Item,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, String>,
        _out: &mut Collector<'_, RuleMatch>,
    ) -> FnResult<()> {
        let ts = item.ts;
        let mut buffered = ctx.state().map(&self.buffered)?;
        let mut items = buffered.get(&ts)?.unwrap_or_default();
        items.push(item);
        buffered.put(ts, items)?;
        ctx.timer_service().register_event_time_timer(ts);
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        rule: Rule,
        ctx: &mut KeyedBroadcastContext<'_, String>,
        _out: &mut Collector<'_, RuleMatch>,
    ) -> FnResult<()> {
        let mut rules = ctx.broadcast_state(&self.rules)?;
        let mut versions = rules.get(&rule.name)?.unwrap_or_default();
        // Rules arrive in timestamp order: a version with the last one's timestamp replaces it.
        if versions.last().is_some_and(|last| last.ts == rule.ts) {
            versions.pop();
        }
        let name = rule.name.clone();
        versions.push(rule);
        rules.put(name, versions)
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, String>,
        out: &mut Collector<'_, RuleMatch>,
    ) -> FnResult<()> {
        let mut in_force_now: Vec<Rule> = ctx
            .broadcast_state(&self.rules)?
            .values()?
            .iter()
            .filter_map(|versions| in_force(versions, timestamp).cloned())
            .collect();
        in_force_now.sort_by(|a, b| a.name.cmp(&b.name));
        let color = ctx.current_key().clone();
        let items = {
            let mut buffered = ctx.state().map(&self.buffered)?;
            let items = buffered.get(&timestamp)?.unwrap_or_default();
            buffered.remove(&timestamp)?;
            items
        };
        let mut pending = ctx.state().map(&self.pending)?;
        for item in items {
            for rule in &in_force_now {
                let waiting = pending.get(&rule.name)?.filter(|p| p.version == rule.ts);
                match waiting {
                    Some(first) if item.shape == rule.second => {
                        out.collect(RuleMatch {
                            color: color.clone(),
                            rule: rule.name.clone(),
                            first_ts: first.ts,
                            first_shape: first.shape,
                            second_ts: item.ts,
                            second_shape: item.shape.clone(),
                        });
                        pending.remove(&rule.name)?;
                    }
                    _ if item.shape == rule.first => pending.put(
                        rule.name.clone(),
                        Pending {
                            version: rule.ts,
                            ts: item.ts,
                            shape: item.shape.clone(),
                        },
                    )?,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    items: String,
    rules: String,
    output: Option<String>,
}

fn invalid(message: impl fmt::Display) -> ProgramError {
    ProgramError::InvalidArguments(format!(
        "{message}\nusage: broadcast-rules {BROADCAST_RULES_USAGE}"
    ))
}

fn file_option(params: &ParameterTool, key: &str, what: &str) -> Result<String, ProgramError> {
    match params.get(key) {
        None | Some("") => Err(invalid(format!(
            "--{key} is required: a file of {what} lines"
        ))),
        Some(path) if Path::new(path).is_dir() => Err(invalid(format!(
            "--{key} {path} is a directory; give one file (errors name its line numbers)"
        ))),
        Some(path) => Ok(path.to_string()),
    }
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, ProgramError> {
        let params = ParameterTool::from_args(args).map_err(invalid)?;
        let output = match params.get("output") {
            None => None,
            Some("") => return Err(invalid("--output needs a path")),
            Some(path) => Some(path.to_string()),
        };
        Ok(Options {
            items: file_option(&params, "items", ITEM_FORMAT)?,
            rules: file_option(&params, "rules", RULE_FORMAT)?,
            output,
        })
    }
}

/// `broadcast-rules --items FILE --rules FILE [--output PATH]`: see the module documentation
/// for the formats and the matching semantics. Each file is read in order by one source
/// subtask; the matching runs at the job's parallelism (`-p`). Writes one
/// `color,rule_name,first_ts,first_shape,second_ts,second_shape` line per match to `--output`
/// (stdout without it).
pub fn broadcast_rules(args: &[String]) -> Result<(), ProgramError> {
    let options = Options::parse(args)?;
    let env = StreamExecutionEnvironment::get_execution_environment();
    let mut item_lines = InOrder::new(&options.items, "items");
    let items = env
        .read_text_file(&options.items)
        .name("items-input")
        .set_parallelism(1)
        .try_map(move |line: String| item_lines.parse(&line, parse_item, |item| item.ts))
        .name("parse-items")
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|item: &Item, _| item.ts),
        )
        .name("item-watermarks")
        .set_parallelism(1);
    let mut rule_lines = InOrder::new(&options.rules, "rules");
    let function = MatchRules::new();
    let rules = env
        .read_text_file(&options.rules)
        .name("rules-input")
        .set_parallelism(1)
        .try_map(move |line: String| rule_lines.parse(&line, parse_rule, |rule| rule.ts))
        .name("parse-rules")
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|rule: &Rule, _| rule.ts),
        )
        .name("rule-watermarks")
        .set_parallelism(1)
        .broadcast_with(function.rules_descriptor());
    let matches = items
        .key_by(|item: &Item| item.color.clone())
        .connect(&rules)
        .process(function)
        .name("match-rules");
    match &options.output {
        Some(path) => {
            matches
                .write_as_text_with_mode(path, WriteMode::Overwrite)
                .name("file-sink");
        }
        None => {
            eprintln!("Printing result to stdout. Use --output to specify output path.");
            matches.print().name("print-sink");
        }
    }
    env.execute("Broadcast Rules")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_or_fail_naming_file_line_and_problem() {
        assert_eq!(
            parse_item("items.csv", 1, " -5 , red , square ").unwrap(),
            Item {
                ts: -5,
                color: "red".into(),
                shape: "square".into()
            }
        );
        assert_eq!(
            parse_rule("rules.csv", 2, "7,sq-then-ci,square,circle").unwrap(),
            Rule {
                ts: 7,
                name: "sq-then-ci".into(),
                first: "square".into(),
                second: "circle".into()
            }
        );
        let item_err = |line: &str| parse_item("items.csv", 3, line).unwrap_err();
        assert_eq!(
            item_err("red,square"),
            r#"items.csv:3: expected ts,color,shape but got "red,square""#
        );
        assert_eq!(
            item_err("1,,square"),
            r#"items.csv:3: color is empty in "1,,square" (expected ts,color,shape)"#
        );
        assert_eq!(
            item_err("soon,red,square"),
            r#"items.csv:3: ts "soon" is not a whole number of milliseconds in "soon,red,square""#
        );
        assert!(item_err("-9223372036854775808,red,square").contains("outside the supported range"));
        let rule_err = |line: &str| parse_rule("rules.csv", 4, line).unwrap_err();
        assert_eq!(
            rule_err("1,r,square"),
            r#"rules.csv:4: expected ts,rule_name,first_shape,second_shape but got "1,r,square""#
        );
        assert_eq!(
            rule_err("1,r,square, "),
            r#"rules.csv:4: second_shape is empty in "1,r,square, " (expected ts,rule_name,first_shape,second_shape)"#
        );
    }

    #[test]
    fn timestamps_must_not_decrease() {
        let mut order = InOrder::new("items.csv", "items");
        let mut next = |line: &str| order.parse(line, parse_item, |item| item.ts);
        next("5,red,square").unwrap();
        next("5,blue,circle").unwrap();
        assert_eq!(
            next("4,red,circle").unwrap_err(),
            "items.csv:3: ts 4 is before ts 5 of line 2; the items must be in timestamp order"
        );
        assert_eq!(
            next("x,red,circle").unwrap_err(),
            r#"items.csv:4: ts "x" is not a whole number of milliseconds in "x,red,circle""#
        );
    }

    #[test]
    fn the_version_in_force_is_the_latest_not_after_the_item() {
        let version = |ts| Rule {
            ts,
            name: "r".into(),
            first: "a".into(),
            second: "b".into(),
        };
        let versions = vec![version(0), version(10), version(20)];
        assert_eq!(in_force(&versions, -1), None);
        assert_eq!(in_force(&versions, 0).map(|r| r.ts), Some(0));
        assert_eq!(in_force(&versions, 19).map(|r| r.ts), Some(10));
        assert_eq!(in_force(&versions, 20).map(|r| r.ts), Some(20));
    }

    #[test]
    fn options_need_both_files() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            Options::parse(&args).map_err(|e| e.to_string())
        };
        assert_eq!(
            parse(&["--items", "i.csv", "--rules", "r.csv"]).unwrap(),
            Options {
                items: "i.csv".into(),
                rules: "r.csv".into(),
                output: None
            }
        );
        let err = parse(&["--items", "i.csv"]).unwrap_err();
        assert!(
            err.contains("--rules is required") && err.contains("usage:"),
            "{err}"
        );
        let err = parse(&["--rules", "r.csv", "--items"]).unwrap_err();
        assert!(err.contains("--items is required"), "{err}");
        let err = parse(&["--items", "i.csv", "--rules", "r.csv", "--output"]).unwrap_err();
        assert!(err.contains("--output needs a path"), "{err}");
    }
}
