//! The `eddy` binary end to end: wordcount against an independently computed reference, plans,
//! runtime modes, and errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::common;

use common::eddy;

/// Input with mixed case, punctuation, digits, underscores and non-ASCII letters (which `\W`
/// treats as separators, like Java's regex).
const TEXT: &str = "To be, or not to be,--that is the question:--\n\
Whether 'tis nobler in the mind to suffer\n\
THE slings and arrows of outrageous fortune_2\n\
\n\
naïve café, to be 42 times: be!\n";

/// The reference word count: a plain loop with its own tokenizer (lower-case, split on
/// anything that is not an ASCII letter, digit or underscore).
fn reference_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        let lower: Vec<char> = c.to_lowercase().collect();
        if lower.len() == 1 && (lower[0].is_ascii_alphanumeric() || lower[0] == '_') {
            word.push(lower[0]);
        } else if !word.is_empty() {
            *counts.entry(std::mem::take(&mut word)).or_insert(0) += 1;
        }
    }
    counts
}

/// Parses `(word,count)` lines (from part files or stdout, with optional `N> ` prefixes).
fn parse_lines(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let line = line.split_once("> ").map_or(line, |(_, rest)| rest);
            let inner = line.strip_prefix('(')?.strip_suffix(')')?;
            let (word, count) = inner.rsplit_once(',')?;
            Some((word.to_string(), count.parse().ok()?))
        })
        .collect()
}

fn read_output(path: &Path) -> Vec<(String, u64)> {
    if path.is_dir() {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(path).unwrap() {
            all.extend(parse_lines(
                &std::fs::read_to_string(entry.unwrap().path()).unwrap(),
            ));
        }
        all
    } else {
        parse_lines(&std::fs::read_to_string(path).unwrap())
    }
}

fn run_wordcount(parallelism: &str, extra: &[&str]) -> (Output, Vec<(String, u64)>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, TEXT).unwrap();
    let output = dir.path().join("out");
    let mut args = vec![
        "run",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "-p",
        parallelism,
    ];
    args.extend_from_slice(extra);
    let result = eddy(&args, dir.path());
    assert!(
        result.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    (result, read_output(&output))
}

/// In STREAMING mode every occurrence emits an update: per word the counts 1..=n, in order.
fn assert_streaming_updates(lines: &[(String, u64)], reference: &BTreeMap<String, u64>) {
    let mut per_word: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (word, count) in lines {
        per_word.entry(word.clone()).or_default().push(*count);
    }
    let expected: BTreeMap<String, Vec<u64>> = reference
        .iter()
        .map(|(w, &n)| (w.clone(), (1..=n).collect()))
        .collect();
    assert_eq!(per_word, expected);
}

#[test]
fn wordcount_streaming_at_parallelism_1_and_4_matches_reference() {
    let reference = reference_counts(TEXT);
    assert_eq!(reference["be"], 4);
    assert_eq!(reference["caf"], 1, "é separates words like Java's \\W");
    for p in ["1", "4"] {
        let (result, lines) = run_wordcount(p, &[]);
        assert_streaming_updates(&lines, &reference);
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            stdout.contains("Job has been submitted with JobID "),
            "{stdout}"
        );
        assert!(stdout.contains("Program execution finished"), "{stdout}");
    }
}

#[test]
fn wordcount_batch_mode_emits_only_final_counts() {
    let reference = reference_counts(TEXT);
    for p in ["1", "4"] {
        let (_, lines) = run_wordcount(p, &["-D", "execution.runtime-mode=BATCH"]);
        let finals: BTreeMap<String, u64> = lines.iter().cloned().collect();
        assert_eq!(lines.len(), finals.len(), "one line per word: {lines:?}");
        assert_eq!(finals, reference);
    }
}

#[test]
fn wordcount_without_input_counts_the_embedded_text_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let result = eddy(
        &["run", "wordcount", "-D", "execution.runtime-mode=BATCH"],
        dir.path(),
    );
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    let counts: BTreeMap<String, u64> = parse_lines(&stdout).into_iter().collect();
    let text = eddy::examples::WORDS.join("\n");
    assert_eq!(counts, reference_counts(&text));
}

