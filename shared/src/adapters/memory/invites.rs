//! Invite activations and referrals.

use async_trait::async_trait;

use crate::domain::invite::InviteCode;
use crate::domain::time::Timestamp;
use crate::domain::user::{ActivatedInvite, Inviter, User, UserId};
use crate::error::Result;
use crate::ports::{Activation, InviteOwner, InviteStore, Referral, ReferralKey, ReferralPage};

use super::MemoryStore;

#[async_trait]
impl InviteStore for MemoryStore {
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)> {
        let state = self.state()?;
        let owner = state
            .invites
            .get(code)
            .and_then(|id| state.users.get(id))
            .map(|owner| InviteOwner {
                id: owner.id,
                phone: owner.phone.clone(),
                date_joined: owner.date_joined,
            });
        Ok((state.users.get(&user).cloned(), owner))
    }

    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation> {
        let mut state = self.state()?;
        if state
            .users
            .get(&user.id)
            .is_none_or(|u| u.activated.is_some())
        {
            return Ok(Activation::AlreadyActivated);
        }
        if !state.users.contains_key(&owner.id) {
            return Ok(Activation::OwnerGone);
        }
        let referral = Referral {
            id: user.id,
            phone: user.phone.clone(),
            date: at,
        };
        state
            .referrals
            .entry(owner.id)
            .or_default()
            .insert(ReferralKey::of(&referral), referral);
        state.update_user(user.id, |u| {
            u.activated = Some(ActivatedInvite {
                code: code.clone(),
                owner: Some(Inviter {
                    id: owner.id,
                    phone: owner.phone.clone(),
                    at: Some(at),
                }),
            });
            true
        });
        Ok(Activation::Activated)
    }

    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage> {
        let state = self.state()?;
        let Some(list) = state.referrals.get(&inviter) else {
            return Ok(ReferralPage {
                items: Vec::new(),
                next: None,
                total: 0,
            });
        };
        let newest_first: Vec<(&ReferralKey, &Referral)> = match after {
            Some(after) => list.range(..after.clone()).rev().take(limit + 1).collect(),
            None => list.iter().rev().take(limit + 1).collect(),
        };
        let next = (newest_first.len() > limit).then(|| newest_first[limit - 1].0.clone());
        let items = newest_first
            .into_iter()
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect();
        Ok(ReferralPage {
            items,
            next,
            total: list.len() as u64,
        })
    }
}
