//! `eddy run window-aggregate` end to end: complete outputs (result lines and late lines)
//! against hand-computed expectations and against an independent reference implementation, at
//! parallelism 1 and 3; malformed input.

use crate::common;

use std::path::Path;

use common::window_reference::{reference, Ev, Expected, Spec};
use common::{eddy, read_lines, sorted, Lcg};

/// Writes `lines` as the input file and runs the job with `--output` and `--late-output`.
fn run_job(lines: &[String], window: &str, options: &[&str], parallelism: u32) -> Expected {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("out");
    let late = dir.path().join("late");
    let p = parallelism.to_string();
    let mut args = vec![
        "run",
        "window-aggregate",
        "--input",
        input.to_str().unwrap(),
        "--window",
        window,
        "--output",
        output.to_str().unwrap(),
        "--late-output",
        late.to_str().unwrap(),
        "-p",
        &p,
    ];
    args.extend_from_slice(options);
    let result = eddy(&args, dir.path());
    assert!(
        result.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    Expected {
        results: sorted(read_output(&output)),
        late: sorted(read_output(&late)),
    }
}

/// An output that no subtask wrote to may be missing (a directory of empty files otherwise).
fn read_output(path: &Path) -> Vec<String> {
    if path.exists() {
        read_lines(path)
    } else {
        Vec::new()
    }
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

fn parse_events(lines: &[String]) -> Vec<Ev> {
    lines
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            Ev {
                key: fields[0].to_string(),
                ts: fields[1].parse().unwrap(),
                value: fields[2].parse().unwrap(),
            }
        })
        .collect()
}

/// Checks a hand-computed expectation against the reference and against the job at
/// parallelism 1 and 3.
fn check_literal(
    input: &[&str],
    spec: Spec,
    window: &str,
    ooo: i64,
    lateness: i64,
    results: &[&str],
    late: &[&str],
) {
    let lines = strings(input);
    let expected = Expected {
        results: sorted(strings(results)),
        late: sorted(strings(late)),
    };
    assert_eq!(
        reference(&parse_events(&lines), spec, ooo, lateness),
        expected,
        "the reference agrees with the hand computation"
    );
    let (ooo, lateness) = (format!("{ooo}ms"), format!("{lateness}ms"));
    let options = [
        "--out-of-orderness",
        ooo.as_str(),
        "--allowed-lateness",
        lateness.as_str(),
    ];
    for p in [1, 3] {
        assert_eq!(run_job(&lines, window, &options, p), expected, "p = {p}");
    }
}

#[test]
fn tumbling_windows_with_negative_timestamps_hand_computed() {
    // Watermarks after each line: -15001, -3001 (fires a's [-20000,-10000)), -3001,
    // 3999 (fires b's [-10000,0)), 8999, 11999 (fires a's [0,10000)), 11999; end fires the rest.
    check_literal(
        &[
            "a,-15000,1",
            "b,-3000,10",
            "a,-12000,2", // its window [-20000,-10000) ended before watermark -3001: late
            "a,4000,5",
            "a,9000,7",
            "b,12000,1",
            "a,10000,3", // out of order, but its window [10000,20000) is still open
        ],
        Spec::Tumble(10_000),
        "tumble:10s",
        0,
        0,
        &[
            "a,-20000,-10000,1,1",
            "b,-10000,0,1,10",
            "a,0,10000,2,12",
            "a,10000,20000,1,3",
            "b,10000,20000,1,1",
        ],
        &["a,-12000,2"],
    );
}

#[test]
fn session_windows_merge_out_of_order_elements_hand_computed() {
    // Gap 10 ms, out-of-orderness 5 ms. k,0 alone would be late ([0,10) ended before watermark
    // 12) but it touches the open session [10,28), so it joins it. k,25 is late: its session
    // [25,35) touches nothing open. k,31 bridges into the session started by k,40.
    check_literal(
        &[
            "k,10,1", "k,18,2", "k,0,4", "j,8,100", "k,40,8", "k,25,16", "k,31,32",
        ],
        Spec::Session(10),
        "session:10",
        5,
        0,
        &["j,8,18,1,100", "k,0,28,3,7", "k,31,50,2,40"],
        &["k,25,16"],
    );
}

#[test]
fn allowed_lateness_refires_windows_hand_computed() {
    // Tumbling 10 ms, lateness 5 ms: a,3 arrives after [0,10) fired (watermark 11) but before
    // its cleanup (watermark 14), so the window fires again with both elements; a,5 arrives at
    // watermark 15, after the cleanup: late.
    check_literal(
        &["a,1,1", "a,12,2", "a,3,4", "a,16,8", "a,5,16"],
        Spec::Tumble(10),
        "tumble:10ms",
        0,
        5,
        &["a,0,10,1,1", "a,0,10,2,5", "a,10,20,2,10"],
        &["a,5,16"],
    );
}

#[test]
fn count_windows_hand_computed() {
    let input = ["a,5,1", "a,3,2", "b,0,64", "a,9,4", "a,1,8", "a,7,16"];
    check_literal(
        &input,
        Spec::Count(2),
        "count:2",
        0,
        0,
        &["a,3,5,2,3", "a,1,9,2,12"],
        &[],
    );
    check_literal(
        &input,
        Spec::CountSliding(3, 2),
        "count:3:2",
        0,
        0,
        &["a,3,5,2,3", "a,1,9,3,14"],
        &[],
    );
}

