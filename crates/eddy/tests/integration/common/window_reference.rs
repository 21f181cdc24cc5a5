//! An independent, deliberately plain reference for `eddy run window-aggregate`: one loop over
//! the input implementing Flink's window semantics, sharing no code with the engine.
//!
//! * A punctuated watermark follows every element: highest timestamp so far − out-of-orderness
//!   − 1 ms; elements are judged against the watermark before them.
//! * Time windows: tumbling start = ts − ((ts − offset) mod size) with a true (non-negative)
//!   modulo; sliding windows are all `[start, start + size)` with start ≡ offset (mod slide)
//!   containing ts; a session element opens `[ts, ts + gap)`, which merges with every window it
//!   overlaps or touches (transitively).
//! * A window is late when `end − 1 + lateness <= watermark`; an element whose windows are all
//!   late (for sessions: its merged window) goes to the late output. A window fires once when
//!   the watermark reaches `end − 1`, and again immediately for every element added after that
//!   (within the allowed lateness); it is dropped when the watermark reaches
//!   `end − 1 + lateness`. At the end of the input the watermark becomes `i64::MAX`.
//! * Count windows: `count:N` fires every N elements of a key and starts over; `count:N:S`
//!   fires every S elements of a key over its last N elements. Partial count windows never
//!   fire. Their lines carry the earliest and latest timestamp of the window's elements.

use std::collections::BTreeMap;

/// A window specification, as the `--window` option spells it.
#[derive(Debug, Clone, Copy)]
pub enum Spec {
    /// `tumble:SIZE` (ms).
    Tumble(i64),
    /// `hop:SIZE:SLIDE` (ms).
    Hop(i64, i64),
    /// `session:GAP` (ms).
    Session(i64),
    /// `count:N`.
    Count(usize),
    /// `count:N:SLIDE`.
    CountSliding(usize, usize),
}

impl Spec {
    /// The `--window` argument.
    pub fn arg(self) -> String {
        match self {
            Spec::Tumble(size) => format!("tumble:{size}ms"),
            Spec::Hop(size, slide) => format!("hop:{size}ms:{slide}ms"),
            Spec::Session(gap) => format!("session:{gap}ms"),
            Spec::Count(n) => format!("count:{n}"),
            Spec::CountSliding(n, slide) => format!("count:{n}:{slide}"),
        }
    }
}

/// One input line.
#[derive(Debug, Clone)]
pub struct Ev {
    pub key: String,
    pub ts: i64,
    pub value: i64,
}

impl Ev {
    /// The line as written to the input file.
    pub fn line(&self) -> String {
        format!("{},{},{}", self.key, self.ts, self.value)
    }
}

/// What the job must write: result lines and late lines, both sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub results: Vec<String>,
    pub late: Vec<String>,
}

/// An open time window of one key.
#[derive(Debug, Clone)]
struct Win {
    start: i64,
    end: i64,
    count: u64,
    sum: i128,
}

impl Win {
    fn line(&self, key: &str) -> String {
        format!(
            "{key},{},{},{},{}",
            self.start, self.end, self.count, self.sum
        )
    }
}

/// The expected output of `window-aggregate` over `events` in input order.
pub fn reference(events: &[Ev], spec: Spec, out_of_orderness: i64, lateness: i64) -> Expected {
    let (mut results, mut late) = match spec {
        Spec::Count(n) => (count_windows(events, n, n), Vec::new()),
        Spec::CountSliding(n, slide) => (count_windows(events, n, slide), Vec::new()),
        _ => time_windows(events, spec, out_of_orderness, lateness),
    };
    results.sort();
    late.sort();
    Expected { results, late }
}

