//! `eddy nexmark generate` (the stream as CSV or JSON lines, equal to the generator's events),
//! `eddy run nexmark` and `eddy bench nexmark`.

use crate::common::{eddy, json_rows};

use eddy_nexmark::format::{format_event, Format};
use eddy_nexmark::{Event, NexmarkConfig, NexmarkGenerator};

fn reference(config: NexmarkConfig, n: u64) -> Vec<Event> {
    let generator = NexmarkGenerator::new(config);
    (0..n).map(|i| generator.event(i)).collect()
}

#[test]
fn json_lines_are_the_generated_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &["nexmark", "generate", "--events", "300", "--format", "json"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Event> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected = reference(NexmarkConfig::default(), 300);
    assert!(
        events == expected,
        "the JSON lines differ from the generator's events"
    );
}

#[test]
fn csv_honours_the_rate_and_options_and_writes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    let out = eddy(
        &[
            "nexmark",
            "generate",
            "--events",
            "200",
            "--rate",
            "1000",
            "-D",
            "bid.proportion=6",
            "--output",
            path.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = NexmarkConfig::from_options([
        ("first-event.rate", "1000"),
        ("next-event.rate", "1000"),
        ("bid.proportion", "6"),
    ])
    .unwrap();
    let expected: Vec<String> = reference(config, 200)
        .iter()
        .map(|e| format_event(e, Format::Csv))
        .collect();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);
    // 1 person, 3 auctions, 6 bids per 10 events; a millisecond per event.
    assert!(expected[10].starts_with("0,1001,"), "{}", expected[10]);
    assert!(
        expected[199].contains(",1436918400199,"),
        "{}",
        expected[199]
    );
}

#[test]
fn bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &["nexmark", "generate", "-D", "bid.proportion=x"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("nexmark option 'bid.proportion': expected a non-negative integer (got 'x')"),
        "{stderr}"
    );
}

#[test]
fn run_nexmark_writes_the_rows_of_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q2.csv");
    let out = eddy(
        &[
            "run",
            "nexmark",
            "--query",
            "q2",
            "--events",
            "50000",
            "--output",
            path.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: Vec<String> = reference(NexmarkConfig::default(), 50_000)
        .into_iter()
        .filter_map(|e| match e {
            Event::Bid(b) if b.auction % 123 == 0 => Some(format!("{},{}", b.auction, b.price)),
            _ => None,
        })
        .collect();
    let mut written: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    expected.sort();
    written.sort();
    assert!(!expected.is_empty());
    assert_eq!(written, expected);
}

#[test]
fn bench_nexmark_reports_throughput_and_latency_per_query() {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &[
            "bench",
            "nexmark",
            "--queries",
            "q0,q2",
            "--events",
            "20000",
            "--json",
        ],
        dir.path(),
    );
    let rows = json_rows(&out);
    let q2_rows = reference(NexmarkConfig::default(), 20_000)
        .iter()
        .filter(|e| matches!(e, Event::Bid(b) if b.auction % 123 == 0))
        .count();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["query"].as_str(), rows[0]["rows"].as_u64()),
        (Some("q0"), Some(18_400))
    );
    assert_eq!(
        (rows[1]["query"].as_str(), rows[1]["rows"].as_u64()),
        (Some("q2"), Some(q2_rows as u64))
    );
    assert!(rows[0]["events_per_s_per_core"].as_f64().unwrap() > 0.0);

    // At a fixed rate: 10 000 events at 20 000 per second, every q0 row with a latency.
    let out = eddy(
        &[
            "bench",
            "nexmark",
            "--queries",
            "q0",
            "--events",
            "10000",
            "--tps",
            "20000",
            "--json",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row: serde_json::Value = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(row["rows"].as_u64(), Some(9_200));
    assert!(row["p50_ms"].as_u64().is_some() && row["p999_ms"].as_u64().is_some());
}
