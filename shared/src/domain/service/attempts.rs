//! Who a try at a code counts against. A try carrying the send's
//! `verification_id` spends the holder's allowance; any other spends a
//! second one, so a stranger who knows only the phone cannot burn the
//! holder's code. And wrong codes per source, across all phones, in a
//! rolling hour: past `IP_MAX_FAILED_CODES_PER_HOUR`, a source's tries are
//! refused before they are checked.

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::{HOUR_SECS, Service};
use crate::domain::metric::Limit;
use crate::domain::source::source_key;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::{Allowance, CodeRecord};

/// What a try at a code carries besides the code: the send's id, if the
/// client kept it, and where it came from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attempt<'a> {
    pub verification_id: Option<&'a str>,
    pub source: Option<&'a str>,
}

/// A fresh send's id: 128 random bits, hex.
pub fn new_verification_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The allowance a try with `given` counts against on `record`: the
/// holder's only when it carries the record's id (compared in constant
/// time: the id guards an allowance, so it is not to be guessed by timing).
pub fn allowance(record: &CodeRecord, given: Option<&str>) -> Allowance {
    match (record.verification_id.as_deref(), given) {
        (Some(stored), Some(given)) if bool::from(stored.as_bytes().ct_eq(given.as_bytes())) => {
            Allowance::Holder
        }
        _ => Allowance::Stranger,
    }
}

/// Seconds until a rolling-hour count falls below `cap`, or none when it
/// is below already. The hour is estimated from two clock-hour counters:
/// the previous hour's, weighted by how much of it the rolling hour still
/// covers, plus the current hour's.
pub fn rolling_wait(previous: u32, current: u32, elapsed_secs: u64, cap: u32) -> Option<u64> {
    let hour = HOUR_SECS as f64;
    let (previous, current, cap) = (f64::from(previous), f64::from(current), f64::from(cap));
    let elapsed = elapsed_secs.min(HOUR_SECS - 1) as f64;
    if previous * (hour - elapsed) / hour + current < cap {
        return None;
    }
    let wait = if current < cap {
        // Within this hour, as the previous hour slides out.
        hour - elapsed - (cap - current) * hour / previous
    } else {
        // Into the next hour, as this one slides out.
        (hour - elapsed) + hour * (1.0 - cap / current)
    };
    Some(wait.max(0.0).floor() as u64 + 1)
}

impl Service {
    /// Refuses a try whose source has had too many wrong codes in the
    /// rolling hour; and, where every client sends it, a try without the
    /// send's id.
    pub(super) async fn admit(&self, attempt: &Attempt<'_>, now: Timestamp) -> Result<()> {
        if self.rules.codes.require_verification_id && attempt.verification_id.is_none() {
            return Err(Error::MissingField("verification_id"));
        }
        let Some(source) = attempt.source else {
            return Ok(());
        };
        let hour = now.secs() / HOUR_SECS as i64;
        let keys = [failed_key(source, hour - 1), failed_key(source, hour)];
        let counts = self.store.counters(&keys).await?;
        let elapsed = (now.secs() - hour * HOUR_SECS as i64) as u64;
        let cap = self.rules.codes.ip_max_failed_codes_per_hour;
        match rolling_wait(counts[0], counts[1], elapsed, cap) {
            None => Ok(()),
            Some(wait) => {
                let error = Error::RateLimited {
                    retry_after: Duration::from_secs(wait),
                };
                Err(self.limit_hit(Limit::SourceFailedCodes, error))
            }
        }
    }

    /// Counts a wrong code against its source's rolling hour.
    pub(super) async fn count_failed_code(
        &self,
        attempt: &Attempt<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let Some(source) = attempt.source else {
            return Ok(());
        };
        let hour = now.secs() / HOUR_SECS as i64;
        // Kept through the next hour, which still weighs it.
        let expires = Timestamp::from_secs((hour + 2) * HOUR_SECS as i64);
        self.store
            .add_to_counter(&failed_key(source, hour), expires)
            .await
    }
}

fn failed_key(source: &str, hour: i64) -> String {
    format!("fail#{}#{hour}", source_key(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rolling_hour_weighs_the_previous_hour_by_what_it_still_covers() {
        // Under the cap: no wait.
        assert_eq!(rolling_wait(0, 49, 0, 50), None);
        assert_eq!(rolling_wait(100, 0, 3599, 50), None);
        // At the cap within this hour: until the next hour slides it out.
        let wait = rolling_wait(0, 50, 600, 50).unwrap();
        assert!((3000..=3601).contains(&wait), "{wait}");
        // Half of a full previous hour still counts at the half hour.
        assert!(rolling_wait(100, 0, 1800, 50).is_some());
        let wait = rolling_wait(100, 0, 1800, 50).unwrap();
        assert!(wait <= 2, "{wait}");
        assert_eq!(rolling_wait(100, 0, 1801, 50), None);
    }
}
