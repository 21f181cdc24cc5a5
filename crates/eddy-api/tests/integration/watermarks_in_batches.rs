//! Watermarks that travel inside batches (a watermark after every element): after an exchange
//! a rolling reduce takes such a batch whole, and a chained observer still sees every
//! watermark between the same records as the source emitted it.

use crate::common;

use common::bounded;
use common::event_time::*;

/// `(key, running count)`, its timestamp, and the watermark the observer saw with it.
type Observed = ((u32, u64), Option<i64>, i64);

#[test]
fn a_rolling_reduce_keeps_every_watermark_between_the_same_records() {
    const ELEMENTS: i64 = 40;
    let out = bounded(|| {
        let env = common::env(1);
        let script: Vec<Step<(u32, u64)>> = (0..ELEMENTS)
            .flat_map(|i| [elem(((i % 3) as u32, 1u64), i * 10), wm(i * 10)])
            .collect();
        let (sink, records) = StampedSink::new();
        scripted(&env, script)
            .key_by(|t: &(u32, u64)| t.0)
            .reduce(|a, b| (a.0, a.1 + b.1))
            .process(WithTimestampAndWatermark)
            .add_sink(sink);
        env.execute("watermarks in batches").unwrap();
        stamped(&records)
    });
    let observed: Vec<Observed> = out.into_iter().map(|(value, _)| value).collect();
    // Reference: element i is key i % 3's (i / 3 + 1)-th; the watermark before it is the one
    // that followed element i - 1.
    let expected: Vec<Observed> = (0..ELEMENTS)
        .map(|i| {
            let before = if i == 0 { i64::MIN } else { (i - 1) * 10 };
            (((i % 3) as u32, (i / 3 + 1) as u64), Some(i * 10), before)
        })
        .collect();
    assert_eq!(observed, expected);
}
