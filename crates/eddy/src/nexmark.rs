//! `eddy nexmark …`: the Nexmark event stream for other tools.

use std::io::{BufWriter, Write};

use eddy_nexmark::format::{format_event, Format};
use eddy_nexmark::{NexmarkConfig, NexmarkGenerator};

/// The `eddy nexmark` subcommands.
#[derive(clap::Subcommand)]
pub enum NexmarkCommand {
    /// Writes the generated event stream (the stream of parallelism 1, in order) as CSV or
    /// JSON lines: `eddy nexmark generate --events 1000 --format csv`.
    Generate {
        /// Events to generate (`events.num`).
        #[arg(long, default_value_t = 1000)]
        events: u64,
        /// `csv` (event_type then the kind's fields) or `json` (one object per line).
        #[arg(long, default_value = "csv")]
        format: Format,
        /// Events per second of event time (`first-event.rate` and `next-event.rate`).
        #[arg(long)]
        rate: Option<u32>,
        /// A generator option with Flink's nexmark key, e.g. `-D bid.proportion=40`
        /// (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Write here instead of to standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

/// Runs a subcommand.
pub fn run(command: NexmarkCommand) -> anyhow::Result<()> {
    match command {
        NexmarkCommand::Generate {
            events,
            format,
            rate,
            options,
            output,
        } => {
            let config = generator_config(events, rate, &options)?;
            let sink: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::fs::File::create(path).map_err(|e| {
                    anyhow::anyhow!("cannot create the output file {}: {e}", path.display())
                })?),
                None => Box::new(std::io::stdout().lock()),
            };
            match write_events(config, format, sink) {
                // A closed pipe (`| head`) ends the output, it is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => result.map_err(|e| anyhow::anyhow!("cannot write the events: {e}")),
            }
        }
    }
}

/// The generator options of the command line: `-D key=value` pairs over the defaults, then
/// the event count and rate.
pub fn generator_config(
    events: u64,
    rate: Option<u32>,
    options: &[String],
) -> anyhow::Result<NexmarkConfig> {
    let mut config = NexmarkConfig::default();
    for option in options {
        let (key, value) = option.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "invalid option '{option}': expected KEY=VALUE, e.g. -D bid.proportion=40"
            )
        })?;
        config.set(key.trim(), value)?;
    }
    config.events = events;
    if let Some(rate) = rate {
        anyhow::ensure!(rate > 0, "--rate must be at least 1 event per second");
        config.first_event_rate = rate;
        config.next_event_rate = rate;
    }
    Ok(config)
}

fn write_events(
    config: NexmarkConfig,
    format: Format,
    sink: Box<dyn Write>,
) -> std::io::Result<()> {
    let mut out = BufWriter::new(sink);
    let events = config.events;
    let generator = NexmarkGenerator::new(config);
    for index in 0..events {
        writeln!(out, "{}", format_event(&generator.event(index), format))?;
    }
    out.flush()
}
