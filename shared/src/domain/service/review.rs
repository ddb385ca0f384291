//! Numbers for app-store review at `/code/`: their code never changes, so
//! their wrong tries add up across sends (`REVIEW_TRIES_PER_ATTEMPT` x
//! `MAX_CODE_ATTEMPTS` in all, then the code stops working until the list
//! changes), and a code sent before the list's date logs no one in after it.

use super::Service;
use crate::domain::code::OtpCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::{CodeRecord, TallyField};

/// A listed code's wrong tries in all, as a multiple of
/// `MAX_CODE_ATTEMPTS`: a reviewer's typos fit, a guesser's run does not.
pub const REVIEW_TRIES_PER_ATTEMPT: u32 = 4;

/// Where a listed number's wrong tries are counted, while the list holds:
/// keyed by the keyed hash of the number and its code, so a changed code
/// starts a fresh count, and the store never sees the code.
pub(super) struct ReviewCount {
    key: String,
    until: Timestamp,
}

impl Service {
    /// Refuses what a review number's code must not do: log in after the
    /// list's date with a code sent before it, or take more tries once its
    /// lifetime count is spent. Answers the count to add a wrong try to.
    pub(super) async fn review_check(
        &self,
        phone: &Phone,
        record: &CodeRecord,
        now: Timestamp,
    ) -> Result<Option<ReviewCount>> {
        let phones = &self.rules.test_phones;
        let Some(until) = phones.listed_until(phone) else {
            return Ok(None);
        };
        if record.sent_at < until && until <= now {
            return Err(Error::CodeExpired);
        }
        let Some(listed) = phones.code_for(phone, now) else {
            return Ok(None);
        };
        let listed = OtpCode::parse(listed, listed.len())?;
        let count = ReviewCount {
            key: format!("review#{}", self.hasher.hash(phone, &listed).0),
            until,
        };
        let spent = self
            .store
            .counters(std::slice::from_ref(&count.key))
            .await?[0]
            .count;
        if spent >= REVIEW_TRIES_PER_ATTEMPT * self.rules.codes.max_attempts {
            tracing::warn!(
                test_number = true,
                "a review number's code is locked by wrong tries: change TEST_PHONE_CODES"
            );
            return Err(self.burned(record, now));
        }
        Ok(Some(count))
    }

    pub(super) async fn count_review_try(&self, count: &ReviewCount) -> Result<()> {
        self.store
            .add_to_counter(&count.key, TallyField::Count, count.until)
            .await
    }
}
