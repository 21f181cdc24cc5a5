//! `eddy list`, `eddy savepoint`, `eddy stop`, `eddy cancel` and `eddy savepoint -d` end to
//! end against running `eddy run` processes (their REST endpoint on a free loopback port):
//! sequence-check stopped at parallelism 1, resumed at 3 (on RocksDB when built with it) and
//! stopped again, then resumed at 2 to its end, checks its own output exactly once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{eddy, eddy_command};

const RECORDS: u64 = 40_000;

/// A running `eddy run sequence-check` with its REST endpoint.
struct RunningJob {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    endpoint: String,
    job_id: String,
}

impl RunningJob {
    /// Starts sequence-check at `parallelism`, from `restore` if given, at `rate` records/s.
    fn start(
        dir: &Path,
        parallelism: u32,
        restore: Option<&str>,
        backend: &str,
        rate: u32,
    ) -> RunningJob {
        let output = dir.join("out");
        let mut args: Vec<String> = vec!["run".into()];
        if let Some(restore) = restore {
            args.extend(["-s".into(), restore.into()]);
        }
        let savepoints = dir.join("savepoints");
        args.extend(
            [
                "sequence-check",
                "--records",
                &RECORDS.to_string(),
                "--keys",
                "4",
                "--rate",
                &rate.to_string(),
                "--output",
                output.to_str().unwrap(),
                "-p",
                &parallelism.to_string(),
                "-D",
                "rest.port=0",
                "-D",
                "rest.address=127.0.0.1",
                "-D",
                &format!("state.savepoints.dir={}", savepoints.display()),
                "-D",
                &format!("state.backend.type={backend}"),
            ]
            .map(String::from),
        );
        let mut child = eddy_command(dir)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut job = RunningJob {
            child,
            lines,
            seen: Vec::new(),
            endpoint: String::new(),
            job_id: String::new(),
        };
        job.endpoint = job
            .wait_for_line("REST endpoint: http://")
            .trim_start_matches("REST endpoint: http://")
            .to_string();
        job.job_id = job
            .wait_for_line("Job has been submitted with JobID ")
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string();
        job
    }

    /// The next line starting with `prefix` (earlier ones are kept for messages).
    fn wait_for_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line '{prefix}…' in {:?}", self.seen),
            }
        }
    }

    /// Runs `eddy <args> -m <endpoint>` and returns its stdout; it must succeed.
    fn command(&self, dir: &Path, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-m", &self.endpoint]);
        let out = eddy(&all, dir);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "eddy {all:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Waits until the job has processed a while (its first checkpoint-free second).
    fn let_it_run(&self) {
        std::thread::sleep(Duration::from_millis(600));
    }

    /// Waits for the process to end; its exit status and remaining output.
    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest);
        (status.success(), self.seen.join("\n"))
    }
}

/// The savepoint folder in a "Savepoint completed. Path: …" line.
fn reported_savepoint(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Savepoint completed. Path: "))
        .unwrap_or_else(|| panic!("no savepoint path in {stdout}"));
    line.trim_start_matches("Savepoint completed. Path: ")
        .to_string()
}

/// The local savepoint folder in a "Savepoint completed. Path: …" line; it holds a
/// `_metadata`.
fn savepoint_path(stdout: &str) -> String {
    let path = reported_savepoint(stdout);
    assert!(Path::new(&path).join("_metadata").is_file(), "{path}");
    path
}

#[cfg(feature = "s3")]
#[test]
fn a_job_stopped_into_s3_resumes_from_there_and_the_savepoint_is_disposed() {
    let dir = tempfile::tempdir().unwrap();
    let server = eddy_api::checkpoint::testing::S3TestServer::start();
    server.create_bucket("eddy");
    // Every eddy command reads the s3.* settings from the configuration file.
    let conf = dir.path().join("no-conf");
    std::fs::create_dir_all(&conf).unwrap();
    let yaml: String = server
        .settings()
        .iter()
        .map(|(key, value)| format!("{key}: \"{value}\"\n"))
        .collect();
    std::fs::write(conf.join("config.yaml"), yaml).unwrap();

    let first = RunningJob::start(dir.path(), 2, None, "hashmap", 2_000);
    first.let_it_run();
    let stopped = first.command(
        dir.path(),
        &["stop", "--savepointPath", "s3://eddy/sp", &first.job_id],
    );
    let savepoint = reported_savepoint(&stopped);
    assert!(
        savepoint.starts_with("s3://eddy/sp/savepoint-"),
        "{savepoint}"
    );
    let (ok, out) = first.finish();
    assert!(ok && out.contains("sequence-check stopped"), "{out}");

    let second = RunningJob::start(dir.path(), 3, Some(&savepoint), "hashmap", 100_000);
    let (ok, out) = second.finish();
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("sequence-check OK: {RECORDS} records over 4 keys")),
        "{out}"
    );

    let disposed = eddy(&["savepoint", "-d", &savepoint], dir.path());
    assert!(
        disposed.status.success(),
        "{}",
        String::from_utf8_lossy(&disposed.stderr)
    );
    let again = eddy(&["savepoint", "-d", &savepoint], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no _metadata"));
}

