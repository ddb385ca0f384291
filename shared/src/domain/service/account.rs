//! The account: deleting it, with a fresh code sent to its own phone (so a
//! stolen access token alone cannot), and what a deletion leaves to finish
//! after its answer.

use super::attempts::Attempt;
use super::{ProfileRef, Service};
use crate::domain::metric::Metric;
use crate::domain::token::Claims;
use crate::domain::user::{User, UserId};
use crate::error::{Error, Result};
use crate::ports::{Deletion, DeletionOutcome, ReferralKey, SESSIONS_IN_DELETION, Store};

/// A user that changes between its read and its deletion (an invite
/// activated, its inviter gone) is read again; a few times settle it.
const DELETE_TRIES: usize = 4;

/// Referrals handled a page at a time when a deletion is finished.
const CLEANUP_PAGE: usize = 250;

impl Service {
    /// Deletes the caller's account. At once: the user, its phone and
    /// invite code (both free again), the code, every session, and its
    /// place in its inviter's referrals. After the answer (inline where
    /// `finishing_inline`, else on the users table's stream):
    /// its own referrals, see `finish_deletion`.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(
        &self,
        caller: &Claims,
        target: ProfileRef,
        code: &str,
        attempt: &Attempt<'_>,
    ) -> Result<()> {
        let id = self.owned(caller, target)?;
        self.admit(attempt, self.clock.now()).await?;
        self.delete_user(id, Some((code, attempt))).await
    }

    /// Deletes the account `id`: with the owner's code (`proof`), checked
    /// and consumed as `/code/` does, or without one (an operator).
    pub(super) async fn delete_user(
        &self,
        id: UserId,
        proof: Option<(&str, &Attempt<'_>)>,
    ) -> Result<()> {
        for _ in 0..DELETE_TRIES {
            let Some(user) = self.store.user(id).await? else {
                // Gone already: a retry after a fault finishes what the
                // first try left, where no stream will.
                if self.finishing_inline {
                    finish_deletion(self.store.as_ref(), id).await?;
                }
                return Err(Error::NotFound);
            };
            // The owner of a disabled account cannot; an operator can.
            let user = match proof {
                Some(_) => self.active(Some(user))?,
                None => user,
            };
            let now = self.clock.now();
            let (record, sessions, leaves_inviter) = tokio::try_join!(
                self.store.code(&user.phone),
                self.store.sessions_of(id),
                self.inviter_exists(&user),
            )?;
            let claim = match proof {
                Some((code, attempt)) => {
                    // Read at the length the account's phone takes (a
                    // review number's may differ).
                    let code = self.parse_code(&user.phone, code)?;
                    Some(self.claim(&user.phone, &code, record, attempt, now).await?)
                }
                None => None,
            };
            let deletion = Deletion {
                user: &user,
                claim: claim.as_ref(),
                sessions: &sessions,
                leaves_inviter,
            };
            match self.store.delete_account(deletion).await? {
                DeletionOutcome::Deleted => {}
                DeletionOutcome::CodeGone => return Err(Error::CodeExpired),
                DeletionOutcome::Changed => continue,
            }
            if let Some(rest) = sessions.get(SESSIONS_IN_DELETION..) {
                self.store.end_sessions(rest).await?;
            }
            self.metrics.record(Metric::AccountDeleted);
            tracing::info!(user_id = id.0, "account deleted");
            if self.finishing_inline {
                finish_deletion(self.store.as_ref(), id).await?;
            }
            return Ok(());
        }
        Err(Error::Internal(
            "the account kept changing while it was deleted".into(),
        ))
    }

    /// Whether the owner of the code `user` activated still has an account.
    pub(super) async fn inviter_exists(&self, user: &User) -> Result<bool> {
        match user.activated.as_ref().and_then(|a| a.owner.as_ref()) {
            Some(owner) => self.store.user_exists(owner.id).await,
            None => Ok(false),
        }
    }

    /// `user` as the profile shows it: an inviter whose account is gone is
    /// shown as none at once, before `finish_deletion` has reached `user`.
    pub(super) async fn with_live_inviter(&self, mut user: User) -> Result<User> {
        if !self.inviter_exists(&user).await?
            && let Some(activated) = user.activated.as_mut()
        {
            activated.owner = None;
        }
        Ok(user)
    }
}

/// What a deletion leaves to do after its answer, safe to run again and
/// again: the users who activated the deleted user's code forget its phone
/// and id (and keep the code), its referrals go, and any session its
/// transaction had no room for ends. Does nothing for an account that
/// exists. Answers how many referrals it let go.
pub async fn finish_deletion(store: &dyn Store, id: UserId) -> Result<usize> {
    if store.user_exists(id).await? {
        tracing::warn!(
            user_id = id.0,
            "not finishing the deletion of an account that exists"
        );
        return Ok(0);
    }
    let mut released = 0;
    loop {
        // Always the first page: each one handled is deleted.
        let page = store.referrals(id, CLEANUP_PAGE, None).await?;
        if page.items.is_empty() {
            break;
        }
        let invitees: Vec<UserId> = page.items.iter().map(|r| r.id).collect();
        store.detach_invitees(id, &invitees).await?;
        let keys: Vec<ReferralKey> = page.items.iter().map(ReferralKey::of).collect();
        store.delete_referrals(id, &keys).await?;
        released += page.items.len();
    }
    let sids = store.sessions_of(id).await?;
    store.end_sessions(&sids).await?;
    tracing::info!(
        user_id = id.0,
        referrals = released,
        "account deletion finished"
    );
    Ok(released)
}
