//! Sequence check: an end-to-end exactly-once test program.
//!
//! A replayable source (one subtask, so that each key's records stay in order) emits `records`
//! records round-robin over `keys` keys, each with its key's next sequence number (1, 2, …); a keyed operator keeps a running count per key in
//! keyed state; every record goes through the exactly-once file sink as
//! `key,sequence,running_count`. `--fail-at M` makes one subtask fail once after about M
//! records. When the job ends the program reads its output back: it is correct when every
//! key's sequences 1..n appear exactly once, each with a running count equal to its sequence.
//!
//! Checkpointing is on (every second unless `execution.checkpointing.interval` says
//! otherwise), into `state.checkpoints.dir` or, when that is unset, `<output>-checkpoints`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy_api::checkpoint::config::{CHECKPOINTING_INTERVAL, CHECKPOINTS_DIRECTORY};
use eddy_api::connectors::FileSink;
use eddy_api::prelude::*;

use crate::ProgramError;

/// The arguments of `sequence-check`.
pub const SEQUENCE_CHECK_USAGE: &str = "--records N --keys K [--rate R] [--fail-at M] --output DIR";

/// A record: its key and the key's sequence number.
type Keyed = (u64, u64);

/// Keeps a running count per key and fails once when the job has seen `fail_at` records.
#[derive(Clone)]
struct RunningCount {
    count: ValueStateDescriptor<u64>,
    fail_at: Option<u64>,
    seen: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
}

impl KeyedProcessFunction<u64, Keyed, String> for RunningCount {
    fn process_element(
        &mut self,
        (key, sequence): Keyed,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_at == Some(seen) && !self.failed.swap(true, Ordering::SeqCst) {
            return Err(format!("sequence-check: injected failure after {seen} records").into());
        }
        let mut count = ctx.state().value(&self.count)?;
        let running = count.value()?.unwrap_or(0) + 1;
        count.update(running)?;
        out.collect(format!("{key},{sequence},{running}"));
        Ok(())
    }
}

/// `sequence-check --records N --keys K [--rate R] [--fail-at M] --output DIR`.
pub fn sequence_check(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let usage = |what: &str| {
        ProgramError::InvalidArguments(format!(
            "sequence-check: {what}; usage: sequence-check {SEQUENCE_CHECK_USAGE}"
        ))
    };
    let number = |name: &str| -> Result<Option<u64>, ProgramError> {
        params
            .get(name)
            .map(|raw| {
                raw.parse::<u64>()
                    .map_err(|_| usage(&format!("--{name} must be a whole number, not '{raw}'")))
            })
            .transpose()
    };
    let records = number("records")?.ok_or_else(|| usage("--records is missing"))?;
    let keys = number("keys")?.ok_or_else(|| usage("--keys is missing"))?;
    if keys == 0 {
        return Err(usage("--keys must be at least 1"));
    }
    let rate = number("rate")?;
    if rate == Some(0) {
        return Err(usage("--rate must be at least 1 record per second"));
    }
    let fail_at = number("fail-at")?.map(|m| m + jitter(m / 10));
    let output = PathBuf::from(
        params
            .get("output")
            .ok_or_else(|| usage("--output is missing"))?,
    );

    let env = StreamExecutionEnvironment::get_execution_environment();
    let config = env.configuration();
    if !config.contains(&CHECKPOINTING_INTERVAL) {
        env.enable_checkpointing(Duration::from_secs(1));
    }
    if !config.contains(&CHECKPOINTS_DIRECTORY) {
        let mut folder = output.clone().into_os_string();
        folder.push("-checkpoints");
        env.set_checkpoint_storage(&folder.to_string_lossy());
    }
    let sink = FileSink::for_row_format(&output, |line: &String, out: &mut Vec<u8>| {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    })
    .build();
    // One source subtask, so that each key's records stay in sequence order.
    env.from_generator(Some(records), rate, move |i| (i % keys, i / keys + 1))
        .set_parallelism(1)
        .uid("sequence-source")
        .key_by(|record: &Keyed| record.0)
        .process(RunningCount {
            count: ValueStateDescriptor::new("running-count"),
            fail_at,
            seen: Arc::new(AtomicU64::new(0)),
            failed: Arc::new(AtomicBool::new(false)),
        })
        .uid("running-count")
        .name("Running Count")
        .add_sink(sink)
        .uid("sequence-sink")
        .name("Exactly-once File Sink");
    let result = env.execute("Sequence Check")?;
    if let Some(savepoint) = result.stopped_with_savepoint {
        // Stopped part-way: what the sink committed is each key's sequence so far.
        let checked =
            verify_sequence_prefix(&output, records, keys).map_err(ProgramError::Check)?;
        println!(
            "sequence-check stopped with a savepoint after {checked} records: every key's \
             sequence so far exactly once with its running count; resume with \
             eddy run -s {savepoint} sequence-check ..."
        );
        return Ok(());
    }
    let checked = verify_sequence_output(&output, records, keys).map_err(ProgramError::Check)?;
    println!(
        "sequence-check OK: {checked} records over {keys} keys, every key's sequence exactly \
         once with its running count"
    );
    Ok(())
}

/// A pseudo-random number below `bound` (the failure point varies between runs).
fn jitter(bound: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    nanos % (bound + 1)
}

