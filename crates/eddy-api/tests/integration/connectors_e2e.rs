//! End-to-end connector jobs: text files in and out, union, and connected streams.
//!
//! `print`/`print_with_identifier` write to the process's stdout, which a test cannot capture
//! reliably; the print sink's formatting is covered by the connector's unit tests.

use crate::common;

use std::fs;
use std::path::Path;

use common::{bounded, env};
use eddy_api::prelude::*;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// The names of the entries of a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn read_a_directory_and_write_one_file_at_parallelism_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("a.txt"), "alpha\nbeta\n");
    write(&input.join("b.txt"), "gamma\r\ndelta"); // CRLF and no final newline
    write(&input.join("sub/c.txt"), "epsilon\n\nzeta\n"); // an empty line is a line
    write(&input.join(".hidden"), "skipped\n");
    write(&input.join("_in_progress"), "skipped\n");
    let output = dir.path().join("out.txt");

    let (input_path, output_path) = (input.clone(), output.clone());
    bounded(move || {
        let env = env(1);
        env.read_text_file(input_path)
            .map(|line: String| line.to_uppercase())
            .write_as_text(output_path);
        env.execute("text-p1").unwrap();
    });

    // Files in path order, lines in file order.
    assert_eq!(
        fs::read_to_string(&output).unwrap(),
        "ALPHA\nBETA\nGAMMA\nDELTA\nEPSILON\n\nZETA\n"
    );
}

#[test]
fn write_at_parallelism_two_creates_a_directory_with_files_1_and_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("a.txt"), "a1\na2\na3\n");
    write(&input.join("b.txt"), "b1\nb2\n");
    let output = dir.path().join("out");

    let (input_path, output_path) = (input.clone(), output.clone());
    bounded(move || {
        let env = env(2);
        env.read_text_file(input_path)
            .map(|line: String| format!("<{line}>"))
            .write_as_text(output_path);
        // The file source splits files over its subtasks (a.txt → 0, b.txt → 1) and the sink is
        // chained to it, so each output file holds exactly one input file.
        assert_eq!(env.get_job_graph("text-p2").unwrap().vertices.len(), 1);
        env.execute("text-p2").unwrap();
    });

    assert_eq!(entries(&output), vec!["1", "2"]);
    assert_eq!(
        fs::read_to_string(output.join("1")).unwrap(),
        "<a1>\n<a2>\n<a3>\n"
    );
    assert_eq!(
        fs::read_to_string(output.join("2")).unwrap(),
        "<b1>\n<b2>\n"
    );
}

#[test]
fn write_at_parallelism_two_after_a_rebalance_keeps_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    let lines: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
    write(&input, &(lines.join("\n") + "\n"));
    let output = dir.path().join("out");

    let (input_path, output_path) = (input.clone(), output.clone());
    bounded(move || {
        let env = env(2);
        env.read_text_file(input_path)
            .set_parallelism(1)
            .rebalance()
            .write_as_text(output_path)
            .set_parallelism(2);
        env.execute("text-rebalance").unwrap();
    });

    // One producer rebalancing from channel 0: even positions to file 1, odd to file 2.
    let expected_1: String = lines.iter().step_by(2).map(|l| format!("{l}\n")).collect();
    let expected_2: String = lines
        .iter()
        .skip(1)
        .step_by(2)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(entries(&output), vec!["1", "2"]);
    assert_eq!(fs::read_to_string(output.join("1")).unwrap(), expected_1);
    assert_eq!(fs::read_to_string(output.join("2")).unwrap(), expected_2);
}

#[test]
fn writing_over_an_existing_file_fails_unless_overwrite_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.txt");
    write(&output, "old\n");

    let path = output.clone();
    let cause = bounded(move || {
        let env = env(1);
        env.from_elements(vec![1u64, 2]).write_as_text(path);
        common::failure_cause(env.execute("no-overwrite"))
    });
    assert!(
        cause.starts_with("Sink: Text File (1/1) failed: ") && cause.contains("already exists"),
        "{cause}"
    );
    assert_eq!(fs::read_to_string(&output).unwrap(), "old\n");

    let path = output.clone();
    bounded(move || {
        let env = env(1);
        env.from_elements(vec![1u64, 2])
            .write_as_text_with_mode(path, WriteMode::Overwrite);
        env.execute("overwrite").unwrap();
    });
    assert_eq!(fs::read_to_string(&output).unwrap(), "1\n2\n");
}

