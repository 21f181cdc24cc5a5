//! q8, new users: persons who opened an auction in the 10 s tumbling window they registered
//! in.
//!
//! ```sql
//! SELECT P.id, P.name, P.starttime
//! FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
//!       FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!       GROUP BY id, name, window_start, window_end) P
//! JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
//!       FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!       GROUP BY seller, window_start, window_end) A
//! ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
//! ```
//!
//! Persons and auctions meet by person id: a person is kept with its window, the windows of a
//! seller's auctions are kept until the person comes; the first match of the person's window
//! is the row (the `GROUP BY`s make a pair of person and window one row). State is dropped
//! when the watermark passes the window.

use std::fmt;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::{csv_line, persons_and_auctions, WINDOW_MS};
use crate::model::Event;

/// A q8 row: `id, name, stime` (the window's start).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q8Row {
    /// The person.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// The start of the window they registered in.
    pub start_time: i64,
}

impl fmt::Display for Q8Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        csv_line(f, &[&self.id, &self.name, &self.start_time])
    }
}

/// The columns of a person q8 reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NewPerson {
    id: i64,
    name: String,
    date_time: i64,
}

/// The columns of an auction q8 reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SellerAuction {
    seller: i64,
    date_time: i64,
}

/// The start of the tumbling window holding `time`.
fn window_start(time: i64) -> i64 {
    time - time.rem_euclid(WINDOW_MS)
}

/// q8 over the event stream.
pub fn q8(events: &DataStream<Event>) -> DataStream<Q8Row> {
    let (persons, auctions) = persons_and_auctions(
        events,
        |p| NewPerson {
            id: p.id,
            name: p.name,
            date_time: p.date_time,
        },
        |a| SellerAuction {
            seller: a.seller,
            date_time: a.date_time,
        },
    );
    persons
        .connect(&auctions)
        .key_by(|p: &NewPerson| p.id, |a: &SellerAuction| a.seller)
        .process(NewSellers {
            person: ValueStateDescriptor::new("q8-person"),
            auction_windows: ListStateDescriptor::new("q8-auction-windows"),
        })
        .name("q8: persons with an auction in their window")
}

/// Per person id: the person's name, window start and whether the row was emitted; the window
/// starts of the seller's auctions that came before the person.
#[derive(Clone)]
struct NewSellers {
    person: ValueStateDescriptor<(String, i64, bool)>,
    auction_windows: ListStateDescriptor<i64>,
}

impl KeyedCoProcessFunction<i64, NewPerson, SellerAuction, Q8Row> for NewSellers {
    fn process_element1(
        &mut self,
        person: NewPerson,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q8Row>,
    ) -> FnResult<()> {
        let start = window_start(person.date_time);
        let mut windows = ctx.state().list(&self.auction_windows)?;
        let matched = windows.get()?.contains(&start);
        windows.clear()?;
        if matched {
            out.collect(Q8Row {
                id: person.id,
                name: person.name.clone(),
                start_time: start,
            });
        }
        ctx.state()
            .value(&self.person)?
            .update((person.name, start, matched))?;
        ctx.timer_service()
            .register_event_time_timer(start + WINDOW_MS - 1);
        Ok(())
    }

    fn process_element2(
        &mut self,
        auction: SellerAuction,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q8Row>,
    ) -> FnResult<()> {
        let start = window_start(auction.date_time);
        let id = auction.seller;
        let mut person = ctx.state().value(&self.person)?;
        match person.value()? {
            Some((name, person_start, emitted)) => {
                if person_start == start && !emitted {
                    out.collect(Q8Row {
                        id,
                        name: name.clone(),
                        start_time: start,
                    });
                    person.update((name, person_start, true))?;
                }
            }
            None => {
                let mut windows = ctx.state().list(&self.auction_windows)?;
                if !windows.get()?.contains(&start) {
                    windows.add(start)?;
                    ctx.timer_service()
                        .register_event_time_timer(start + WINDOW_MS - 1);
                }
            }
        }
        Ok(())
    }

    /// A window ended: its person (and auction windows) can match nothing more.
    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, Q8Row>,
    ) -> FnResult<()> {
        let mut person = ctx.state().value(&self.person)?;
        if person
            .value()?
            .is_some_and(|(_, start, _)| start + WINDOW_MS - 1 <= timestamp)
        {
            person.clear()?;
        }
        let mut windows = ctx.state().list(&self.auction_windows)?;
        let open: Vec<i64> = windows
            .get()?
            .into_iter()
            .filter(|&start| start + WINDOW_MS - 1 > timestamp)
            .collect();
        windows.update(open)
    }
}
