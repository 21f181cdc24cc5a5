//! The commands that act on a running job through its cluster's REST endpoint (`-m
//! host:port`): `eddy list`, `eddy cancel`, `eddy savepoint`, `eddy stop`, with Flink's
//! options and words.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use eddy_api::checkpoint::{CheckpointReader, StorageOptions};
use eddy_api::core::config::Configuration;

/// How long `savepoint` and `stop` wait for the savepoint to end.
const SAVEPOINT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the cluster's REST endpoint is.
#[derive(clap::Args, Debug, Clone)]
pub struct Endpoint {
    /// The REST endpoint, `host:port`, as `eddy run` printed it.
    #[arg(
        short = 'm',
        long = "jobmanager",
        value_name = "HOST:PORT",
        default_value = "localhost:8081"
    )]
    pub address: String,
}

/// A client of one REST endpoint.
struct RestClient {
    base: String,
    agent: ureq::Agent,
}

impl RestClient {
    fn new(endpoint: &Endpoint) -> anyhow::Result<Self> {
        let address = endpoint.address.trim();
        let address = address.strip_prefix("http://").unwrap_or(address);
        if address.is_empty() || address.contains('/') {
            bail!(
                "-m '{}' is not host:port (e.g. -m localhost:8081)",
                endpoint.address
            );
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(RestClient {
            base: format!("http://{address}"),
            agent,
        })
    }

    /// Sends a request and returns the JSON answer of a 2xx status, or Flink's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("PATCH", _) => self.agent.patch(&url).send_empty(),
            (_, Some(body)) => self.agent.post(&url).send_json(&body),
            (_, None) => self.agent.post(&url).send_empty(),
        };
        let mut response = sent.map_err(|e| {
            anyhow!(
                "could not reach the REST endpoint at {}: {e} (is a job running? eddy run prints its endpoint as 'REST endpoint: http://host:port'; name it with -m host:port)",
                self.base
            )
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of {method} {url}"))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("the answer of {method} {url} is not JSON: {text}"))?
        };
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let errors: Vec<String> = json["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_else(|| vec![text]);
        bail!("{method} {path} failed ({status}): {}", errors.join("; "))
    }

    /// Polls a savepoint operation until it completed; its folder.
    fn await_savepoint(&self, job_id: &str, request_id: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + SAVEPOINT_TIMEOUT;
        loop {
            let status = self.call(
                "GET",
                &format!("/jobs/{job_id}/savepoints/{request_id}"),
                None,
            )?;
            if status["status"]["id"] == "COMPLETED" {
                let operation = &status["operation"];
                if let Some(location) = operation["location"].as_str() {
                    return Ok(location.to_string());
                }
                let cause = operation["failure-cause"]["stack-trace"]
                    .as_str()
                    .unwrap_or("no cause given");
                bail!("the savepoint of job {job_id} failed: {cause}");
            }
            if Instant::now() >= deadline {
                bail!(
                    "the savepoint of job {job_id} did not complete within {} s (request {request_id})",
                    SAVEPOINT_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A job id as the REST API expects it (32 hex digits), or a clear error.
fn job_id(text: &str) -> anyhow::Result<&str> {
    let text = text.trim();
    if text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text)
    } else {
        bail!("'{text}' is not a job id (32 hexadecimal digits, as `eddy list` prints them)")
    }
}

/// `eddy list [-r] [-s] [-a]`: the jobs, by Flink's sections.
pub fn list(endpoint: &Endpoint, running: bool, scheduled: bool, all: bool) -> anyhow::Result<()> {
    let client = RestClient::new(endpoint)?;
    println!("Waiting for response...");
    let overview = client.call("GET", "/jobs/overview", None)?;
    let jobs = overview["jobs"].as_array().cloned().unwrap_or_default();
    // Flink's default: running and scheduled jobs.
    let (running, scheduled, terminated) = match (running, scheduled, all) {
        (_, _, true) => (true, true, true),
        (false, false, false) => (true, true, false),
        (r, s, false) => (r, s, false),
    };
    let line = |job: &Value| {
        let start = job["start-time"].as_i64().unwrap_or(0);
        let time = chrono::DateTime::from_timestamp_millis(start)
            .map(|t| t.format("%d.%m.%Y %H:%M:%S").to_string())
            .unwrap_or_default();
        format!(
            "{time} : {} : {} ({})",
            job["jid"].as_str().unwrap_or(""),
            job["name"].as_str().unwrap_or(""),
            job["state"].as_str().unwrap_or("")
        )
    };
    let section = |title: &str, empty: &str, states: &[&str]| {
        let selected: Vec<&Value> = jobs
            .iter()
            .filter(|j| states.contains(&j["state"].as_str().unwrap_or("")))
            .collect();
        if selected.is_empty() {
            println!("{empty}");
            return;
        }
        println!("{title}");
        for job in selected {
            println!("{}", line(job));
        }
        println!("--------------------------------------------------------------");
    };
    if running {
        section(
            "------------------ Running/Restarting Jobs -------------------",
            "No running jobs.",
            &["RUNNING", "RESTARTING", "FAILING", "CANCELLING"],
        );
    }
    if scheduled {
        section(
            "----------------------- Scheduled Jobs -----------------------",
            "No scheduled jobs.",
            &["CREATED", "INITIALIZING"],
        );
    }
    if terminated {
        section(
            "---------------------- Terminated Jobs -----------------------",
            "No terminated jobs.",
            &["FINISHED", "CANCELED", "FAILED"],
        );
    }
    Ok(())
}

/// `eddy cancel <job-id>`.
pub fn cancel(endpoint: &Endpoint, job: &str) -> anyhow::Result<()> {
    let client = RestClient::new(endpoint)?;
    let job = job_id(job)?;
    println!("Cancelling job {job}.");
    client.call("PATCH", &format!("/jobs/{job}?mode=cancel"), None)?;
    println!("Cancelled job {job}.");
    Ok(())
}

/// `eddy savepoint <job-id> [target-directory]`.
pub fn savepoint(endpoint: &Endpoint, job: &str, target: Option<&str>) -> anyhow::Result<()> {
    let client = RestClient::new(endpoint)?;
    let job = job_id(job)?;
    println!("Triggering savepoint for job {job}.");
    println!("Waiting for response...");
    let mut body = json!({ "cancel-job": false });
    if let Some(target) = target {
        body["target-directory"] = json!(target);
    }
    let trigger = client.call("POST", &format!("/jobs/{job}/savepoints"), Some(body))?;
    let request = trigger["request-id"]
        .as_str()
        .ok_or_else(|| anyhow!("the endpoint answered without a request-id: {trigger}"))?;
    let location = client.await_savepoint(job, request)?;
    println!("Savepoint completed. Path: {location}");
    println!("You can resume your program from this savepoint with the run command.");
    Ok(())
}

/// `eddy stop [--savepointPath DIR] [--drain] <job-id>`.
pub fn stop(
    endpoint: &Endpoint,
    job: &str,
    target: Option<&str>,
    drain: bool,
) -> anyhow::Result<()> {
    let client = RestClient::new(endpoint)?;
    let job = job_id(job)?;
    let verb = if drain { "Draining" } else { "Suspending" };
    println!("{verb} job \"{job}\" with a CANONICAL savepoint.");
    let mut body = json!({ "drain": drain });
    if let Some(target) = target {
        body["targetDirectory"] = json!(target);
    }
    let trigger = client.call("POST", &format!("/jobs/{job}/stop"), Some(body))?;
    let request = trigger["request-id"]
        .as_str()
        .ok_or_else(|| anyhow!("the endpoint answered without a request-id: {trigger}"))?;
    let location = client.await_savepoint(job, request)?;
    println!("Savepoint completed. Path: {location}");
    Ok(())
}

/// `eddy savepoint -d <path>`: deletes a savepoint folder (one holding a `_metadata`), local
/// or in S3 (reached with the `s3.*` options of `config`).
pub fn dispose(path: &str, config: &Configuration) -> anyhow::Result<()> {
    let options = StorageOptions::from_configuration(config)?;
    println!("Disposing savepoint '{path}'.");
    CheckpointReader::dispose(path, &options)?;
    println!("Savepoint '{path}' disposed.");
    Ok(())
}
