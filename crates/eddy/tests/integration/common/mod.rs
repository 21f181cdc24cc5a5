//! Helpers shared by the `eddy` integration tests.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

pub mod window_reference;

use std::path::Path;
use std::process::{Command, Output};

/// A command running the `eddy` binary in `dir`, with no configuration file.
pub fn eddy_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eddy"));
    command
        .current_dir(dir)
        .env("EDDY_CONF_DIR", dir.join("no-conf"));
    command
}

/// Runs `eddy args…` in `dir` to completion.
pub fn eddy(args: &[&str], dir: &Path) -> Output {
    eddy_command(dir)
        .args(args)
        .output()
        .expect("the eddy binary runs")
}

/// The lines of an output: a file, or (at parallelism > 1) a directory of part files.
pub fn read_lines(path: &Path) -> Vec<String> {
    let texts: Vec<String> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    } else {
        vec![std::fs::read_to_string(path).unwrap()]
    };
    texts
        .iter()
        .flat_map(|text| text.lines().map(str::to_string))
        .collect()
}

/// Sorted copy of some lines.
pub fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

/// A small linear congruential generator (Knuth's MMIX constants), for reproducible fixtures.
pub struct Lcg(u64);

impl Lcg {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next 31 pseudo-random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }
}

/// The JSON rows (`--json` lines) a command that must have succeeded printed.
pub fn json_rows(out: &Output) -> Vec<serde_json::Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
