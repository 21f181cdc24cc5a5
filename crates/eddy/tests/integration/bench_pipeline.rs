//! `eddy bench pipeline` end to end: every case at parallelism 1 and 2 produces the plain
//! loop's record count (the benchmark fails otherwise) and reports one JSON row each.

use crate::common::{eddy, json_rows};

#[test]
fn every_case_matches_the_plain_loop_at_both_parallelisms() {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &[
            "bench",
            "pipeline",
            "--records",
            "30000",
            "--rounds",
            "1",
            "--json",
        ],
        dir.path(),
    );
    let rows = json_rows(&out);
    let seen: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["records"], 30000);
            assert!(r["engine_events_per_s"].as_f64().unwrap() > 0.0);
            (
                r["case"].as_str().unwrap().to_string(),
                r["parallelism"].as_u64().unwrap(),
            )
        })
        .collect();
    let cases = [
        "stateless map+filter, u64",
        "stateless map+filter, string",
        "keyed reduce, u64",
        "keyed reduce, string",
        "keyed reduce, string by ref",
        "keyed reduce, u64, watermarks",
        "stateless, u64, watermarks",
        "keyed process, u64, watermarks",
        "keyed process, string",
        "tumbling windows, string",
    ];
    let expected: Vec<(String, u64)> = cases
        .iter()
        .flat_map(|case| [(case.to_string(), 1), (case.to_string(), 2)])
        .collect();
    assert_eq!(seen, expected);
}
