//! Refresh sessions.

use async_trait::async_trait;

use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::Result;
use crate::ports::{Rotation, Session, SessionState, SessionStore};

use super::MemoryStore;

pub(super) fn new_session(session: &Session) -> SessionState {
    SessionState {
        user: session.user,
        current_jti: session.current_jti.clone(),
        previous_jti: None,
        rotated_at: None,
        expires_at: session.expires_at,
        revoked: false,
        created_at: Some(session.created_at),
        user_agent: session.user_agent.clone(),
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn start_exchanged_session(
        &self,
        legacy_jti: &str,
        _legacy_expires: Timestamp,
        session: &Session,
    ) -> Result<bool> {
        let mut state = self.state()?;
        if !state.exchanged.insert(legacy_jti.to_owned()) {
            return Ok(false);
        }
        state
            .sessions
            .insert(session.sid.clone(), new_session(session));
        Ok(true)
    }

    async fn rotate_session(
        &self,
        sid: &str,
        old_jti: &str,
        new_jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation> {
        let mut state = self.state()?;
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(Rotation::Refused(None));
        };
        if session.revoked || session.current_jti != old_jti {
            return Ok(Rotation::Refused(Some(session.clone())));
        }
        session.previous_jti = Some(std::mem::replace(
            &mut session.current_jti,
            new_jti.to_owned(),
        ));
        session.rotated_at = Some(now);
        session.expires_at = expires_at;
        Ok(Rotation::Rotated)
    }

    async fn session(&self, sid: &str) -> Result<Option<SessionState>> {
        Ok(self.state()?.sessions.get(sid).cloned())
    }

    async fn revoke_session(&self, sid: &str) -> Result<()> {
        if let Some(session) = self.state()?.sessions.get_mut(sid) {
            session.revoked = true;
        }
        Ok(())
    }

    async fn sessions(&self, sids: &[String]) -> Result<Vec<(String, SessionState)>> {
        let state = self.state()?;
        let found = sids.iter().filter_map(|sid| {
            let session = state.sessions.get(sid)?;
            Some((sid.clone(), session.clone()))
        });
        Ok(found.collect())
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<String>> {
        let state = self.state()?;
        let sids = state.sessions.iter().filter(|(_, s)| s.user == user);
        Ok(sids.map(|(sid, _)| sid.clone()).collect())
    }

    async fn end_sessions(&self, sids: &[String]) -> Result<()> {
        let mut state = self.state()?;
        for sid in sids {
            state.sessions.remove(sid);
        }
        Ok(())
    }
}
