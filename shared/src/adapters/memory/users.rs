//! Users, with their phone and invite code claimed together.

use async_trait::async_trait;

use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{CustomClaims, Disabled, User, UserId};
use crate::error::Result;
use crate::ports::{CodeClaim, Login, LoginOutcome, Session, UserStore};

use super::MemoryStore;
use super::sessions::new_session;

#[async_trait]
impl UserStore for MemoryStore {
    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>> {
        Ok(self.state()?.phones.get(phone).copied())
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.state()?.users.get(&id).cloned())
    }

    async fn user_exists(&self, id: UserId) -> Result<bool> {
        Ok(self.state()?.users.contains_key(&id))
    }

    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome> {
        let mut state = self.state()?;
        if !state.claim_holds(claim) {
            return Ok(LoginOutcome::CodeGone);
        }
        match login {
            Login::Existing { user, at } => {
                let phone = &claim.phone;
                let logged_in = state.update_user(user, |u| {
                    let may = !u.disabled_at(at) && u.phone == *phone;
                    if may {
                        u.last_login = Some(at);
                        u.changed_by = None;
                    }
                    may
                });
                if !logged_in {
                    return Ok(LoginOutcome::UserGone);
                }
            }
            Login::New(user) => {
                if state.phones.contains_key(&user.phone) {
                    return Ok(LoginOutcome::PhoneTaken);
                }
                if state.invites.contains_key(&user.invite) {
                    return Ok(LoginOutcome::InviteTaken);
                }
                if state.users.contains_key(&user.id) {
                    return Ok(LoginOutcome::IdTaken);
                }
                state.phones.insert(user.phone.clone(), user.id);
                state.invites.insert(user.invite.clone(), user.id);
                state.insert_user(user.clone());
            }
        }
        state.use_claim(claim);
        state
            .sessions
            .insert(session.sid.clone(), new_session(session));
        Ok(LoginOutcome::LoggedIn)
    }

    async fn set_disabled(
        &self,
        id: UserId,
        disabled: Option<&Disabled>,
        by: &str,
    ) -> Result<bool> {
        Ok(self.state()?.update_user(id, |user| {
            user.disabled = disabled.cloned();
            user.changed_by = Some(by.to_owned());
            true
        }))
    }

    async fn set_claims(&self, id: UserId, claims: &CustomClaims, by: &str) -> Result<bool> {
        Ok(self.state()?.update_user(id, |user| {
            user.claims = claims.clone();
            user.changed_by = Some(by.to_owned());
            true
        }))
    }

    async fn signed_out(&self, id: UserId, at: Timestamp, by: Option<&str>) -> Result<bool> {
        Ok(self.state()?.update_user(id, |user| {
            user.signed_out_at = Some(at);
            user.changed_by = by.map(str::to_owned);
            true
        }))
    }

    async fn set_changed_by(&self, id: UserId, by: &str) -> Result<bool> {
        Ok(self.state()?.update_user(id, |user| {
            user.changed_by = Some(by.to_owned());
            true
        }))
    }
}
