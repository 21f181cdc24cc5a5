//! The Nexmark queries on the DataStream API, with the semantics of the Flink SQL queries of
//! the nexmark benchmark (q0 … q8 without q6). Each query is a function from the event stream
//! to its result rows; a row prints as one CSV line with the columns of the SQL select list in
//! order (times as epoch milliseconds).
//!
//! Queries whose SQL result is an updating table (q4) emit every update; the last row of a key
//! is its final value.

mod q0_q2;
mod q3;
mod q4;
mod q5;
mod q7;
mod q8;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eddy_api::connectors::DiscardingSink;
use eddy_api::prelude::*;

use crate::config::NexmarkConfig;
use crate::model::{Auction, Bid, Event, Person};
use crate::source::{nexmark_source, watermark_strategy};

pub use q0_q2::{q0, q1, q2, Q1Row, Q2Row};
pub use q3::{q3, Q3Row};
pub use q4::{q4, Q4Row};
pub use q5::{q5, Q5Row};
pub use q7::{q7, Q7Row};
pub use q8::{q8, Q8Row};

/// The length of the tumbling windows of q7 and q8 and of q5's sliding windows, in ms.
pub const WINDOW_MS: i64 = 10_000;
/// The slide of q5's windows, in ms.
pub const SLIDE_MS: i64 = 2_000;

/// A bundled query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Pass-through of the bids.
    Q0,
    /// Currency conversion: prices × 0.908.
    Q1,
    /// Selection: bids on every 123rd auction.
    Q2,
    /// Local item suggestion: sellers in OR, ID or CA of category-10 auctions (a join).
    Q3,
    /// Average winning bid per category (a join and two aggregations, updating).
    Q4,
    /// Hot items: the auctions with the most bids per 10 s window sliding by 2 s.
    Q5,
    /// Highest bid per 10 s tumbling window.
    Q7,
    /// New users: persons who opened an auction in the 10 s window they registered in.
    Q8,
}

impl Query {
    /// Every query, in order.
    pub const ALL: [Query; 8] = [
        Query::Q0,
        Query::Q1,
        Query::Q2,
        Query::Q3,
        Query::Q4,
        Query::Q5,
        Query::Q7,
        Query::Q8,
    ];

    /// `q0` … `q8`.
    pub fn name(self) -> &'static str {
        match self {
            Query::Q0 => "q0",
            Query::Q1 => "q1",
            Query::Q2 => "q2",
            Query::Q3 => "q3",
            Query::Q4 => "q4",
            Query::Q5 => "q5",
            Query::Q7 => "q7",
            Query::Q8 => "q8",
        }
    }
}

impl std::str::FromStr for Query {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Query::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Query::ALL.iter().map(|q| q.name()).collect();
                format!("unknown query '{s}': the queries are {}", names.join(", "))
            })
    }
}

/// Where a query's rows go.
#[derive(Debug, Clone)]
pub enum ResultSink {
    /// Dropped (Flink's `blackhole` connector of the benchmark).
    Discard,
    /// One CSV line per row into this file (a folder of part files above parallelism 1).
    Csv(PathBuf),
    /// Counted, then dropped (benchmarks).
    Count(Arc<AtomicU64>),
    /// Their latencies recorded (benchmarks at a fixed rate), then dropped.
    Latency(crate::latency::LatencyRecorder),
}

/// Counts the rows that reach it, a batch at a time.
#[derive(Clone)]
struct CountingSink(Arc<AtomicU64>);

impl<T: Send + 'static> SinkFunction<T> for CountingSink {
    fn invoke(&mut self, _row: T, _ctx: &SinkContext) -> FnResult<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: eddy_core::Batch<T>) -> FnResult<()> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The event stream of `config`: the Nexmark source, with event time from `dateTime` and
/// watermarks 4 s behind.
pub fn events(
    env: &StreamExecutionEnvironment,
    config: &NexmarkConfig,
    events_per_second: Option<u64>,
) -> DataStream<Event> {
    env.add_source(nexmark_source(config, events_per_second))
        .name("Source: Nexmark")
        .uid("nexmark-source")
        .assign_timestamps_and_watermarks(watermark_strategy())
}

/// The bids of the stream.
pub fn bids(events: &DataStream<Event>) -> DataStream<Bid> {
    bid_columns(events, |bid| bid)
}

/// The bids of the stream, each cut down to the `columns` a query reads.
///
/// Queries keep only what they need before an exchange, as Flink's planner does (a projection
/// pushed below the shuffle): the rest of an event is dropped on the source's thread rather
/// than moved to another task and freed there.
pub fn bid_columns<B: Data>(events: &DataStream<Event>, columns: fn(Bid) -> B) -> DataStream<B> {
    events
        .flat_map(move |event: Event, out: &mut Collector<'_, B>| {
            if let Event::Bid(bid) = event {
                out.collect(columns(bid));
            }
        })
        .name("Bids")
}

