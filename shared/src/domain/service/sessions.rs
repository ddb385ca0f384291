//! Sessions: the bearer access token, refreshing (a retired refresh token
//! presented again revokes its session, but for a short grace) and logging
//! out, of one session or all of them.

use super::Service;
use crate::domain::metric::Metric;
use crate::domain::time::Timestamp;
use crate::domain::token::{Claims, LegacyRefresh, TokenType};
use crate::domain::user::UserId;
use crate::error::{Error, Result};
use crate::ports::{Rotation, Session, SessionState};

/// What a logout ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevokeScope {
    /// The token's own session.
    #[default]
    Session,
    /// Every session of the token's user.
    All,
}

/// One of a user's live sessions: a device, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// None for sessions started before starts were kept.
    pub created: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub user_agent: Option<String>,
    /// The session of the access token that asked.
    pub current: bool,
}

#[derive(Debug)]
pub struct Refreshed {
    pub access: String,
    pub refresh: String,
}

impl Service {
    /// A refresh token of the Django system, for an imported user, traded
    /// once for a new session's tokens; presented again, refused.
    async fn exchange_legacy(&self, legacy: LegacyRefresh, now: Timestamp) -> Result<Refreshed> {
        // The old key opens only what the old system issued: a user who
        // came over by the import, with a token from before that import.
        // A user who signed up here never had a Django session.
        let user = self.store.user(legacy.user).await?;
        let imported_at = user.as_ref().and_then(|user| user.imported_at);
        let Some(user) = user.filter(|_| imported_at.is_some_and(|at| legacy.iat < at)) else {
            return Err(Error::TokenNotValid(
                "not an old session of an imported user",
            ));
        };
        if user.disabled_at(now) {
            return Err(Error::TokenNotValid("account disabled"));
        }
        let sid = uuid::Uuid::new_v4().simple().to_string();
        let refresh = self.tokens.issue_refresh(legacy.user, &sid, now)?;
        let access = self
            .tokens
            .issue_access_with(legacy.user, &sid, &user.claims, now)?;
        let session = Session {
            sid,
            user: legacy.user,
            current_jti: refresh.jti,
            expires_at: refresh.exp,
            created_at: now,
            // No login here: the old system's session moved over.
            user_agent: None,
        };
        if !self
            .store
            .start_exchanged_session(&legacy.jti, legacy.exp, &session)
            .await?
        {
            self.metrics.record(Metric::RefreshReuse);
            return Err(Error::TokenNotValid("legacy token already exchanged"));
        }
        tracing::info!(user_id = legacy.user.0, "a Django session moved over");
        Ok(Refreshed {
            access: access.token,
            refresh: refresh.token,
        })
    }

