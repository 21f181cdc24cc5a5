//! Writing events as CSV or JSON lines, so that other tools can read the stream and check
//! query results: one line per event, times as epoch milliseconds.
//!
//! CSV: the `event_type` of Flink's nexmark (0 person, 1 auction, 2 bid), then the fields of
//! that kind in the order of Flink's nexmark tables; fields with a comma, quote or line break
//! are quoted (RFC 4180). JSON: `{"person": {…}}`, `{"auction": {…}}` or `{"bid": {…}}` with
//! the tables' field names (`emailAddress`, `dateTime`, …).

use std::fmt::Write as _;

use crate::model::Event;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format '{other}': use csv or json")),
        }
    }
}

/// Writes `field` as one CSV field: quoted, with its quotes doubled, when it holds a comma, a
/// quote or a line break.
pub fn write_csv_field(out: &mut impl std::fmt::Write, field: &str) -> std::fmt::Result {
    if field.contains([',', '"', '\n', '\r']) {
        out.write_char('"')?;
        out.write_str(&field.replace('"', "\"\""))?;
        out.write_char('"')
    } else {
        out.write_str(field)
    }
}

/// The event as one line (without the line break).
pub fn format_event(event: &Event, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string(event).expect("events serialize to JSON"),
        Format::Csv => {
            let mut line = String::new();
            let _ = write!(line, "{}", event.event_type());
            let mut field = |value: &dyn std::fmt::Display| {
                line.push(',');
                write_csv_field(&mut line, &value.to_string()).expect("a String takes any text");
            };
            match event {
                Event::Person(p) => {
                    for value in [
                        &p.id as &dyn std::fmt::Display,
                        &p.name,
                        &p.email_address,
                        &p.credit_card,
                        &p.city,
                        &p.state,
                        &p.date_time,
                        &p.extra,
                    ] {
                        field(value);
                    }
                }
                Event::Auction(a) => {
                    for value in [
                        &a.id as &dyn std::fmt::Display,
                        &a.item_name,
                        &a.description,
                        &a.initial_bid,
                        &a.reserve,
                        &a.date_time,
                        &a.expires,
                        &a.seller,
                        &a.category,
                        &a.extra,
                    ] {
                        field(value);
                    }
                }
                Event::Bid(b) => {
                    for value in [
                        &b.auction as &dyn std::fmt::Display,
                        &b.bidder,
                        &b.price,
                        &b.channel,
                        &b.url,
                        &b.date_time,
                        &b.extra,
                    ] {
                        field(value);
                    }
                }
            }
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Bid;

    #[test]
    fn csv_and_json_lines_name_the_kind_and_quote_when_needed() {
        let bid = Event::Bid(Bid {
            auction: 1000,
            bidder: 1001,
            price: 250,
            channel: "Google".into(),
            url: "https://a/b,c".into(),
            date_time: 1_436_918_400_000,
            extra: "say \"hi\"".into(),
        });
        assert_eq!(
            format_event(&bid, Format::Csv),
            "2,1000,1001,250,Google,\"https://a/b,c\",1436918400000,\"say \"\"hi\"\"\""
        );
        assert_eq!(
            format_event(&bid, Format::Json),
            r#"{"bid":{"auction":1000,"bidder":1001,"price":250,"channel":"Google","url":"https://a/b,c","dateTime":1436918400000,"extra":"say \"hi\""}}"#
        );
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
        assert_eq!(
            "xml".parse::<Format>(),
            Err("unknown format 'xml': use csv or json".to_string())
        );
    }
}
