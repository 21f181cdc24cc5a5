//! The generator's configuration, with the option keys of Flink's nexmark source
//! (`events.num`, `first-event.rate`, `bid.proportion`, …).

use thiserror::Error;

/// An option that could not be used, and why.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The key is not a Nexmark option.
    #[error("unknown nexmark option '{key}' (known: {known})")]
    UnknownOption {
        /// The key given.
        key: String,
        /// Every known key.
        known: String,
    },
    /// The value does not parse or is out of range.
    #[error("nexmark option '{key}': {problem} (got '{value}')")]
    InvalidValue {
        /// The option.
        key: String,
        /// The value given.
        value: String,
        /// What is expected.
        problem: String,
    },
}

/// The base time of the event stream when none is configured: 2015-07-15T00:00:00Z, the fixed
/// base time of Beam's generator, so that runs with the same options see the same events.
pub const DEFAULT_BASE_TIME: i64 = 1_436_918_400_000;

/// How the generator synthesizes events. Defaults are the reference's.
#[derive(Debug, Clone, PartialEq)]
pub struct NexmarkConfig {
    /// Events to generate over all subtasks; 0 is unbounded (`events.num`).
    pub events: u64,
    /// Events per second of event time (`first-event.rate`).
    pub first_event_rate: u32,
    /// The second rate of the square rate shape (`next-event.rate`); the rate alternates
    /// between the two every half `rate.period`.
    pub next_event_rate: u32,
    /// The period of the rate shape, in seconds (`rate.period`).
    pub rate_period_sec: u32,
    /// Persons per `person + auction + bid` events (`person.proportion`).
    pub person_proportion: u32,
    /// Auctions per `person + auction + bid` events (`auction.proportion`).
    pub auction_proportion: u32,
    /// Bids per `person + auction + bid` events (`bid.proportion`).
    pub bid_proportion: u32,
    /// Average size of a person, in bytes, reached with the `extra` field (`person.avg-size`).
    pub avg_person_bytes: u32,
    /// Average size of an auction (`auction.avg-size`).
    pub avg_auction_bytes: u32,
    /// Average size of a bid (`bid.avg-size`).
    pub avg_bid_bytes: u32,
    /// 1 in this many bids is for a random auction, the others for a hot one
    /// (`bid.hot-ratio.auctions`).
    pub hot_auction_ratio: u32,
    /// 1 in this many bids is by a random bidder (`bid.hot-ratio.bidders`).
    pub hot_bidders_ratio: u32,
    /// 1 in this many auctions is by a random seller (`auction.hot-ratio.sellers`).
    pub hot_sellers_ratio: u32,
    /// Persons that may still place auctions and bids (`active-people`).
    pub active_people: u32,
    /// Auctions open at a time, on average (`in-flight-auctions`).
    pub in_flight_auctions: u32,
    /// Events emitted in a pseudo-random order within groups of this size; 1 keeps the order
    /// (`out-of-order.group-size`).
    pub out_of_order_group_size: u64,
    /// Event time of the first event, in epoch milliseconds (`base-time`).
    pub base_time: i64,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        NexmarkConfig {
            events: 0,
            first_event_rate: 10_000,
            next_event_rate: 10_000,
            rate_period_sec: 600,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_bytes: 200,
            avg_auction_bytes: 500,
            avg_bid_bytes: 100,
            hot_auction_ratio: 2,
            hot_bidders_ratio: 4,
            hot_sellers_ratio: 4,
            active_people: 1000,
            in_flight_auctions: 100,
            out_of_order_group_size: 1,
            base_time: DEFAULT_BASE_TIME,
        }
    }
}

const KEYS: [&str; 17] = [
    "events.num",
    "first-event.rate",
    "next-event.rate",
    "rate.period",
    "person.proportion",
    "auction.proportion",
    "bid.proportion",
    "person.avg-size",
    "auction.avg-size",
    "bid.avg-size",
    "bid.hot-ratio.auctions",
    "bid.hot-ratio.bidders",
    "auction.hot-ratio.sellers",
    "active-people",
    "in-flight-auctions",
    "out-of-order.group-size",
    "base-time",
];

