//! Deleting an account.

use async_trait::async_trait;

use crate::domain::phone::Phone;
use crate::domain::user::{Inviter, User, UserId};
use crate::error::Result;
use crate::ports::{
    AccountStore, CodeClaim, Deletion, DeletionOutcome, PhoneChange, PhoneMove, ReferralKey,
};

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
        state.remove_user(user.id);
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
            state.update_user(*invitee, |u| {
                let activated = u.activated.as_mut();
                match activated {
                    Some(a) if a.owner.as_ref().is_some_and(|o| o.id == owner) => {
                        a.owner = None;
                        true
                    }
                    _ => false,
                }
            });
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

    async fn change_phone(&self, change: PhoneChange<'_>) -> Result<PhoneMove> {
        let mut state = self.state()?;
        let (user, new) = (change.user, &change.claim.phone);
        if !state.claim_holds(change.claim) {
            return Ok(PhoneMove::CodeGone);
        }
        if state.phones.contains_key(new) {
            return Ok(PhoneMove::PhoneTaken);
        }
        let unchanged = state
            .users
            .get(&user.id)
            .is_some_and(|stored| stored.phone == user.phone);
        if !unchanged || state.phones.get(&user.phone) != Some(&user.id) {
            return Ok(PhoneMove::UserChanged);
        }
        state.use_claim(change.claim);
        state.phones.remove(&user.phone);
        state.phones.insert(new.clone(), user.id);
        state.update_user(user.id, |stored| {
            stored.phone = new.clone();
            true
        });
        Ok(PhoneMove::Moved)
    }

    async fn use_code(&self, claim: &CodeClaim) -> Result<bool> {
        let mut state = self.state()?;
        if !state.claim_holds(claim) {
            return Ok(false);
        }
        state.use_claim(claim);
        Ok(true)
    }

    async fn retag_referral(&self, inviter: &Inviter, user: &User) -> Result<()> {
        let mut state = self.state()?;
        let listed = state.referrals.get_mut(&inviter.id).into_iter().flatten();
        for (_, referral) in listed.filter(|(_, r)| r.id == user.id) {
            referral.phone = user.phone.clone();
        }
        Ok(())
    }

    async fn retag_invitees(
        &self,
        owner: UserId,
        invitees: &[UserId],
        phone: &Phone,
    ) -> Result<()> {
        let mut state = self.state()?;
        for invitee in invitees {
            state.update_user(*invitee, |u| {
                let inviter = u.activated.as_mut().and_then(|a| a.owner.as_mut());
                match inviter {
                    Some(inviter) if inviter.id == owner => {
                        inviter.phone = phone.clone();
                        true
                    }
                    _ => false,
                }
            });
        }
        Ok(())
    }

    /// Nothing marks a change here: the dev server tells the referrals
    /// before it answers.
    async fn phone_settled(&self, _id: UserId, _phone: &Phone) -> Result<()> {
        Ok(())
    }
}
