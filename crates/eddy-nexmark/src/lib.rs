//! The Nexmark benchmark for Eddy: an online auction's event stream of persons, auctions and
//! bids, generated deterministically and in parallel as the reference generator of Flink's
//! nexmark benchmark does (see [`generator`] for the semantics and where we differ).
//!
//! * [`NexmarkConfig`]: the generator's options, with the keys of Flink's nexmark source
//!   (`events.num`, `first-event.rate`, `bid.proportion`, …).
//! * [`NexmarkGenerator`]: event `i` of the stream, as a pure function of `i`.
//! * [`nexmark_source`]: the generator as a parallel, replayable source, and
//!   [`watermark_strategy`]: event time with 4 s of out-of-orderness, as Flink's nexmark tables.
//! * [`format`]: events as CSV or JSON lines.
//! * [`latency`]: end-to-end latency of query results at a fixed event rate.
//! * [`queries`]: q0 … q8 (without q6) on the DataStream API, with the Flink SQL queries'
//!   semantics.

#![warn(missing_docs)]

pub mod config;
pub mod format;
pub mod generator;
pub mod latency;
pub mod model;
pub mod queries;
pub mod random;
pub mod source;
mod strings;

pub use config::{ConfigError, NexmarkConfig};
pub use generator::NexmarkGenerator;
pub use model::{Auction, Bid, Event, Person};
pub use source::{nexmark_source, watermark_strategy, OUT_OF_ORDERNESS};
