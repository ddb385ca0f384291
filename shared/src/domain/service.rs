//! The rules: sending a code, logging in with it, reading a profile,
//! refreshing and revoking a session. Each takes validated values and talks
//! to the world only through the ports.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::domain::code::{CodeHasher, OtpCode};
use crate::domain::cursor::CursorSigner;
use crate::domain::invite::InviteCode;
use crate::domain::phone::{Phone, Region};
use crate::domain::time::Timestamp;
use crate::domain::token::{Claims, TokenType, Tokens};
use crate::domain::user::{ActivatedInvite, User, UserId};
use crate::error::{Error, Result};
use crate::ports::{
    Activation, Charge, Clock, CodeClaim, CodeRecord, Login, LoginOutcome, Referral, ReferralKey,
    ReferralPage, Rotation, SaveCode, Session, SmsSender, Store,
};

/// Random ids and invite codes collide rarely (1 in 2^53, 1 in 2^30 per
/// existing user); a few fresh draws settle it.
const LOGIN_TRIES: usize = 5;
const HOUR_SECS: u64 = 3600;

pub struct Service {
    config: Config,
    store: Arc<dyn Store>,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    hasher: CodeHasher,
    tokens: Tokens,
    cursors: CursorSigner,
}

/// What a shared counter of a send limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    /// Sends per source IP per hour: 429, until the hour ends.
    IpHour,
    /// SMS per UTC day, the service's or a region's: 503, until midnight.
    Day,
}

fn limit_error(limit: Option<Limit>, now: Timestamp) -> Error {
    match limit {
        Some(Limit::IpHour) => {
            let hour_ends =
                Timestamp::from_secs((now.secs() / HOUR_SECS as i64 + 1) * HOUR_SECS as i64);
            rate_limited(now.secs_until(hour_ends))
        }
        Some(Limit::Day) => Error::SmsBudgetSpent {
            retry_after: Duration::from_secs(now.secs_until(now.next_utc_midnight()).max(1)),
        },
        None => Error::Internal("the store named a charge that was not made".into()),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in: u64,
    pub retry_after: u64,
}

#[derive(Debug)]
pub struct LoggedIn {
    pub access: String,
    pub refresh: String,
    pub expires_in: u64,
    pub user_id: UserId,
    pub created: bool,
}

#[derive(Debug)]
pub struct Refreshed {
    pub access: String,
    pub refresh: String,
}

/// Whose profile a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileRef {
    Me,
    Id(UserId),
}

/// Which page of a profile's referrals to show.
#[derive(Clone, Debug, Default)]
pub struct ReferralsQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

pub const DEFAULT_REFERRALS_LIMIT: usize = 50;
pub const MAX_REFERRALS_LIMIT: usize = 100;

/// A user as the profile shows it, with one page of their referrals.
#[derive(Debug)]
pub struct Profile {
    pub user: User,
    pub referrals: Vec<Referral>,
    pub referrals_next: Option<String>,
}

