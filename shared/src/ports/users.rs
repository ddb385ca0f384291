//! Users, and logging one in with a code.

use async_trait::async_trait;

use super::Session;
use crate::domain::code::CodeHash;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{CustomClaims, Disabled, User, UserId};
use crate::error::Result;

/// What a login must find to consume a code: the hash it matched, still
/// unused, still live, not burned.
#[derive(Clone, Debug)]
pub struct CodeClaim {
    pub phone: Phone,
    pub hash: CodeHash,
    /// The allowance the try counts against, which must not be spent.
    pub allowance: crate::ports::Allowance,
    pub max_attempts: u32,
    pub now: Timestamp,
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
    /// The user the phone pointed at no longer exists, or an operator
    /// disabled it meanwhile.
    UserGone,
}

/// Users: found by phone or id, and logging in.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>>;

    async fn user(&self, id: UserId) -> Result<Option<User>>;

    /// Whether the account exists, read without the rest of it.
    async fn user_exists(&self, id: UserId) -> Result<bool>;

    /// Consumes the claimed code, logs the user in (creating it for
    /// `Login::New`, with its phone and invite code claimed uniquely; an
    /// existing user only if no disabling holds at the login's time) and
    /// starts `session`; all or nothing.
    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome>;

    /// Sets (or, with `None`, lifts) an operator's disabling, naming the
    /// operator `by`; false when there is no such user.
    async fn set_disabled(&self, id: UserId, disabled: Option<&Disabled>, by: &str)
    -> Result<bool>;

    /// Sets the claims the user's access tokens carry (empty: none),
    /// naming the operator `by`; false when there is no such user.
    async fn set_claims(&self, id: UserId, claims: &CustomClaims, by: &str) -> Result<bool>;

    /// Records that every session of the user ended at `at`: by an
    /// operator, or (`None`) by the user; false when there is no such user.
    async fn signed_out(&self, id: UserId, at: Timestamp, by: Option<&str>) -> Result<bool>;

    /// Names the operator about to delete the user, for the deletion's
    /// event; false when there is no such user.
    async fn set_changed_by(&self, id: UserId, by: &str) -> Result<bool>;
}
