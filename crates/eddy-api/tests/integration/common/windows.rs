//! Helpers for window tests over `(key, value)` events (`mod common;` then
//! `use common::windows::*;`).

use std::collections::BTreeMap;

use eddy_api::prelude::*;

use super::event_time::{elements, Step};

/// `(key, value)`; the event time travels beside it.
pub type Event = (u32, i64);
/// `(key, window start, window end, the window's values sorted)`.
pub type Contents = (u32, i64, i64, Vec<i64>);

/// Emits each time window's key, bounds and sorted values.
#[derive(Clone)]
pub struct WindowContents;

impl ProcessWindowFunction<Event, Contents, u32, TimeWindow> for WindowContents {
    fn process(
        &mut self,
        key: &u32,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        elements: Elements<'_, Event>,
        out: &mut Collector<'_, Contents>,
    ) -> FnResult<()> {
        let mut values: Vec<i64> = elements.map(|e| e.1).collect();
        values.sort();
        let window = ctx.window();
        out.collect((*key, window.start(), window.end(), values));
        Ok(())
    }
}

/// `(key, value, timestamp)` triples as a script without watermarks.
pub fn script(events: &[(u32, i64, i64)]) -> Vec<Step<Event>> {
    elements(events.iter().map(|&(k, v, ts)| ((k, v), ts)))
}

/// Reference: every element in each window `assign` gives it; one result per key and window,
/// stamped with the window's max timestamp; sorted.
pub fn reference(
    events: &[(u32, i64, i64)],
    assign: impl Fn(i64) -> Vec<(i64, i64)>,
) -> Vec<(Contents, Option<i64>)> {
    let mut windows: BTreeMap<(u32, i64, i64), Vec<i64>> = BTreeMap::new();
    for &(key, value, ts) in events {
        for (start, end) in assign(ts) {
            windows.entry((key, start, end)).or_default().push(value);
        }
    }
    windows
        .into_iter()
        .map(|((key, start, end), mut values)| {
            values.sort();
            ((key, start, end, values), Some(end - 1))
        })
        .collect()
}
