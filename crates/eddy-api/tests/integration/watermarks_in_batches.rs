//! Watermarks that travel inside batches (a watermark after every element): after an exchange
//! a rolling reduce, a map, a filter and a flat map take such a batch whole, and a chained
//! observer still sees every watermark between the same records as the source emitted it.

use crate::common;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::Collector;

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

/// `(key, value)`, its timestamp, and the watermark the observer saw with it.
type ObservedPair = ((u32, u64), Option<i64>, i64);

#[test]
fn map_filter_and_flat_map_move_each_watermark_to_its_place_among_their_outputs() {
    const ELEMENTS: i64 = 30;
    let out = bounded(|| {
        let env = common::env(1);
        let script: Vec<Step<(u32, u64)>> = (0..ELEMENTS)
            .flat_map(|i| [elem(((i % 3) as u32, i as u64), i * 10), wm(i * 10)])
            .collect();
        let (sink, records) = StampedSink::new();
        // After the exchange each batch arrives with its watermarks; the chain behind it
        // takes the batch whole through the map, the filter and the flat map.
        scripted(&env, script)
            .rebalance()
            .map(|(k, v): (u32, u64)| (k, v * 2))
            .filter(|t: &(u32, u64)| t.0 != 1)
            .flat_map(|(k, v): (u32, u64), out: &mut Collector<'_, (u32, u64)>| {
                out.collect((k, v));
                if k == 0 {
                    out.collect((k, v + 1));
                }
            })
            .process(WithTimestampAndWatermark)
            .add_sink(sink);
        env.execute("watermarks through stateless operators")
            .unwrap();
        stamped(&records)
    });
    let observed: Vec<ObservedPair> = out.into_iter().map(|(value, _)| value).collect();
    // Reference: element i becomes (i % 3, 2i), dropped for key 1, doubled (2i and 2i + 1)
    // for key 0; each output comes after the watermark that followed element i - 1, whether
    // or not that element was kept.
    let mut expected: Vec<ObservedPair> = Vec::new();
    for i in 0..ELEMENTS {
        let (key, value) = ((i % 3) as u32, 2 * i as u64);
        let before = if i == 0 { i64::MIN } else { (i - 1) * 10 };
        let values: &[u64] = match key {
            0 => &[value, value + 1],
            1 => &[],
            _ => &[value],
        };
        for &v in values {
            expected.push(((key, v), Some(i * 10), before));
        }
    }
    assert_eq!(observed, expected);
}
