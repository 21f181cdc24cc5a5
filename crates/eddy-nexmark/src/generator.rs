//! The event generator: event `i` of the stream as a pure function of `i` and the
//! configuration, so any subtask can generate any share of the stream, and a restored one
//! continues exactly where it stopped.
//!
//! It follows the reference generator of Flink's nexmark benchmark (itself Beam's): the event
//! kind cycles by event id in the configured proportions (1 person, 3 auctions, 46 bids per 50
//! events by default); persons and auctions are numbered from 1000 in event order; most
//! auctions are sold by a "hot" seller and most bids go to a hot auction from a hot bidder (the
//! first person or auction of the latest group of 100); other sellers, bidders and auctions are
//! drawn from the active persons and the auctions still in flight, plus a few ids not generated
//! yet. Event time advances from the base time by `1 / rate` per event.
//!
//! Where we differ from Flink's nexmark generator, on purpose:
//! * Every event draws its random numbers from `java.util.Random` seeded with a mix of its
//!   event id ([`event_seed`]); Flink's uses one unseeded generator, so its streams differ from
//!   run to run. (Beam's seeds with the event id itself, but the first draws of
//!   `java.util.Random` for neighbouring seeds are alike: thousands of consecutive bids would
//!   all, or none, go to a hot auction.)
//! * Subtask `i` of `p` generates events `i, i + p, …` of one stream, so the union over the
//!   subtasks is the stream at parallelism 1 (Flink's splits each run their own timeline).
//! * Channel URLs are derived from the channel number (Flink's draw unseeded random paths once
//!   per process).
//! * A bidder's id is offset by 1000 once (Flink's current generator adds it twice).

use std::sync::OnceLock;

use crate::config::NexmarkConfig;
use crate::model::{Auction, Bid, Event, Person};
use crate::random::JavaRandom;
use crate::strings::{next_extra, next_string};

/// The first person id.
pub const FIRST_PERSON_ID: i64 = 1000;
/// The first auction id.
pub const FIRST_AUCTION_ID: i64 = 1000;
/// The first category id.
pub const FIRST_CATEGORY_ID: i64 = 10;
/// Categories are `FIRST_CATEGORY_ID .. FIRST_CATEGORY_ID + NUM_CATEGORIES`.
pub const NUM_CATEGORIES: i32 = 5;
/// Hot sellers, bidders and auctions are the first of each group of this many ids.
const HOT_GROUP: i64 = 100;
/// Ids not generated yet that random sellers, bidders and auctions may still name.
const ID_LEAD: i64 = 10;
/// 1 in this many bids comes from a channel other than the hot ones.
const HOT_CHANNELS_RATIO: i32 = 2;
/// Channels other than the hot ones: `channel-0` … `channel-9999`.
const CHANNELS: i32 = 10_000;
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];

/// One step of the rate shape: how many events it lasts and the delay between them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RateStep {
    events: i64,
    inter_event_delay_us: f64,
}

/// Generates the events of one configuration.
#[derive(Debug, Clone)]
pub struct NexmarkGenerator {
    config: NexmarkConfig,
    steps: Vec<RateStep>,
    /// Events of one cycle through all steps, and how long the cycle lasts.
    events_per_epoch: i64,
    epoch_period_ms: i64,
    /// `channel-<n>` and its URL for every channel.
    channels: &'static ChannelTable,
    hot_urls: Vec<String>,
}

