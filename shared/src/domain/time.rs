use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs * 1000)
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus_secs(self, secs: u64) -> Timestamp {
        Timestamp(self.0 + secs as i64 * 1000)
    }

    /// Whole seconds from `self` until `later`, rounded up, never negative.
    pub fn secs_until(self, later: Timestamp) -> u64 {
        ((later.0 - self.0).max(0) as u64).div_ceil(1000)
    }

    /// RFC 3339 in UTC to the second, as the API shows times.
    pub fn rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.secs())
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    /// Reads an RFC 3339 time (`2027-03-01T00:00:00Z`), any offset.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let time = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
        i64::try_from(time.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Timestamp)
    }

    /// The UTC day, `YYYY-MM-DD`, for daily counters.
    pub fn utc_day(self) -> String {
        self.rfc3339().get(..10).unwrap_or_default().to_owned()
    }

    /// The start of the next UTC day.
    pub fn next_utc_midnight(self) -> Timestamp {
        const DAY_MS: i64 = 86_400_000;
        Timestamp((self.0.div_euclid(DAY_MS) + 1) * DAY_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_utc_to_the_second() {
        let t = Timestamp(1_795_774_530_999);
        assert_eq!(t.rfc3339(), "2026-11-27T10:15:30Z");
        assert_eq!(t.utc_day(), "2026-11-27");
        assert_eq!(t.next_utc_midnight().rfc3339(), "2026-11-28T00:00:00Z");
    }

    #[test]
    fn reads_rfc3339_in_any_offset() {
        let t = Timestamp::parse_rfc3339("2026-11-27T10:15:30Z").unwrap();
        assert_eq!(t, Timestamp(1_795_774_530_000));
        let offset = Timestamp::parse_rfc3339("2026-11-27T13:15:30.5+03:00").unwrap();
        assert_eq!(offset, Timestamp(1_795_774_530_500));
        for bad in ["", "2026-11-27", "2026-11-27 10:15:30", "tomorrow"] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn secs_until_rounds_up() {
        let t = Timestamp(1_000);
        assert_eq!(t.secs_until(Timestamp(1_001)), 1);
        assert_eq!(t.secs_until(Timestamp(61_000)), 60);
        assert_eq!(t.secs_until(Timestamp(0)), 0);
    }
}
