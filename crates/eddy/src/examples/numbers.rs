//! Numbers: a rate-limited generator printed to stdout; unbounded unless `--count` is given.

use eddy_api::prelude::*;

use crate::ProgramError;

/// `numbers [--rate R] [--count N]`: emits `index,index²` lines at `R` records/s (default 10)
/// from a parallel generator, forever or for `N` records. Stop it with Ctrl-C.
pub fn numbers(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let rate: u64 = params
        .get_parsed("rate", 10)
        .map_err(ProgramError::InvalidArguments)?;
    let count: Option<u64> = match params.get("count") {
        None => None,
        Some(raw) => Some(raw.parse().map_err(|_| {
            ProgramError::InvalidArguments(format!("invalid value '{raw}' for --count"))
        })?),
    };
    if rate == 0 {
        return Err(ProgramError::InvalidArguments(
            "--rate must be at least 1 record per second".into(),
        ));
    }
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.from_generator(count, Some(rate), |i| i)
        .name("number-generator")
        .map(|i: u64| format!("{i},{}", i.wrapping_mul(i)))
        .name("square")
        .print()
        .name("print-sink");
    env.execute("Numbers")?;
    Ok(())
}
