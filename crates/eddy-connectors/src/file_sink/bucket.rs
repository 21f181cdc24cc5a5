//! Bucket assigners: which folder under the sink's base path an element's part file is in.

/// What a bucket assigner may look at besides the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketContext {
    /// The current processing time (milliseconds since the epoch).
    pub processing_time: i64,
    /// The element's event timestamp, if it has one.
    pub timestamp: Option<i64>,
}

/// Chooses the bucket (a folder relative to the base path; empty: the base path itself) of
/// each element.
pub trait BucketAssigner<T>: Clone + Send + 'static {
    /// The bucket of `value`.
    fn bucket_id(&mut self, value: &T, ctx: &BucketContext) -> String;
}

/// Buckets by the processing time, formatted in UTC (Flink's `DateTimeBucketAssigner`; its
/// default format `yyyy-MM-dd--HH` makes one bucket per hour). The format understands `yyyy`,
/// `MM`, `dd`, `HH`, `mm` and `ss`; anything else is copied as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeBucketAssigner {
    format: String,
}

impl Default for DateTimeBucketAssigner {
    fn default() -> Self {
        DateTimeBucketAssigner::with_format("yyyy-MM-dd--HH")
    }
}

impl DateTimeBucketAssigner {
    /// Buckets named by `format`.
    pub fn with_format(format: &str) -> Self {
        DateTimeBucketAssigner {
            format: format.to_string(),
        }
    }

    /// The bucket of a time (milliseconds since the epoch).
    pub fn format_time(&self, millis: i64) -> String {
        let seconds = millis.div_euclid(1000);
        let (year, month, day) = civil_date(seconds.div_euclid(86_400));
        let of_day = seconds.rem_euclid(86_400);
        let fields = [
            ("yyyy", format!("{year:04}")),
            ("MM", format!("{month:02}")),
            ("dd", format!("{day:02}")),
            ("HH", format!("{:02}", of_day / 3600)),
            ("mm", format!("{:02}", of_day % 3600 / 60)),
            ("ss", format!("{:02}", of_day % 60)),
        ];
        let mut out = String::new();
        let mut rest = self.format.as_str();
        'outer: while !rest.is_empty() {
            for (token, value) in &fields {
                if let Some(after) = rest.strip_prefix(token) {
                    out.push_str(value);
                    rest = after;
                    continue 'outer;
                }
            }
            let mut chars = rest.chars();
            out.extend(chars.next());
            rest = chars.as_str();
        }
        out
    }
}

impl<T> BucketAssigner<T> for DateTimeBucketAssigner {
    fn bucket_id(&mut self, _value: &T, ctx: &BucketContext) -> String {
        self.format_time(ctx.processing_time)
    }
}

/// Everything in the base path (Flink's `BasePathBucketAssigner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BasePathBucketAssigner;

impl<T> BucketAssigner<T> for BasePathBucketAssigner {
    fn bucket_id(&mut self, _value: &T, _ctx: &BucketContext) -> String {
        String::new()
    }
}

/// Buckets chosen by a closure over the element.
#[derive(Debug, Clone)]
pub struct FnBucketAssigner<F>(pub F);

impl<T, F> BucketAssigner<T> for FnBucketAssigner<F>
where
    F: FnMut(&T) -> String + Clone + Send + 'static,
{
    fn bucket_id(&mut self, value: &T, _ctx: &BucketContext) -> String {
        (self.0)(value)
    }
}

/// Year, month and day of a day counted from 1970-01-01 (proleptic Gregorian calendar).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_dates_like_flinks_default_pattern() {
        let hourly = DateTimeBucketAssigner::default();
        assert_eq!(hourly.format_time(0), "1970-01-01--00");
        // 2024-02-29T23:59:59.999Z, a leap day.
        assert_eq!(hourly.format_time(1_709_251_199_999), "2024-02-29--23");
        // 2026-12-05T04:17:22Z.
        let full = DateTimeBucketAssigner::with_format("yyyy/MM/dd HH:mm:ss");
        assert_eq!(full.format_time(1_796_444_242_000), "2026/12/05 04:17:22");
        // Before the epoch.
        assert_eq!(hourly.format_time(-1), "1969-12-31--23");
    }
}
