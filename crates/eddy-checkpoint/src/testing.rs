//! A local S3-compatible server for tests: moto's server (`moto_server`, PyPI `moto[server]`),
//! started on a free loopback port and killed when dropped.
//!
//! The server is found at `$EDDY_MOTO_SERVER` (`scripts/test.sh` installs it and sets that)
//! or as `moto_server` on the `PATH`. Not finding it is an error that says how to install it:
//! tests that need S3 never skip silently. The process also ends by itself after
//! [`MAX_LIFETIME_SECS`] (it runs under `timeout`), should a test process die without
//! dropping it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eddy_core::config::Configuration;

use crate::storage::{S3Options, StorageOptions};

/// The longest a test server lives.
pub const MAX_LIFETIME_SECS: u32 = 1200;

/// Access key and secret the servers accept (moto accepts any).
const ACCESS_KEY: &str = "eddy-test";
const SECRET_KEY: &str = "eddy-test-secret";

/// A running moto server.
pub struct S3TestServer {
    process: Option<Child>,
    port: u16,
}

fn moto_command() -> String {
    std::env::var("EDDY_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_string())
}

impl S3TestServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Panics
    /// When the server cannot be found or does not come up (tests only).
    pub fn start() -> S3TestServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("no free loopback port for the S3 test server");
        let mut server = S3TestServer {
            process: None,
            port,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let moto = moto_command();
        let process = Command::new("timeout")
            .args(["--signal=KILL", &MAX_LIFETIME_SECS.to_string(), &moto])
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `timeout {moto}`: {e}"));
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self
                .process
                .as_mut()
                .and_then(|p| p.try_wait().ok().flatten())
            {
                panic!(
                    "the S3 test server `{moto}` exited at once ({status}): is it installed? \
                     Run ./scripts/install-test-servers.sh (scripts/test.sh does) and set \
                     EDDY_MOTO_SERVER to the moto_server it prints, or put moto_server on the \
                     PATH (pip install 'moto[server]')"
                );
            }
            if self.request("GET", "/moto-api/").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the S3 test server `{moto}` did not answer on port {} within 60 s",
            self.port
        );
    }

    /// Sends one request without a body; the status code.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:.80}")))
    }

    /// Creates bucket `name`.
    ///
    /// # Panics
    /// When the server refuses.
    pub fn create_bucket(&self, name: &str) {
        let status = self
            .request("PUT", &format!("/{name}"))
            .unwrap_or_else(|e| panic!("cannot create bucket {name}: {e}"));
        assert_eq!(status, 200, "creating bucket {name}");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Options that reach this server, failing fast when it is gone (one retry, 5 s per
    /// request).
    pub fn storage_options(&self) -> StorageOptions {
        StorageOptions {
            s3: S3Options {
                endpoint: Some(self.endpoint()),
                access_key: Some(ACCESS_KEY.into()),
                secret_key: Some(SECRET_KEY.into()),
                path_style_access: true,
                retry_limit: 1,
                request_timeout: Duration::from_secs(5),
                ..S3Options::default()
            },
            local_recovery_directory: None,
        }
    }

    /// The `s3.*` options (key, value) of [`storage_options`](Self::storage_options).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("s3.endpoint", self.endpoint()),
            ("s3.access-key", ACCESS_KEY.into()),
            ("s3.secret-key", SECRET_KEY.into()),
            ("s3.path.style.access", "true".into()),
            ("s3.retry.limit", "1".into()),
            ("s3.connection.timeout", "5 s".into()),
        ]
    }

    /// Sets [`settings`](Self::settings) in `config`.
    pub fn configure(&self, config: &mut Configuration) {
        for (key, value) in self.settings() {
            config.set_string(key, value);
        }
    }

    /// Stops the server (its objects are gone; requests to it fail until
    /// [`restart`](Self::restart)).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            // `timeout` passes SIGTERM on to the server; SIGKILL would orphan the server.
            if let Ok(pid) = libc::pid_t::try_from(process.id()) {
                // SAFETY: signals our own child, which has not been waited for yet.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let _ = process.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
