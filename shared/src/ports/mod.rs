//! What the domain needs from the outside world. Each trait has a DynamoDB or
//! SNS adapter for production and an in-memory one for development and tests;
//! one contract test suite holds both to the same behaviour.

mod account;
mod codes;
mod invites;
mod sessions;
mod users;

use async_trait::async_trait;

use crate::domain::metric::Metric;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::Result;

pub use account::{
    AccountStore, Deletion, DeletionOutcome, PhoneChange, PhoneMove, SESSIONS_IN_DELETION,
};
pub use codes::{Allowance, Charge, CodeRecord, CodeStore, SaveCode, Tally, TallyField};
pub use invites::{Activation, InviteOwner, InviteStore, Referral, ReferralKey, ReferralPage};
pub use sessions::{Rotation, Session, SessionState, SessionStore, USER_AGENT_CHARS};
pub use users::{CodeClaim, Login, LoginOutcome, UserStore};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since_epoch.as_millis() as i64)
    }
}

/// One code on its way to a phone, with everything a provider may need:
/// SNS reads `to` and `text`; a webhook bridge gets all of it.
#[derive(Clone, Copy, Debug)]
pub struct OtpMessage<'a> {
    pub to: &'a Phone,
    /// `sms`, or a channel the webhook provider declares.
    pub channel: &'a str,
    /// The language tag of the template that made `text`.
    pub locale: &'a str,
    /// The whole text, autofill lines included.
    pub text: &'a str,
    pub code: &'a str,
    pub expires_in: u64,
    pub verification_id: &'a str,
}

/// Whoever carries the codes: SNS, a team's webhook bridge, the console.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one message. An error means it was not sent.
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()>;
}

/// A third party's check of a captcha token (Cloudflare Turnstile's
/// siteverify), for deployments that use one instead of our own challenge.
#[async_trait]
pub trait CaptchaVerifier: Send + Sync {
    /// Whether the provider holds `token` solved, for this site, now (and
    /// not used before). An error means the provider could not be asked.
    async fn verify(&self, token: &str, remote_ip: Option<&str>) -> Result<bool>;
}

/// Where the service's counts go: EMF log lines in a function. Recording
/// never fails and never waits.
pub trait Metrics: Send + Sync {
    fn record(&self, metric: Metric);
}

/// Counts nothing: the dev server.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _metric: Metric) {}
}

/// Everything the service keeps: one adapter serves all five stores.
pub trait Store: CodeStore + UserStore + SessionStore + InviteStore + AccountStore {}

impl<T: CodeStore + UserStore + SessionStore + InviteStore + AccountStore> Store for T {}
