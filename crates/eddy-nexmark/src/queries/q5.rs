//! q5, hot items: the auctions with the most bids in each 10 s window sliding by 2 s.
//!
//! ```sql
//! SELECT AuctionBids.auction, AuctionBids.num
//! FROM (SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
//!       FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!       GROUP BY auction, window_start, window_end) AS AuctionBids
//! JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
//!       FROM (… the same counts …) AS CountBids
//!       GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids
//! ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
//!    AND AuctionBids.num >= MaxBids.maxn
//! ```
//!
//! Bids are counted per auction in sliding event-time windows; the counts then meet by window
//! end, where each window keeps its highest count and the auctions that reached it, and emits
//! them when the watermark passes the window (after every count of the window has arrived).

use std::fmt;
use std::time::Duration;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::{bid_columns, csv_line, SLIDE_MS, WINDOW_MS};
use crate::model::Event;

/// A q5 row: `auction, num` (its bids in a window where no auction had more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q5Row {
    /// The auction.
    pub auction: i64,
    /// Its bids in the window.
    pub num: u64,
}

impl fmt::Display for Q5Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        csv_line(f, &[&self.auction, &self.num])
    }
}

/// An auction's bids in one window: `(auction, count, window end)`.
type AuctionCount = (i64, u64, i64);

/// q5 over the event stream.
pub fn q5(events: &DataStream<Event>) -> DataStream<Q5Row> {
    // Only the auction crosses the exchange: the window takes the bid's time from its
    // timestamp (its `dateTime`).
    bid_columns(events, |b| b.auction)
        .key_by(|auction: &i64| *auction)
        .window(SlidingEventTimeWindows::of(
            Duration::from_millis(WINDOW_MS as u64),
            Duration::from_millis(SLIDE_MS as u64),
        ))
        .aggregate_with_process(
            CountBids,
            process_window_fn(
                |auction: &i64,
                 ctx: &mut WindowContext<'_, i64, TimeWindow>,
                 counts: Elements<'_, u64>,
                 out: &mut Collector<'_, AuctionCount>| {
                    let end = ctx.window().end;
                    for count in counts {
                        out.collect((*auction, *count, end));
                    }
                    Ok(())
                },
            ),
        )
        .name("q5: bids per auction and window")
        .key_by(|c: &AuctionCount| c.2)
        .process(HottestPerWindow {
            hottest: ValueStateDescriptor::new("q5-hottest"),
        })
        .name("q5: hottest auctions per window")
}

/// Counts a window's bids.
#[derive(Clone)]
struct CountBids;

impl AggregateFunction<i64, u64, u64> for CountBids {
    fn create_accumulator(&mut self) -> u64 {
        0
    }
    fn add(&mut self, _auction: i64, count: &mut u64) -> FnResult<()> {
        *count += 1;
        Ok(())
    }
    fn get_result(&mut self, count: &u64) -> FnResult<u64> {
        Ok(*count)
    }
    fn merge(&mut self, count: &mut u64, other: u64) -> FnResult<()> {
        *count += other;
        Ok(())
    }
}

/// Per window end: the highest count so far and the auctions with it, emitted at the
/// window's last millisecond.
#[derive(Clone)]
struct HottestPerWindow {
    hottest: ValueStateDescriptor<(u64, Vec<i64>)>,
}

impl KeyedProcessFunction<i64, AuctionCount, Q5Row> for HottestPerWindow {
    fn process_element(
        &mut self,
        (auction, count, end): AuctionCount,
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, Q5Row>,
    ) -> FnResult<()> {
        let mut hottest = ctx.state().value(&self.hottest)?;
        let (max, mut auctions) = hottest.value()?.unwrap_or((0, Vec::new()));
        if count > max {
            hottest.update((count, vec![auction]))?;
        } else if count == max {
            auctions.push(auction);
            hottest.update((max, auctions))?;
        }
        ctx.timer_service().register_event_time_timer(end - 1);
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q5Row>,
    ) -> FnResult<()> {
        let mut hottest = ctx.state().value(&self.hottest)?;
        if let Some((num, auctions)) = hottest.value()? {
            for auction in auctions {
                out.collect(Q5Row { auction, num });
            }
        }
        hottest.clear()
    }
}
