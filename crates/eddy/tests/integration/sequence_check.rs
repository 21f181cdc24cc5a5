//! `eddy run sequence-check` end to end: an injected failure inside the job, and the whole
//! process killed with SIGKILL mid-run and started again with `-s` on the job's checkpoint
//! folder. The output is checked here independently of the program's own check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::eddy_command;

const KEYS: u64 = 10;

/// Every finished line under `output` (hidden files are in progress): per key, the
/// (sequence, running count) pairs, sorted.
fn finished_lines(output: &Path) -> BTreeMap<u64, Vec<(u64, u64)>> {
    let mut by_key: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    let mut folders = vec![output.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let f: Vec<u64> = line.split(',').map(|x| x.parse().unwrap()).collect();
                    by_key.entry(f[0]).or_default().push((f[1], f[2]));
                }
            }
        }
    }
    by_key.values_mut().for_each(|v| v.sort_unstable());
    by_key
}

/// What exactly-once output of `records` records looks like.
fn expected(records: u64) -> BTreeMap<u64, Vec<(u64, u64)>> {
    (0..KEYS.min(records))
        .map(|key| {
            let n = records / KEYS + u64::from(key < records % KEYS);
            (key, (1..=n).map(|s| (s, s)).collect())
        })
        .collect()
}

fn sequence_check_args(records: u64, rate: u64, output: &Path) -> Vec<String> {
    [
        "run",
        "sequence-check",
        "--records",
        &records.to_string(),
        "--keys",
        &KEYS.to_string(),
        "--rate",
        &rate.to_string(),
        "--output",
        output.to_str().unwrap(),
        "-p",
        "2",
        "-D",
        "execution.checkpointing.interval=100ms",
        "-D",
        "restart-strategy.fixed-delay.delay=20ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The completed checkpoints of the only job under `checkpoints`: (job folder, ids).
fn completed_checkpoints(checkpoints: &Path) -> Option<(PathBuf, Vec<u64>)> {
    let job = std::fs::read_dir(checkpoints).ok()?.next()?.ok()?.path();
    let ids = std::fs::read_dir(&job)
        .ok()?
        .filter_map(|e| {
            let path = e.ok()?.path();
            let id = path
                .file_name()?
                .to_str()?
                .strip_prefix("chk-")?
                .parse()
                .ok()?;
            path.join("_metadata").exists().then_some(id)
        })
        .collect();
    Some((job, ids))
}

#[test]
fn an_injected_failure_leaves_exactly_once_output() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let mut args = sequence_check_args(60_000, 40_000, &output);
    args.extend(["--fail-at".to_string(), "20000".to_string()]);
    let out = eddy_command(dir.path()).args(&args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sequence-check OK: 60000 records over 10 keys"),
        "{stdout}"
    );
    assert_eq!(finished_lines(&output), expected(60_000));
    // The checkpoints of a finished job are deleted.
    let checkpoints = dir.path().join("out-checkpoints");
    let left = completed_checkpoints(&checkpoints).map(|c| c.1);
    assert!(left.as_ref().is_none_or(|ids| ids.is_empty()), "{left:?}");
}

#[test]
fn a_process_killed_with_sigkill_resumes_from_its_checkpoint_folder_exactly_once() {
    const RECORDS: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let checkpoints = dir.path().join("out-checkpoints");
    let args = sequence_check_args(RECORDS, 50_000, &output);
    let mut first = eddy_command(dir.path())
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = completed_checkpoints(&checkpoints)
            .is_some_and(|(_, ids)| ids.iter().any(|&id| id >= 5));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint 5 within a minute");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the job ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL: no cleanup, no last words.
    first.kill().unwrap();
    first.wait().unwrap();
    let (job_folder, ids) = completed_checkpoints(&checkpoints).unwrap();
    assert!(!ids.is_empty());
    let partial: usize = finished_lines(&output).values().map(Vec::len).sum();
    assert!(
        (partial as u64) < RECORDS,
        "killed mid-run: {partial} lines"
    );

    let mut resumed_args = vec!["run".to_string(), "-s".to_string()];
    resumed_args.push(job_folder.to_str().unwrap().to_string());
    resumed_args.extend(args[1..].iter().cloned());
    let out = eddy_command(dir.path())
        .args(&resumed_args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sequence-check OK: 200000 records"),
        "{stdout}"
    );
    assert_eq!(finished_lines(&output), expected(RECORDS));
}
