//! What the domain needs from the outside world. Each trait has a DynamoDB or
//! SNS adapter for production and an in-memory one for development and tests;
//! one contract test suite holds both to the same behaviour.

use async_trait::async_trait;

use crate::domain::code::CodeHash;
use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::error::Result;

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

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one transactional SMS. An error means it was not sent.
    async fn send(&self, to: &Phone, text: &str) -> Result<()>;
}

/// Everything the service keeps about one phone's verification code, and the
/// phone's send history for the hourly limit. `version` grows by one on
/// every send, so a send is a compare-and-swap on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub phone: Phone,
    /// `None` once the code has been used.
    pub hash: Option<CodeHash>,
    pub expires_at: Timestamp,
    /// Wrong tries against the current code.
    pub attempts: u32,
    pub sent_at: Timestamp,
    pub window_start: Timestamp,
    pub window_sends: u32,
    pub version: u64,
}

impl CodeRecord {
    /// When the store may forget the record: once neither the code nor the
    /// send window it counts is live.
    pub fn forget_at(&self) -> Timestamp {
        self.expires_at.max(self.window_start.plus_secs(3600))
    }

    /// This record put back in place of `written`, under a version past
    /// it: versions only grow, so no stale compare-and-swap can match again.
    pub fn restored_after(&self, written: &CodeRecord) -> CodeRecord {
        CodeRecord {
            version: written.version + 1,
            ..self.clone()
        }
    }
}

/// One more unit on a shared counter, refused when it would pass `cap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub key: String,
    pub cap: u32,
    pub expires_at: Timestamp,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SaveCode {
    Saved,
    /// Another send changed the record first.
    Conflict,
    /// The charge at this index would have passed its cap; nothing was written.
    LimitReached(usize),
}

/// What a login must find to consume a code: the hash it matched, still
/// unused, still live, not burned.
#[derive(Clone, Debug)]
pub struct CodeClaim {
    pub phone: Phone,
    pub hash: CodeHash,
    pub max_attempts: u32,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    pub user: UserId,
    pub current_jti: String,
    pub expires_at: Timestamp,
}

pub enum Login<'a> {
    Existing { user: UserId, at: Timestamp },
    New(&'a User),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    LoggedIn,
    /// The code was used, replaced, burned or expired meanwhile.
    CodeGone,
    /// Another login created this phone's user first.
    PhoneTaken,
    InviteTaken,
    IdTaken,
    /// The user the phone pointed at no longer exists.
    UserGone,
}

/// The owner of an invite code, as activating it needs to know them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteOwner {
    pub id: UserId,
    pub phone: Phone,
    pub date_joined: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// The user activated a code meanwhile (or no longer exists).
    AlreadyActivated,
    /// The code's owner no longer exists.
    OwnerGone,
}

/// One user who activated an inviter's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    pub id: UserId,
    pub phone: Phone,
    pub date: Timestamp,
}

/// Where a referral sits in its inviter's list: activation time, then id,
/// zero-padded so that the text sorts as the pair does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReferralKey(pub String);

impl ReferralKey {
    pub fn of(referral: &Referral) -> ReferralKey {
        ReferralKey(format!("{:015}#{:016}", referral.date.0, referral.id.0))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralPage {
    pub items: Vec<Referral>,
    /// Set when there are more, to pass as `after` for the next page.
    pub next: Option<ReferralKey>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The presented token was not the session's current one (or the
    /// session is revoked or gone). The store has revoked the session.
    Rejected,
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>>;

    /// Writes `record` if the stored record's version is still
    /// `record.version - 1` (absent when that is 0), and adds one to each
    /// charge; all or nothing.
    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode>;

    /// Takes back a send whose SMS failed: restores `previous` (see
    /// `CodeRecord::restored_after`, or removes the record) if `written` is
    /// still there, and takes one off each charge.
    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()>;

    /// Counts one wrong try against the code with this hash, unless it is
    /// burned already. Returns whether the try was counted.
    async fn count_wrong_attempt(&self, phone: &Phone, hash: &CodeHash, max: u32) -> Result<bool>;

    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>>;

    async fn user(&self, id: UserId) -> Result<Option<User>>;

    /// Consumes the claimed code, logs the user in (creating it for
    /// `Login::New`, with its phone and invite code claimed uniquely) and
    /// starts `session`; all or nothing.
    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome>;

    /// Moves the session from `old_jti` to `new_jti`, only if `old_jti` is
    /// its current token and it is not revoked; otherwise revokes it.
    async fn rotate_session(
        &self,
        sid: &str,
        old_jti: &str,
        new_jti: &str,
        expires_at: Timestamp,
    ) -> Result<Rotation>;

    async fn revoke_session(&self, sid: &str) -> Result<()>;

    /// What activating `code` for `user` needs, in one round trip: the user
    /// and the code's owner, each if it exists.
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)>;

    /// Records that `user` activated `owner`'s code: sets the user's invite
    /// (only if none is set yet), adds one to the owner's referral count and
    /// lists the user among the owner's referrals; all or nothing.
    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation>;

    /// `inviter`'s referrals, newest first, at most `limit`, starting after
    /// `after` (the key of the last one seen).
    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage>;
}
