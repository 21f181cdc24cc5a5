//! The records and functions of the `window-aggregate` example: parsing `key,event_time_ms,value`
//! lines, punctuated watermarks, and the incremental count/sum aggregation with its window
//! bounds.

use std::fmt;

use serde::{Deserialize, Serialize};

use eddy_api::prelude::*;
use eddy_core::Watermark;

/// What a valid input line looks like, for error messages.
const LINE_FORMAT: &str = "key,event_time_ms,value";

/// The largest event time magnitude accepted (2^62 ms, about 146 million years): together with
/// durations of at most [`MAX_DURATION_MS`](super::window_spec::MAX_DURATION_MS), window bounds,
/// watermarks and lateness deadlines stay far from `i64` overflow (and from `i64::MIN`, which
/// marks "no timestamp").
pub const MAX_EVENT_TIME_MS: i64 = 1 << 62;

/// One input line, parsed. It keeps the original line, which is what the late-data output
/// writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The key (the first field, without surrounding whitespace).
    pub key: String,
    /// The event time in milliseconds since the epoch (may be negative).
    pub timestamp: i64,
    /// The value summed per window.
    pub value: i64,
    /// The input line as read.
    pub line: String,
}

/// Parses the line with 1-based number `line_number` of `file`. Errors name the file, the line
/// number and what is wrong, e.g. `events.csv:7: expected key,event_time_ms,value but got "a,b"`.
pub fn parse_event(file: &str, line_number: u64, line: String) -> Result<Event, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [key, timestamp, value] = fields.as_slice() else {
        return Err(format!(
            "{file}:{line_number}: expected {LINE_FORMAT} but got {line:?}"
        ));
    };
    if key.is_empty() {
        return Err(format!(
            "{file}:{line_number}: the key is empty in {line:?} (expected {LINE_FORMAT})"
        ));
    }
    let timestamp: i64 = timestamp.parse().map_err(|_| {
        format!(
            "{file}:{line_number}: event_time_ms {timestamp:?} is not a whole number of \
             milliseconds in {line:?}"
        )
    })?;
    if !(-MAX_EVENT_TIME_MS..=MAX_EVENT_TIME_MS).contains(&timestamp) {
        return Err(format!(
            "{file}:{line_number}: event_time_ms {timestamp} is outside the supported range \
             -{MAX_EVENT_TIME_MS}..={MAX_EVENT_TIME_MS} in {line:?}"
        ));
    }
    let value: i64 = value.parse().map_err(|_| {
        format!("{file}:{line_number}: value {value:?} is not a 64-bit integer in {line:?}")
    })?;
    Ok(Event {
        key: key.to_string(),
        timestamp,
        value,
        line,
    })
}

/// A punctuated watermark generator: after every element it emits the highest timestamp seen so
/// far − out-of-orderness − 1 ms. Watermarks depend only on the elements, never on the clock, so
/// which elements are late is the same in every run.
#[derive(Debug, Clone, Copy)]
pub struct PunctuatedWatermarks {
    out_of_orderness_ms: i64,
    max_timestamp: Option<i64>,
}

impl PunctuatedWatermarks {
    /// A generator tolerating elements up to `out_of_orderness_ms` behind the highest timestamp.
    pub fn new(out_of_orderness_ms: i64) -> Self {
        PunctuatedWatermarks {
            out_of_orderness_ms,
            max_timestamp: None,
        }
    }
}

impl WatermarkGenerator<Event> for PunctuatedWatermarks {
    fn on_event(&mut self, _event: &Event, timestamp: i64, output: &mut WatermarkOutput) {
        let max = self.max_timestamp.map_or(timestamp, |m| m.max(timestamp));
        self.max_timestamp = Some(max);
        output.emit_watermark(Watermark(
            max.saturating_sub(self.out_of_orderness_ms)
                .saturating_sub(1),
        ));
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// The accumulator (and result) of [`CountSum`]: the number of elements, the sum of their
/// values and the range of their timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSumAcc {
    /// Elements added.
    pub count: u64,
    /// Sum of their values (128 bits, so it cannot overflow).
    pub sum: i128,
    /// The earliest timestamp added (`i64::MAX` when empty).
    pub min_timestamp: i64,
    /// The latest timestamp added (`i64::MIN` when empty).
    pub max_timestamp: i64,
}

impl Default for CountSumAcc {
    fn default() -> Self {
        CountSumAcc {
            count: 0,
            sum: 0,
            min_timestamp: i64::MAX,
            max_timestamp: i64::MIN,
        }
    }
}

/// Counts and sums a window's events incrementally (one accumulator per key and window; no
/// element is buffered).
#[derive(Debug, Clone, Copy, Default)]
pub struct CountSum;

impl AggregateFunction<Event, CountSumAcc, CountSumAcc> for CountSum {
    fn create_accumulator(&mut self) -> CountSumAcc {
        CountSumAcc::default()
    }

    fn add(&mut self, event: Event, acc: &mut CountSumAcc) -> FnResult<()> {
        acc.count += 1;
        acc.sum += i128::from(event.value);
        acc.min_timestamp = acc.min_timestamp.min(event.timestamp);
        acc.max_timestamp = acc.max_timestamp.max(event.timestamp);
        Ok(())
    }

    fn get_result(&mut self, acc: &CountSumAcc) -> FnResult<CountSumAcc> {
        Ok(*acc)
    }