    /// Reads the `Authorization` header's bearer access token.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Claims> {
        let value = authorization.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Err(Error::NotAuthenticated);
        }
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::NotBearer);
        }
        let token = Some(token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(Error::NotAuthenticated)?;
        self.tokens
            .verify(token, TokenType::Access, self.clock.now())
    }

    /// Trades a refresh token for a new access token and a new refresh token,
    /// retiring the old one. The token the last rotation retired, presented
    /// again within `REFRESH_REUSE_GRACE_SECONDS`, answers the session's
    /// current refresh token (same `jti`) and revokes nothing: a lost answer
    /// or two racing refreshes log no one out. Any other retired token
    /// revokes the whole session.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed> {
        let now = self.clock.now();
        let (claims, sid) = match self.refresh_claims(refresh_token, now) {
            Ok(found) => found,
            Err(error) => {
                return match self.tokens.verify_legacy_refresh(refresh_token, now) {
                    Ok(legacy) => self.exchange_legacy(legacy, now).await,
                    Err(_) => Err(error),
                };
            }
        };
        let sid = sid.as_str();
        let user = claims.user_id;
        let fresh = self.tokens.issue_refresh(user, sid, now)?;
        let rotation = self
            .store
            .rotate_session(sid, &claims.jti, &fresh.jti, fresh.exp, now)
            .await?;
        let refresh = match rotation {
            Rotation::Rotated => fresh,
            Rotation::Refused(Some(session)) if self.in_grace(&session, &claims.jti, now) => {
                tracing::info!(user_id = user.0, "retired refresh token within its grace");
                self.tokens.reissue_refresh(
                    user,
                    sid,
                    &session.current_jti,
                    session.expires_at,
                    now,
                )?
            }
            // A retired token at a live session: a copy is in other hands
            // (or the owner's, after a thief): the session ends.
            Rotation::Refused(Some(session)) if !session.revoked && now < session.expires_at => {
                self.metrics.record(Metric::RefreshReuse);
                tracing::warn!(user_id = user.0, "refresh token reused; session revoked");
                self.store.revoke_session(sid).await?;
                return Err(Error::TokenNotValid("refresh token retired"));
            }
            // A session that was logged out (or has run out) is no theft
            // signal: every ordinary logout would feed the alarm.
            Rotation::Refused(_) => {
                tracing::info!(user_id = user.0, "refresh token of a logged-out session");
                return Err(Error::TokenNotValid("session revoked"));
            }
        };
        // Read after the rotation, so that a disabling written before it
        // is seen: its revocation may have missed a session the index did
        // not list yet, and this refuses that session's refresh.
        let Some(account) = self.store.user(user).await? else {
            return Err(Error::TokenNotValid("no such user"));
        };
        if account.disabled_at(now) {
            self.store.revoke_session(sid).await?;
            return Err(Error::TokenNotValid("account disabled"));
        }
        let access = self
            .tokens
            .issue_access_with(user, sid, &account.claims, now)?;
        Ok(Refreshed {
            access: access.token,
            refresh: refresh.token,
        })
    }

    /// A refresh token's claims and its session's id.
    fn refresh_claims(&self, token: &str, now: Timestamp) -> Result<(Claims, String)> {
        let claims = self.tokens.verify(token, TokenType::Refresh, now)?;
        let sid = claims
            .sid
            .clone()
            .ok_or(Error::TokenNotValid("no session"))?;
        Ok((claims, sid))
    }

    /// Whether `jti` is the token the session's last rotation retired, and
    /// the grace after that rotation has not run out.
    fn in_grace(&self, session: &SessionState, jti: &str, now: Timestamp) -> bool {
        let grace = self.rules.sessions.refresh_reuse_grace_secs;
        grace > 0
            && !session.revoked
            && now < session.expires_at
            && session.previous_jti.as_deref() == Some(jti)
            && session
                .rotated_at
                .is_some_and(|at| now < at.plus_secs(grace))
    }

    /// Logs out: the token's session (`Session`), or every session of its
    /// user (`All`), whose refresh tokens then stop working at once.
    /// Logging out everywhere takes a live token: the session's current
    /// one, or the one in its grace.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, refresh_token: &str, scope: RevokeScope) -> Result<()> {
        let now = self.clock.now();
        let (claims, sid) = self.refresh_claims(refresh_token, now)?;
        let sid = sid.as_str();
        match scope {
            RevokeScope::Session => self.store.revoke_session(sid).await,
            RevokeScope::All => {
                let session = self.store.session(sid).await?;
                let live = session.is_some_and(|session| {
                    !session.revoked
                        && now < session.expires_at
                        && (session.current_jti == claims.jti
                            || self.in_grace(&session, &claims.jti, now))
                });
                if !live {
                    return Err(Error::TokenNotValid("refresh token retired or revoked"));
                }
                // The user's own: no operator.
                let (ended, _) = self.sign_out_everywhere(claims.user_id, None).await?;
                tracing::info!(
                    user_id = claims.user_id.0,
                    sessions = ended,
                    "logged out everywhere"
                );
                Ok(())
            }
        }
    }

    /// Those of `sids` that are `user`'s sessions and live at `now`, with
    /// their ids.
    pub(super) async fn live_sessions(
        &self,
        user: UserId,
        sids: &[String],
        now: Timestamp,
    ) -> Result<Vec<(String, SessionState)>> {
        let mut sessions = self.store.sessions(sids).await?;
        sessions.retain(|(_, session)| session.user == user && session.live(now));
        Ok(sessions)
    }

    /// Ends every session of `id`; answers how many.
    pub(super) async fn end_all_sessions(&self, id: UserId) -> Result<usize> {
        let sids = self.store.sessions_of(id).await?;
        self.store.end_sessions(&sids).await?;
        Ok(sids.len())
    }

    /// Logs `id` out everywhere: every session ends, then the user is
    /// marked signed out for its event (`by`: the operator; none: the user
    /// itself). Answers how many sessions ended, and whether the user
    /// exists.
    pub(super) async fn sign_out_everywhere(
        &self,
        id: UserId,
        by: Option<&str>,
    ) -> Result<(usize, bool)> {
        let ended = self.end_all_sessions(id).await?;
        let marked = self.store.signed_out(id, self.clock.now(), by).await?;
        Ok((ended, marked))
    }

    /// The caller's live sessions, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn devices(&self, caller: &Claims) -> Result<Vec<Device>> {
        let now = self.clock.now();
        let (_, sids) = tokio::try_join!(
            self.active_caller(caller),
            self.store.sessions_of(caller.user_id)
        )?;
        let mut devices: Vec<Device> = self
            .live_sessions(caller.user_id, &sids, now)
            .await?
            .into_iter()
            .map(|(sid, session)| Device {
                current: caller.sid.as_deref() == Some(sid.as_str()),
                created: session.created_at,
                last_used: session.last_used(),
                user_agent: session.user_agent,
                id: sid,
            })
            .collect();
        devices.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(devices)
    }

    /// Logs one of the caller's live sessions out, as `/token/revoke/`
    /// does. Someone else's, or one no longer live, is not found.
    #[tracing::instrument(skip_all)]
    pub async fn end_device(&self, caller: &Claims, sid: &str) -> Result<()> {
        let now = self.clock.now();
        // Ours are 32 hex digits: anything else names no session.
        let well_formed = (1..=64).contains(&sid.len())
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(Error::NotFound);
        }
        let (_, session) = tokio::try_join!(self.active_caller(caller), self.store.session(sid))?;
        if !session.is_some_and(|s| s.user == caller.user_id && s.live(now)) {
            return Err(Error::NotFound);
        }
        self.store.revoke_session(sid).await?;
        tracing::info!(user_id = caller.user_id.0, "a device logged out");
        Ok(())
    }
}
