//! q0 (pass-through), q1 (currency conversion) and q2 (selection): stateless queries over the
//! bids.

use std::fmt;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::{bids, csv_line};
use crate::model::{Bid, Event};

/// A bid as q0 selects it: `auction, bidder, price, dateTime, extra`.
impl fmt::Display for Bid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bid_row(
            f,
            [self.auction, self.bidder, self.price, self.date_time],
            &self.extra,
        )
    }
}

/// The CSV line of a bid's `auction, bidder, price, dateTime` and `extra` (q0's and q7's rows).
pub(super) fn bid_row(
    f: &mut fmt::Formatter<'_>,
    [auction, bidder, price, date_time]: [i64; 4],
    extra: &str,
) -> fmt::Result {
    csv_line(f, &[&auction, &bidder, &price, &date_time, &extra])
}

/// q0: every bid, unchanged (`SELECT auction, bidder, price, dateTime, extra FROM bid`).
pub fn q0(events: &DataStream<Event>) -> DataStream<Bid> {
    bids(events)
}

/// A q1 row: the bid with its price in euros, `0.908 * price` as an exact decimal of three
/// places (the SQL's `DECIMAL(23, 3)`), kept as thousandths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q1Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The price in thousandths of a euro: `price * 908`.
    pub price_thousandths: i64,
    /// The bid's time.
    pub date_time: i64,
    /// The bid's padding.
    pub extra: String,
}

impl fmt::Display for Q1Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let price = format!(
            "{}.{:03}",
            self.price_thousandths / 1000,
            self.price_thousandths % 1000
        );
        csv_line(
            f,
            &[
                &self.auction,
                &self.bidder,
                &price,
                &self.date_time,
                &self.extra,
            ],
        )
    }
}

/// q1: `SELECT auction, bidder, 0.908 * price, dateTime, extra FROM bid`.
pub fn q1(events: &DataStream<Event>) -> DataStream<Q1Row> {
    bids(events)
        .map(|bid: Bid| Q1Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price_thousandths: bid.price * 908,
            date_time: bid.date_time,
            extra: bid.extra,
        })
        .name("q1: to euros")
}

/// A q2 row: `auction, price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q2Row {
    /// The auction.
    pub auction: i64,
    /// The bid's price.
    pub price: i64,
}

impl fmt::Display for Q2Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        csv_line(f, &[&self.auction, &self.price])
    }
}

/// q2: `SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`.
pub fn q2(events: &DataStream<Event>) -> DataStream<Q2Row> {
    events
        .flat_map(|event: Event, out: &mut Collector<'_, Q2Row>| {
            if let Event::Bid(bid) = event {
                if bid.auction % 123 == 0 {
                    out.collect(Q2Row {
                        auction: bid.auction,
                        price: bid.price,
                    });
                }
            }
        })
        .name("q2: auction % 123 = 0")
}
