//! q3, local item suggestion: who sells in OR, ID or CA in category 10, and which auctions.
//!
//! ```sql
//! SELECT P.name, P.city, P.state, A.id
//! FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
//! WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
//! ```
//!
//! An unbounded join with keyed state: the qualifying persons and auctions meet by seller id;
//! a person is kept for the auctions to come, an auction that arrives before its seller waits
//! in list state.

use std::fmt;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

use super::{csv_line, persons_and_auctions};
use crate::model::Event;

/// A q3 row: `name, city, state, id` (the auction's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q3Row {
    /// The seller's name.
    pub name: String,
    /// The seller's city.
    pub city: String,
    /// The seller's state.
    pub state: String,
    /// The auction.
    pub id: i64,
}

impl fmt::Display for Q3Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        csv_line(f, &[&self.name, &self.city, &self.state, &self.id])
    }
}

/// The columns of a person q3 reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seller {
    id: i64,
    name: String,
    city: String,
    state: String,
}

/// The columns of an auction q3 reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SoldAuction {
    id: i64,
    seller: i64,
    category: i64,
}

/// q3 over the event stream.
pub fn q3(events: &DataStream<Event>) -> DataStream<Q3Row> {
    let (persons, auctions) = persons_and_auctions(
        events,
        |p| Seller {
            id: p.id,
            name: p.name,
            city: p.city,
            state: p.state,
        },
        |a| SoldAuction {
            id: a.id,
            seller: a.seller,
            category: a.category,
        },
    );
    let sellers = persons
        .filter(|p: &Seller| matches!(p.state.as_str(), "OR" | "ID" | "CA"))
        .name("q3: persons in OR, ID, CA");
    let category_10 = auctions
        .filter(|a: &SoldAuction| a.category == 10)
        .name("q3: category 10");
    sellers
        .connect(&category_10)
        .key_by(|p: &Seller| p.id, |a: &SoldAuction| a.seller)
        .process(JoinSellers {
            seller: ValueStateDescriptor::new("q3-seller"),
            waiting: ListStateDescriptor::new("q3-waiting-auctions"),
        })
        .name("q3: join sellers and auctions")
}

/// The join by seller id: the seller's `(name, city, state)`, or the ids of its auctions that
/// came first.
#[derive(Clone)]
struct JoinSellers {
    seller: ValueStateDescriptor<(String, String, String)>,
    waiting: ListStateDescriptor<i64>,
}

impl KeyedCoProcessFunction<i64, Seller, SoldAuction, Q3Row> for JoinSellers {
    fn process_element1(
        &mut self,
        person: Seller,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q3Row>,
    ) -> FnResult<()> {
        let mut waiting = ctx.state().list(&self.waiting)?;
        for id in waiting.get()? {
            out.collect(Q3Row {
                name: person.name.clone(),
                city: person.city.clone(),
                state: person.state.clone(),
                id,
            });
        }
        waiting.clear()?;
        ctx.state()
            .value(&self.seller)?
            .update((person.name, person.city, person.state))
    }

    fn process_element2(
        &mut self,
        auction: SoldAuction,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q3Row>,
    ) -> FnResult<()> {
        match ctx.state().value(&self.seller)?.value()? {
            Some((name, city, state)) => out.collect(Q3Row {
                name,
                city,
                state,
                id: auction.id,
            }),
            None => ctx.state().list(&self.waiting)?.add(auction.id)?,
        }
        Ok(())
    }
}
