//! Sessions: the bearer access token, refreshing (a retired refresh token
//! presented again revokes its session) and logging out.

use super::Service;
use crate::domain::metric::Metric;
use crate::domain::token::{Claims, TokenType};
use crate::error::{Error, Result};
use crate::ports::Rotation;

#[derive(Debug)]
pub struct Refreshed {
    pub access: String,
    pub refresh: String,
}

impl Service {
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
                self.metrics.record(Metric::RefreshReuse);
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
