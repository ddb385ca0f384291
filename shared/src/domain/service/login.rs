//! Logging in with a code: wrong tries counted against the code, the first
//! login creating the account, a fresh session each time.

use std::time::Duration;

use super::Service;
use super::attempts::{Attempt, allowance};
use crate::domain::code::{CodeHash, OtpCode};
use crate::domain::invite::InviteCode;
use crate::domain::metric::{Limit, Metric};
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::error::{Error, Result};
use crate::ports::{
    Allowance, CodeClaim, CodeRecord, Login, LoginOutcome, Session, TallyField, USER_AGENT_CHARS,
};

/// Random ids and invite codes collide rarely (1 in 2^53, 1 in 2^30 per
/// existing user); a few fresh draws settle it.
const LOGIN_TRIES: usize = 5;

#[derive(Debug)]
pub struct LoggedIn {
    pub access: String,
    pub refresh: String,
    pub expires_in: u64,
    pub user_id: UserId,
    pub created: bool,
}

impl Service {
    /// Checks a code and logs its phone in, creating the user on first login.
    #[tracing::instrument(skip_all)]
    pub async fn verify_code(
        &self,
        phone: &Phone,
        code: &OtpCode,
        attempt: &Attempt<'_>,
    ) -> Result<LoggedIn> {
        let now = self.clock.now();
        // The source's limit is read beside the code and the phone: one
        // round trip more, no wait more.
        let (_, record, existing) = tokio::try_join!(
            self.admit(attempt, now),
            self.store.code(phone),
            self.user_by_phone(phone)
        )?;
        let claim = self.claim(phone, code, record, attempt, now).await?;
        self.login(&claim, existing, attempt.user_agent, now).await
    }

    /// The claim on `phone`'s live code that `code` matches, or what
    /// `/code/` answers instead: expired, burned, or wrong (the try counted
    /// against the try's allowance, and against its source).
    pub(super) async fn claim(
        &self,
        phone: &Phone,
        code: &OtpCode,
        record: Option<CodeRecord>,
        attempt: &Attempt<'_>,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        let max = self.rules.codes.max_attempts;
        let record = record.filter(|r| r.hash.is_some() && now < r.expires_at);
        let Some(record) = record else {
            return Err(Error::CodeExpired);
        };
        let stored = record.hash.clone().ok_or(Error::CodeExpired)?;
        let review = self.review_check(phone, &record, now).await?;
        let allowance = allowance(&record, attempt.verification_id);
        if allowance.spent(&record) >= max {
            return Err(self.burned(&record, now));
        }
        if !self.hasher.matches(phone, code, &stored) {
            self.count_failed_code(attempt, now).await?;
            if let Some(review) = &review {
                self.count_review_try(review).await?;
            }
            let error = self.wrong_code(phone, &stored, allowance).await?;
            if matches!(error, Error::InvalidCode) {
                self.metrics.record(Metric::WrongCode);
            }
            return Err(error);
        }
        Ok(CodeClaim {
            phone: phone.clone(),
            hash: stored,
            allowance,
            max_attempts: max,
            now,
        })
    }

    async fn wrong_code(
        &self,
        phone: &Phone,
        stored: &CodeHash,
        allowance: Allowance,
    ) -> Result<Error> {
        let max = self.rules.codes.max_attempts;
        if self
            .store
            .count_wrong_attempt(phone, stored, allowance, max)
            .await?
        {
            return Ok(Error::InvalidCode);
        }
        // Not counted: a concurrent try burned the code, or a new one
        // replaced it. Tell the two apart by what is there now.
        let now = self.clock.now();
        Ok(match self.store.code(phone).await? {
            Some(r)
                if r.hash.as_ref() == Some(stored)
                    && now < r.expires_at
                    && allowance.spent(&r) >= max =>
            {
                self.burned(&r, now)
            }
            _ => Error::InvalidCode,
        })
    }