impl NexmarkGenerator {
    /// A generator for `config`.
    pub fn new(config: NexmarkConfig) -> Self {
        let delay = |rate: u32| 1_000_000.0 / f64::from(rate.max(1));
        let mut steps = vec![RateStep {
            events: 0,
            inter_event_delay_us: delay(config.first_event_rate),
        }];
        if config.next_event_rate != config.first_event_rate {
            // The square shape: each rate for half the period.
            let step_us = i64::from(config.rate_period_sec.div_ceil(2)) * 1_000_000;
            steps.push(RateStep {
                events: 0,
                inter_event_delay_us: delay(config.next_event_rate),
            });
            for step in &mut steps {
                step.events = ((step_us as f64) / step.inter_event_delay_us) as i64;
            }
        }
        let events_per_epoch = steps.iter().map(|s| s.events).sum();
        let epoch_period_ms = steps
            .iter()
            .map(|s| (s.events as f64 * s.inter_event_delay_us) as i64 / 1000)
            .sum();
        let hot_urls = (0..HOT_CHANNELS.len() as i64)
            .map(|i| base_url(&mut JavaRandom::new(-1 - i)))
            .collect();
        NexmarkGenerator {
            config,
            steps,
            events_per_epoch,
            epoch_period_ms,
            channels: ChannelTable::get(),
            hot_urls,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NexmarkConfig {
        &self.config
    }

    /// The event number of stream position `index`, moved within its out-of-order group.
    pub fn adjusted_event_number(&self, index: u64) -> i64 {
        let n = self.config.out_of_order_group_size.max(1) as i64;
        let number = index as i64;
        let base = (number / n) * n;
        base + (number.wrapping_mul(953)) % n
    }

    /// The event time of event number `number`.
    pub fn timestamp_for(&self, number: i64) -> i64 {
        let base = self.config.base_time;
        if self.steps.len() == 1 {
            return base + (number as f64 * self.steps[0].inter_event_delay_us) as i64 / 1000;
        }
        let epoch = number / self.events_per_epoch;
        let mut n = number % self.events_per_epoch;
        let mut offset_ms = 0;
        for step in &self.steps {
            if n < step.events {
                let offset_us = (n as f64 * step.inter_event_delay_us) as i64;
                return base + epoch * self.epoch_period_ms + offset_ms + offset_us / 1000;
            }
            n -= step.events;
            offset_ms += (step.events as f64 * step.inter_event_delay_us) as i64 / 1000;
        }
        unreachable!("an event number within an epoch falls in one of its steps")
    }

    /// The event at stream position `index`.
    pub fn event(&self, index: u64) -> Event {
        let event_id = self.adjusted_event_number(index);
        let timestamp = self.timestamp_for(event_id);
        let mut random = JavaRandom::new(event_seed(event_id));
        let total = self.config.total_proportion() as i64;
        let person = i64::from(self.config.person_proportion);
        let auction = i64::from(self.config.auction_proportion);
        let rem = event_id % total;
        if rem < person {
            Event::Person(Box::new(self.person(event_id, &mut random, timestamp)))
        } else if rem < person + auction {
            Event::Auction(Box::new(self.auction(event_id, &mut random, timestamp)))
        } else {
            Event::Bid(self.bid(event_id, &mut random, timestamp))
        }
    }

    /// The last person id (base 0) generated by event `event_id` (its own if it is a person).
    pub fn last_base0_person_id(&self, event_id: i64) -> i64 {
        let total = self.config.total_proportion() as i64;
        let person = i64::from(self.config.person_proportion);
        let (epoch, mut offset) = (event_id / total, event_id % total);
        if offset >= person {
            offset = person - 1;
        }
        epoch * person + offset
    }

    /// The last auction id (base 0) generated by event `event_id` (its own if it is an
    /// auction).
    pub fn last_base0_auction_id(&self, event_id: i64) -> i64 {
        let total = self.config.total_proportion() as i64;
        let person = i64::from(self.config.person_proportion);
        let auction = i64::from(self.config.auction_proportion);
        let (mut epoch, mut offset) = (event_id / total, event_id % total);
        if offset < person {
            epoch -= 1;
            offset = auction - 1;
        } else if offset >= person + auction {
            offset = auction - 1;
        } else {
            offset -= person;
        }
        epoch * auction + offset
    }

    /// A random active person (base 0), possibly one not generated yet.
    fn next_base0_person_id(&self, event_id: i64, random: &mut JavaRandom) -> i64 {
        let people = self.last_base0_person_id(event_id) + 1;
        let active = people.min(i64::from(self.config.active_people));
        people - active + random.next_long_below(active + ID_LEAD)
    }

    /// A random auction (base 0) among those likely in flight, possibly one not generated yet.
    fn next_base0_auction_id(&self, event_id: i64, random: &mut JavaRandom) -> i64 {
        let last = self.last_base0_auction_id(event_id);
        let min = (last - i64::from(self.config.in_flight_auctions)).max(0);
        min + random.next_long_below(last - min + 1 + ID_LEAD)
    }

    fn person(&self, event_id: i64, random: &mut JavaRandom, timestamp: i64) -> Person {
        let id = self.last_base0_person_id(event_id) + FIRST_PERSON_ID;
        let name = format!(
            "{} {}",
            FIRST_NAMES[random.next_int_below(FIRST_NAMES.len() as i32) as usize],
            LAST_NAMES[random.next_int_below(LAST_NAMES.len() as i32) as usize]
        );
        let email_address = format!(
            "{}@{}.com",
            next_string(random, 7, ' '),
            next_string(random, 5, ' ')
        );
        let groups: Vec<String> = (0..4)
            .map(|_| format!("{:04}", random.next_int_below(10_000)))
            .collect();
        let credit_card = groups.join(" ");
        let city = US_CITIES[random.next_int_below(US_CITIES.len() as i32) as usize].to_string();
        let state = US_STATES[random.next_int_below(US_STATES.len() as i32) as usize].to_string();
        let size =
            8 + name.len() + email_address.len() + credit_card.len() + city.len() + state.len();
        let extra = next_extra(random, size, self.config.avg_person_bytes);
        Person {
            id,
            name,
            email_address,
            credit_card,
            city,
            state,
            date_time: timestamp,
            extra,
        }
    }

    fn auction(&self, event_id: i64, random: &mut JavaRandom, timestamp: i64) -> Auction {
        let id = self.last_base0_auction_id(event_id) + FIRST_AUCTION_ID;
        let seller = if random.next_int_below(self.config.hot_sellers_ratio as i32) > 0 {
            (self.last_base0_person_id(event_id) / HOT_GROUP) * HOT_GROUP
        } else {
            self.next_base0_person_id(event_id, random)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + i64::from(random.next_int_below(NUM_CATEGORIES));
        let initial_bid = next_price(random);
        let expires = timestamp + self.auction_length_ms(event_id, random, timestamp);
        let item_name = next_string(random, 20, ' ');
        let description = next_string(random, 100, ' ');
        let reserve = initial_bid + next_price(random);
        let size = 8 + item_name.len() + description.len() + 8 + 8 + 8 + 8 + 8;
        let extra = next_extra(random, size, self.config.avg_auction_bytes);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time: timestamp,
            expires,
            seller,
            category,
            extra,
        }
    }

    /// A random auction length averaging the time until `in-flight-auctions` more auctions
    /// have been generated.
    fn auction_length_ms(&self, event_id: i64, random: &mut JavaRandom, timestamp: i64) -> i64 {
        let events_for_auctions = i64::from(self.config.in_flight_auctions)
            * self.config.total_proportion() as i64
            / i64::from(self.config.auction_proportion);
        let future_auction = self.timestamp_for(event_id + events_for_auctions);
        let horizon_ms = future_auction - timestamp;
        1 + random.next_long_below((horizon_ms * 2).max(1))
    }

    fn bid(&self, event_id: i64, random: &mut JavaRandom, timestamp: i64) -> Bid {
        let auction = if random.next_int_below(self.config.hot_auction_ratio as i32) > 0 {
            (self.last_base0_auction_id(event_id) / HOT_GROUP) * HOT_GROUP
        } else {
            self.next_base0_auction_id(event_id, random)
        } + FIRST_AUCTION_ID;
        let bidder = if random.next_int_below(self.config.hot_bidders_ratio as i32) > 0 {
            // The second person of the group, so hot bidders and hot sellers differ.
            (self.last_base0_person_id(event_id) / HOT_GROUP) * HOT_GROUP + 1
        } else {
            self.next_base0_person_id(event_id, random)
        } + FIRST_PERSON_ID;
        let price = next_price(random);
        let (channel, url) = if random.next_int_below(HOT_CHANNELS_RATIO) > 0 {
            let i = random.next_int_below(HOT_CHANNELS.len() as i32) as usize;
            (HOT_CHANNELS[i].to_string(), self.hot_urls[i].clone())
        } else {
            let (channel, url) = self.channels.channel(random.next_int_below(CHANNELS));
            (channel.to_owned(), url.to_owned())
        };
        let extra = next_extra(random, 8 + 8 + 8 + 8, self.config.avg_bid_bytes);
        Bid {
            auction,
            bidder,
            price,
            channel,
            url,
            date_time: timestamp,
            extra,
        }
    }
}

/// The seed of event `event_id`'s random numbers: the id through SplitMix64's finalizer, so
/// that neighbouring events draw unrelated numbers.
pub fn event_seed(event_id: i64) -> i64 {
    let mut z = (event_id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as i64
}

/// A price in cents: 10^(6u) dollars for uniform `u`, so from $1 to $1M, mostly small.
fn next_price(random: &mut JavaRandom) -> i64 {
    // Java's Math.round: half up, i.e. the floor of x + 0.5; x is positive, so the cast's
    // truncation is that floor (without a call to libm's `floor`).
    (10f64.powf(random.next_double() * 6.0) * 100.0 + 0.5) as i64
}

/// `https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1` with three short random path parts.
fn base_url(random: &mut JavaRandom) -> String {
    format!(
        "https://www.nexmark.com/{}/{}/{}/item.htm?query=1",
        next_string(random, 5, '_'),
        next_string(random, 5, '_'),
        next_string(random, 5, '_')
    )
}

/// Every channel's name and URL ([`channel_and_url`]), built once per process: one text
/// holding them all and where each channel's name and URL end in it. A bid reads a small table
/// entry and one stretch of text, rather than a hash map entry and two strings of their own,
/// each a likely cache miss among ten thousand channels.
#[derive(Debug)]
struct ChannelTable {
    text: String,
    /// Per channel: where its name ends and where its URL ends (the next channel starts).
    ends: Vec<(u32, u32)>,
}

impl ChannelTable {
    /// The process's table, built on first use (about 10 ms).
    fn get() -> &'static ChannelTable {
        static TABLE: OnceLock<ChannelTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut text = String::new();
            let mut ends = Vec::with_capacity(CHANNELS as usize);
            for n in 0..CHANNELS {
                let (name, url) = channel_and_url(n);
                text.push_str(&name);
                let name_end = text.len();
                text.push_str(&url);
                ends.push((name_end as u32, text.len() as u32));
            }
            ChannelTable { text, ends }
        })
    }

