//! Deleting an account.

use async_trait::async_trait;

use crate::domain::user::UserId;
use crate::error::Result;
use crate::ports::{AccountStore, Deletion, DeletionOutcome, ReferralKey};

use super::MemoryStore;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn delete_account(&self, deletion: Deletion<'_>) -> Result<DeletionOutcome> {
        let mut state = self.state()?;
        let user = deletion.user;
        if deletion
            .claim
            .is_some_and(|claim| !state.claim_holds(claim))
        {
            return Ok(DeletionOutcome::CodeGone);
        }
        let unchanged = state
            .users
            .get(&user.id)
            .is_some_and(|stored| stored.activated == user.activated);
        let inviter = user.activated.as_ref().and_then(|a| a.owner.as_ref());
        let inviter = inviter.filter(|_| deletion.leaves_inviter);
        if !unchanged || inviter.is_some_and(|o| !state.users.contains_key(&o.id)) {
            return Ok(DeletionOutcome::Changed);
        }
        state.codes.remove(&user.phone);
        state.users.remove(&user.id);
        if state.phones.get(&user.phone) == Some(&user.id) {
            state.phones.remove(&user.phone);
        }
        if state.invites.get(&user.invite) == Some(&user.id) {
            state.invites.remove(&user.invite);
        }
        for sid in deletion.sessions {
            state.sessions.remove(sid);
        }
        if let Some(inviter) = inviter
            && let Some(listed) = state.referrals.get_mut(&inviter.id)
        {
            listed.retain(|_, referral| referral.id != user.id);
        }
        Ok(DeletionOutcome::Deleted)
    }

    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()> {
        let mut state = self.state()?;
        for invitee in invitees {
            let activated = state
                .users
                .get_mut(invitee)
                .and_then(|u| u.activated.as_mut());
            if let Some(activated) = activated
                && activated.owner.as_ref().is_some_and(|o| o.id == owner)
            {
                activated.owner = None;
            }
        }
        Ok(())
    }

    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()> {
        let mut state = self.state()?;
        if let Some(listed) = state.referrals.get_mut(&owner) {
            for key in keys {
                listed.remove(key);
            }
            if listed.is_empty() {
                state.referrals.remove(&owner);
            }
        }
        Ok(())
    }
}
