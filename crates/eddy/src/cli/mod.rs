//! The client side of `eddy run` / `eddy info`: configuration, the client context, Ctrl-C.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_api::checkpoint::config::{STATE_RECOVERY_IGNORE_UNCLAIMED_STATE, STATE_RECOVERY_PATH};
use eddy_api::environment::context::{
    clear_client_context, set_client_context, ClientContext, ClientMode,
};
use eddy_api::JobError;
use eddy_core::config::{Configuration, PARALLELISM_DEFAULT};

use crate::examples::Example;
use crate::ProgramError;

/// Options shared by `run` and `info`.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `-p`: the job's default parallelism.
    pub parallelism: Option<u32>,
    /// `-D key=value` overrides.
    pub dynamic_properties: Vec<String>,
    /// `-s`: the checkpoint to start from.
    pub restore_path: Option<String>,
    /// `-n`: skip state of operators the job no longer has.
    pub allow_non_restored_state: bool,
}

/// Separates the client's own options (`-p N`, `--parallelism N`, `-D k=v`, `-Dk=v`,
/// `-s PATH`, `--fromSavepoint PATH`, `-n`, `--allowNonRestoredState`) from the job's arguments, wherever they stand after the
/// job name.
pub fn split_client_options(
    args: &[String],
    options: &mut ClientOptions,
) -> Result<Vec<String>, String> {
    let mut job_args = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-p" | "--parallelism" => {
                let value = iter
                    .next()
                    .ok_or_else(|| format!("{arg} needs a number, e.g. {arg} 4"))?;
                options.parallelism = Some(parse_parallelism(value)?);
            }
            "-D" => {
                let value = iter
                    .next()
                    .ok_or("-D needs key=value, e.g. -D parallelism.default=4")?;
                options.dynamic_properties.push(value.clone());
            }
            "-s" | "--fromSavepoint" => {
                let value = iter.next().ok_or_else(|| {
                    format!("{arg} needs a checkpoint folder, e.g. {arg} /tmp/checkpoints/<job-id>")
                })?;
                options.restore_path = Some(value.clone());
            }
            "-n" | "--allowNonRestoredState" => options.allow_non_restored_state = true,
            other if other.starts_with("-D") && other.len() > 2 => {
                options.dynamic_properties.push(other[2..].to_string());
            }
            other if other.starts_with("--parallelism=") => {
                options.parallelism = Some(parse_parallelism(&other["--parallelism=".len()..])?);
            }
            _ => job_args.push(arg.clone()),
        }
    }
    Ok(job_args)
}

fn parse_parallelism(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!(
            "invalid parallelism '{value}': expected a whole number of at least 1"
        )),
    }
}

/// The effective configuration: `config.yaml` from `EDDY_CONF_DIR` (or `./conf`), then `-D`,
/// then `-p` (which sets `parallelism.default`).
pub fn load_configuration(options: &ClientOptions) -> Result<Configuration, JobError> {
    let dir = std::env::var_os("EDDY_CONF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("conf"));
    let mut config = Configuration::load_from_dir(&dir)?;
    config.apply_dynamic_properties(&options.dynamic_properties)?;
    if let Some(p) = options.parallelism {
        config.set(&PARALLELISM_DEFAULT, p);
    }
    if let Some(path) = &options.restore_path {
        config.set(&STATE_RECOVERY_PATH, path.clone().into());
    }
    if options.allow_non_restored_state {
        config.set(&STATE_RECOVERY_IGNORE_UNCLAIMED_STATE, true);
    }
    config.get(&PARALLELISM_DEFAULT)?;
    Ok(config)
}

/// Runs an example's program under a client context that executes its job; Ctrl-C cancels
/// the running job.
pub fn run_program(
    example: &Example,
    args: &[String],
    config: Configuration,
) -> Result<(), ProgramError> {
    let current_job = Arc::new(Mutex::new(None));
    install_ctrl_c(current_job.clone());
    set_client_context(ClientContext {
        configuration: config,
        mode: ClientMode::Execute,
        current_job,
    });
    let result = (example.main)(args);
    clear_client_context();
    result
}

/// Runs an example's program only up to `execute()` and returns its execution plan JSON.
pub fn capture_plan(
    example: &Example,
    args: &[String],
    config: Configuration,
) -> Result<String, ProgramError> {
    let slot = Arc::new(Mutex::new(None));
    set_client_context(ClientContext {
        configuration: config,
        mode: ClientMode::CapturePlan(slot.clone()),
        current_job: Arc::new(Mutex::new(None)),
    });
    let result = (example.main)(args);
    clear_client_context();
    let plan = slot.lock().take();
    match (result, plan) {
        (Err(ProgramError::Job(JobError::PlanCaptured)), Some(plan)) => Ok(plan),
        (Err(e), _) => Err(e),
        (Ok(()), _) => Err(ProgramError::InvalidArguments(format!(
            "the program '{}' did not call execute(), so it has no plan",
            example.name
        ))),
    }
}

fn install_ctrl_c(current_job: Arc<Mutex<Option<eddy_api::JobClient>>>) {
    let handler = move || {
        if let Some(job) = current_job.lock().as_ref() {
            eprintln!("Cancelling job {} ...", job.job_id());
            let _ = job.cancel();
        } else {
            std::process::exit(130);
        }
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        tracing::warn!("could not install the Ctrl-C handler: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn client_options_are_taken_from_anywhere_after_the_job_name() {
        let mut options = ClientOptions::default();
        let rest = split_client_options(
            &strings(&[
                "--input", "a.txt", "-p", "4", "-D", "x=1", "-Dy=2", "--output", "o",
            ]),
            &mut options,
        )
        .unwrap();
        assert_eq!(rest, strings(&["--input", "a.txt", "--output", "o"]));
        assert_eq!(options.parallelism, Some(4));
        assert_eq!(options.dynamic_properties, strings(&["x=1", "y=2"]));
        assert!(split_client_options(&strings(&["-p", "zero"]), &mut options).is_err());
        assert!(split_client_options(&strings(&["-p", "0"]), &mut options).is_err());
    }

    #[test]
    fn restore_options_set_the_recovery_keys() {
        let mut options = ClientOptions::default();
        let rest = split_client_options(
            &strings(&[
                "--records",
                "5",
                "-s",
                "/tmp/chk",
                "--allowNonRestoredState",
            ]),
            &mut options,
        )
        .unwrap();
        assert_eq!(rest, strings(&["--records", "5"]));
        let dir = std::env::temp_dir().join("eddy-cli-test-no-conf");
        std::env::set_var("EDDY_CONF_DIR", &dir);
        let config = load_configuration(&options).unwrap();
        assert_eq!(config.get(&STATE_RECOVERY_PATH).unwrap(), "/tmp/chk");
        assert!(config.get(&STATE_RECOVERY_IGNORE_UNCLAIMED_STATE).unwrap());
        let mut short = ClientOptions::default();
        split_client_options(&strings(&["-n"]), &mut short).unwrap();
        assert!(short.allow_non_restored_state);
    }
}
