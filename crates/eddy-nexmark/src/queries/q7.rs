//! q7, the highest bid of each 10 s tumbling window.
//!
//! ```sql
//! SELECT B.auction, B.bidder, B.price, B.dateTime, B.extra
//! FROM bid B
//! JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
//!       FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!       GROUP BY window_start, window_end) B1
//! ON B.price = B1.maxprice
//! WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
//! ```
//!
//! A window over all bids keeps the highest price and its bids, and the bids of the window's
//! earliest millisecond. `BETWEEN` includes the window's end, which is the first millisecond of
//! the next window: a bid there at the previous window's highest price belongs to that
//! window's result too. A keyed step (one key) holds the previous window's end and highest
//! price to find those bids in the next window's earliest ones.

use std::fmt;
use std::time::Duration;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::q0_q2::bid_row;
use super::{bid_columns, WINDOW_MS};
use crate::model::Event;

/// A q7 row: the bid's `auction, bidder, price, dateTime, extra` (also the only columns that
/// cross the exchange to the window).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q7Row {
    /// The auction bid on.
    pub auction: i64,
    /// Who bid.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// When it was made (epoch ms).
    pub date_time: i64,
    /// The bid's padding.
    pub extra: String,
}

impl fmt::Display for Q7Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bid_row(
            f,
            [self.auction, self.bidder, self.price, self.date_time],
            &self.extra,
        )
    }
}

/// A bid as q7 reads it.
type Bid = Q7Row;

/// A window's highest bids and its earliest bids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct HighestBids {
    max_price: i64,
    highest: Vec<Bid>,
    earliest_time: i64,
    earliest: Vec<Bid>,
}

/// The window's `[start, end)` and its highest and earliest bids.
type WindowResult = (i64, i64, HighestBids);

/// q7 over the event stream.
pub fn q7(events: &DataStream<Event>) -> DataStream<Q7Row> {
    bid_columns(events, |b| Q7Row {
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        date_time: b.date_time,
        extra: b.extra,
    })
    .window_all(TumblingEventTimeWindows::of(Duration::from_millis(
        WINDOW_MS as u64,
    )))
    .aggregate_with_process(
        KeepHighest,
        process_window_fn(
            |_: &(),
             ctx: &mut WindowContext<'_, (), TimeWindow>,
             results: Elements<'_, HighestBids>,
             out: &mut Collector<'_, WindowResult>| {
                let window = *ctx.window();
                for highest in results {
                    out.collect((window.start, window.end, highest.clone()));
                }
                Ok(())
            },
        ),
    )
    .name("q7: highest bids per window")
    .key_by(|_: &WindowResult| 0u8)
    .process(WithTheWindowEnd {
        previous: ValueStateDescriptor::new("q7-previous-window"),
    })
    .name("q7: highest bids")
}

/// Keeps the highest and the earliest bids of a window.
#[derive(Clone)]
struct KeepHighest;

impl AggregateFunction<Bid, HighestBids, HighestBids> for KeepHighest {
    fn create_accumulator(&mut self) -> HighestBids {
        HighestBids {
            max_price: i64::MIN,
            highest: Vec::new(),
            earliest_time: i64::MAX,
            earliest: Vec::new(),
        }
    }

    fn add(&mut self, bid: Bid, acc: &mut HighestBids) -> FnResult<()> {
        if bid.date_time < acc.earliest_time {
            acc.earliest_time = bid.date_time;
            acc.earliest.clear();
        }
        if bid.date_time == acc.earliest_time {
            acc.earliest.push(bid.clone());
        }
        if bid.price > acc.max_price {
            acc.max_price = bid.price;
            acc.highest.clear();
        }
        if bid.price == acc.max_price {
            acc.highest.push(bid);
        }
        Ok(())
    }

    fn get_result(&mut self, acc: &HighestBids) -> FnResult<HighestBids> {
        Ok(acc.clone())
    }

    fn merge(&mut self, acc: &mut HighestBids, other: HighestBids) -> FnResult<()> {
        for bid in other.highest.into_iter().chain(other.earliest) {
            self.add(bid, acc)?;
        }
        Ok(())
    }
}

/// Emits each window's highest bids, and the next window's bids at this window's end that
/// match its highest price.
#[derive(Clone)]
struct WithTheWindowEnd {
    /// The previous window's end and highest price.
    previous: ValueStateDescriptor<(i64, i64)>,
}

impl KeyedProcessFunction<u8, WindowResult, Q7Row> for WithTheWindowEnd {
    fn process_element(
        &mut self,
        (start, end, window): WindowResult,
        ctx: &mut KeyedContext<'_, u8>,
        out: &mut Collector<'_, Q7Row>,
    ) -> FnResult<()> {
        let mut previous = ctx.state().value(&self.previous)?;
        if let Some((previous_end, previous_max)) = previous.value()? {
            if previous_end == start && window.earliest_time == start {
                for bid in window.earliest.iter().filter(|b| b.price == previous_max) {
                    out.collect(bid.clone());
                }
            }
        }
        previous.update((end, window.max_price))?;
        for bid in window.highest {
            out.collect(bid);
        }
        Ok(())
    }
}
