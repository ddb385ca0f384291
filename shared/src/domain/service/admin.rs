//! What support staff and the app's own backend do without touching the
//! tables: look a user up, disable and enable it, sign it out everywhere,
//! delete it without a code, and set the claims its access tokens carry.
//! Who may call is the HTTP layer's to check; each call names its operator.

use super::{Profile, Service};
use crate::domain::time::Timestamp;
use crate::domain::token::RESERVED_CLAIMS;
use crate::domain::user::{CustomClaims, Disabled, UserId};
use crate::error::{Error, Result};

/// The most a user's claims may take, serialised: they ride in every
/// access token.
pub const MAX_CLAIMS_BYTES: usize = 1024;

/// The longest reason a disabling keeps.
pub const MAX_REASON_CHARS: usize = 500;

/// A user as an operator sees it: the owner's profile, and what the owner
/// does not see.
#[derive(Debug)]
pub struct AdminView {
    /// Its `user` holds the disabling and the claims.
    pub profile: Profile,
    /// Live sessions.
    pub sessions: usize,
    /// Whether its disabling holds now (one whose `until` has passed
    /// does not).
    pub disabled: bool,
}

impl Service {
    /// The user with this id, as an operator sees it.
    #[tracing::instrument(skip_all)]
    pub async fn admin_user(&self, id: UserId) -> Result<AdminView> {
        let (user, referrals, sids) = tokio::try_join!(
            self.store.user(id),
            self.store
                .referrals(id, super::DEFAULT_REFERRALS_LIMIT, None),
            self.store.sessions_of(id)
        )?;
        let user = self.with_live_inviter(user.ok_or(Error::NotFound)?).await?;
        let now = self.clock.now();
        let live = self.live_sessions(id, &sids, now).await?.len();
        Ok(AdminView {
            disabled: user.disabled_at(now),
            profile: self.with_referrals(user, referrals),
            sessions: live,
        })
    }

    /// The user holding a number (as typed, read as `/code/` reads it), if
    /// anyone does.
    #[tracing::instrument(skip_all)]
    pub async fn admin_find(&self, phone: &str) -> Result<Option<AdminView>> {
        let phone = self.parse_login_phone(phone).await?;
        match self.store.user_id_by_phone(&phone).await? {
            Some(id) => match self.admin_user(id).await {
                Err(Error::NotFound) => Ok(None),
                found => found.map(Some),
            },
            None => Ok(None),
        }
    }

    /// Disables the account until `until` (or until enabled) and ends
    /// every session. Its correct codes then answer `account_disabled`, its
    /// refresh tokens are refused and its access tokens open nothing.
    #[tracing::instrument(skip_all)]
    pub async fn disable_user(
        &self,
        by: &str,
        id: UserId,
        reason: &str,
        until: Option<Timestamp>,
    ) -> Result<AdminView> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(Error::InvalidRequest(format!(
                "The field `reason` must be a text of 1 to {MAX_REASON_CHARS} characters."
            )));
        }
        if until.is_some_and(|until| until <= self.clock.now()) {
            return Err(Error::InvalidRequest(
                "The field `until` must be in the future, or null.".into(),
            ));
        }
        let disabled = Disabled {
            reason: reason.to_owned(),
            until,
        };
        if !self.store.set_disabled(id, Some(&disabled), by).await? {
            return Err(Error::NotFound);
        }
        // After the flag: a session this misses (one the index does not
        // list yet) is refused at its next refresh, which reads the flag.
        let ended = self.end_all_sessions(id).await?;
        tracing::info!(user_id = id.0, by, sessions = ended, "account disabled");
        self.admin_user(id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn enable_user(&self, by: &str, id: UserId) -> Result<AdminView> {
        if !self.store.set_disabled(id, None, by).await? {
            return Err(Error::NotFound);
        }
        tracing::info!(user_id = id.0, by, "account enabled");
        self.admin_user(id).await
    }

    /// Ends every session of the user, as logging out everywhere does.
    #[tracing::instrument(skip_all)]
    pub async fn admin_sign_out(&self, by: &str, id: UserId) -> Result<()> {
        let (ended, exists) = self.sign_out_everywhere(id, Some(by)).await?;
        if !exists {
            return Err(Error::NotFound);
        }
        tracing::info!(
            user_id = id.0,
            by,
            sessions = ended,
            "signed out everywhere"
        );
        Ok(())
    }

    /// Deletes the account as its owner would, without a code.
    #[tracing::instrument(skip_all)]
    pub async fn admin_delete(&self, by: &str, id: UserId) -> Result<()> {
        // The deletion's event names the operator from the item it removes.
        if !self.store.set_changed_by(id, by).await? {
            return Err(Error::NotFound);
        }
        self.delete_user(id, None).await?;
        tracing::info!(user_id = id.0, by, "account deleted by an operator");
        Ok(())
    }

    /// Sets the claims the user's access tokens carry from its next login
    /// or refresh; an empty object removes them.
    #[tracing::instrument(skip_all)]
    pub async fn set_user_claims(
        &self,
        by: &str,
        id: UserId,
        claims: CustomClaims,
    ) -> Result<AdminView> {
        check_claims(&claims)?;
        if !self.store.set_claims(id, &claims, by).await? {
            return Err(Error::NotFound);
        }
        tracing::info!(user_id = id.0, by, claims = claims.len(), "claims set");
        self.admin_user(id).await
    }
}

/// Claims an operator may set: none the service writes or checks itself,
/// and small enough to ride in every token.
pub fn check_claims(claims: &CustomClaims) -> Result<()> {
    if let Some(name) = claims
        .keys()
        .find(|name| name.is_empty() || RESERVED_CLAIMS.contains(&name.as_str()))
    {
        return Err(Error::InvalidRequest(format!(
            "The claim name {name:?} is reserved: the service writes or checks it."
        )));
    }
    let size = serde_json::Value::Object(claims.clone()).to_string().len();
    if size > MAX_CLAIMS_BYTES {
        return Err(Error::InvalidRequest(format!(
            "The claims take {size} bytes as JSON; at most {MAX_CLAIMS_BYTES} are allowed."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> CustomClaims {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn reserved_names_and_big_objects_are_refused() {
        assert!(check_claims(&claims(json!({"role": "editor", "tier": 2}))).is_ok());
        assert!(check_claims(&CustomClaims::new()).is_ok());
        for name in RESERVED_CLAIMS.iter().chain(&[""]) {
            let error = check_claims(&claims(json!({ *name: 1 }))).unwrap_err();
            assert!(matches!(error, Error::InvalidRequest(_)), "{name:?}");
        }
        // `{"a":"…"}` is 8 bytes around the text.
        let fits = claims(json!({"a": "x".repeat(MAX_CLAIMS_BYTES - 8)}));
        assert!(check_claims(&fits).is_ok());
        let over = claims(json!({"a": "x".repeat(MAX_CLAIMS_BYTES - 7)}));
        assert!(check_claims(&over).is_err());
    }
}