/// The persons and the auctions of the stream, split in one pass (two `flat_map`s would each
/// receive a copy of every event), each cut down to the columns a query reads (see
/// [`bid_columns`]).
pub fn persons_and_auctions<P: Data, A: Data>(
    events: &DataStream<Event>,
    person_columns: fn(Person) -> P,
    auction_columns: fn(Auction) -> A,
) -> (DataStream<P>, DataStream<A>) {
    let tag = OutputTag::new("auctions");
    let persons = events
        .process(SplitOff {
            tag: tag.clone(),
            keep: move |event| match event {
                Event::Person(person) => Kind::Main(person_columns(*person)),
                Event::Auction(auction) => Kind::Side(auction_columns(*auction)),
                Event::Bid(_) => Kind::Neither,
            },
        })
        .name("Persons and auctions");
    let auctions = persons.get_side_output(&tag);
    (persons, auctions)
}

/// The auctions and the bids of the stream, split in one pass, each cut down to the columns a
/// query reads (see [`bid_columns`]).
pub fn auctions_and_bids<A: Data, B: Data>(
    events: &DataStream<Event>,
    auction_columns: fn(Auction) -> A,
    bid_columns: fn(Bid) -> B,
) -> (DataStream<A>, DataStream<B>) {
    let tag = OutputTag::new("bids");
    let auctions = events
        .process(SplitOff {
            tag: tag.clone(),
            keep: move |event| match event {
                Event::Auction(auction) => Kind::Main(auction_columns(*auction)),
                Event::Bid(bid) => Kind::Side(bid_columns(bid)),
                Event::Person(_) => Kind::Neither,
            },
        })
        .name("Auctions and bids");
    let bids = auctions.get_side_output(&tag);
    (auctions, bids)
}

/// Where [`SplitOff`] sends an event.
enum Kind<M, S> {
    Main(M),
    Side(S),
    Neither,
}

/// Sends each event to the main output, the side output `tag`, or nowhere, as `keep` says.
#[derive(Clone)]
struct SplitOff<S, F> {
    tag: OutputTag<S>,
    keep: F,
}

impl<M, S, F> ProcessFunction<Event, M> for SplitOff<S, F>
where
    M: Data,
    S: Data,
    F: Fn(Event) -> Kind<M, S> + Clone + Send + 'static,
{
    fn process_element(
        &mut self,
        event: Event,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, M>,
    ) -> FnResult<()> {
        match (self.keep)(event) {
            Kind::Main(main) => out.collect(main),
            Kind::Side(side) => ctx.output(&self.tag, side),
            Kind::Neither => {}
        }
        Ok(())
    }
}

/// Adds `query` over `events` to the job, its rows going to `sink`.
pub fn add_query(query: Query, events: &DataStream<Event>, sink: &ResultSink) {
    match query {
        Query::Q0 => finish(q0(events), sink),
        Query::Q1 => finish(q1(events), sink),
        Query::Q2 => finish(q2(events), sink),
        Query::Q3 => finish(q3(events), sink),
        Query::Q4 => finish(q4(events), sink),
        Query::Q5 => finish(q5(events), sink),
        Query::Q7 => finish(q7(events), sink),
        Query::Q8 => finish(q8(events), sink),
    }
}

fn finish<R: Data + std::fmt::Display>(rows: DataStream<R>, sink: &ResultSink) {
    match sink {
        ResultSink::Discard => {
            rows.add_sink(DiscardingSink::new()).name("Sink: Discard");
        }
        ResultSink::Csv(path) => {
            rows.write_as_text(path.clone()).name("Sink: CSV");
        }
        ResultSink::Count(counter) => {
            rows.add_sink(CountingSink(counter.clone()))
                .name("Sink: Count");
        }
        ResultSink::Latency(recorder) => {
            rows.add_sink(recorder.sink()).name("Sink: Latency");
        }
    }
}

/// Writes `value` as a CSV field, with a separator before all but the first field.
pub(crate) fn csv_field(
    f: &mut std::fmt::Formatter<'_>,
    first: bool,
    value: &dyn std::fmt::Display,
) -> std::fmt::Result {
    if !first {
        f.write_str(",")?;
    }
    crate::format::write_csv_field(f, &value.to_string())
}

/// Writes a CSV line of `fields`.
pub(crate) fn csv_line(
    f: &mut std::fmt::Formatter<'_>,
    fields: &[&dyn std::fmt::Display],
) -> std::fmt::Result {
    for (i, value) in fields.iter().enumerate() {
        csv_field(f, i == 0, *value)?;
    }
    Ok(())
}