impl Service {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
    ) -> Service {
        let hasher = CodeHasher::new(&config.secrets.code_hash_secret);
        let tokens = Tokens::new(
            &config.secrets.jwt_current,
            config.secrets.jwt_previous.as_ref(),
            config.access_ttl_secs,
            config.refresh_ttl_secs,
        );
        let cursors = CursorSigner::new(&config.secrets.code_hash_secret);
        Service {
            config,
            store,
            sms,
            clock,
            hasher,
            tokens,
            cursors,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn parse_phone(&self, input: &str) -> Result<Phone> {
        Phone::parse(input, self.config.default_region)
    }

    pub fn parse_code(&self, input: &str) -> Result<OtpCode> {
        OtpCode::parse(input, self.config.code_length)
    }

    /// Sends a fresh code to `phone`, within the per-phone, per-IP and
    /// daily limits. Every limit is checked before anything is sent, and a
    /// send whose SMS fails is taken back.
    #[tracing::instrument(skip_all)]
    pub async fn send_code(&self, phone: &Phone, source_ip: Option<&str>) -> Result<CodeSent> {
        let config = &self.config;
        // Read once: the allow-list, the region's budget and the log use it.
        let region = phone.region();
        if !config.allowed_regions.is_empty()
            && !region.is_some_and(|region| config.allowed_regions.contains(&region))
        {
            return Err(Error::PhoneNotAllowed);
        }
        let now = self.clock.now();
        let previous = self.store.code(phone).await?;
        let code = OtpCode::generate(config.code_length, &mut rand::rng());
        let record = self.next_record(phone, &code, previous.as_ref(), now)?;
        let (charges, limits): (Vec<Charge>, Vec<Limit>) =
            self.charges(region, source_ip, now).into_iter().unzip();

        match self.store.save_code(&record, &charges).await? {
            SaveCode::Saved => {}
            SaveCode::Conflict => return Err(rate_limited(config.resend_cooldown_secs.max(1))),
            SaveCode::LimitReached(index) => {
                return Err(limit_error(limits.get(index).copied(), now));
            }
        }

        let text = config
            .sms_text
            .render(code.expose(), config.code_ttl_secs.div_ceil(60));
        if let Err(send_error) = self.sms.send(phone, &text).await {
            if let Err(undo_error) = self
                .store
                .undo_save_code(previous.as_ref(), &record, &charges)
                .await
            {
                tracing::error!(error = %undo_error, "taking back a failed send failed");
            }
            return Err(send_error);
        }
        tracing::info!(phone_region = ?region, "verification code sent");
        Ok(CodeSent {
            expires_in: config.code_ttl_secs,
            retry_after: config.resend_cooldown_secs,
        })
    }

    /// The record a send writes, or the limit that forbids the send.
    fn next_record(
        &self,
        phone: &Phone,
        code: &OtpCode,
        previous: Option<&CodeRecord>,
        now: Timestamp,
    ) -> Result<CodeRecord> {
        let config = &self.config;
        let mut window_start = now;
        let mut window_sends = 0;
        let mut attempts = 0;
        if let Some(prev) = previous {
            let cooldown_ends = prev.sent_at.plus_secs(config.resend_cooldown_secs);
            if now < cooldown_ends {
                return Err(rate_limited(now.secs_until(cooldown_ends)));
            }
            let window_ends = prev.window_start.plus_secs(HOUR_SECS);
            if now < window_ends {
                if prev.window_sends >= config.phone_max_sends_per_hour {
                    return Err(rate_limited(now.secs_until(window_ends)));
                }
                window_start = prev.window_start;
                window_sends = prev.window_sends;
            }
            // A resend while a code is live keeps its count of wrong tries,
            // so asking again never buys fresh guesses.
            if self.is_live(prev, now) {
                attempts = prev.attempts;
            }
        }
        Ok(CodeRecord {
            phone: phone.clone(),
            hash: Some(self.hasher.hash(phone, code)),
            expires_at: now.plus_secs(config.code_ttl_secs),
            attempts,
            sent_at: now,
            window_start,
            window_sends: window_sends + 1,
            version: previous.map_or(0, |prev| prev.version) + 1,
        })
    }

    /// A code is live while it is unused, unexpired and not burned.
    fn is_live(&self, record: &CodeRecord, now: Timestamp) -> bool {
        record.hash.is_some()
            && now < record.expires_at
            && record.attempts < self.config.max_code_attempts
    }

    /// The shared counters a send adds to, with the limit each stands for:
    /// the source IP's hour (when the IP is known), the service's UTC day
    /// and the number's region's UTC day (when budgeted).
    fn charges(
        &self,
        region: Option<Region>,
        source_ip: Option<&str>,
        now: Timestamp,
    ) -> Vec<(Charge, Limit)> {
        let config = &self.config;
        let mut charges = Vec::new();
        if let Some(ip) = source_ip {
            let hour = now.secs() / HOUR_SECS as i64;
            let charge = Charge {
                key: format!("ip#{ip}#{hour}"),
                cap: config.ip_max_sends_per_hour,
                expires_at: Timestamp::from_secs((hour + 1) * HOUR_SECS as i64),
            };
            charges.push((charge, Limit::IpHour));
        }
        let day = |key: String, cap: u32| Charge {
            key,
            cap,
            expires_at: now.next_utc_midnight(),
        };
        if config.sms_daily_budget > 0 {
            let charge = day(format!("sms#{}", now.utc_day()), config.sms_daily_budget);
            charges.push((charge, Limit::Day));
        }
        let budget = config
            .country_daily_budgets
            .iter()
            .find(|(r, _)| Some(*r) == region);
        if let Some((region, cap)) = budget {
            let key = format!("sms#{}#{}", region.as_ref(), now.utc_day());
            charges.push((day(key, *cap), Limit::Day));
        }
        charges
    }

    /// Checks a code and logs its phone in, creating the user on first login.
    #[tracing::instrument(skip_all)]
    pub async fn verify_code(&self, phone: &Phone, code: &OtpCode) -> Result<LoggedIn> {
        let now = self.clock.now();
        let max = self.config.max_code_attempts;
        let (record, existing) =
            tokio::try_join!(self.store.code(phone), self.store.user_id_by_phone(phone))?;
        let record = record.filter(|r| r.hash.is_some() && now < r.expires_at);
        let Some(record) = record else {
            return Err(Error::CodeExpired);
        };
        let stored = record.hash.clone().ok_or(Error::CodeExpired)?;
        if record.attempts >= max {
            return Err(self.burned(&record, now));
        }
        if !self.hasher.matches(phone, code, &stored) {
            return Err(self.wrong_code(phone, &stored).await?);
        }

        let claim = CodeClaim {
            phone: phone.clone(),
            hash: stored,
            max_attempts: max,
            now,
        };
        self.login(&claim, existing, now).await
    }

    async fn wrong_code(
        &self,
        phone: &Phone,
        stored: &crate::domain::code::CodeHash,
    ) -> Result<Error> {
        let max = self.config.max_code_attempts;
        if self.store.count_wrong_attempt(phone, stored, max).await? {
            return Ok(Error::InvalidCode);
        }
        // Not counted: a concurrent try burned the code, or a new one
        // replaced it. Tell the two apart by what is there now.
        let now = self.clock.now();
        Ok(match self.store.code(phone).await? {
            Some(r)
                if r.hash.as_ref() == Some(stored) && now < r.expires_at && r.attempts >= max =>
            {
                self.burned(&r, now)
            }
            _ => Error::InvalidCode,
        })
    }

    /// A burned code: the client may ask for a new one once the resend
    /// cooldown of the last send is over.
    fn burned(&self, record: &CodeRecord, now: Timestamp) -> Error {
        let cooldown_ends = record.sent_at.plus_secs(self.config.resend_cooldown_secs);
        Error::TooManyAttempts {
            retry_after: Duration::from_secs(now.secs_until(cooldown_ends).max(1)),
        }
    }

    async fn login(
        &self,
        claim: &CodeClaim,
        mut existing: Option<UserId>,
        now: Timestamp,
    ) -> Result<LoggedIn> {
        for _ in 0..LOGIN_TRIES {
            let new_user = match existing {
                Some(_) => None,
                None => Some(self.new_user(&claim.phone, now)),
            };
            let user_id = existing
                .or(new_user.as_ref().map(|u| u.id))
                .ok_or_else(|| Error::Internal("a login without a user".into()))?;
            let sid = uuid::Uuid::new_v4().simple().to_string();
            let refresh = self.tokens.issue_refresh(user_id, &sid, now)?;
            let session = Session {
                sid,
                user: user_id,
                current_jti: refresh.jti,
                expires_at: refresh.exp,
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
                    let access = self.tokens.issue_access(user_id, now)?;
                    tracing::info!(
                        user_id = user_id.0,
                        created = new_user.is_some(),
                        "logged in"
                    );
                    return Ok(LoggedIn {
                        access: access.token,
                        refresh: refresh.token,
                        expires_in: self.tokens.access_ttl(),
                        user_id,
                        created: new_user.is_some(),
                    });
                }
                LoginOutcome::CodeGone => return Err(Error::CodeExpired),
                LoginOutcome::PhoneTaken => {
                    existing = self.store.user_id_by_phone(&claim.phone).await?
                }
                LoginOutcome::InviteTaken | LoginOutcome::IdTaken => {}
                LoginOutcome::UserGone => {
                    return Err(Error::Internal("phone points at a missing user".into()));
                }
            }
        }
        Err(Error::Internal(
            "no free user id or invite code after several draws".into(),
        ))
    }

    fn new_user(&self, phone: &Phone, now: Timestamp) -> User {
        let mut rng = rand::rng();
        User {
            id: UserId::generate(&mut rng),
            phone: phone.clone(),
            invite: InviteCode::generate(&mut rng),
            activated: None,
            last_login: Some(now),
            date_joined: now,
            referrals_count: 0,
        }
    }

    /// Reads the `Authorization` header's bearer access token.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Claims> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(Error::NotAuthenticated)?;
        self.tokens
            .verify(token, TokenType::Access, self.clock.now())
    }

    #[tracing::instrument(skip_all)]
    pub async fn profile(
        &self,
        caller: &Claims,
        target: ProfileRef,
        page: &ReferralsQuery,
    ) -> Result<Profile> {
        let id = self.owned(caller, target)?;
        let (limit, after) = self.referrals_page(id, page)?;
        let (user, referrals) = tokio::try_join!(
            self.store.user(id),
            self.store.referrals(id, limit, after.as_ref())
        )?;
        let user = user.ok_or(Error::NotFound)?;
        Ok(self.with_referrals(user, referrals))
    }

    /// Activates someone else's invite code for the caller, once ever.
    #[tracing::instrument(skip_all)]
    pub async fn activate_invite(
        &self,
        caller: &Claims,
        target: ProfileRef,
        code: &str,
        page: &ReferralsQuery,
    ) -> Result<Profile> {
        let id = self.owned(caller, target)?;
        let (limit, after) = self.referrals_page(id, page)?;
        let code = InviteCode::parse(code)?;
        let (user, owner) = self.store.activation_context(id, &code).await?;
        let mut user = user.ok_or(Error::NotFound)?;
        let owner = owner.ok_or(Error::InviteNotFound)?;
        if owner.id == user.id {
            return Err(Error::InviteSelf);
        }
        if user.activated.is_some() {
            return Err(Error::InviteAlreadyActivated);
        }
        // Only someone who joined before you can have invited you (ties
        // broken by id): a strict order, so no chain of invites can loop.
        if (owner.date_joined, owner.id) >= (user.date_joined, user.id) {
            return Err(Error::InviteNotAllowed);
        }
        match self
            .store
            .activate_invite(&user, &code, &owner, self.clock.now())
            .await?
        {
            Activation::Activated => {}
            Activation::AlreadyActivated => return Err(Error::InviteAlreadyActivated),
            Activation::OwnerGone => return Err(Error::InviteNotFound),
        }
        tracing::info!(
            user_id = user.id.0,
            inviter = owner.id.0,
            "invite activated"
        );
        user.activated = Some(ActivatedInvite {
            code,
            owner: owner.id,
            owner_phone: owner.phone,
        });
        let referrals = self.store.referrals(id, limit, after.as_ref()).await?;
        Ok(self.with_referrals(user, referrals))
    }

    /// The page size and starting point a query asks for, checked before
    /// anything is read.
    fn referrals_page(
        &self,
        owner: UserId,
        page: &ReferralsQuery,
    ) -> Result<(usize, Option<ReferralKey>)> {
        let limit = page.limit.unwrap_or(DEFAULT_REFERRALS_LIMIT);
        if !(1..=MAX_REFERRALS_LIMIT).contains(&limit) {
            return Err(invalid_referrals_limit());
        }
        let after = page
            .cursor
            .as_deref()
            .map(|cursor| self.cursors.decode(owner, cursor))
            .transpose()?;
        Ok((limit, after))
    }

    fn with_referrals(&self, user: User, page: ReferralPage) -> Profile {
        let referrals_next = page.next.map(|key| self.cursors.encode(user.id, &key));
        Profile {
            user,
            referrals: page.items,
            referrals_next,
        }
    }

    /// Only the owner may see or change a profile.
    fn owned(&self, caller: &Claims, target: ProfileRef) -> Result<UserId> {
        match target {
            ProfileRef::Me => Ok(caller.user_id),
            ProfileRef::Id(id) if id == caller.user_id => Ok(id),
            ProfileRef::Id(_) => Err(Error::PermissionDenied),
        }
    }

    /// Trades a refresh token for a new access token and a new refresh token,
    /// retiring the old one. A retired token presented again revokes its
    /// whole session.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed> {
        let now = self.clock.now();
        let claims = self.tokens.verify(refresh_token, TokenType::Refresh, now)?;
        let sid = claims
            .sid
            .as_deref()
            .ok_or(Error::TokenNotValid("no session"))?;
        let refresh = self.tokens.issue_refresh(claims.user_id, sid, now)?;
        match self
            .store
            .rotate_session(sid, &claims.jti, &refresh.jti, refresh.exp)
            .await?
        {
            Rotation::Rotated => {}
            Rotation::Rejected => {
                tracing::warn!(
                    user_id = claims.user_id.0,
                    "refresh token reused or revoked; session revoked"
                );
                return Err(Error::TokenNotValid("refresh token retired or revoked"));
            }
        }
        let access = self.tokens.issue_access(claims.user_id, now)?;
        Ok(Refreshed {
            access: access.token,
            refresh: refresh.token,
        })
    }

    /// Logs a session out: its refresh tokens stop working at once.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, refresh_token: &str) -> Result<()> {
        let claims = self
            .tokens
            .verify(refresh_token, TokenType::Refresh, self.clock.now())?;
        let sid = claims
            .sid
            .as_deref()
            .ok_or(Error::TokenNotValid("no session"))?;
        self.store.revoke_session(sid).await
    }
}

pub fn invalid_referrals_limit() -> Error {
    Error::InvalidRequest(format!(
        "referrals_limit must be a whole number from 1 to {MAX_REFERRALS_LIMIT}."
    ))
}

fn rate_limited(secs: u64) -> Error {
    Error::RateLimited {
        retry_after: Duration::from_secs(secs.max(1)),
    }
}
