//! `eddy run temperature-alert` end to end: keyed state in a `flat_map` on a keyed stream,
//! complete outputs against a plain reference loop over generated readings, at parallelism 1
//! and 3, on both state backends where the build has them.

use crate::common;

use std::collections::HashMap;

use common::{eddy, read_lines, sorted, Lcg};

/// Readings with one decimal place: a random walk per sensor with occasional jumps.
fn readings(count: usize, seed: u64) -> Vec<String> {
    let mut random = Lcg::new(seed);
    let mut tenths: HashMap<u64, i64> = HashMap::new();
    (0..count)
        .map(|_| {
            let sensor = random.below(5);
            let step = if random.below(8) == 0 {
                random.between(-90, 90)
            } else {
                random.between(-15, 15)
            };
            let value = tenths.entry(sensor).or_insert(200);
            *value += step;
            format!(
                "sensor-{sensor},{}.{}",
                value.div_euclid(10),
                value.rem_euclid(10)
            )
        })
        .collect()
}

/// The alerts as a plain loop finds them, in tenths of a degree to avoid rounding.
fn reference(lines: &[String], threshold_tenths: i64) -> Vec<String> {
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut alerts = Vec::new();
    let show = |tenths: i64| format!("{}.{}", tenths.div_euclid(10), tenths.rem_euclid(10));
    for line in lines {
        let (sensor, temperature) = line.split_once(',').unwrap();
        let (whole, fraction) = temperature.split_once('.').unwrap();
        let tenths = whole.parse::<i64>().unwrap() * 10 + fraction.parse::<i64>().unwrap();
        if let Some(previous) = last.insert(sensor.to_string(), tenths) {
            if (tenths - previous).abs() > threshold_tenths {
                alerts.push(format!("({sensor},{},{})", show(previous), show(tenths)));
            }
        }
    }
    sorted(alerts)
}

fn run_job(lines: &[String], parallelism: u32, backend: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("readings.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("alerts");
    let p = parallelism.to_string();
    let backend = format!("state.backend.type={backend}");
    let args = [
        "run",
        "-p",
        &p,
        "-D",
        &backend,
        "temperature-alert",
        "--input",
        input.to_str().unwrap(),
        "--threshold",
        "5",
        "--output",
        output.to_str().unwrap(),
    ];
    let result = eddy(&args, dir.path());
    assert!(
        result.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    if output.exists() {
        sorted(read_lines(&output))
    } else {
        Vec::new()
    }
}

#[test]
fn alerts_match_a_reference_loop_at_parallelism_one_and_three() {
    let lines = readings(600, 7);
    let expected = reference(&lines, 50);
    assert!(expected.len() > 20, "the readings must produce alerts");
    let mut backends = vec!["hashmap"];
    if cfg!(feature = "rocksdb") {
        backends.push("rocksdb");
    }
    for backend in backends {
        for parallelism in [1, 3] {
            assert_eq!(
                run_job(&lines, parallelism, backend),
                expected,
                "on {backend} at p={parallelism}"
            );
        }
    }
}