    /// Channel `n`'s name and URL; `n` is below [`CHANNELS`].
    #[inline]
    fn channel(&self, n: i32) -> (&str, &str) {
        let n = n as usize;
        let start = if n == 0 {
            0
        } else {
            self.ends[n - 1].1 as usize
        };
        let (name_end, url_end) = (self.ends[n].0 as usize, self.ends[n].1 as usize);
        (&self.text[start..name_end], &self.text[name_end..url_end])
    }
}

/// Channel `n` and its URL: nine in ten URLs carry the channel id (the bit-reversed channel
/// number, as in the reference).
fn channel_and_url(n: i32) -> (String, String) {
    let mut random = JavaRandom::new(i64::from(n));
    let mut url = base_url(&mut random);
    if random.next_int_below(10) > 0 {
        url.push_str(&format!("&channel_id={}", n.reverse_bits().wrapping_abs()));
    }
    (format!("channel-{n}"), url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_round_half_up_as_javas_math_round() {
        let (mut a, mut b) = (JavaRandom::new(5), JavaRandom::new(5));
        for _ in 0..100_000 {
            let expected = (10f64.powf(b.next_double() * 6.0) * 100.0 + 0.5).floor() as i64;
            assert_eq!(next_price(&mut a), expected);
        }
    }

    #[test]
    fn the_channel_table_holds_every_channel_as_built_alone() {
        let table = ChannelTable::get();
        for n in 0..CHANNELS {
            let (name, url) = channel_and_url(n);
            assert_eq!(
                table.channel(n),
                (name.as_str(), url.as_str()),
                "channel {n}"
            );
        }
    }
}
