//! `eddy bench large-state` end to end on a small state: one JSON row per backend and mode,
//! checkpoints that completed while the input ran, full checkpoints writing all they hold, and
//! a recovery row per checkpointing mode.

use crate::common::{eddy, json_rows};

/// Runs the benchmark on `backend` with `updates` records after the first write of 5000 keys;
/// its JSON rows.
fn run(backend: &str, updates: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &[
            "bench",
            "large-state",
            "--keys",
            "5000",
            "--value-bytes",
            "64",
            "--updates",
            updates,
            "--interval-ms",
            "10",
            "--backends",
            backend,
            "--json",
        ],
        dir.path(),
    );
    json_rows(&out)
}

#[test]
fn reports_every_backend_and_mode_with_checkpoints_and_recoveries() {
    // Sized so that checkpoints complete while the input runs (the heap is much faster).
    let mut rows = run("hashmap", "1000000");
    let mut expected = vec![
        ("hashmap", "no checkpoints", false),
        ("hashmap", "full checkpoints", false),
        ("hashmap", "full checkpoints", true),
    ];
    if cfg!(feature = "rocksdb") {
        rows.extend(run("rocksdb", "60000"));
        expected.extend([
            ("rocksdb", "no checkpoints", false),
            ("rocksdb", "full checkpoints", false),
            ("rocksdb", "full checkpoints", true),
            ("rocksdb", "incremental checkpoints", false),
            ("rocksdb", "incremental checkpoints", true),
        ]);
    }
    let seen: Vec<(&str, &str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["backend"].as_str().unwrap(),
                r["mode"].as_str().unwrap(),
                r.get("recovery_ms").is_some(),
            )
        })
        .collect();
    assert_eq!(seen, expected, "{rows:?}");
    for row in &rows {
        assert_eq!(row["bench"], "large-state");
        if row.get("recovery_ms").is_some() {
            // A failure after the first checkpoint, and one redeployment.
            assert_eq!(row["recovery_ms"].as_array().unwrap().len(), 1, "{row}");
            continue;
        }
        assert!(row["records_per_second"].as_f64().unwrap() > 0.0, "{row}");
        let checkpoints = row["checkpoints"].as_u64().unwrap();
        match row["mode"].as_str().unwrap() {
            "no checkpoints" => assert_eq!(checkpoints, 0, "{row}"),
            mode => {
                assert!(checkpoints >= 1, "{row}");
                let written = row["written_p50_bytes"].as_f64().unwrap();
                let full = row["full_state_p50_bytes"].as_f64().unwrap();
                assert!(written > 0.0 && written <= full, "{row}");
                if mode == "full checkpoints" {
                    assert_eq!(
                        written, full,
                        "a full checkpoint writes all it holds: {row}"
                    );
                }
            }
        }
    }
}
