//! `eddy`: run jobs on the embedded mini-cluster, print their plans, list the bundled examples,
//! and run benchmarks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use eddy::cli::{
    capture_plan, load_configuration, run_program, split_client_options, ClientOptions,
};
use eddy::examples::{find, EXAMPLES};
use eddy::remote::{self, Endpoint};
use eddy::ProgramError;
use eddy_api::JobError;

mod allocator;

/// mimalloc: batches allocate and free many small objects across threads, where it is markedly
/// faster than the system allocator.
#[global_allocator]
static GLOBAL: allocator::MiMalloc = allocator::MiMalloc;

#[derive(Parser)]
#[command(name = "eddy", version, about = "Eddy: Apache Flink, rebuilt in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a job on the embedded mini-cluster: `eddy run [-s PATH] <job> [job args…] [-p N]
    /// [-D key=value]…`
    Run(JobArgs),
    /// Prints a job's execution plan as JSON without running it.
    Info(JobArgs),
    /// Lists the bundled example jobs.
    Examples,
    /// Runs a benchmark program and prints events/s.
    Bench {
        #[command(subcommand)]
        bench: eddy::bench::BenchCommand,
    },
    /// The Nexmark benchmark's tools: `eddy nexmark generate` writes its event stream.
    Nexmark {
        #[command(subcommand)]
        command: eddy::nexmark::NexmarkCommand,
    },
    /// Lists the jobs of a running cluster: `eddy list [-r|-s|-a] [-m host:port]`.
    List {
        /// Running and restarting jobs.
        #[arg(short = 'r', long = "running")]
        running: bool,
        /// Jobs waiting for slots.
        #[arg(short = 's', long = "scheduled")]
        scheduled: bool,
        /// Every job, ended ones too.
        #[arg(short = 'a', long = "all")]
        all: bool,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// Cancels a running job: `eddy cancel <job-id> [-m host:port]`.
    Cancel {
        /// The job.
        job_id: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// Takes a savepoint of a running job (`eddy savepoint <job-id> [target-directory]`), or
    /// deletes one (`eddy savepoint -d <path>`).
    Savepoint {
        /// Deletes the savepoint at this path instead.
        #[arg(short = 'd', long = "dispose", value_name = "PATH", conflicts_with_all = ["job_id", "target_directory"])]
        dispose: Option<String>,
        /// The job.
        #[arg(required_unless_present = "dispose")]
        job_id: Option<String>,
        /// Where the savepoint's folder goes (default: the job's state.savepoints.dir).
        target_directory: Option<String>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// Stops a running job with a savepoint: `eddy stop [--savepointPath DIR] [--drain]
    /// <job-id> [-m host:port]`.
    Stop {
        /// Where the savepoint's folder goes (default: the job's state.savepoints.dir).
        #[arg(short = 'p', long = "savepointPath", value_name = "DIR")]
        savepoint_path: Option<String>,
        /// Advance event time to its end first: every window and timer fires.
        #[arg(short = 'd', long = "drain")]
        drain: bool,
        /// The job.
        job_id: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

/// A job and its options, for `run` and `info`.
#[derive(clap::Args)]
struct JobArgs {
    /// Default parallelism of the job's operators.
    #[arg(short = 'p', long = "parallelism")]
    parallelism: Option<u32>,
    /// A configuration override, e.g. `-D taskmanager.numberOfTaskSlots=2` (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    dynamic_properties: Vec<String>,
    /// Start from a retained checkpoint: a `chk-<n>` folder, or a job's checkpoint folder
    /// (its latest completed checkpoint).
    #[arg(short = 's', long = "fromSavepoint", value_name = "PATH")]
    restore_path: Option<String>,
    /// With `-s`: skip the state of operators the job no longer has (otherwise an error
    /// naming them).
    #[arg(short = 'n', long = "allowNonRestoredState")]
    allow_non_restored_state: bool,
    /// `run`: run the job in a background process and return once it was submitted (before
    /// the job name, as in Flink).
    #[arg(short = 'd', long = "detached")]
    detached: bool,
    /// The job (see `eddy examples`).
    job: String,
    /// The job's arguments; `-p` and `-D` may also appear here.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EDDY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("\n------------------------------------------------------------");
            eprintln!(" The program finished with the following exception:\n");
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Examples => {
            println!("Bundled example jobs (run with `eddy run <name> [args]`):");
            let width = EXAMPLES.iter().map(|e| e.name.len()).max().unwrap_or(0);
            for example in EXAMPLES {
                println!(
                    "  {:<width$} {}  {}",
                    example.name, example.description, example.usage
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(job) if job.detached => {
            // Check the job and its options here, so that mistakes are reported at once.
            prepare(job)?;
            let args = eddy::detached::without_detached_flag(std::env::args().skip(1));
            eddy::detached::run_detached(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(job) => {
            let (example, args, config) = prepare(job)?;
            match run_program(example, &args, config) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(ProgramError::Job(JobError::Canceled { job_id })) => {
                    eprintln!("Job {job_id} has been cancelled.");
                    Ok(ExitCode::from(130))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Info(job) => {
            if job.detached {
                anyhow::bail!("-d / --detached is an option of `eddy run`, not of `eddy info`");
            }
            let (example, args, config) = prepare(job)?;
            println!("{}", capture_plan(example, &args, config)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { bench } => {
            eddy::bench::run(bench)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Nexmark { command } => {
            eddy::nexmark::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List {
            running,
            scheduled,
            all,
            endpoint,
        } => {
            remote::list(&endpoint, running, scheduled, all)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { job_id, endpoint } => {
            remote::cancel(&endpoint, &job_id)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Savepoint {
            dispose: Some(path),
            ..
        } => {
            let config = load_configuration(&ClientOptions::default())?;
            remote::dispose(&path, &config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Savepoint {
            job_id,
            target_directory,
            endpoint,
            ..
        } => {
            let job_id = job_id.unwrap_or_default();
            remote::savepoint(&endpoint, &job_id, target_directory.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stop {
            savepoint_path,
            drain,
            job_id,
            endpoint,
        } => {
            remote::stop(&endpoint, &job_id, savepoint_path.as_deref(), drain)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

type Prepared = (
    &'static eddy::examples::Example,
    Vec<String>,
    eddy_core::config::Configuration,
);

fn prepare(
    JobArgs {
        parallelism,
        dynamic_properties,
        restore_path,
        allow_non_restored_state,
        detached: _,
        job,
        args,
    }: JobArgs,
) -> anyhow::Result<Prepared> {
    let example = find(&job).ok_or_else(|| {
        let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        anyhow::anyhow!(
            "unknown job '{job}': the bundled jobs are {} (see `eddy examples`)",
            names.join(", ")
        )
    })?;
    let mut options = ClientOptions {
        parallelism,
        dynamic_properties,
        restore_path,
        allow_non_restored_state,
    };
    if options.parallelism == Some(0) {
        anyhow::bail!("invalid parallelism '0': expected a whole number of at least 1");
    }
    let args = split_client_options(&args, &mut options).map_err(anyhow::Error::msg)?;
    let config = load_configuration(&options)?;
    Ok((example, args, config))
}
