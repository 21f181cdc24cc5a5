//! Window aggregation: counts and sums `key,event_time_ms,value` events per key in event-time
//! (tumbling, sliding, session) or count windows, with out-of-orderness, allowed lateness and a
//! late-data output.

use std::path::Path;
use std::time::Duration;

use eddy_api::prelude::*;

use super::window_events::{parse_event, AttachWindow, CountSum, Event, PunctuatedWatermarks};
use super::window_spec::{millis, parse_duration, WindowSpec};
use crate::ProgramError;

/// The arguments, for error messages.
pub const WINDOW_AGGREGATE_USAGE: &str = "--input FILE --window SPEC [--output PATH] \
     [--out-of-orderness DUR] [--allowed-lateness DUR] [--late-output PATH]";

/// The parsed arguments of `window-aggregate`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    input: String,
    output: Option<String>,
    window: WindowSpec,
    out_of_orderness: Duration,
    allowed_lateness: Duration,
    late_output: Option<String>,
}

fn invalid(message: impl std::fmt::Display) -> ProgramError {
    ProgramError::InvalidArguments(format!(
        "{message}\nusage: window-aggregate {WINDOW_AGGREGATE_USAGE}"
    ))
}

/// The value of an option that needs a non-empty value, if given.
fn path_option(params: &ParameterTool, key: &str) -> Result<Option<String>, ProgramError> {
    match params.get(key) {
        None => Ok(None),
        Some("") => Err(invalid(format!("--{key} needs a path"))),
        Some(path) => Ok(Some(path.to_string())),
    }
}

fn duration_option(params: &ParameterTool, key: &str) -> Result<Duration, ProgramError> {
    match params.get(key) {
        None => Ok(Duration::ZERO),
        Some(raw) => parse_duration(&format!("--{key}"), raw).map_err(invalid),
    }
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, ProgramError> {
        let params = ParameterTool::from_args(args).map_err(invalid)?;
        let input = path_option(&params, "input")?.ok_or_else(|| {
            invalid("--input is required: a file of key,event_time_ms,value lines")
        })?;
        if Path::new(&input).is_dir() {
            return Err(invalid(format!(
                "--input {input} is a directory; give one file (errors name its line numbers)"
            )));
        }
        let window = match params.get("window") {
            None | Some("") => {
                return Err(invalid(
                    "--window is required, e.g. --window tumble:10s, hop:10s:2s, session:5s, \
                     count:100 or count:100:10",
                ))
            }
            Some(raw) => WindowSpec::parse(raw).map_err(invalid)?,
        };
        Ok(Options {
            input,
            output: path_option(&params, "output")?,
            window,
            out_of_orderness: duration_option(&params, "out-of-orderness")?,
            allowed_lateness: duration_option(&params, "allowed-lateness")?,
            late_output: path_option(&params, "late-output")?,
        })
    }
}

/// Sets allowed lateness and the late-data output on a windowed stream and aggregates it with
/// [`CountSum`] and [`AttachWindow`]. A macro because the window types differ per assigner.
macro_rules! count_and_sum {
    ($windowed:expr, $lateness:expr, $late_tag:expr) => {
        $windowed
            .allowed_lateness($lateness)
            .side_output_late_data($late_tag)
            .aggregate_with_process(CountSum, AttachWindow)
    };
}

