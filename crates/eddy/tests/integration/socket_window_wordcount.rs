//! `eddy run socket-window-wordcount` against a text server started by the test.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one step may take before the test gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Kills the job's process when the test ends, whether it passes or fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the job did not connect");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

fn wait_within(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Parses a `word : count` line.
fn parse(line: &str) -> Option<(String, u64)> {
    let (word, count) = line.split_once(" : ")?;
    Some((word.to_string(), count.trim().parse().ok()?))
}

#[test]
fn counts_words_from_a_socket_in_processing_time_windows() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr.txt");
    let child = common::eddy_command(dir.path())
        .args([
            "run",
            "socket-window-wordcount",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port,
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut server = accept_within(&listener, STEP_TIMEOUT);
    server
        .write_all(b"to be or not to be\nthat is the question\n  to\tbe  \n")
        .unwrap();
    server.flush().unwrap();
    let expected: BTreeMap<String, u64> = [
        ("to", 3),
        ("be", 3),
        ("or", 1),
        ("not", 1),
        ("that", 1),
        ("is", 1),
        ("the", 1),
        ("question", 1),
    ]
    .into_iter()
    .map(|(w, n)| (w.to_string(), n))
    .collect();

    // Windows close every 5 s of processing time; the words may be split over two windows.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut printed = Vec::new();
    let deadline = Instant::now() + STEP_TIMEOUT;
    while counts != expected {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some((word, n)) = parse(&line) {
                    *counts.entry(word).or_default() += n;
                }
                printed.push(line);
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    assert_eq!(
        counts,
        expected,
        "stdout: {printed:?}\nstderr: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );

    // Closing the connection ends the source and so the job.
    drop(server);
    let status = wait_within(&mut child.0, STEP_TIMEOUT).expect("the job ends");
    assert!(
        status.success(),
        "stderr: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    // The process has exited, so its stdout ends and the reader thread disconnects.
    let mut rest = Vec::new();
    while let Ok(line) = lines.recv_timeout(STEP_TIMEOUT) {
        rest.push(line);
    }
    assert!(
        rest.iter().all(|line| parse(line).is_none()),
        "no further counts: {rest:?}"
    );
}

#[test]
fn missing_port_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let result = common::eddy(&["run", "socket-window-wordcount"], dir.path());
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("No port specified"), "{stderr}");
}
