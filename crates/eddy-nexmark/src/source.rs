//! The Nexmark source: the generator behind a parallel, replayable [`GeneratorSource`], and
//! the event-time strategy of Flink's nexmark tables.

use std::time::Duration;

use eddy_connectors::GeneratorSource;
use eddy_functions::{BoundedOutOfOrderness, WatermarkStrategy};

use crate::config::NexmarkConfig;
use crate::generator::NexmarkGenerator;
use crate::model::Event;

/// How far events may be out of order: Flink's nexmark tables declare
/// `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`.
pub const OUT_OF_ORDERNESS: Duration = Duration::from_secs(4);

/// The source of `config`'s event stream: `events.num` events (0: unbounded), subtask `i` of
/// `p` generating events `i, i + p, …` so that all subtasks move through event time together.
/// Its position is operator state (a restored job continues every subtask's share, at any
/// parallelism). With `events_per_second`, the whole source emits at most that many events per
/// second of wall-clock time.
pub fn nexmark_source(
    config: &NexmarkConfig,
    events_per_second: Option<u64>,
) -> GeneratorSource<Event, impl FnMut(u64) -> Event + Clone + Send + 'static> {
    let generator = NexmarkGenerator::new(config.clone());
    let count = (config.events > 0).then_some(config.events);
    GeneratorSource::new(count, move |index| generator.event(index))
        .interleaved()
        .with_rate_limit(events_per_second.unwrap_or(0))
}

/// Event time from `dateTime`, watermarks [`OUT_OF_ORDERNESS`] behind the largest seen.
pub fn watermark_strategy(
) -> WatermarkStrategy<BoundedOutOfOrderness, impl Fn(&Event, i64) -> i64 + Clone + Send + 'static>
{
    WatermarkStrategy::for_bounded_out_of_orderness(OUT_OF_ORDERNESS)
        .with_timestamp_assigner(|event: &Event, _| event.date_time())
}