#[test]
fn stop_and_resume_at_1_then_3_then_2_ends_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let other_backend = if cfg!(feature = "rocksdb") {
        "rocksdb"
    } else {
        "hashmap"
    };

    // Run 1 at parallelism 1: list it, take a savepoint (the job goes on), stop it.
    let first = RunningJob::start(dir.path(), 1, None, "hashmap", 2_000);
    first.let_it_run();
    let list = first.command(dir.path(), &["list"]);
    assert!(
        list.contains("------------------ Running/Restarting Jobs -------------------")
            && list.contains(&format!(" : {} : Sequence Check (RUNNING)", first.job_id))
            && list.contains("No scheduled jobs."),
        "{list}"
    );
    let target = dir.path().join("manual");
    let taken = first.command(
        dir.path(),
        &["savepoint", &first.job_id, target.to_str().unwrap()],
    );
    assert!(
        taken.contains(&format!("Triggering savepoint for job {}.", first.job_id)),
        "{taken}"
    );
    let manual = savepoint_path(&taken);
    assert!(manual.starts_with(target.to_str().unwrap()), "{manual}");
    let stopped = first.command(dir.path(), &["stop", &first.job_id]);
    assert!(
        stopped.contains(&format!(
            "Suspending job \"{}\" with a CANONICAL savepoint.",
            first.job_id
        )),
        "{stopped}"
    );
    let one = savepoint_path(&stopped);
    assert!(
        one.contains("/savepoints/savepoint-"),
        "state.savepoints.dir: {one}"
    );
    let (ok, out) = first.finish();
    assert!(ok, "{out}");
    assert!(
        out.contains("sequence-check stopped with a savepoint after"),
        "{out}"
    );

    // Run 2 at parallelism 3 on the other backend, stopped again.
    let second = RunningJob::start(dir.path(), 3, Some(&one), other_backend, 2_000);
    second.let_it_run();
    let two = savepoint_path(&second.command(
        dir.path(),
        &[
            "stop",
            "--savepointPath",
            dir.path().join("two").to_str().unwrap(),
            &second.job_id,
        ],
    ));
    let (ok, out) = second.finish();
    assert!(ok, "{out}");
    assert!(out.contains("sequence-check stopped"), "{out}");

    // Run 3 at parallelism 2 to the end: the whole output, each record exactly once.
    let third = RunningJob::start(dir.path(), 2, Some(&two), "hashmap", 100_000);
    let (ok, out) = third.finish();
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("sequence-check OK: {RECORDS} records over 4 keys")),
        "{out}"
    );

    // Disposing the manual savepoint deletes it; a folder without _metadata is refused.
    let disposed = eddy(&["savepoint", "-d", &manual], dir.path());
    assert!(disposed.status.success());
    assert!(!Path::new(&manual).exists());
    let refused = eddy(
        &["savepoint", "-d", dir.path().to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no _metadata"));
}

#[test]
fn cancel_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let job = RunningJob::start(dir.path(), 1, None, "hashmap", 2_000);
    // A bad job id, and an unknown one, name what is wrong.
    let bad = eddy(&["cancel", "123", "-m", &job.endpoint], dir.path());
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'123' is not a job id"));
    let unknown = eddy(
        &["cancel", &"0".repeat(32), "-m", &job.endpoint],
        dir.path(),
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let cancelled = job.command(dir.path(), &["cancel", &job.job_id]);
    assert!(
        cancelled.contains(&format!("Cancelled job {}.", job.job_id)),
        "{cancelled}"
    );
    let endpoint = job.endpoint.clone();
    let (ok, _) = job.finish();
    assert!(!ok, "a cancelled run exits non-zero");
    // Nobody listens any more: the error says where it looked and how to point elsewhere.
    let gone = eddy(&["list", "-m", &endpoint], dir.path());
    assert_eq!(gone.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("could not reach the REST endpoint"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}

#[test]
fn a_detached_run_returns_once_submitted_and_is_stopped_from_another_command() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let output = dir.path().join("out");
    let args = [
        "run",
        "-d",
        "sequence-check",
        "--records",
        "40000",
        "--keys",
        "4",
        "--rate",
        "2000",
        "--output",
        output.to_str().unwrap(),
        "-D",
        "rest.port=0",
        "-D",
        "rest.address=127.0.0.1",
        "-D",
        &format!("state.savepoints.dir={}", dir.path().join("sp").display()),
    ];
    let out = eddy_command(dir.path())
        .env("EDDY_LOG_DIR", &log_dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let endpoint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REST endpoint: http://"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    let job_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Job has been submitted with JobID "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    assert!(stdout.contains("runs in the background"), "{stdout}");
    // The client has returned; the job runs on.
    let list = eddy(&["list", "-m", &endpoint], dir.path());
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains(&format!(" : {job_id} : Sequence Check (RUNNING)")),
        "{listed}"
    );
    let stop = eddy(&["stop", &job_id, "-m", &endpoint], dir.path());
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    savepoint_path(&String::from_utf8_lossy(&stop.stdout));
    // The background process ends by itself and its output is in the log folder.
    let log = log_dir.join(format!("eddy-run-{job_id}.out"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("sequence-check stopped with a savepoint") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Mistakes are reported at once, by the client.
    let wrong = eddy(&["run", "-d", "no-such-job"], dir.path());
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("unknown job 'no-such-job'"));
}

#[test]
fn eddy_run_serves_rest_on_8081_or_a_free_port_and_a_taken_explicit_port_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Hold 8081 (unless something else already does): the default endpoint moves aside.
    let _held = std::net::TcpListener::bind("127.0.0.1:8081");
    let _held_v6 = std::net::TcpListener::bind("[::1]:8081");
    let out = eddy(&["run", "numbers", "--count", "3"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let endpoint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REST endpoint: http://"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(!endpoint.ends_with(":8081"), "{endpoint}");

    // An explicit rest.port that is taken fails the run, naming the address.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = eddy(
        &[
            "run",
            "numbers",
            "--count",
            "3",
            "-D",
            &format!("rest.port={port}"),
            "-D",
            "rest.address=127.0.0.1",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot start the REST endpoint on 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
}
