//! Nexmark: one query of the benchmark over the generated auction stream.

use eddy_api::prelude::*;
use eddy_nexmark::queries::{add_query, events, Query, ResultSink};

use crate::nexmark::generator_config;
use crate::ProgramError;

/// The arguments of `eddy run nexmark`.
pub const NEXMARK_USAGE: &str = "--query q0|q1|q2|q3|q4|q5|q7|q8 [--events N] [--tps R] \
     [--output PATH] [--nexmark KEY=VALUE]...";

/// `nexmark --query qN [--events N] [--tps R] [--output PATH] [--nexmark KEY=VALUE]…`: runs
/// query `qN` over `N` generated events (default 1 000 000; 0 is unbounded), as fast as they
/// go or at `R` events per second, writing its rows as CSV lines to `PATH` (one file per
/// subtask above parallelism 1) or discarding them. `--nexmark` sets a generator option with
/// Flink's nexmark key (e.g. `bid.proportion=40`).
pub fn nexmark(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let invalid = |message: String| ProgramError::InvalidArguments(message);
    let query: Query = params
        .get("query")
        .ok_or_else(|| invalid(format!("--query is required: nexmark {NEXMARK_USAGE}")))?
        .parse()
        .map_err(invalid)?;
    let count: u64 = params.get_parsed("events", 1_000_000).map_err(invalid)?;
    let tps: u64 = params.get_parsed("tps", 0).map_err(invalid)?;
    let options: Vec<String> = params
        .get_all("nexmark")
        .into_iter()
        .map(str::to_string)
        .collect();
    let config = generator_config(count, None, &options).map_err(|e| invalid(format!("{e:#}")))?;
    let sink = match params.get("output") {
        Some(path) => ResultSink::Csv(path.into()),
        None => ResultSink::Discard,
    };
    let env = StreamExecutionEnvironment::get_execution_environment();
    let stream = events(&env, &config, (tps > 0).then_some(tps));
    add_query(query, &stream, &sink);
    env.execute(&format!("Nexmark {}", query.name()))?;
    Ok(())
}
