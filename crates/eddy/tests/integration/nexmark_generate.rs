//! `eddy nexmark generate`: the stream as CSV or JSON lines, equal to the generator's events.

use crate::common::eddy;

use eddy_nexmark::format::{format_event, Format};
use eddy_nexmark::{Event, NexmarkConfig, NexmarkGenerator};

fn reference(config: NexmarkConfig, n: u64) -> Vec<Event> {
    let mut generator = NexmarkGenerator::new(config);
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
