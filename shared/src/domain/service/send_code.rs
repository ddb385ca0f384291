//! Sending a code: the per-phone cooldown and hourly cap, the source's
//! rolling hour and the pumping check (a solved challenge past their soft
//! line), the day's SMS budgets, and taking a send back when its SMS fails.

use std::time::Duration;

use super::attempts::new_verification_id;
use super::risk::{Risk, ShardFor, budget_shards};
use super::{Service, rate_limited};
use crate::domain::challenge::{Offer, Solved, not_a_solution, solved_token};
use crate::domain::code::OtpCode;
use crate::domain::metric::{Limit, Metric};
use crate::domain::phone::{Phone, Region};
use crate::domain::settings::{CaptchaProvider, ChallengeMode};
use crate::domain::sms::Wanted;
use crate::domain::time::Timestamp;
use crate::domain::window::{HOUR_SECS, RollingHour, counter_expiry, hour_of};
use crate::error::{Error, Result};
use crate::ports::{Charge, CodeRecord, OtpMessage, SaveCode, TallyField};

#[derive(Debug, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in: u64,
    pub retry_after: u64,
    /// Names this send: tries that carry it have an allowance of their own.
    pub verification_id: String,
}

/// What a `/phone/` request carries besides the phone.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendRequest<'a> {
    /// The caller's address, as the request context gives it.
    pub source: Option<&'a str>,
    /// A solved challenge: the widget's payload.
    pub challenge: Option<&'a str>,
    /// `sms` (the default) or a channel the webhook provider declares.
    pub channel: Option<&'a str>,
    /// The language the request asks for, and the header's.
    pub locale: Option<&'a str>,
    pub accept_language: Option<&'a str>,
}

/// Why a send needs a solved challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ask {
    /// Past the source's soft cap; one more without a challenge after
    /// this many seconds.
    Source(u64),
    /// The number's prefix or region looks pumped.
    Pumping,
    /// `CHALLENGE_MODE=always`.
    Always,
}

