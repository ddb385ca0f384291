//! Who a try at a code counts against. A try carrying the send's
//! `verification_id` spends the holder's allowance; any other spends a
//! second one, so a stranger who knows only the phone cannot burn the
//! holder's code. And wrong codes per source, across all phones, in a
//! rolling hour: past `IP_MAX_FAILED_CODES_PER_HOUR`, a source's tries are
//! refused before they are checked.

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::Service;
use crate::domain::metric::Limit;
use crate::domain::source::source_key;
use crate::domain::time::Timestamp;
use crate::domain::window::{RollingHour, counter_expiry, hour_of};
use crate::error::{Error, Result};
use crate::ports::{Allowance, CodeRecord, TallyField};

/// What a try at a code carries besides the code: the send's id, if the
/// client kept it, and where it came from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attempt<'a> {
    pub verification_id: Option<&'a str>,
    pub source: Option<&'a str>,
    /// The request's `User-Agent`: the session it starts keeps it.
    pub user_agent: Option<&'a str>,
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
        let hour = hour_of(now);
        let keys = [failed_key(source, hour - 1), failed_key(source, hour)];
        let counts = self.store.counters(&keys).await?;
        let window = RollingHour::at(now, counts[0].count, counts[1].count);
        match window.wait(self.rules.codes.ip_max_failed_codes_per_hour) {
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
        let hour = hour_of(now);
        self.store
            .add_to_counter(
                &failed_key(source, hour),
                TallyField::Count,
                counter_expiry(hour),
            )
            .await
    }
}

fn failed_key(source: &str, hour: i64) -> String {
    format!("fail#{}#{hour}", source_key(source))
}
