//! Sending a code: the per-phone cooldown and hourly cap, the shared
//! counters (source IP, the day's SMS budgets), and taking a send back when
//! its SMS fails.

use std::time::Duration;

use super::attempts::new_verification_id;
use super::{HOUR_SECS, Service, rate_limited};
use crate::domain::code::OtpCode;
use crate::domain::metric::{Limit, Metric};
use crate::domain::phone::{Phone, Region};
use crate::domain::source::source_key;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::{Charge, CodeRecord, SaveCode};

/// The answer to a send refused by a shared counter: 429 until the IP's
/// hour ends, or 503 until the budget's day does.
fn limit_error(limit: Option<Limit>, now: Timestamp) -> Error {
    match limit {
        Some(Limit::IpHour) => {
            let hour_ends =
                Timestamp::from_secs((now.secs() / HOUR_SECS as i64 + 1) * HOUR_SECS as i64);
            rate_limited(now.secs_until(hour_ends))
        }
        Some(Limit::DailyBudget | Limit::RegionDailyBudget) => Error::SmsBudgetSpent {
            retry_after: Duration::from_secs(now.secs_until(now.next_utc_midnight()).max(1)),
        },
        Some(_) | None => Error::Internal("the store named a charge that was not made".into()),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in: u64,
    pub retry_after: u64,
    /// Names this send: tries that carry it have an allowance of their own.
    pub verification_id: String,
}

impl Service {
    /// Sends a fresh code to `phone`, within the per-phone, per-IP and
    /// daily limits. Every limit is checked before anything is sent, and a
    /// send whose SMS fails is taken back.
    #[tracing::instrument(skip_all)]
    pub async fn send_code(&self, phone: &Phone, source_ip: Option<&str>) -> Result<CodeSent> {
        let rules = &self.rules;
        let now = self.clock.now();
        // A listed test number: its own code, no SMS, no shared budget,
        // whatever the allow-list says.
        let test_code = rules.test_phones.code_for(phone, now);
        // Read once: the allow-list, the region's budget and the log use it.
        let region = phone.region();
        if test_code.is_none()
            && !rules.phones.allowed_regions.is_empty()
            && !region.is_some_and(|region| rules.phones.allowed_regions.contains(&region))
        {
            return Err(Error::PhoneNotAllowed);
        }
        let previous = self.store.code(phone).await?;
        let code = match test_code {
            Some(listed) => OtpCode::parse(listed, listed.len())?,
            None => OtpCode::generate(rules.codes.length, &mut rand::rng()),
        };
        let record = self.next_record(phone, &code, previous.as_ref(), now)?;
        // A review number spends no budget, but its sends count against
        // their source as anyone's do.
        let (charges, limits): (Vec<Charge>, Vec<Limit>) = self
            .charges(region, source_ip, now)
            .into_iter()
            .filter(|(_, limit)| test_code.is_none() || *limit == Limit::IpHour)
            .unzip();

        match self.store.save_code(&record, &charges).await? {
            SaveCode::Saved => {}
            // Another send for this phone won the race: its cooldown holds.
            SaveCode::Conflict => {
                let error = rate_limited(rules.limits.resend_cooldown_secs.max(1));
                return Err(self.limit_hit(Limit::ResendCooldown, error));
            }
            SaveCode::LimitReached(index) => {
                let limit = limits.get(index).copied();
                let error = limit_error(limit, now);
                return Err(match limit {
                    Some(limit) => self.limit_hit(limit, error),
                    None => error,
                });
            }
        }

        let sent = CodeSent {
            expires_in: rules.codes.ttl_secs,
            retry_after: rules.limits.resend_cooldown_secs,
            verification_id: record.verification_id.clone().unwrap_or_default(),
        };
        if test_code.is_some() {
            self.metrics.record(Metric::TestNumberSent);
            tracing::info!(phone_region = ?region, "test number: code set, no SMS sent");
            return Ok(sent);
        }
        let text = rules
            .sms_text
            .render(code.expose(), rules.codes.ttl_secs.div_ceil(60));
        if let Err(send_error) = self.sms.send(phone, &text).await {
            if let Err(undo_error) = self
                .store
                .undo_save_code(previous.as_ref(), &record, &charges)
                .await
            {
                tracing::error!(error = %undo_error, "taking back a failed send failed");
            }
            self.metrics.record(Metric::SmsFailed { region });
            return Err(send_error);
        }
        self.metrics.record(Metric::CodeSent { region });
        tracing::info!(phone_region = ?region, "verification code sent");
        Ok(sent)
    }

    /// The record a send writes, or the limit that forbids the send.
    fn next_record(
        &self,
        phone: &Phone,
        code: &OtpCode,
        previous: Option<&CodeRecord>,
        now: Timestamp,
    ) -> Result<CodeRecord> {
        let rules = &self.rules;
        let mut window_start = now;
        let mut window_sends = 0;
        let (mut attempts, mut stranger_attempts) = (0, 0);
        if let Some(prev) = previous {
            let cooldown_ends = prev.sent_at.plus_secs(rules.limits.resend_cooldown_secs);
            if now < cooldown_ends {
                let error = rate_limited(now.secs_until(cooldown_ends));
                return Err(self.limit_hit(Limit::ResendCooldown, error));
            }
            let window_ends = prev.window_start.plus_secs(HOUR_SECS);
            if now < window_ends {
                if prev.window_sends >= rules.limits.phone_max_sends_per_hour {
                    let error = rate_limited(now.secs_until(window_ends));
                    return Err(self.limit_hit(Limit::PhoneHour, error));
                }
                window_start = prev.window_start;
                window_sends = prev.window_sends;
            }
            // A resend while a code is live keeps each allowance's count
            // of wrong tries (but a burned one's), so asking again never
            // buys fresh guesses.
            if prev.hash.is_some() && now < prev.expires_at {
                let kept = |spent: u32| {
                    if spent < rules.codes.max_attempts {
                        spent
                    } else {
                        0
                    }
                };
                attempts = kept(prev.attempts);
                stranger_attempts = kept(prev.stranger_attempts);
            }
        }
        Ok(CodeRecord {
            phone: phone.clone(),
            hash: Some(self.hasher.hash(phone, code)),
            expires_at: now.plus_secs(rules.codes.ttl_secs),
            attempts,
            stranger_attempts,
            verification_id: Some(new_verification_id()),
            sent_at: now,
            window_start,
            window_sends: window_sends + 1,
            version: previous.map_or(0, |prev| prev.version) + 1,
        })
    }

    /// The shared counters a send adds to, with the limit each stands for:
    /// the source's hour (when the source is known; an IPv6 source is its
    /// /64), the service's UTC day
    /// and the number's region's UTC day (when budgeted).
    fn charges(
        &self,
        region: Option<Region>,
        source_ip: Option<&str>,
        now: Timestamp,
    ) -> Vec<(Charge, Limit)> {
        let rules = &self.rules;
        let mut charges = Vec::new();
        if let Some(ip) = source_ip {
            let hour = now.secs() / HOUR_SECS as i64;
            let charge = Charge {
                key: format!("ip#{}#{hour}", source_key(ip)),
                cap: rules.limits.ip_max_sends_per_hour,
                expires_at: Timestamp::from_secs((hour + 1) * HOUR_SECS as i64),
            };
            charges.push((charge, Limit::IpHour));
        }
        let day = |key: String, cap: u32| Charge {
            key,
            cap,
            expires_at: now.next_utc_midnight(),
        };
        if rules.limits.sms_daily_budget > 0 {
            let charge = day(
                format!("sms#{}", now.utc_day()),
                rules.limits.sms_daily_budget,
            );
            charges.push((charge, Limit::DailyBudget));
        }
        let budget = rules
            .limits
            .country_daily_budgets
            .iter()
            .find(|(r, _)| Some(*r) == region);
        if let Some((region, cap)) = budget {
            let key = format!("sms#{}#{}", region.as_ref(), now.utc_day());
            charges.push((day(key, *cap), Limit::RegionDailyBudget));
        }
        charges
    }
}
