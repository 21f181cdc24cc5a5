//! `eddy bench checkpoints` end to end on a small run: both jobs report checkpoints that
//! completed while they ran, and the recovery line follows an injected failure.

use crate::common::{eddy, json_rows};

#[test]
fn reports_both_jobs_with_completed_checkpoints_and_the_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let out = eddy(
        &[
            "bench",
            "checkpoints",
            "--records",
            "3000000",
            "--window-records",
            "600000",
            "--interval-ms",
            "5",
            "--rounds",
            "1",
            "--json",
        ],
        dir.path(),
    );
    let rows = json_rows(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let cases: Vec<&str> = rows.iter().map(|r| r["case"].as_str().unwrap()).collect();
    assert_eq!(cases, ["keyed reduce, u64", "tumbling windows"], "{stdout}");
    for row in &rows {
        assert_eq!(row["bench"], "checkpoints");
        assert_eq!(row["interval_ms"], 5);
        // Each job runs with checkpoints on and takes at least its final checkpoint.
        assert!(row["checkpoints"].as_u64().unwrap() >= 1, "{row}");
        for field in [
            "events_per_second_off",
            "events_per_second_on",
            "ratio",
            "events_per_cpu_second_on",
            "duration_p50_ms",
            "state_size_p50_bytes",
            "sync_pause_p50_ms",
            "sync_pause_p99_ms",
        ] {
            let value = row[field].as_f64();
            assert!(value.is_some_and(|v| v >= 0.0), "{field} in {row}");
        }
        // The keyed state (counts of 1024 keys, or window contents) is in the checkpoints.
        assert!(row["state_size_p50_bytes"].as_f64().unwrap() > 0.0, "{row}");
    }
    let recovery = stdout
        .lines()
        .find(|line| line.starts_with("recovery"))
        .unwrap_or_else(|| panic!("no recovery line in {stdout}"));
    assert!(
        recovery.contains("failure to redeployment") && recovery.contains(" ms"),
        "{recovery}"
    );
}