#[test]
fn reading_a_missing_path_fails_the_job_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file.txt");
    let path = missing.clone();
    let cause = bounded(move || {
        let env = env(1);
        env.read_text_file(path).discard();
        common::failure_cause(env.execute("missing"))
    });
    assert!(
        cause.starts_with("Source: File Source (1/1) failed: "),
        "{cause}"
    );
    assert!(cause.contains(&missing.display().to_string()), "{cause}");
}

#[test]
fn union_merges_all_inputs() {
    let mut out = bounded(|| {
        let env = env(2);
        let a = env.from_elements(vec![1u64, 2, 3]);
        let b = env.from_sequence(100, 120);
        let c = env.from_elements(vec![7u64, 7]).map(|x| x * 1000);
        a.union(&b)
            .union(&c)
            .map(|x| x + 1)
            .execute_and_collect("union")
            .unwrap()
    });
    out.sort();
    let mut expected: Vec<u64> = [1u64, 2, 3]
        .into_iter()
        .chain(100..=120)
        .chain([7000, 7000])
        .map(|x| x + 1)
        .collect();
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn connect_co_map_maps_each_input_with_its_own_function() {
    let mut out = bounded(|| {
        let env = env(2);
        let numbers = env.from_sequence(1, 20);
        let words = env.from_elements(vec!["x".to_string(), "yy".to_string(), "zzz".to_string()]);
        numbers
            .connect(&words)
            .co_map(
                |n: u64| format!("n{n}"),
                |w: String| format!("w{}", w.len()),
            )
            .execute_and_collect("co-map")
            .unwrap()
    });
    out.sort();
    let mut expected: Vec<String> = (1..=20u64)
        .map(|n| format!("n{n}"))
        .chain(["w1", "w2", "w3"].map(String::from))
        .collect();
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn connect_co_flat_map_emits_any_number_per_element() {
    let mut out = bounded(|| {
        let env = env(3);
        let numbers = env.from_sequence(1, 10);
        let words = env.from_elements(vec!["ab".to_string(), String::new(), "c".to_string()]);
        numbers
            .connect(&words)
            .co_flat_map(
                |n: u64, out: &mut Collector<String>| {
                    // Numbers above 5 twice, the others not at all.
                    if n > 5 {
                        out.collect(format!("{n}"));
                        out.collect(format!("{n}!"));
                    }
                },
                |w: String, out: &mut Collector<String>| {
                    for c in w.chars() {
                        out.collect(c.to_string());
                    }
                },
            )
            .execute_and_collect("co-flat-map")
            .unwrap()
    });
    out.sort();
    let mut expected: Vec<String> = Vec::new();
    for n in 6..=10u64 {
        expected.push(format!("{n}"));
        expected.push(format!("{n}!"));
    }
    expected.extend(["a", "b", "c"].map(String::from));
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn a_keyed_stream_connected_with_a_stream() {
    let mut out = bounded(|| {
        let env = env(2);
        let keyed = env
            .from_sequence(1, 12)
            .map(|x| (x % 3, x))
            .key_by(|t: &(u64, u64)| t.0);
        let other = env.from_elements(vec![(9u64, 9u64)]);
        keyed
            .connect(&other)
            .co_map(|a: (u64, u64)| a.0 * 100 + a.1, |b: (u64, u64)| b.0 + b.1)
            .execute_and_collect("keyed-connect")
            .unwrap()
    });
    out.sort();
    let mut expected: Vec<u64> = (1..=12u64).map(|x| (x % 3) * 100 + x).collect();
    expected.push(18);
    expected.sort();
    assert_eq!(out, expected);
}