/// Reads every finished file under `output` and checks the `key,sequence,running_count`
/// lines: for every key, the sequences 1..n exactly once with `running_count == sequence`,
/// `records` lines over `keys` keys in all. Returns the number of lines.
pub fn verify_sequence_output(output: &Path, records: u64, keys: u64) -> Result<u64, String> {
    let (seen, lines) = read_sequences(output, records, keys)?;
    for (key, sequences) in seen.iter().enumerate() {
        if let Some(missing) = sequences.iter().position(|&s| !s) {
            let lost = sequences.iter().filter(|&&s| !s).count();
            return Err(format!(
                "key {key}: {lost} sequence numbers are missing, the first is {}",
                missing + 1
            ));
        }
    }
    Ok(lines)
}

/// Like [`verify_sequence_output`] for a job stopped part-way: every key's sequences are
/// 1..n_k for some n_k (each exactly once, none missing before the last one seen).
pub fn verify_sequence_prefix(output: &Path, records: u64, keys: u64) -> Result<u64, String> {
    let (seen, lines) = read_sequences(output, records, keys)?;
    for (key, sequences) in seen.iter().enumerate() {
        let present = sequences.iter().filter(|&&s| s).count();
        if let Some(missing) = sequences[..present].iter().position(|&s| !s) {
            return Err(format!(
                "key {key}: sequence {} is missing though later ones are there",
                missing + 1
            ));
        }
    }
    Ok(lines)
}

/// Every `key,sequence,running_count` line under `output` marked in one flag per key and
/// sequence (a duplicate, a bad line or a running count unlike its sequence is an error),
/// and the number of lines.
fn read_sequences(output: &Path, records: u64, keys: u64) -> Result<(Vec<Vec<bool>>, u64), String> {
    let mut seen: Vec<Vec<bool>> = (0..keys)
        .map(|k| vec![false; (records / keys + u64::from(k < records % keys)) as usize])
        .collect();
    let mut lines = 0u64;
    let mut folders = vec![output.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for (number, line) in text.lines().enumerate() {
                let at = || format!("{}:{}: '{line}'", path.display(), number + 1);
                let fields: Vec<u64> = line
                    .split(',')
                    .map(|f| f.parse::<u64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("{}: not three numbers", at()))?;
                let [key, sequence, count] = fields[..] else {
                    return Err(format!("{}: not three numbers", at()));
                };
                let slot = seen
                    .get_mut(key as usize)
                    .and_then(|s| s.get_mut((sequence as usize).wrapping_sub(1)))
                    .ok_or_else(|| format!("{}: no such key and sequence", at()))?;
                if *slot {
                    return Err(format!("{}: a duplicate", at()));
                }
                if count != sequence {
                    return Err(format!("{}: the running count is not the sequence", at()));
                }
                *slot = true;
                lines += 1;
            }
        }
    }
    Ok((seen, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn check(files: &[(&str, &str)], records: u64, keys: u64) -> Result<u64, String> {
        verify_sequence_output(written(files).path(), records, keys)
    }

    #[test]
    fn a_stopped_run_passes_with_every_keys_sequence_so_far_and_no_gap() {
        // 9 records over 2 keys were to come; a stop after 4: key 0 has 1..2, key 1 has 1..2.
        let stopped = [("part-1", "0,1,1\n1,1,1\n0,2,2\n1,2,2\n")];
        let dir = written(&stopped);
        assert_eq!(verify_sequence_prefix(dir.path(), 9, 2), Ok(4));
        assert!(verify_sequence_output(dir.path(), 9, 2).is_err());
        let gap = [("part-1", "0,1,1\n1,1,1\n0,3,3\n")];
        let error = verify_sequence_prefix(written(&gap).path(), 9, 2).unwrap_err();
        assert!(error.contains("key 0: sequence 2 is missing"), "{error}");
        let duplicate = [("part-1", "0,1,1\n0,1,1\n")];
        let error = verify_sequence_prefix(written(&duplicate).path(), 9, 2).unwrap_err();
        assert!(error.contains("a duplicate"), "{error}");
    }

    #[test]
    fn the_check_accepts_exactly_once_output_and_names_each_kind_of_error() {
        // 5 records over 2 keys: key 0 has sequences 1..3, key 1 has 1..2. Hidden files are
        // in progress and do not count.
        let good = [
            ("b/part-1", "0,1,1\n1,1,1\n0,2,2\n"),
            ("b/part-2", "1,2,2\n0,3,3\n"),
            ("b/.part-3.inprogress", "0,1,1\n"),
        ];
        assert_eq!(check(&good, 5, 2), Ok(5));
        let duplicate = [("part-1", "0,1,1\n1,1,1\n0,2,2\n1,2,2\n0,3,3\n0,2,2\n")];
        assert!(check(&duplicate, 5, 2).unwrap_err().contains("a duplicate"));
        let missing = [("part-1", "0,1,1\n1,1,1\n0,3,3\n1,2,2\n")];
        let error = check(&missing, 5, 2).unwrap_err();
        assert!(
            error.contains("key 0: 1 sequence numbers are missing, the first is 2"),
            "{error}"
        );
        let wrong_count = [("part-1", "0,1,1\n1,1,1\n0,2,3\n1,2,2\n0,3,3\n")];
        assert!(check(&wrong_count, 5, 2)
            .unwrap_err()
            .contains("running count"));
        let unknown = [("part-1", "2,1,1\n")];
        assert!(check(&unknown, 5, 2).unwrap_err().contains("no such key"));
        let garbage = [("part-1", "0,1\n")];
        assert!(check(&garbage, 5, 2)
            .unwrap_err()
            .contains("not three numbers"));
    }
}
