//! Every query's complete result on a generated stream, at parallelism 1 and 2, against a
//! reference computed here with plain loops over the generated events, from the SQL text of
//! the Flink nexmark queries.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use eddy_api::prelude::*;
use eddy_nexmark::queries::{self, Q1Row, Q2Row, Q3Row, Q4Row, Q5Row, Q8Row};
use eddy_nexmark::{Auction, Bid, Event, NexmarkConfig, NexmarkGenerator, Person};

/// 20 000 events at 1 000 per second: 20 s of event time, so two tumbling windows and a dozen
/// sliding ones, 400 persons and 1 200 auctions.
fn config() -> NexmarkConfig {
    NexmarkConfig::from_options([
        ("events.num", "20000"),
        ("first-event.rate", "1000"),
        ("next-event.rate", "1000"),
    ])
    .unwrap()
}

fn generated() -> Vec<Event> {
    let config = config();
    let generator = NexmarkGenerator::new(config.clone());
    (0..config.events).map(|i| generator.event(i)).collect()
}

fn bids(events: &[Event]) -> Vec<&Bid> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Bid(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn auctions(events: &[Event]) -> Vec<&Auction> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Auction(a) => Some(&**a),
            _ => None,
        })
        .collect()
}

fn persons(events: &[Event]) -> Vec<&Person> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Person(p) => Some(&**p),
            _ => None,
        })
        .collect()
}

/// Runs `query` over the generated stream at `parallelism`; its rows in arrival order.
fn run<R: Data + Display>(
    parallelism: u32,
    query: fn(&DataStream<Event>) -> DataStream<R>,
) -> Vec<R> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    let events = queries::events(&env, &config(), None);
    query(&events).execute_and_collect("nexmark query").unwrap()
}

fn sorted_lines<R: Display>(rows: &[R]) -> Vec<String> {
    let mut lines: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    lines.sort();
    lines
}

/// Compares complete results as sorted CSV lines (reporting counts, not the whole lists).
fn assert_same_lines(got: Vec<String>, expected: Vec<String>, what: &str) {
    assert!(!expected.is_empty(), "{what}: the reference is empty");
    if got != expected {
        let missing = expected.iter().filter(|l| !got.contains(l)).count();
        let extra = got.iter().filter(|l| !expected.contains(l)).count();
        panic!(
            "{what}: {} rows, {} expected; {missing} missing, {extra} unexpected; first expected: {:?}",
            got.len(),
            expected.len(),
            expected.first()
        );
    }
}

#[test]
fn q0_q1_q2_select_and_convert_the_bids() {
    let events = generated();
    let bids = bids(&events);
    let q0: Vec<String> = bids
        .iter()
        .map(|b| {
            format!(
                "{},{},{},{},{}",
                b.auction, b.bidder, b.price, b.date_time, b.extra
            )
        })
        .collect();
    let q1: Vec<String> = bids
        .iter()
        .map(|b| {
            let euros = b.price * 908;
            format!(
                "{},{},{}.{:03},{},{}",
                b.auction,
                b.bidder,
                euros / 1000,
                euros % 1000,
                b.date_time,
                b.extra
            )
        })
        .collect();
    let q2: Vec<String> = bids
        .iter()
        .filter(|b| b.auction % 123 == 0)
        .map(|b| format!("{},{}", b.auction, b.price))
        .collect();
    for parallelism in [1, 2] {
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_same_lines(
            sorted_lines(&run(parallelism, queries::q0)),
            sorted(q0.clone()),
            "q0",
        );
        assert_same_lines(
            sorted_lines::<Q1Row>(&run(parallelism, queries::q1)),
            sorted(q1.clone()),
            "q1",
        );
        assert_same_lines(
            sorted_lines::<Q2Row>(&run(parallelism, queries::q2)),
            sorted(q2.clone()),
            "q2",
        );
    }
}

#[test]
fn q3_joins_category_10_auctions_with_their_sellers_in_or_id_ca() {
    let events = generated();
    let sellers: BTreeMap<i64, &Person> = persons(&events)
        .into_iter()
        .filter(|p| ["OR", "ID", "CA"].contains(&p.state.as_str()))
        .map(|p| (p.id, p))
        .collect();
    let mut expected: Vec<String> = auctions(&events)
        .into_iter()
        .filter(|a| a.category == 10)
        .filter_map(|a| {
            sellers
                .get(&a.seller)
                .map(|p| format!("{},{},{},{}", p.name, p.city, p.state, a.id))
        })
        .collect();
    expected.sort();
    for parallelism in [1, 2] {
        let got = sorted_lines::<Q3Row>(&run(parallelism, queries::q3));
        assert_same_lines(got, expected.clone(), &format!("q3 at p={parallelism}"));
    }
}

