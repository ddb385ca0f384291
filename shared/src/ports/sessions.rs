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
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The presented token was not the session's current one (or the
    /// session is revoked or gone). The store has revoked the session.
    Rejected,
}

/// Refresh sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
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
}