/// Timestamps of generated events are multiples of this, as are all window sizes, gaps,
/// out-of-orderness and lateness, so elements often land exactly on window and lateness
/// boundaries.
const GRID: i64 = 10;

/// `n` events over `keys` keys with timestamps rising by about `step` ms per event from
/// `start`, each shifted back by up to `jitter` ms (out of order) and rounded down to the
/// grid, values in -1000..=1000.
fn generate(seed: u64, n: usize, keys: u64, start: i64, step: i64, jitter: i64) -> Vec<String> {
    let mut rng = Lcg::new(seed);
    (0..n as i64)
        .map(|i| {
            let key = format!("k{}", rng.below(keys));
            let raw = start + i * step - rng.between(0, jitter);
            let ts = raw - raw.rem_euclid(GRID);
            format!("{key},{ts},{}", rng.between(-1000, 1000))
        })
        .collect()
}

/// Runs the job at parallelism 1 and 3 and compares with the reference.
fn check_generated(lines: &[String], spec: Spec, ooo: i64, lateness: i64) -> Expected {
    let expected = reference(&parse_events(lines), spec, ooo, lateness);
    let (ooo, lateness) = (ooo.to_string(), lateness.to_string());
    let options = [
        "--out-of-orderness",
        ooo.as_str(),
        "--allowed-lateness",
        lateness.as_str(),
    ];
    for p in [1, 3] {
        assert_eq!(
            run_job(lines, &spec.arg(), &options, p),
            expected,
            "{spec:?} at p = {p}"
        );
    }
    expected
}

#[test]
fn generated_tumbling_windows_across_zero_match_the_reference() {
    let lines = generate(1, 400, 5, -20_000, 100, 2_000);
    let expected = check_generated(&lines, Spec::Tumble(1_000), 300, 0);
    assert!(expected.results.len() > 30 && !expected.late.is_empty());
    assert!(
        expected.results.iter().any(|l| l.contains(",-")),
        "negative windows"
    );
}

#[test]
fn generated_sliding_windows_match_the_reference() {
    let lines = generate(2, 300, 4, -5_000, 50, 3_500);
    let expected = check_generated(&lines, Spec::Hop(2_000, 500), 500, 0);
    assert!(expected.results.len() > 50 && !expected.late.is_empty());
}

#[test]
fn generated_session_windows_match_the_reference() {
    // Sparse keys and irregular steps: some sessions end, some merge across late arrivals.
    let lines = generate(3, 300, 6, 0, 40, 400);
    let expected = check_generated(&lines, Spec::Session(150), 100, 0);
    assert!(expected.results.len() > 20 && !expected.late.is_empty());
}

#[test]
fn generated_allowed_lateness_refires_and_late_data_match_the_reference() {
    let lines = generate(4, 400, 3, -2_000, 20, 1_200);
    let expected = check_generated(&lines, Spec::Tumble(500), 0, 400);
    let distinct: std::collections::BTreeSet<&str> = expected
        .results
        .iter()
        .map(|l| l.rsplitn(3, ',').last().unwrap())
        .collect();
    assert!(distinct.len() < expected.results.len(), "windows re-fired");
    assert!(!expected.late.is_empty());
    let sessions = check_generated(&lines, Spec::Session(60), 0, 300);
    assert!(!sessions.late.is_empty());
}

#[test]
fn generated_count_windows_match_the_reference() {
    let lines = generate(5, 200, 4, -1_000, 10, 500);
    let tumbling = check_generated(&lines, Spec::Count(7), 0, 0);
    assert!(tumbling.results.len() >= 20 && tumbling.late.is_empty());
    let sliding = check_generated(&lines, Spec::CountSliding(5, 3), 0, 0);
    assert!(sliding.results.len() >= 50);
}

#[test]
fn results_print_to_stdout_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.csv");
    std::fs::write(&input, "b,-4,5\na,1,1\na,12,2\n").unwrap();
    let result = eddy(
        &[
            "run",
            "window-aggregate",
            "--input",
            input.to_str().unwrap(),
            "--window",
            "tumble:10ms",
        ],
        dir.path(),
    );
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    let lines: Vec<String> = stdout
        .lines()
        .filter(|l| l.split(',').count() == 5)
        .map(str::to_string)
        .collect();
    assert_eq!(
        sorted(lines),
        strings(&["a,0,10,1,1", "a,10,20,1,2", "b,-10,0,1,5"])
    );
}

#[test]
fn malformed_lines_fail_the_job_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "a,1,1\nb,2,2\na,b\n",
            "3: expected key,event_time_ms,value but got \"a,b\"",
        ),
        (
            "a,1,1\na,soon,2\n",
            "2: event_time_ms \"soon\" is not a whole number",
        ),
        ("a,1,x\n", "1: value \"x\" is not a 64-bit integer"),
        (
            "a,1,1\n\na,2,2\n",
            "2: expected key,event_time_ms,value but got \"\"",
        ),
    ];
    for (p, (text, message)) in ["1", "3", "1", "3"].into_iter().zip(cases) {
        let input = dir.path().join("bad.csv");
        std::fs::write(&input, text).unwrap();
        let path = input.to_str().unwrap();
        let result = eddy(
            &[
                "run",
                "window-aggregate",
                "--input",
                path,
                "--window",
                "count:1",
                "-p",
                p,
            ],
            dir.path(),
        );
        assert_eq!(result.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(&format!("{path}:{message}")), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing_window = eddy(&["run", "window-aggregate", "--input", "x.csv"], dir.path());
    assert_eq!(missing_window.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing_window.stderr).contains("--window is required"));
}