impl NexmarkConfig {
    /// The default configuration with `options` (key, value) applied in order.
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let mut config = NexmarkConfig::default();
        for (key, value) in options {
            config.set(key, value)?;
        }
        Ok(config)
    }

    /// Sets one option.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let invalid = |problem: &str| ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            problem: problem.to_string(),
        };
        let positive = || -> Result<u32, ConfigError> {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| invalid("expected a positive integer"))
        };
        let proportion = || -> Result<u32, ConfigError> {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| invalid("expected a non-negative integer"))
        };
        let bytes = || -> Result<u32, ConfigError> {
            let digits = value.trim().trim_end_matches(['b', 'B']).trim();
            digits
                .parse::<u32>()
                .map_err(|_| invalid("expected a size in bytes, e.g. 200 or 200b"))
        };
        match key {
            "events.num" => {
                self.events = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected a count of events (0: unbounded)"))?
            }
            "first-event.rate" => self.first_event_rate = positive()?,
            "next-event.rate" => self.next_event_rate = positive()?,
            "rate.period" => {
                let seconds = value.trim().trim_end_matches('s').trim();
                self.rate_period_sec = seconds
                    .parse::<u32>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| invalid("expected a positive number of seconds, e.g. 600 s"))?
            }
            "person.proportion" => self.person_proportion = proportion()?,
            "auction.proportion" => self.auction_proportion = proportion()?,
            "bid.proportion" => self.bid_proportion = proportion()?,
            "person.avg-size" => self.avg_person_bytes = bytes()?,
            "auction.avg-size" => self.avg_auction_bytes = bytes()?,
            "bid.avg-size" => self.avg_bid_bytes = bytes()?,
            "bid.hot-ratio.auctions" => self.hot_auction_ratio = positive()?,
            "bid.hot-ratio.bidders" => self.hot_bidders_ratio = positive()?,
            "auction.hot-ratio.sellers" => self.hot_sellers_ratio = positive()?,
            "active-people" => self.active_people = positive()?,
            "in-flight-auctions" => self.in_flight_auctions = positive()?,
            "out-of-order.group-size" => self.out_of_order_group_size = u64::from(positive()?),
            "base-time" => {
                self.base_time = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected epoch milliseconds"))?
            }
            _ => {
                return Err(ConfigError::UnknownOption {
                    key: key.to_string(),
                    known: KEYS.join(", "),
                })
            }
        }
        if self.total_proportion() == 0 {
            return Err(invalid(
                "person.proportion + auction.proportion + bid.proportion must be positive",
            ));
        }
        Ok(())
    }

    /// `person + auction + bid` proportions: the length of one cycle of event kinds.
    pub fn total_proportion(&self) -> u64 {
        u64::from(self.person_proportion)
            + u64::from(self.auction_proportion)
            + u64::from(self.bid_proportion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_use_flinks_keys_and_reject_bad_values_clearly() {
        let config = NexmarkConfig::from_options([
            ("events.num", "1000"),
            ("first-event.rate", "5000"),
            ("bid.avg-size", "120b"),
            ("rate.period", "60 s"),
        ])
        .unwrap();
        assert_eq!(
            (config.events, config.first_event_rate, config.avg_bid_bytes),
            (1000, 5000, 120)
        );
        assert_eq!(config.rate_period_sec, 60);
        assert_eq!(config.bid_proportion, 46);

        let error = NexmarkConfig::from_options([("first-event.rate", "0")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "nexmark option 'first-event.rate': expected a positive integer (got '0')"
        );
        let error = NexmarkConfig::from_options([("events", "5")]).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("unknown nexmark option 'events' (known: events.num, "));
        let error = NexmarkConfig::from_options([
            ("person.proportion", "0"),
            ("auction.proportion", "0"),
            ("bid.proportion", "0"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("must be positive"), "{error}");
    }
}