/// `window-aggregate --input FILE --window SPEC …`: reads `key,event_time_ms,value` lines in
/// order with one source subtask, generates a watermark after every element (highest timestamp
/// − out-of-orderness − 1 ms), keys by `key` and aggregates count and sum per window at the
/// job's parallelism. Writes `key,window_start_ms,window_end_ms,count,sum` per fired window to
/// `--output` (stdout without it) and the late elements' original lines to `--late-output`.
/// Count windows report their elements' earliest and latest timestamps as start and end.
pub fn window_aggregate(args: &[String]) -> Result<(), ProgramError> {
    let options = Options::parse(args)?;
    let env = StreamExecutionEnvironment::get_execution_environment();
    // The parser runs at parallelism 1, chained to the single source subtask that reads the
    // file in order, so counting the lines it sees gives their line numbers.
    let file = options.input.clone();
    let mut line_number = 0u64;
    let strategy = WatermarkStrategy::for_generator(PunctuatedWatermarks::new(millis(
        options.out_of_orderness,
    )))
    .with_timestamp_assigner(|event: &Event, _| event.timestamp);
    let events = env
        .read_text_file(&options.input)
        .name("file-input")
        .set_parallelism(1)
        .try_map(move |line: String| {
            line_number += 1;
            parse_event(&file, line_number, line)
        })
        .name("parse")
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(strategy)
        .name("watermarks")
        .set_parallelism(1);
    let keyed = events.key_by(|event: &Event| event.key.clone());
    let late_tag = OutputTag::<Event>::new("late-data");
    let lateness = options.allowed_lateness;
    let results = match options.window {
        WindowSpec::Tumble { size } => {
            count_and_sum!(
                keyed.window(TumblingEventTimeWindows::of(size)),
                lateness,
                &late_tag
            )
        }
        WindowSpec::Hop { size, slide } => count_and_sum!(
            keyed.window(SlidingEventTimeWindows::of(size, slide)),
            lateness,
            &late_tag
        ),
        WindowSpec::Session { gap } => count_and_sum!(
            keyed.window(EventTimeSessionWindows::with_gap(gap)),
            lateness,
            &late_tag
        ),
        WindowSpec::Count { size } => {
            count_and_sum!(keyed.count_window(size), lateness, &late_tag)
        }
        WindowSpec::CountSliding { size, slide } => {
            count_and_sum!(keyed.count_window_sliding(size, slide), lateness, &late_tag)
        }
    }
    .name(&format!("window-aggregate {}", options.window));
    if let Some(path) = &options.late_output {
        results
            .get_side_output(&late_tag)
            .map(|event: Event| event.line)
            .name("late-lines")
            .write_as_text_with_mode(path, WriteMode::Overwrite)
            .name("late-data-sink");
    }
    match &options.output {
        Some(path) => {
            results
                .write_as_text_with_mode(path, WriteMode::Overwrite)
                .name("file-sink");
        }
        None => {
            eprintln!("Printing result to stdout. Use --output to specify output path.");
            results.print().name("print-sink");
        }
    }
    env.execute("Window Aggregate")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn options_have_defaults_and_clear_errors() {
        let options = parse(&["--input", "in.csv", "--window", "session:2s"]).unwrap();
        assert_eq!(
            options,
            Options {
                input: "in.csv".into(),
                output: None,
                window: WindowSpec::Session {
                    gap: Duration::from_secs(2)
                },
                out_of_orderness: Duration::ZERO,
                allowed_lateness: Duration::ZERO,
                late_output: None,
            }
        );
        let full = parse(&[
            "--input",
            "in.csv",
            "--window",
            "count:3",
            "--out-of-orderness",
            "1s",
            "--allowed-lateness",
            "250",
            "--output",
            "out",
            "--late-output",
            "late",
        ])
        .unwrap();
        assert_eq!(full.out_of_orderness, Duration::from_secs(1));
        assert_eq!(full.allowed_lateness, Duration::from_millis(250));
        assert_eq!(full.output.as_deref(), Some("out"));
        assert_eq!(full.late_output.as_deref(), Some("late"));

        let err = parse(&["--window", "tumble:1s"]).unwrap_err();
        assert!(
            err.contains("--input is required") && err.contains("usage:"),
            "{err}"
        );
        let err = parse(&["--input", "in.csv"]).unwrap_err();
        assert!(err.contains("--window is required"), "{err}");
        let err = parse(&["--input", "in.csv", "--window", "tumble:1x"]).unwrap_err();
        assert!(err.contains("'1x'"), "{err}");
        let err = parse(&[
            "--input",
            "in.csv",
            "--window",
            "tumble:1s",
            "--allowed-lateness",
            "soon",
        ])
        .unwrap_err();
        assert!(
            err.contains("--allowed-lateness") && err.contains("'soon'"),
            "{err}"
        );
        let err = parse(&["--input", "in.csv", "--window", "tumble:1s", "--output"]).unwrap_err();
        assert!(err.contains("--output needs a path"), "{err}");
        let dir = std::env::temp_dir();
        let err = parse(&["--input", dir.to_str().unwrap(), "--window", "count:2"]).unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
    }
}