fn time_windows(
    events: &[Ev],
    spec: Spec,
    out_of_orderness: i64,
    lateness: i64,
) -> (Vec<String>, Vec<String>) {
    let mut open: BTreeMap<String, Vec<Win>> = BTreeMap::new();
    let mut results = Vec::new();
    let mut late = Vec::new();
    let mut watermark = i64::MIN;
    let mut max_ts = i64::MIN;
    for ev in events {
        let windows = open.entry(ev.key.clone()).or_default();
        let mut added = false;
        for (start, end) in candidate_windows(ev.ts, spec, windows) {
            if end - 1 + lateness <= watermark {
                continue;
            }
            added = true;
            let win = match windows
                .iter_mut()
                .find(|w| w.start == start && w.end == end)
            {
                Some(win) => win,
                None => {
                    windows.push(Win {
                        start,
                        end,
                        count: 0,
                        sum: 0,
                    });
                    windows.last_mut().unwrap()
                }
            };
            win.count += 1;
            win.sum += i128::from(ev.value);
            if end - 1 <= watermark {
                results.push(win.line(&ev.key));
            }
        }
        if !added {
            late.push(ev.line());
        }
        max_ts = max_ts.max(ev.ts);
        let next = max_ts - out_of_orderness - 1;
        if next > watermark {
            advance(&mut open, watermark, next, lateness, &mut results);
            watermark = next;
        }
    }
    advance(&mut open, watermark, i64::MAX, lateness, &mut results);
    (results, late)
}

/// The windows an element at `ts` goes to. For sessions this merges the open windows it
/// overlaps or touches into one (removing them from `windows`, their contents carried over).
fn candidate_windows(ts: i64, spec: Spec, windows: &mut Vec<Win>) -> Vec<(i64, i64)> {
    match spec {
        Spec::Tumble(size) => {
            let start = ts - (ts % size + size) % size;
            vec![(start, start + size)]
        }
        Spec::Hop(size, slide) => {
            let mut start = ts - (ts % slide + slide) % slide;
            let mut all = Vec::new();
            while start > ts - size {
                all.push((start, start + size));
                start -= slide;
            }
            all
        }
        Spec::Session(gap) => {
            let mut merged = Win {
                start: ts,
                end: ts + gap,
                count: 0,
                sum: 0,
            };
            while let Some(i) = windows
                .iter()
                .position(|w| w.start <= merged.end && w.end >= merged.start)
            {
                let other = windows.remove(i);
                merged.start = merged.start.min(other.start);
                merged.end = merged.end.max(other.end);
                merged.count += other.count;
                merged.sum += other.sum;
            }
            let bounds = (merged.start, merged.end);
            if merged.count > 0 {
                windows.push(merged);
            }
            vec![bounds]
        }
        Spec::Count(_) | Spec::CountSliding(..) => unreachable!("count windows have no time"),
    }
}

/// Moves the watermark from `from` to `to`: windows whose end − 1 lies in `(from, to]` fire,
/// windows whose end − 1 + lateness ≤ `to` are dropped.
fn advance(
    open: &mut BTreeMap<String, Vec<Win>>,
    from: i64,
    to: i64,
    lateness: i64,
    results: &mut Vec<String>,
) {
    for (key, windows) in open.iter_mut() {
        for win in windows.iter() {
            let last = win.end - 1;
            if from < last && last <= to {
                results.push(win.line(key));
            }
        }
        windows.retain(|w| (w.end - 1).saturating_add(lateness) > to);
    }
}

fn count_windows(events: &[Ev], size: usize, slide: usize) -> Vec<String> {
    let mut seen: BTreeMap<&str, Vec<&Ev>> = BTreeMap::new();
    let mut results = Vec::new();
    for ev in events {
        let all = seen.entry(&ev.key).or_default();
        all.push(ev);
        if !all.len().is_multiple_of(slide) {
            continue;
        }
        let window = &all[all.len().saturating_sub(size)..];
        let first = window.iter().map(|e| e.ts).min().unwrap();
        let last = window.iter().map(|e| e.ts).max().unwrap();
        let sum: i128 = window.iter().map(|e| i128::from(e.value)).sum();
        results.push(format!("{},{first},{last},{},{sum}", ev.key, window.len()));
        if size == slide {
            all.clear();
        }
    }
    results
}