#[test]
fn info_prints_the_plan_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let result = eddy(&["info", "wordcount", "-p", "2"], dir.path());
    assert!(result.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let nodes = plan["nodes"].as_array().unwrap();
    let summary: Vec<(String, u64, String)> = nodes
        .iter()
        .map(|n| {
            let strategy = n["predecessors"][0]["ship_strategy"]
                .as_str()
                .unwrap_or("-")
                .to_string();
            (
                n["type"].as_str().unwrap().to_string(),
                n["parallelism"].as_u64().unwrap(),
                strategy,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("in-memory-input".to_string(), 1, "-".to_string()),
            ("tokenizer".to_string(), 2, "REBALANCE".to_string()),
            ("counter".to_string(), 2, "HASH".to_string()),
            ("print-sink".to_string(), 2, "FORWARD".to_string()),
        ]
    );
}

#[test]
fn bad_input_gives_clear_errors_and_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = eddy(&["run", "no-such-job"], dir.path());
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown job 'no-such-job'"));

    let missing = eddy(
        &["run", "wordcount", "--input", "/definitely/missing"],
        dir.path(),
    );
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/definitely/missing"), "{stderr}");
    assert!(stderr.contains("(1/1)"), "names the subtask: {stderr}");

    let bad_config = eddy(
        &["run", "wordcount", "-D", "parallelism.default=lots"],
        dir.path(),
    );
    assert_eq!(bad_config.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad_config.stderr);
    assert!(
        stderr.contains("parallelism.default") && stderr.contains("lots"),
        "{stderr}"
    );

    let bad_p = eddy(&["run", "wordcount", "-p", "0"], dir.path());
    assert_eq!(bad_p.status.code(), Some(1));
}

#[test]
fn config_file_is_read_and_cli_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("config.yaml"), "parallelism:\n  default: 3\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["info", "wordcount"];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(&args)
            .env("EDDY_CONF_DIR", &conf)
            .output()
            .unwrap();
        assert!(out.status.success());
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["nodes"][1]["parallelism"].as_u64().unwrap()
    };
    assert_eq!(run(&[]), 3, "parallelism.default from config.yaml");
    assert_eq!(
        run(&["-D", "parallelism.default=2"]),
        2,
        "-D overrides the file"
    );
    assert_eq!(
        run(&["-D", "parallelism.default=2", "-p", "4"]),
        4,
        "-p overrides both"
    );

    std::fs::write(conf.join("config.yaml"), "parallelism: [unclosed\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["info", "wordcount"])
        .env("EDDY_CONF_DIR", &conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.yaml") && stderr.contains("line"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_cancels_an_unbounded_job_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["run", "numbers", "--rate", "1000", "-p", "2"])
        .current_dir(dir.path())
        .env("EDDY_CONF_DIR", dir.path().join("no-conf"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read until the job prints results, so it is surely running.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while seen.len() < 5 {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "output ended: {seen:?}"
        );
        if line.contains("> ") {
            seen.push(line.trim().to_string());
        }
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    // Drain stdout so the process never blocks on a full pipe; wait_with_output bounds nothing
    // by itself, but the cancelled job ends promptly (cancellation is checked between batches).
    let rest: Vec<String> = stdout.lines().map_while(Result::ok).collect();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "tail: {:?}", rest.last());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has been cancelled"), "{stderr}");
    // Every printed record is well-formed `N> i,i²`.
    for record in seen {
        let (_, body) = record.split_once("> ").unwrap();
        let (i, square) = body.split_once(',').unwrap();
        let i: u64 = i.parse().unwrap();
        assert_eq!(square.parse::<u64>().unwrap(), i * i);
    }
}

#[test]
fn print_sink_prefixes_the_subtask_at_parallelism_above_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, TEXT).unwrap();
    let result = eddy(
        &[
            "run",
            "wordcount",
            "--input",
            input.to_str().unwrap(),
            "-p",
            "2",
        ],
        dir.path(),
    );
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    let mut subtask_of_word: BTreeMap<String, String> = BTreeMap::new();
    let mut records = 0;
    for line in stdout.lines().filter(|l| l.contains("> (")) {
        let (prefix, record) = line.split_once("> ").unwrap();
        assert!(
            prefix == "1" || prefix == "2",
            "Flink's `N> ` prefix: {line}"
        );
        let (word, _) = parse_lines(record).pop().unwrap();
        // Keyed: every update of a word comes from the same sink subtask.
        let first = subtask_of_word
            .entry(word)
            .or_insert_with(|| prefix.to_string());
        assert_eq!(first, prefix, "{line}");
        records += 1;
    }
    let reference = reference_counts(TEXT);
    assert_eq!(records, reference.values().sum::<u64>() as usize);
    assert_eq!(subtask_of_word.len(), reference.len());
}
