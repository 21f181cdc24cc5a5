//! The generator's stream against the reference rules, each checked over whole stretches of
//! the stream with expectations computed here from the rules themselves.

use std::collections::BTreeMap;

use eddy_nexmark::config::DEFAULT_BASE_TIME;
use eddy_nexmark::{Event, NexmarkConfig, NexmarkGenerator};

fn generate(config: NexmarkConfig, n: u64) -> Vec<Event> {
    let generator = NexmarkGenerator::new(config);
    (0..n).map(|i| generator.event(i)).collect()
}

fn kind(event: &Event) -> &'static str {
    match event {
        Event::Person(_) => "person",
        Event::Auction(_) => "auction",
        Event::Bid(_) => "bid",
    }
}

#[test]
fn kinds_cycle_one_person_three_auctions_and_46_bids_per_50_events() {
    let events = generate(NexmarkConfig::default(), 5000);
    for (i, event) in events.iter().enumerate() {
        let expected = match i % 50 {
            0 => "person",
            1..=3 => "auction",
            _ => "bid",
        };
        assert_eq!(kind(event), expected, "event {i}");
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        *counts.entry(kind(event)).or_default() += 1;
    }
    assert_eq!(
        counts,
        BTreeMap::from([("auction", 300), ("bid", 4600), ("person", 100)])
    );
}

#[test]
fn ids_count_up_from_1000_and_references_point_at_generated_or_nearly_generated_ids() {
    let events = generate(NexmarkConfig::default(), 20_000);
    let (mut persons, mut auctions) = (0i64, 0i64);
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Person(p) => {
                assert_eq!(p.id, 1000 + persons, "event {i}");
                persons += 1;
                assert!(["AZ", "CA", "ID", "OR", "WA", "WY"].contains(&p.state.as_str()));
                let digits: Vec<&str> = p.credit_card.split(' ').collect();
                assert!(digits.len() == 4 && digits.iter().all(|d| d.len() == 4));
                assert!(p.email_address.ends_with(".com") && p.email_address.contains('@'));
            }
            Event::Auction(a) => {
                assert_eq!(a.id, 1000 + auctions, "event {i}");
                auctions += 1;
                assert!((10..15).contains(&a.category), "category {}", a.category);
                assert!(a.reserve >= a.initial_bid && a.expires > a.date_time);
                // Sellers: the hot one of the latest group of 100 persons, or an active
                // person, at most 10 beyond the last one generated.
                assert!(
                    a.seller >= 1000 && a.seller < 1000 + persons + 10,
                    "seller {}",
                    a.seller
                );
            }
            Event::Bid(b) => {
                // Hot auctions (the first of the latest 100) or in-flight ones (the last 100,
                // plus 10 ahead).
                let last = 1000 + auctions - 1;
                assert!(b.auction >= (last - 100).max(1000) - 100 && b.auction <= last + 10);
                assert!(
                    b.bidder >= 1000 && b.bidder < 1000 + persons + 10,
                    "bidder {}",
                    b.bidder
                );
                assert!(
                    b.price >= 100 && b.price <= 100_000_000,
                    "price {}",
                    b.price
                );
                assert!(
                    ["Google", "Facebook", "Baidu", "Apple"].contains(&b.channel.as_str())
                        || b.channel.starts_with("channel-")
                );
                assert!(b.url.starts_with("https://www.nexmark.com/"), "{}", b.url);
            }
        }
    }
    // Most bids go to hot auctions: with hot ratio 2, about half of all bids name the first
    // auction of a group of 100.
    let bids: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Bid(b) => Some(b.auction),
            _ => None,
        })
        .collect();
    let hot = bids.iter().filter(|&&a| (a - 1000) % 100 == 0).count();
    let share = hot as f64 / bids.len() as f64;
    assert!((0.45..0.56).contains(&share), "hot auction share {share}");
}

#[test]
fn event_time_advances_by_the_rate_from_the_base_time() {
    let events = generate(NexmarkConfig::default(), 1000);
    for (i, event) in events.iter().enumerate() {
        // 10 000 events per second: event i is i / 10 ms after the base time.
        assert_eq!(
            event.date_time(),
            DEFAULT_BASE_TIME + i as i64 / 10,
            "event {i}"
        );
    }
    // The square shape: 1 000/s for the first half of a 2 s period, 4 000/s for the second.
    let config = NexmarkConfig::from_options([
        ("first-event.rate", "1000"),
        ("next-event.rate", "4000"),
        ("rate.period", "2"),
        ("base-time", "0"),
    ])
    .unwrap();
    let events = generate(config, 10_000);
    let times: Vec<i64> = events.iter().map(Event::date_time).collect();
    let expected = |i: i64| {
        let (epoch, n) = (i / 5000, i % 5000);
        epoch * 2000 + if n < 1000 { n } else { 1000 + (n - 1000) / 4 }
    };
    for (i, &t) in times.iter().enumerate() {
        assert_eq!(t, expected(i as i64), "event {i}");
    }
}

#[test]
fn average_sizes_approach_the_configured_ones() {
    let events = generate(NexmarkConfig::default(), 100_000);
    let mut sizes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for event in &events {
        // The reference's size estimate: 8 bytes per number plus the strings.
        let size = match event {
            Event::Person(p) => {
                8 + p.name.len()
                    + p.email_address.len()
                    + p.credit_card.len()
                    + p.city.len()
                    + p.state.len()
                    + p.extra.len()
            }
            Event::Auction(a) => 8 + a.item_name.len() + a.description.len() + 40 + a.extra.len(),
            Event::Bid(b) => 32 + b.extra.len(),
        };
        let entry = sizes.entry(kind(event)).or_default();
        entry.0 += size;
        entry.1 += 1;
    }
    for (kind, target) in [("person", 200.0), ("auction", 500.0), ("bid", 100.0)] {
        let (total, n) = sizes[kind];
        let average = total as f64 / n as f64;
        assert!(
            (average - target).abs() / target < 0.03,
            "{kind}: average {average}, target {target}"
        );
    }
}

#[test]
fn events_are_a_function_of_their_index_and_the_configuration() {
    let config = NexmarkConfig::default();
    let forward = generate(config.clone(), 3000);
    let generator = NexmarkGenerator::new(config);
    for i in (0..3000u64).rev() {
        assert_eq!(generator.event(i), forward[i as usize], "event {i}");
    }
    // Out-of-order groups move events within groups of 10 (event number n becomes
    // n - n % 10 + (953 n) % 10): every group holds the same events, in another order.
    let shuffled = generate(
        NexmarkConfig::from_options([("out-of-order.group-size", "10")]).unwrap(),
        700,
    );
    assert!(
        shuffled[..10] != forward[..10],
        "the first group was not reordered"
    );
    for group in 0..70 {
        let mut mine: Vec<String> = shuffled[group * 10..group * 10 + 10]
            .iter()
            .map(|e| format!("{e:?}"))
            .collect();
        let mut reference: Vec<String> = forward[group * 10..group * 10 + 10]
            .iter()
            .map(|e| format!("{e:?}"))
            .collect();
        mine.sort();
        reference.sort();
        assert_eq!(mine, reference, "group {group}");
    }
}
