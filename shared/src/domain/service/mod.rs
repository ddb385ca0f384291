//! The rules, one use case a file: sending a code, logging in with it,
//! sessions (refresh, revoke), the profile and invites. Each takes
//! validated values and talks to the world only through the ports.

mod account;
mod admin;
mod attempts;
mod keys;
mod login;
mod phone_change;
mod profile;
mod review;
mod risk;
mod send_code;
mod sessions;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use crate::domain::challenge::Challenges;
use crate::domain::code::{CodeHasher, OtpCode};
use crate::domain::cursor::CursorSigner;
use crate::domain::metric::{Limit, Metric};
use crate::domain::phone::Phone;
use crate::domain::settings::Rules;
use crate::domain::token::Tokens;
use crate::error::{Error, Result};
use crate::ports::{CaptchaVerifier, Clock, Metrics, NoMetrics, SmsSender, Store};

pub use account::finish_deletion;
pub use admin::{AdminView, MAX_CLAIMS_BYTES, check_claims};
pub use attempts::Attempt;
pub use keys::JWKS_PATH;
pub use login::LoggedIn;
pub use phone_change::finish_phone_change;
pub use profile::{
    DEFAULT_REFERRALS_LIMIT, MAX_REFERRALS_LIMIT, Profile, ProfileRef, ReferralsQuery,
    invalid_referrals_limit,
};
pub use risk::SHARDS;
pub use send_code::{CodeSent, SendRequest};
pub use sessions::{Device, Refreshed, RevokeScope};

pub struct Service {
    rules: Rules,
    store: Arc<dyn Store>,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
    /// Whether a deletion or a phone change is finished before its answer
    /// (the dev server) rather than on the users table's stream (the stack).
    finishing_inline: bool,
    hasher: CodeHasher,
    tokens: Tokens,
    cursors: CursorSigner,
    challenges: Challenges,
    /// Turnstile's siteverify, with `CAPTCHA_PROVIDER=turnstile`.
    captcha: Option<Arc<dyn CaptchaVerifier>>,
    /// The shard each shared count of this process writes next (see `risk`).
    shard_turns: [AtomicU32; 3],
}

impl Service {
    pub fn new(
        rules: Rules,
        store: Arc<dyn Store>,
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
    ) -> Service {
        let hasher = CodeHasher::new(&rules.secrets.code_hash_secret);
        let tokens = Tokens::new(
            &rules.secrets.jwt,
            rules.sessions.access_ttl_secs,
            rules.sessions.refresh_ttl_secs,
        );
        let cursors = CursorSigner::new(&rules.secrets.code_hash_secret);
        let challenges = Challenges::new(
            &rules.secrets.code_hash_secret,
            rules.challenges.max_number,
            rules.challenges.ttl_secs,
        );
        Service {
            rules,
            store,
            sms,
            clock,
            metrics: Arc::new(NoMetrics),
            finishing_inline: false,
            hasher,
            tokens,
            cursors,
            challenges,
            captcha: None,
            shard_turns: risk::shard_turns(),
        }
    }

    /// Where the service's counts go; by default nowhere.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Service {
        self.metrics = metrics;
        self
    }

    /// Who checks a third party's captcha tokens (Turnstile's siteverify).
    pub fn with_captcha(mut self, verifier: Option<Arc<dyn CaptchaVerifier>>) -> Service {
        self.captcha = verifier;
        self
    }

    /// Finishes each account deletion and phone change before answering
    /// it, where no stream does it after (the dev server).
    pub fn finishing_inline(mut self) -> Service {
        self.finishing_inline = true;
        self
    }

    /// A phone as typed; a listed test number is taken even where the
    /// phone parser would refuse it (the 555 range, say).
    pub fn parse_phone(&self, input: &str) -> Result<Phone> {
        match Phone::parse(input, self.rules.phones.default_region) {
            Err(Error::InvalidPhone) => self
                .rules
                .test_phones
                .lookup(input, self.clock.now())
                .ok_or(Error::InvalidPhone),
            parsed => parsed,
        }
    }

    /// A phone as typed at `/phone/` and `/code/`: as `parse_phone`, and
    /// also a number libphonenumber holds possible but not valid when a user
    /// already has it. Imported users keep the numbers they had in the
    /// Django system (a drama range, say); nobody else gets an SMS spent on
    /// such a number. The lookup costs a read for those numbers only.
    pub async fn parse_login_phone(&self, input: &str) -> Result<Phone> {
        self.login_phone(input)
            .await
            .map_err(|error| self.explain_phone_error(input, error))
    }

    async fn login_phone(&self, input: &str) -> Result<Phone> {
        match self.parse_phone(input) {
            Err(Error::InvalidPhone) => {
                let possible = Phone::parse_possible(input, self.rules.phones.default_region)?;
                match self.store.user_id_by_phone(&possible).await? {
                    Some(_) => Ok(possible),
                    None => Err(Error::InvalidPhone),
                }
            }
            parsed => parsed,
        }
    }

    /// A refused number typed as a national one (digits and separators,
    /// no `+`), where no `DEFAULT_REGION` could read it, gets the hint it
    /// needs. It depends on the input alone.
    fn explain_phone_error(&self, input: &str, error: Error) -> Error {
        let national = input.chars().filter(char::is_ascii_digit).count() >= 4
            && input
                .chars()
                .all(|c| c.is_ascii_digit() || " -().".contains(c));
        match error {
            Error::InvalidPhone if national && self.rules.phones.default_region.is_none() => {
                Error::PhoneWithoutCountry
            }
            other => other,
        }
    }

    /// A code as typed for `phone`: `CODE_LENGTH` digits, or a listed
    /// review number's code at its own length.
    pub fn parse_code(&self, phone: &Phone, input: &str) -> Result<OtpCode> {
        let length = self
            .rules
            .test_phones
            .code_for(phone, self.clock.now())
            .map_or(self.rules.codes.length, str::len);
        OtpCode::parse(input, length)
    }

    /// Counts a refusal by `limit`, and answers it.
    fn limit_hit(&self, limit: Limit, error: Error) -> Error {
        self.metrics.record(Metric::LimitHit(limit));
        error
    }
}

fn rate_limited(secs: u64) -> Error {
    Error::RateLimited {
        retry_after: Duration::from_secs(secs.max(1)),
    }
}
