//! Changing the phone: a code sent to the new number, then the account
//! moved to it in one transaction. The old number is free at once; the
//! account keeps its id, invite code, activation, referrals and sessions.
//! Whoever holds the new number is told only after its code: the answer
//! reveals nothing to someone who cannot read that number's SMS.

use super::attempts::Attempt;
use super::{CodeSent, Profile, ProfileRef, ReferralsQuery, SendRequest, Service};
use crate::domain::token::Claims;
use crate::domain::user::{User, UserId};
use crate::error::{Error, Result};
use crate::ports::{PhoneChange, PhoneMove, Store};

/// A user read again after another change of its own moved it first; a
/// few turns settle it.
const CHANGE_TRIES: usize = 4;

/// Referrals told of the new number a page at a time.
const RETAG_PAGE: usize = 250;

impl Service {
    /// Sends a code to the number the caller moves to, as `/phone/` sends
    /// one (its limits, its `verification_id`), whoever holds the number.
    #[tracing::instrument(skip_all)]
    pub async fn send_phone_change(
        &self,
        caller: &Claims,
        target: ProfileRef,
        phone: &str,
        send: &SendRequest<'_>,
    ) -> Result<CodeSent> {
        self.owned(caller, target)?;
        let phone = self.parse_phone(phone)?;
        let user = self.active_caller(caller).await?;
        if user.phone == phone {
            return Err(already_yours());
        }
        self.send_code(&phone, send).await
    }

    /// Moves the caller's account to `phone`, with the code sent there.
    /// The code is checked as `/code/` checks it; another account holding
    /// the number answers `phone_taken` and consumes the code.
    #[tracing::instrument(skip_all)]
    pub async fn change_phone(
        &self,
        caller: &Claims,
        target: ProfileRef,
        phone: &str,
        code: &str,
        attempt: &Attempt<'_>,
    ) -> Result<Profile> {
        self.owned(caller, target)?;
        let phone = self.parse_phone(phone)?;
        let code = self.parse_code(&phone, code)?;
        self.admit(attempt, self.clock.now()).await?;
        for _ in 0..CHANGE_TRIES {
            let now = self.clock.now();
            let (user, record, holder) = tokio::try_join!(
                self.active_caller(caller),
                self.store.code(&phone),
                self.store.user_id_by_phone(&phone)
            )?;
            if user.phone == phone {
                return Err(already_yours());
            }
            let claim = self.claim(&phone, &code, record, attempt, now).await?;
            let moved = match holder {
                Some(_) => PhoneMove::PhoneTaken,
                None => {
                    let change = PhoneChange {
                        user: &user,
                        claim: &claim,
                    };
                    self.store.change_phone(change).await?
                }
            };
            match moved {
                PhoneMove::Moved => {}
                PhoneMove::CodeGone => return Err(Error::CodeExpired),
                PhoneMove::PhoneTaken => {
                    self.store.use_code(&claim).await?;
                    tracing::info!(user_id = user.id.0, "phone change to a taken number");
                    return Err(Error::PhoneTaken);
                }
                PhoneMove::UserChanged => continue,
            }
            tracing::info!(user_id = user.id.0, "phone changed");
            if self.finishing_inline {
                finish_phone_change(self.store.as_ref(), user.id).await?;
            }
            return self
                .profile(caller, ProfileRef::Me, &ReferralsQuery::default())
                .await;
        }
        Err(Error::Internal(
            "the account kept changing while its phone moved".into(),
        ))
    }
}

fn already_yours() -> Error {
    Error::InvalidRequest("This is already the account's phone number.".into())
}

/// What a phone change leaves to do after its answer, safe to run again:
/// the users who activated the user's code show its new number as
/// `inv_phone`, and its entry in its inviter's referrals shows it too.
/// Answers how many referrals were told.
pub async fn finish_phone_change(store: &dyn Store, id: UserId) -> Result<usize> {
    let Some(user) = store.user(id).await? else {
        return Ok(0);
    };
    if let Some(inviter) = user.activated.as_ref().and_then(|a| a.owner.as_ref()) {
        store.retag_referral(inviter, &user).await?;
    }
    let told = retag_referrals(store, &user).await?;
    store.phone_settled(id, &user.phone).await?;
    tracing::info!(user_id = id.0, referrals = told, "phone change told");
    Ok(told)
}

async fn retag_referrals(store: &dyn Store, user: &User) -> Result<usize> {
    let mut told = 0;
    let mut after = None;
    loop {
        let page = store.referrals(user.id, RETAG_PAGE, after.as_ref()).await?;
        let invitees: Vec<UserId> = page.items.iter().map(|r| r.id).collect();
        store
            .retag_invitees(user.id, &invitees, &user.phone)
            .await?;
        told += invitees.len();
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(told),
        }
    }
}
