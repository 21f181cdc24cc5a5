//! The three event kinds, with the fields (and, in JSON, the field names) of Flink's nexmark
//! tables. Times are epoch milliseconds.

use serde::{Deserialize, Serialize};

/// A person registering to bid or sell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// Unique, from 1000 on.
    pub id: i64,
    /// First and last name.
    pub name: String,
    /// `<7 letters>@<5 letters>.com`.
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: String,
    /// A city of the reference list.
    pub city: String,
    /// A US state of the reference list.
    pub state: String,
    /// When the person registered.
    pub date_time: i64,
    /// Padding up to the average size.
    pub extra: String,
}

/// An auction opened by a seller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Auction {
    /// Unique, from 1000 on.
    pub id: i64,
    /// Up to 20 characters.
    pub item_name: String,
    /// Up to 100 characters.
    pub description: String,
    /// The starting price, in cents.
    pub initial_bid: i64,
    /// The reserve price, in cents (at least the initial bid).
    pub reserve: i64,
    /// When the auction opened.
    pub date_time: i64,
    /// When it closes.
    pub expires: i64,
    /// The seller's person id.
    pub seller: i64,
    /// One of the categories 10 to 14.
    pub category: i64,
    /// Padding up to the average size.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// The auction's id.
    pub auction: i64,
    /// The bidder's person id.
    pub bidder: i64,
    /// The price, in cents.
    pub price: i64,
    /// Where the bid came from: a hot channel or `channel-<n>`.
    pub channel: String,
    /// The page the bid was placed on.
    pub url: String,
    /// When the bid was placed.
    pub date_time: i64,
    /// Padding up to the average size.
    pub extra: String,
}

/// One Nexmark event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
///
/// Persons and auctions are boxed: bids are 46 of every 50 events, and an event the size of a
/// bid (112 bytes, not the 168 of a person) moves between operators by inline copies rather
/// than a call to `memcpy`.
pub enum Event {
    /// A new person.
    Person(Box<Person>),
    /// A new auction.
    Auction(Box<Auction>),
    /// A bid.
    Bid(Bid),
}

impl Event {
    /// The event's time, in epoch milliseconds.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// Flink's nexmark `event_type` column: 0 person, 1 auction, 2 bid.
    pub fn event_type(&self) -> u8 {
        match self {
            Event::Person(_) => 0,
            Event::Auction(_) => 1,
            Event::Bid(_) => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event is a bid's size (its most common kind), small enough to move by inline copies.
    #[test]
    fn an_event_is_no_larger_than_a_bid_and_its_kind() {
        assert!(std::mem::size_of::<Event>() <= std::mem::size_of::<Bid>() + 8);
        assert!(std::mem::size_of::<Event>() <= 128);
    }
}
