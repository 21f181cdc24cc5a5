//! `eddy run broadcast-rules` end to end: complete outputs against a hand-computed fixture and
//! against a plain reference loop over generated inputs, at parallelism 1 and 3; malformed
//! and out-of-order lines.

use crate::common;

use std::collections::HashMap;
use std::path::Path;

use common::{eddy, read_lines, sorted, Lcg};

/// Writes the inputs, runs the job with `-p parallelism` and returns its sorted output lines.
fn run_job(items: &[String], rules: &[String], parallelism: u32) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let (items_path, rules_path) = (dir.path().join("items.csv"), dir.path().join("rules.csv"));
    std::fs::write(&items_path, items.join("\n") + "\n").unwrap();
    std::fs::write(&rules_path, rules.join("\n") + "\n").unwrap();
    let output = dir.path().join("matches");
    let p = parallelism.to_string();
    let args = [
        "run",
        "broadcast-rules",
        "--items",
        items_path.to_str().unwrap(),
        "--rules",
        rules_path.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "-p",
        &p,
    ];
    let result = eddy(&args, dir.path());
    assert!(
        result.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    sorted(read_output(&output))
}

/// An output no subtask wrote to may be missing.
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

/// The documented semantics as a plain loop: items in file order (their timestamps do not
/// decrease); per item the rules in force at its time (per name, the last line with a
/// timestamp ≤ the item's), in name order; per color and rule a pending first item tagged
/// with the version (timestamp) it was recorded under.
fn reference(items: &[String], rules: &[String]) -> Vec<String> {
    let rules: Vec<(i64, String, String, String)> = rules
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[0].parse().unwrap(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    let mut pending: HashMap<(String, String), (i64, i64, String)> = HashMap::new();
    let mut out = Vec::new();
    for line in items {
        let f: Vec<&str> = line.split(',').collect();
        let (ts, color, shape): (i64, &str, &str) = (f[0].parse().unwrap(), f[1], f[2]);
        let mut names: Vec<&String> = rules.iter().map(|r| &r.1).collect();
        names.sort();
        names.dedup();
        for name in names {
            let Some((version, _, first, second)) =
                rules.iter().rfind(|r| &r.1 == name && r.0 <= ts)
            else {
                continue;
            };
            let slot = (color.to_string(), name.clone());
            let waiting = pending.get(&slot).filter(|p| p.0 == *version).cloned();
            if let (Some((_, first_ts, first_shape)), true) = (waiting, shape == second) {
                out.push(format!(
                    "{color},{name},{first_ts},{first_shape},{ts},{shape}"
                ));
                pending.remove(&slot);
            } else if shape == first {
                pending.insert(slot, (*version, ts, shape.to_string()));
            }
        }
    }
    sorted(out)
}

#[test]
fn hand_computed_matches_with_repeated_firsts_equal_shapes_and_rule_versions() {
    let rules = strings(&[
        "0,sq-ci,square,circle",
        "0,tri-tri,triangle,triangle",
        // From 50 on, sq-ci matches circle then square: pendings of the old version are void.
        "50,sq-ci,circle,square",
        "65,sq-sq,square,square",
    ]);
    let items = strings(&[
        "10,red,square",
        "12,blue,circle",
        "15,red,square", // a repeated first replaces the pending one
        "20,red,circle", // red sq-ci 15 → 20
        "21,red,triangle",
        "22,blue,triangle", // never completed
        "22,red,triangle",  // red tri-tri 21 → 22 (equal shapes: pairs)
        "23,red,triangle",
        "30,red,triangle", // red tri-tri 23 → 30
        "40,blue,square",  // pending under sq-ci's first version
        "45,red,square",   // likewise
        "50,blue,square",  // the new version: blue's pending square is void, square is no first
        "52,red,circle",   // red's old pending is void; circle starts the new version
        "55,blue,circle",
        "60,blue,square",  // blue sq-ci 55 → 60
        "61,red,square",   // red sq-ci 52 → 61
        "64,green,square", // sq-sq is not in force yet
        "70,green,square",
        "71,green,square", // green sq-sq 70 → 71
        "72,green,square", // waits forever
    ]);
    let expected = strings(&[
        "blue,sq-ci,55,circle,60,square",
        "green,sq-sq,70,square,71,square",
        "red,sq-ci,15,square,20,circle",
        "red,sq-ci,52,circle,61,square",
        "red,tri-tri,21,triangle,22,triangle",
        "red,tri-tri,23,triangle,30,triangle",
    ]);
    assert_eq!(
        reference(&items, &rules),
        expected,
        "the reference agrees with the hand computation"
    );
    for p in [1, 3] {
        assert_eq!(run_job(&items, &rules, p), expected, "p = {p}");
    }
}

#[test]
fn generated_inputs_match_the_reference_at_parallelism_1_and_3() {
    const COLORS: [&str; 5] = ["red", "blue", "green", "yellow", "black"];
    const SHAPES: [&str; 4] = ["square", "circle", "triangle", "star"];
    const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];
    let mut rng = Lcg::new(2024);
    let mut ts = -100;
    let items: Vec<String> = (0..1500)
        .map(|_| {
            ts += rng.between(0, 3);
            format!(
                "{ts},{},{}",
                COLORS[rng.below(5) as usize],
                SHAPES[rng.below(4) as usize]
            )
        })
        .collect();
    let mut ts = -150;
    let rules: Vec<String> = (0..20)
        .map(|_| {
            ts += rng.between(0, 300);
            format!(
                "{ts},{},{},{}",
                NAMES[rng.below(3) as usize],
                SHAPES[rng.below(4) as usize],
                SHAPES[rng.below(4) as usize]
            )
        })
        .collect();
    let expected = reference(&items, &rules);
    assert!(
        expected.len() > 100,
        "the fixture exercises matching: {} matches",
        expected.len()
    );
    for p in [1, 3] {
        assert_eq!(run_job(&items, &rules, p), expected, "p = {p}");
    }
}

/// Runs the job on the given inputs and returns its stderr, asserting exit code 1.
fn run_failing(items: &[&str], rules: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("items.csv"), items.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("rules.csv"), rules.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let result = eddy(
        &[
            "run",
            "broadcast-rules",
            "--items",
            "items.csv",
            "--rules",
            "rules.csv",
            "--output",
            out.to_str().unwrap(),
            "-p",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(result.status.code(), Some(1));
    String::from_utf8_lossy(&result.stderr).into_owned()
}

#[test]
fn malformed_or_out_of_order_lines_fail_the_job_naming_file_and_line() {
    let stderr = run_failing(&["1,red,square", "2,red"], &["0,r,square,circle"]);
    assert!(
        stderr.contains(r#"items.csv:2: expected ts,color,shape but got "2,red""#),
        "{stderr}"
    );
    let stderr = run_failing(
        &["1,red,square"],
        &["10,r,square,circle", "5,r,circle,square"],
    );
    assert!(
        stderr.contains(
            "rules.csv:2: ts 5 is before ts 10 of line 1; the rules must be in timestamp order"
        ),
        "{stderr}"
    );
    let stderr = run_failing(&["1,red,square"], &["x,r,square,circle"]);
    assert!(
        stderr.contains(r#"rules.csv:1: ts "x" is not a whole number of milliseconds"#),
        "{stderr}"
    );
}

#[test]
fn missing_arguments_print_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    let result = eddy(&["run", "broadcast-rules", "--items", "i.csv"], dir.path());
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("--rules is required")
            && stderr.contains("usage: broadcast-rules --items FILE --rules FILE [--output PATH]"),
        "{stderr}"
    );
}
