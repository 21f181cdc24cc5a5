//! `eddy run -d`: runs the job in a background `eddy run` process and returns once it was
//! submitted, printing its id, as Flink's detached mode does. The embedded cluster lives in
//! that process; act on the job through its REST endpoint (`-D rest.port=…`, then `eddy list`,
//! `eddy savepoint`, `eddy stop`, `eddy cancel`).

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use eddy_core::ids::JobId;

/// How long the client waits for the background process to submit the job.
const SUBMISSION_TIMEOUT: Duration = Duration::from_secs(60);

/// Where background runs write their output: `$EDDY_LOG_DIR`, else `log` in the working
/// directory.
fn log_dir() -> PathBuf {
    std::env::var_os("EDDY_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("log"))
}

/// Starts `eddy <args>` (the `run` arguments without `-d`) in the background with a job id
/// fixed in advance, waits until it submitted the job, prints what it printed up to then
/// (the REST endpoint, the job id) and where the rest of its output goes.
pub fn run_detached(args: &[String]) -> anyhow::Result<()> {
    let job_id = JobId::generate();
    let dir = log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the log folder {} (EDDY_LOG_DIR)", dir.display()))?;
    let log_path = dir.join(format!("eddy-run-{job_id}.out"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let executable = std::env::current_exe().context("finding the eddy executable")?;
    let mut child = Command::new(executable)
        .args(args)
        .arg("-D")
        .arg(format!("$internal.pipeline.job-id={job_id}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the background eddy run")?;
    let submitted = format!("Job has been submitted with JobID {job_id}");
    let deadline = Instant::now() + SUBMISSION_TIMEOUT;
    let mut reader = BufReader::new(std::fs::File::open(&log_path)?);
    let mut printed = 0u64;
    loop {
        reader.seek(SeekFrom::Start(printed))?;
        let mut line = String::new();
        while reader.read_line(&mut line)? > 0 && line.ends_with('\n') {
            printed += line.len() as u64;
            print!("{line}");
            if line.trim_end() == submitted {
                println!(
                    "The job runs in the background (process {}); its output goes to {}.",
                    child.id(),
                    log_path.display()
                );
                return Ok(());
            }
            line.clear();
        }
        if let Some(status) = child.try_wait()? {
            let output = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "the background eddy run ended ({status}) before submitting the job:\n{}",
                output.trim_end()
            );
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            bail!(
                "the background eddy run did not submit the job within {} s (see {})",
                SUBMISSION_TIMEOUT.as_secs(),
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The arguments of this `eddy run -d …` call without the `-d` / `--detached` flag (the first
/// one, which clap read as the flag: later ones belong to the job).
pub fn without_detached_flag(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut removed = false;
    args.into_iter()
        .filter(|a| {
            if !removed && (a == "-d" || a == "--detached") {
                removed = true;
                return false;
            }
            true
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_detached_flag_is_removed() {
        let args = ["run", "-p", "2", "-d", "wordcount", "-d"].map(String::from);
        assert_eq!(
            without_detached_flag(args),
            ["run", "-p", "2", "wordcount", "-d"].map(String::from)
        );
    }
}
