//! Refresh sessions: one per login, rotated at each refresh.

use async_trait::async_trait;

use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    pub user: UserId,
    pub current_jti: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    /// The login request's `User-Agent`, cut to `USER_AGENT_CHARS`.
    pub user_agent: Option<String>,
}

/// How much of a login's `User-Agent` a session keeps.
pub const USER_AGENT_CHARS: usize = 200;

/// A session as the store holds it, for the rules that decide on a refused
/// rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    pub user: UserId,
    pub current_jti: String,
    /// The token the last rotation retired, and when.
    pub previous_jti: Option<String>,
    pub rotated_at: Option<Timestamp>,
    pub expires_at: Timestamp,
    pub revoked: bool,
    /// When it started; sessions from before this was kept have none.
    pub created_at: Option<Timestamp>,
    pub user_agent: Option<String>,
}

impl SessionState {
    /// Not revoked and not expired.
    pub fn live(&self, now: Timestamp) -> bool {
        !self.revoked && now < self.expires_at
    }

    /// Its last refresh, or its start.
    pub fn last_used(&self) -> Option<Timestamp> {
        self.rotated_at.or(self.created_at)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The presented token was not the session's current one, or the
    /// session is revoked: nothing was written. The session as it stands,
    /// or `None` when there is no such session.
    Refused(Option<SessionState>),
}

/// Refresh sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Moves the session from `old_jti` to `new_jti` (remembering `old_jti`
    /// as retired at `now`), only if `old_jti` is its current token and it
    /// is not revoked. In one round trip either way.
    async fn rotate_session(
        &self,
        sid: &str,
        old_jti: &str,
        new_jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation>;

    async fn session(&self, sid: &str) -> Result<Option<SessionState>>;

    async fn revoke_session(&self, sid: &str) -> Result<()>;

    /// The ids of every session of `user`.
    async fn sessions_of(&self, user: UserId) -> Result<Vec<String>>;

    /// These sessions as they stand, with their ids; ids with no session
    /// are left out.
    async fn sessions(&self, sids: &[String]) -> Result<Vec<(String, SessionState)>>;

    /// Ends these sessions at once (they are deleted).
    async fn end_sessions(&self, sids: &[String]) -> Result<()>;

    /// Starts `session` in exchange for the Django system's refresh token
    /// `legacy_jti`, once: false (and nothing written) when that token was
    /// exchanged before. The record of the exchange lasts until
    /// `legacy_expires`, when the old token would have expired anyway.
    async fn start_exchanged_session(
        &self,
        legacy_jti: &str,
        legacy_expires: Timestamp,
        session: &Session,
    ) -> Result<bool>;
}
