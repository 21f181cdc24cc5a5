//! q4, the average winning bid per category.
//!
//! ```sql
//! SELECT Q.category, AVG(Q.final)
//! FROM (
//!     SELECT MAX(B.price) AS final, A.category
//!     FROM auction A, bid B
//!     WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//!     GROUP BY A.id, A.category
//! ) Q
//! GROUP BY Q.category
//! ```
//!
//! Two keyed steps, as Flink's plan (with its projections: only the columns read cross the
//! exchange): auctions and bids meet by auction id, which keeps each
//! auction's highest bid within its time range (bids that come before their auction wait in
//! list state) and reports every raise; the categories fold the raises into a sum and a count
//! of their auctions' winning bids. The result is an updating table: every change of a
//! category's average is a row, and the last row of a category is its final average (`AVG`
//! of `BIGINT` is a `BIGINT`, the quotient rounded toward zero, as in Flink SQL).

use std::fmt;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::{auctions_and_bids, csv_line};
use crate::model::Event;

/// A q4 row: `category, average winning bid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q4Row {
    /// The category (the SQL's `id` column).
    pub category: i64,
    /// The average of the category's winning bids so far.
    pub average: i64,
}

impl fmt::Display for Q4Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        csv_line(f, &[&self.category, &self.average])
    }
}

/// The columns of an auction q4 reads: its id and category, and the span its bids count in
/// (`dateTime` to `expires`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct AuctionSpan {
    id: i64,
    category: i64,
    start: i64,
    end: i64,
}

/// The columns of a bid q4 reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BidPrice {
    auction: i64,
    price: i64,
    date_time: i64,
}

/// A raise of an auction's winning bid: its category, the previous winning bid (none for the
/// auction's first) and the new one.
type Raise = (i64, Option<i64>, i64);

/// q4 over the event stream.
pub fn q4(events: &DataStream<Event>) -> DataStream<Q4Row> {
    let (auctions, bids) = auctions_and_bids(
        events,
        |a| AuctionSpan {
            id: a.id,
            category: a.category,
            start: a.date_time,
            end: a.expires,
        },
        |b| BidPrice {
            auction: b.auction,
            price: b.price,
            date_time: b.date_time,
        },
    );
    auctions
        .connect(&bids)
        .key_by(|a: &AuctionSpan| a.id, |b: &BidPrice| b.auction)
        .process(WinningBids {
            auction: ValueStateDescriptor::new("q4-auction"),
            winning: ValueStateDescriptor::new("q4-winning-bid"),
            waiting: ListStateDescriptor::new("q4-waiting-bids"),
        })
        .name("q4: winning bids")
        .key_by(|raise: &Raise| raise.0)
        .process(CategoryAverage {
            totals: ValueStateDescriptor::new("q4-category-totals"),
        })
        .name("q4: average per category")
}

/// Per auction: its `(dateTime, expires, category)`, its winning bid, and the
/// `(price, dateTime)` of bids that came before it.
#[derive(Clone)]
struct WinningBids {
    auction: ValueStateDescriptor<(i64, i64, i64)>,
    winning: ValueStateDescriptor<i64>,
    waiting: ListStateDescriptor<(i64, i64)>,
}

impl KeyedCoProcessFunction<i64, AuctionSpan, BidPrice, Raise> for WinningBids {
    fn process_element1(
        &mut self,
        auction: AuctionSpan,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Raise>,
    ) -> FnResult<()> {
        let (start, end) = (auction.start, auction.end);
        let mut waiting = ctx.state().list(&self.waiting)?;
        let best = waiting
            .get()?
            .into_iter()
            .filter(|&(_, time)| (start..=end).contains(&time))
            .map(|(price, _)| price)
            .max();
        waiting.clear()?;
        ctx.state()
            .value(&self.auction)?
            .update((start, end, auction.category))?;
        if let Some(best) = best {
            ctx.state().value(&self.winning)?.update(best)?;
            out.collect((auction.category, None, best));
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        bid: BidPrice,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Raise>,
    ) -> FnResult<()> {
        let Some((start, end, category)) = ctx.state().value(&self.auction)?.value()? else {
            return ctx
                .state()
                .list(&self.waiting)?
                .add((bid.price, bid.date_time));
        };
        if !(start..=end).contains(&bid.date_time) {
            return Ok(());
        }
        let mut winning = ctx.state().value(&self.winning)?;
        let previous = winning.value()?;
        if previous.is_none_or(|p| bid.price > p) {
            winning.update(bid.price)?;
            out.collect((category, previous, bid.price));
        }
        Ok(())
    }
}

/// Per category: the sum and the count of its auctions' winning bids.
#[derive(Clone)]
struct CategoryAverage {
    totals: ValueStateDescriptor<(i64, i64)>,
}

impl KeyedProcessFunction<i64, Raise, Q4Row> for CategoryAverage {
    fn process_element(
        &mut self,
        (category, previous, winning): Raise,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q4Row>,
    ) -> FnResult<()> {
        let mut totals = ctx.state().value(&self.totals)?;
        let (mut sum, mut count) = totals.value()?.unwrap_or((0, 0));
        sum += winning - previous.unwrap_or(0);
        if previous.is_none() {
            count += 1;
        }
        totals.update((sum, count))?;
        out.collect(Q4Row {
            category,
            average: sum / count,
        });
        Ok(())
    }
}