#[test]
fn q4_averages_the_winning_bids_per_category() {
    let events = generated();
    let bids = bids(&events);
    let mut per_category: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for auction in auctions(&events) {
        let winning = bids
            .iter()
            .filter(|b| b.auction == auction.id)
            .filter(|b| (auction.date_time..=auction.expires).contains(&b.date_time))
            .map(|b| b.price)
            .max();
        if let Some(winning) = winning {
            let entry = per_category.entry(auction.category).or_default();
            entry.0 += winning;
            entry.1 += 1;
        }
    }
    let expected: Vec<String> = per_category
        .iter()
        .map(|(category, (sum, count))| format!("{category},{}", sum / count))
        .collect();
    for parallelism in [1, 2] {
        // The last update of each category is its final average.
        let mut last: BTreeMap<i64, Q4Row> = BTreeMap::new();
        for row in run(parallelism, queries::q4) {
            last.insert(row.category, row);
        }
        let got: Vec<String> = last.values().map(|r| r.to_string()).collect();
        assert_same_lines(got, expected.clone(), &format!("q4 at p={parallelism}"));
    }
}

#[test]
fn q5_finds_the_auctions_with_the_most_bids_per_sliding_window() {
    let events = generated();
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for bid in bids(&events) {
        let t = bid.date_time;
        let last_start = t - t.rem_euclid(2000);
        let mut start = last_start;
        while start > t - 10_000 {
            *counts.entry((start, bid.auction)).or_default() += 1;
            start -= 2000;
        }
    }
    let mut max: BTreeMap<i64, u64> = BTreeMap::new();
    for (&(start, _), &count) in &counts {
        let m = max.entry(start).or_default();
        *m = (*m).max(count);
    }
    let mut expected: Vec<String> = counts
        .iter()
        .filter(|((start, _), count)| **count == max[start])
        .map(|((_, auction), count)| format!("{auction},{count}"))
        .collect();
    expected.sort();
    assert!(max.len() >= 10, "{} windows", max.len());
    for parallelism in [1, 2] {
        let got = sorted_lines::<Q5Row>(&run(parallelism, queries::q5));
        assert_same_lines(got, expected.clone(), &format!("q5 at p={parallelism}"));
    }
}

#[test]
fn q7_finds_the_highest_bids_per_tumbling_window() {
    let events = generated();
    let bids = bids(&events);
    let mut max: BTreeMap<i64, i64> = BTreeMap::new();
    for bid in &bids {
        let start = bid.date_time - bid.date_time.rem_euclid(10_000);
        let m = max.entry(start).or_insert(i64::MIN);
        *m = (*m).max(bid.price);
    }
    // `BETWEEN window_end - 10 s AND window_end`: both ends included.
    let mut expected: Vec<String> = Vec::new();
    for (&start, &price) in &max {
        for bid in &bids {
            if (start..=start + 10_000).contains(&bid.date_time) && bid.price == price {
                expected.push(bid.to_string());
            }
        }
    }
    expected.sort();
    for parallelism in [1, 2] {
        let got = sorted_lines(&run(parallelism, queries::q7));
        assert_same_lines(got, expected.clone(), &format!("q7 at p={parallelism}"));
    }
}

#[test]
fn q8_finds_persons_who_sold_in_the_window_they_registered_in() {
    let events = generated();
    let window = |t: i64| t - t.rem_euclid(10_000);
    let seller_windows: BTreeSet<(i64, i64)> = auctions(&events)
        .into_iter()
        .map(|a| (a.seller, window(a.date_time)))
        .collect();
    let mut expected: Vec<String> = persons(&events)
        .into_iter()
        .filter(|p| seller_windows.contains(&(p.id, window(p.date_time))))
        .map(|p| format!("{},{},{}", p.id, p.name, window(p.date_time)))
        .collect();
    expected.sort();
    for parallelism in [1, 2] {
        let got = sorted_lines::<Q8Row>(&run(parallelism, queries::q8));
        assert_same_lines(got, expected.clone(), &format!("q8 at p={parallelism}"));
    }
}

#[test]
fn q7_includes_a_bid_at_the_window_end_at_the_windows_highest_price() {
    let bid = |time: i64, price: i64| {
        Event::Bid(Bid {
            auction: 1000 + time,
            bidder: 1001,
            price,
            channel: "Google".into(),
            url: "https://www.nexmark.com/a/b/c/item.htm?query=1".into(),
            date_time: time,
            extra: String::new(),
        })
    };
    // Window [0, 10 000) has the highest price 7; the bid at 10 000 (in the next window) also
    // costs 7 and is `BETWEEN` the first window's bounds; the next window's highest is 9.
    let input = vec![
        bid(0, 5),
        bid(9_999, 7),
        bid(10_000, 7),
        bid(10_001, 9),
        bid(10_002, 7),
    ];
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    let events = env
        .from_collection(input)
        .assign_timestamps_and_watermarks(eddy_nexmark::watermark_strategy());
    let rows = queries::q7(&events)
        .execute_and_collect("q7 boundary")
        .unwrap();
    let mut times: Vec<(i64, i64)> = rows.iter().map(|b| (b.date_time, b.price)).collect();
    times.sort();
    assert_eq!(times, vec![(9_999, 7), (10_000, 7), (10_001, 9)]);
}