impl Service {
    /// Sends a fresh code to `phone`, within the per-phone, per-source and
    /// daily limits. Every limit is checked before anything is sent, and a
    /// send whose SMS fails is taken back.
    #[tracing::instrument(skip_all)]
    pub async fn send_code(&self, phone: &Phone, request: &SendRequest<'_>) -> Result<CodeSent> {
        let rules = &self.rules;
        let now = self.clock.now();
        let channel = self.channel(request.channel)?;
        // A listed test number: its own code, no SMS, no shared budget,
        // whatever the allow-list says.
        let test_code = rules.test_phones.code_for(phone, now);
        // Read once: the allow-list, the budgets, the checks and the log use it.
        let region = phone.region();
        if test_code.is_none()
            && !rules.phones.allowed_regions.is_empty()
            && !region.is_some_and(|region| rules.phones.allowed_regions.contains(&region))
        {
            return Err(Error::PhoneNotAllowed);
        }
        let solved = match request.challenge {
            Some(answer) => Some(self.check_solution(answer, request.source, now).await?),
            None => None,
        };
        let (previous, risk) = tokio::try_join!(
            self.store.code(phone),
            self.assess(phone, region, request.source, test_code.is_none(), now)
        )?;
        let code = match test_code {
            Some(listed) => OtpCode::parse(listed, listed.len())?,
            None => OtpCode::generate(rules.codes.length, &mut rand::rng()),
        };
        let record = self.next_record(phone, &code, previous.as_ref(), now)?;
        let charges = self.gate(&risk, solved.as_ref(), now)?;

        match self.store.save_code(&record, &charges).await? {
            SaveCode::Saved => {}
            // Another send for this phone won the race: its cooldown holds.
            SaveCode::Conflict => {
                let error = rate_limited(rules.limits.resend_cooldown_secs.max(1));
                return Err(self.limit_hit(Limit::ResendCooldown, error));
            }
            // A concurrent send took the source's last unit first.
            SaveCode::LimitReached(0) if request.source.is_some() => {
                let Some((_, window)) = risk.source else {
                    return Err(Error::Internal("a source's charge without its hour".into()));
                };
                let taken = RollingHour {
                    current: window.current + 1,
                    ..window
                };
                return Err(self.refuse(&taken, solved.is_some(), now));
            }
            SaveCode::LimitReached(_) => {
                return Err(Error::InvalidRequest(
                    "This challenge was solved already. Ask for a new one.".into(),
                ));
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
        let mut charges = charges;
        if let Err(spent) = self.spend_budgets(region, now, &mut charges).await {
            self.take_back(previous.as_ref(), &record, &charges).await;
            return Err(spent);
        }
        let language = rules.sms_text.choose(&Wanted {
            locale: request.locale,
            accept_language: request.accept_language,
            region,
        });
        let text =
            rules
                .sms_text
                .render(language, code.expose(), rules.codes.ttl_secs.div_ceil(60));
        let message = OtpMessage {
            to: phone,
            channel,
            locale: language.locale,
            text: &text,
            code: code.expose(),
            expires_in: sent.expires_in,
            verification_id: &sent.verification_id,
        };
        if let Err(send_error) = self.sms.send(&message).await {
            self.take_back(previous.as_ref(), &record, &charges).await;
            self.metrics.record(Metric::SmsFailed { region });
            return Err(send_error);
        }
        self.metrics.record(Metric::CodeSent { region });
        tracing::info!(phone_region = ?region, "verification code sent");
        self.count_for_pumping(phone, region, TallyField::Count, now)
            .await;
        Ok(sent)
    }

    /// The channel asked for, if the provider offers it.
    fn channel<'a>(&'a self, asked: Option<&str>) -> Result<&'a str> {
        let channels = &self.rules.channels;
        let asked = asked.unwrap_or("sms");
        channels
            .iter()
            .find(|c| *c == asked)
            .map(String::as_str)
            .ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "The field `channel` must be one of: {}.",
                    channels.join(", ")
                ))
            })
    }

    /// Whether the send may go on, and what its transaction charges: the
    /// source's current hour, capped at its soft line (the hard one when a
    /// challenge was solved), and the solution's single use.
    fn gate(&self, risk: &Risk, solved: Option<&Solved>, now: Timestamp) -> Result<Vec<Charge>> {
        let limits = &self.rules.limits;
        let mut ask = None;
        if let Some((_, window)) = &risk.source {
            if window.wait(limits.ip_hard_max_sends_per_hour).is_some() {
                return Err(self.refuse(window, true, now));
            }
            ask = window.wait(limits.ip_max_sends_per_hour).map(Ask::Source);
        }
        if ask.is_none() && risk.pumped {
            ask = Some(Ask::Pumping);
        }
        if ask.is_none() && self.rules.challenges.mode == ChallengeMode::Always {
            ask = Some(Ask::Always);
        }
        if let (Some(ask), None) = (ask, solved) {
            return Err(self.ask(ask, now));
        }
        let mut charges = Vec::new();
        if let Some((key, window)) = &risk.source {
            let cap = match solved {
                Some(_) => limits.ip_hard_max_sends_per_hour,
                None => limits.ip_max_sends_per_hour,
            };
            charges.push(Charge {
                key: key.clone(),
                cap: window.current + window.room(cap),
                expires_at: counter_expiry(hour_of(now)),
            });
        }
        if let Some(solved) = solved {
            charges.push(Charge {
                key: format!("pow#{}", solved.key),
                cap: 1,
                expires_at: solved.expires_at,
            });
        }
        Ok(charges)
    }

    /// A source at its cap: past the hard one, refused; past the soft one,
    /// asked for a challenge (refused when challenges are off).
    fn refuse(&self, window: &RollingHour, solved: bool, now: Timestamp) -> Error {
        let limits = &self.rules.limits;
        match window.wait(limits.ip_hard_max_sends_per_hour) {
            Some(wait) => self.limit_hit(Limit::IpHardHour, rate_limited(wait)),
            None if solved => self.limit_hit(Limit::IpHardHour, rate_limited(1)),
            None => {
                let wait = window.wait(limits.ip_max_sends_per_hour).unwrap_or(1);
                self.ask(Ask::Source(wait), now)
            }
        }
    }

    /// A solved challenge as the provider checks it: ours by its signature
    /// and expiry, a third party's by asking it.
    async fn check_solution(
        &self,
        answer: &str,
        source: Option<&str>,
        now: Timestamp,
    ) -> Result<Solved> {
        match &self.rules.challenges.provider {
            CaptchaProvider::Altcha => self.challenges.verify(answer, now),
            CaptchaProvider::Turnstile { .. } => {
                let verifier = self.captcha.as_ref().ok_or_else(|| {
                    Error::Internal("CAPTCHA_PROVIDER=turnstile without a verifier".into())
                })?;
                if verifier.verify(answer, source).await? {
                    let expires_at = now.plus_secs(self.rules.challenges.ttl_secs);
                    Ok(solved_token(answer, expires_at))
                } else {
                    Err(not_a_solution())
                }
            }
        }
    }

    /// A challenge to solve, or, with challenges off, a refusal.
    fn ask(&self, ask: Ask, now: Timestamp) -> Error {
        // Pumping has no end to wait for: the hour's turn weighs it less.
        let next_hour = || (HOUR_SECS - now.secs().rem_euclid(HOUR_SECS as i64) as u64).max(60);
        let (limit, wait) = match ask {
            Ask::Source(wait) => (Some(Limit::IpHour), wait),
            Ask::Pumping => (Some(Limit::Pumping), next_hour()),
            Ask::Always => (None, 1),
        };
        let error = match self.rules.challenges.mode {
            ChallengeMode::Off => rate_limited(wait),
            ChallengeMode::WhenRisky | ChallengeMode::Always => Error::ChallengeRequired {
                challenge: Box::new(match &self.rules.challenges.provider {
                    CaptchaProvider::Altcha => Offer::Altcha(self.challenges.issue(now)),
                    CaptchaProvider::Turnstile { site_key } => Offer::Turnstile {
                        provider: "turnstile",
                        sitekey: site_key.clone(),
                    },
                }),
                retry_after: Duration::from_secs(wait.max(1)),
            },
        };
        match limit {
            Some(limit) => self.limit_hit(limit, error),
            None => error,
        }
    }

    /// Spends the day's budgets, the service's and the region's, each on
    /// a shard of its own. Adds what it spent to `charges`; a budget
    /// spent answers 503 until midnight (what was spent stays in
    /// `charges`, for the caller to give back).
    async fn spend_budgets(
        &self,
        region: Option<Region>,
        now: Timestamp,
        charges: &mut Vec<Charge>,
    ) -> Result<()> {
        let limits = &self.rules.limits;
        let day = now.utc_day();
        let mut budgets = Vec::new();
        if limits.sms_daily_budget > 0 {
            budgets.push((
                format!("sms#{day}"),
                limits.sms_daily_budget,
                Limit::DailyBudget,
                ShardFor::DailyBudget,
            ));
        }
        let region_budget = limits
            .country_daily_budgets
            .iter()
            .find(|(r, _)| Some(*r) == region);
        if let Some((region, cap)) = region_budget {
            let key = format!("sms#{}#{day}", region.as_ref());
            budgets.push((key, *cap, Limit::RegionDailyBudget, ShardFor::RegionBudget));
        }
        for (key, cap, limit, use_) in budgets {
            let shards = budget_shards(&key, cap, now.next_utc_midnight());
            match self.spend_budget(&shards, use_).await? {
                Some(spent) => charges.push(spent),
                None => {
                    let error = Error::SmsBudgetSpent {
                        retry_after: Duration::from_secs(
                            now.secs_until(now.next_utc_midnight()).max(1),
                        ),
                    };
                    return Err(self.limit_hit(limit, error));
                }
            }
        }
        Ok(())
    }

    /// Takes a send back: the record as it was, one unit off each charge.
    /// Retried while the store is busy (the undo is idempotent), so a spell
    /// of throttling does not keep units nothing was sent for.
    async fn take_back(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) {
        const TRIES: u32 = 5;
        for attempt in 1..=TRIES {
            match self.store.undo_save_code(previous, written, charges).await {
                Ok(()) => return,
                Err(error) if attempt < TRIES => {
                    tracing::warn!(%error, attempt, "taking back a failed send: retrying");
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
                Err(error) => {
                    tracing::error!(%error, "taking back a failed send failed: its units stay spent");
                }
            }
        }
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
        let mut recent_sends = Vec::new();
        let (mut attempts, mut stranger_attempts) = (0, 0);
        if let Some(prev) = previous {
            let cooldown_ends = prev.sent_at.plus_secs(rules.limits.resend_cooldown_secs);
            if now < cooldown_ends {
                let error = rate_limited(now.secs_until(cooldown_ends));
                return Err(self.limit_hit(Limit::ResendCooldown, error));
            }
            // A rolling hour: the sends of the last hour, and when the
            // one that must slide out for one more does.
            recent_sends = prev
                .recent_sends
                .iter()
                .copied()
                .filter(|sent| now < sent.plus_secs(HOUR_SECS))
                .collect();
            let cap = rules.limits.phone_max_sends_per_hour as usize;
            if recent_sends.len() >= cap {
                let frees = recent_sends[recent_sends.len() - cap].plus_secs(HOUR_SECS);
                let error = rate_limited(now.secs_until(frees));
                return Err(self.limit_hit(Limit::PhoneHour, error));
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
            recent_sends: recent_sends.into_iter().chain([now]).collect(),
            version: previous.map_or(0, |prev| prev.version) + 1,
        })
    }
}