    fn merge(&mut self, acc: &mut CountSumAcc, other: CountSumAcc) -> FnResult<()> {
        acc.count += other.count;
        acc.sum += other.sum;
        acc.min_timestamp = acc.min_timestamp.min(other.min_timestamp);
        acc.max_timestamp = acc.max_timestamp.max(other.max_timestamp);
        Ok(())
    }
}

/// One fired window of one key; prints as `key,window_start_ms,window_end_ms,count,sum`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowResult {
    /// The key.
    pub key: String,
    /// The window's start (time windows), or its earliest element's timestamp (count windows).
    pub start: i64,
    /// The window's end, exclusive (time windows), or its latest element's timestamp (count
    /// windows).
    pub end: i64,
    /// The number of elements in the window.
    pub count: u64,
    /// The sum of their values.
    pub sum: i128,
}

impl fmt::Display for WindowResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{}",
            self.key, self.start, self.end, self.count, self.sum
        )
    }
}

/// The bounds a window's result line reports.
pub trait WindowBounds {
    /// `(start, end)` of this window holding the aggregate `acc`.
    fn bounds(&self, acc: &CountSumAcc) -> (i64, i64);
}

impl WindowBounds for TimeWindow {
    fn bounds(&self, _acc: &CountSumAcc) -> (i64, i64) {
        (self.start, self.end)
    }
}

impl WindowBounds for GlobalWindow {
    /// A count window has no time bounds: it reports its elements' earliest and latest
    /// timestamps.
    fn bounds(&self, acc: &CountSumAcc) -> (i64, i64) {
        (acc.min_timestamp, acc.max_timestamp)
    }
}

/// Turns a window's pre-aggregated [`CountSumAcc`] into a [`WindowResult`] with the key and
/// the window bounds.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachWindow;

impl<W: Window + WindowBounds> ProcessWindowFunction<CountSumAcc, WindowResult, String, W>
    for AttachWindow
{
    fn process(
        &mut self,
        key: &String,
        ctx: &mut WindowContext<'_, String, W>,
        elements: Elements<'_, CountSumAcc>,
        out: &mut Collector<'_, WindowResult>,
    ) -> FnResult<()> {
        for acc in elements {
            let (start, end) = ctx.window().bounds(acc);
            out.collect(WindowResult {
                key: key.clone(),
                start,
                end,
                count: acc.count,
                sum: acc.sum,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_or_fail_naming_file_line_and_problem() {
        let event = parse_event("in.csv", 1, " a , -1500 , -7".to_string()).unwrap();
        assert_eq!(
            event,
            Event {
                key: "a".into(),
                timestamp: -1500,
                value: -7,
                line: " a , -1500 , -7".into(),
            }
        );
        let err = |line: &str| parse_event("events.csv", 7, line.to_string()).unwrap_err();
        assert_eq!(
            err("a,b"),
            r#"events.csv:7: expected key,event_time_ms,value but got "a,b""#
        );
        assert_eq!(
            err(""),
            r#"events.csv:7: expected key,event_time_ms,value but got """#
        );
        assert_eq!(
            err("a,1,2,3"),
            r#"events.csv:7: expected key,event_time_ms,value but got "a,1,2,3""#
        );
        assert_eq!(
            err(",1,2"),
            r#"events.csv:7: the key is empty in ",1,2" (expected key,event_time_ms,value)"#
        );
        assert_eq!(
            err("a,1.5,2"),
            r#"events.csv:7: event_time_ms "1.5" is not a whole number of milliseconds in "a,1.5,2""#
        );
        assert_eq!(
            err("a,-9223372036854775808,1"),
            "events.csv:7: event_time_ms -9223372036854775808 is outside the supported range \
             -4611686018427387904..=4611686018427387904 in \"a,-9223372036854775808,1\""
        );
        assert!(parse_event("f", 1, "a,4611686018427387904,1".into()).is_ok());
        assert_eq!(
            err("a,1,99999999999999999999"),
            r#"events.csv:7: value "99999999999999999999" is not a 64-bit integer in "a,1,99999999999999999999""#
        );
    }

    #[test]
    fn watermarks_trail_the_maximum_after_every_element() {
        let mut generator = PunctuatedWatermarks::new(10);
        let mut out = WatermarkOutput::new();
        let event = parse_event("f", 1, "k,0,0".to_string()).unwrap();
        let mut seen = Vec::new();
        for ts in [100, 50, 130, -5] {
            generator.on_event(&event, ts, &mut out);
            seen.push(out.take().map(|w| w.0));
        }
        generator.on_periodic_emit(&mut out);
        assert_eq!(out.take(), None, "nothing on the periodic tick");
        assert_eq!(seen, vec![Some(89), Some(89), Some(119), Some(119)]);
    }

    #[test]
    fn count_sum_adds_merges_and_reports_bounds() {
        let event = |ts, value| Event {
            key: "k".into(),
            timestamp: ts,
            value,
            line: String::new(),
        };
        let mut f = CountSum;
        let mut a = f.create_accumulator();
        f.add(event(5, i64::MAX), &mut a).unwrap();
        f.add(event(-3, i64::MAX), &mut a).unwrap();
        let mut b = f.create_accumulator();
        f.add(event(9, 1), &mut b).unwrap();
        f.merge(&mut a, b).unwrap();
        let result = f.get_result(&a).unwrap();
        assert_eq!(result.count, 3);
        assert_eq!(result.sum, 2 * i128::from(i64::MAX) + 1, "no overflow");
        assert_eq!(GlobalWindow.bounds(&result), (-3, 9));
        assert_eq!(TimeWindow::new(-10, 10).bounds(&result), (-10, 10));
    }
}