    /// A burned code: the client may ask for a new one once the resend
    /// cooldown of the last send is over.
    pub(super) fn burned(&self, record: &CodeRecord, now: Timestamp) -> Error {
        let cooldown_ends = record
            .sent_at
            .plus_secs(self.rules.limits.resend_cooldown_secs);
        let error = Error::TooManyAttempts {
            retry_after: Duration::from_secs(now.secs_until(cooldown_ends).max(1)),
        };
        self.limit_hit(Limit::CodeAttempts, error)
    }

    /// The user holding `phone`, read whole: a login needs its claims and
    /// whether it is disabled.
    pub(super) async fn user_by_phone(&self, phone: &Phone) -> Result<Option<User>> {
        match self.store.user_id_by_phone(phone).await? {
            Some(id) => self.store.user(id).await,
            None => Ok(None),
        }
    }

    /// Logs in the phone of a right code: its user, or a new one. A
    /// disabled account is refused here, once the code proved the phone.
    async fn login(
        &self,
        claim: &CodeClaim,
        mut existing: Option<User>,
        user_agent: Option<&str>,
        now: Timestamp,
    ) -> Result<LoggedIn> {
        for _ in 0..LOGIN_TRIES {
            if existing.as_ref().is_some_and(|user| user.disabled_at(now)) {
                return Err(Error::AccountDisabled);
            }
            let new_user = match existing {
                Some(_) => None,
                None => Some(self.new_user(&claim.phone, now)),
            };
            let user = existing
                .as_ref()
                .or(new_user.as_ref())
                .ok_or_else(|| Error::Internal("a login without a user".into()))?;
            let user_id = user.id;
            let sid = uuid::Uuid::new_v4().simple().to_string();
            let refresh = self.tokens.issue_refresh(user_id, &sid, now)?;
            let session = Session {
                sid: sid.clone(),
                user: user_id,
                current_jti: refresh.jti,
                expires_at: refresh.exp,
                created_at: now,
                user_agent: user_agent.map(|agent| agent.chars().take(USER_AGENT_CHARS).collect()),
            };
            let login = match &new_user {
                Some(user) => Login::New(user),
                None => Login::Existing {
                    user: user_id,
                    at: now,
                },
            };
            match self.store.login(claim, login, &session).await? {
                LoginOutcome::LoggedIn => {
                    let access = self
                        .tokens
                        .issue_access_with(user_id, &sid, &user.claims, now)?;
                    let created = new_user.is_some();
                    let region = claim.phone.region();
                    self.metrics.record(Metric::LoggedIn { created, region });
                    let test_number = self.rules.test_phones.is_test(&claim.phone, now);
                    if !test_number {
                        self.count_for_pumping(&claim.phone, region, TallyField::Logins, now)
                            .await;
                    }
                    tracing::info!(user_id = user_id.0, created, test_number, "logged in");
                    return Ok(LoggedIn {
                        access: access.token,
                        refresh: refresh.token,
                        expires_in: self.tokens.access_ttl(),
                        user_id,
                        created,
                    });
                }
                LoginOutcome::CodeGone => return Err(Error::CodeExpired),
                LoginOutcome::PhoneTaken => existing = self.user_by_phone(&claim.phone).await?,
                LoginOutcome::InviteTaken | LoginOutcome::IdTaken => {}
                // Disabled since it was read (the next turn refuses it),
                // moved to another number (this one is free again: the
                // next turn signs it up), or gone.
                LoginOutcome::UserGone => match self.store.user(user_id).await? {
                    Some(user) if user.disabled_at(now) => existing = Some(user),
                    Some(user) if user.phone != claim.phone => {
                        existing = self.user_by_phone(&claim.phone).await?;
                    }
                    _ => return Err(Error::Internal("phone points at a missing user".into())),
                },
            }
        }
        Err(Error::Internal(
            "no free user id or invite code after several draws".into(),
        ))
    }

    fn new_user(&self, phone: &Phone, now: Timestamp) -> User {
        let mut rng = rand::rng();
        let id = UserId::generate(&mut rng);
        User::signed_up(id, phone.clone(), InviteCode::generate(&mut rng), now)
    }
}
