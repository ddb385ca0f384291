//! The profile and invites: reading one's own profile with a page of
//! referrals, and activating someone else's invite code once.

use super::Service;
use crate::domain::invite::InviteCode;
use crate::domain::token::Claims;
use crate::domain::user::{ActivatedInvite, Inviter, User, UserId};
use crate::error::{Error, Result};
use crate::ports::{Activation, Referral, ReferralKey, ReferralPage};

/// Whose profile a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileRef {
    Me,
    Id(UserId),
}

/// Which page of a profile's referrals to show.
#[derive(Clone, Debug, Default)]
pub struct ReferralsQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

pub const DEFAULT_REFERRALS_LIMIT: usize = 50;
pub const MAX_REFERRALS_LIMIT: usize = 100;

/// A user as the profile shows it, with one page of their referrals.
#[derive(Debug)]
pub struct Profile {
    pub user: User,
    pub referrals: Vec<Referral>,
    pub referrals_next: Option<String>,
}

impl Service {
    #[tracing::instrument(skip_all)]
    pub async fn profile(
        &self,
        caller: &Claims,
        target: ProfileRef,
        page: &ReferralsQuery,
    ) -> Result<Profile> {
        let id = self.owned(caller, target)?;
        let (limit, after) = self.referrals_page(id, page)?;
        let (user, referrals) = tokio::try_join!(
            self.store.user(id),
            self.store.referrals(id, limit, after.as_ref())
        )?;
        let user = self.with_live_inviter(self.active(user)?).await?;
        Ok(self.with_referrals(user, referrals))
    }

    /// Activates someone else's invite code for the caller, once ever.
    #[tracing::instrument(skip_all)]
    pub async fn activate_invite(
        &self,
        caller: &Claims,
        target: ProfileRef,
        code: &str,
        page: &ReferralsQuery,
    ) -> Result<Profile> {
        let id = self.owned(caller, target)?;
        let (limit, after) = self.referrals_page(id, page)?;
        let code = InviteCode::parse(code)?;
        let (user, owner) = self.store.activation_context(id, &code).await?;
        let mut user = self.active(user)?;
        let owner = owner.ok_or(Error::InviteNotFound)?;
        if owner.id == user.id {
            return Err(Error::InviteSelf);
        }
        if user.activated.is_some() {
            return Err(Error::InviteAlreadyActivated);
        }
        // Only someone who joined before you can have invited you (ties
        // broken by id): a strict order, so no chain of invites can loop.
        if (owner.date_joined, owner.id) >= (user.date_joined, user.id) {
            return Err(Error::InviteNotAllowed);
        }
        let now = self.clock.now();
        match self
            .store
            .activate_invite(&user, &code, &owner, now)
            .await?
        {
            Activation::Activated => {}
            Activation::AlreadyActivated => return Err(Error::InviteAlreadyActivated),
            Activation::OwnerGone => return Err(Error::InviteNotFound),
        }
        tracing::info!(
            user_id = user.id.0,
            inviter = owner.id.0,
            "invite activated"
        );
        user.activated = Some(ActivatedInvite {
            code,
            owner: Some(Inviter {
                id: owner.id,
                phone: owner.phone,
                at: Some(now),
            }),
        });
        let referrals = self.store.referrals(id, limit, after.as_ref()).await?;
        Ok(self.with_referrals(user, referrals))
    }

    /// The page size and starting point a query asks for, checked before
    /// anything is read.
    fn referrals_page(
        &self,
        owner: UserId,
        page: &ReferralsQuery,
    ) -> Result<(usize, Option<ReferralKey>)> {
        let limit = page.limit.unwrap_or(DEFAULT_REFERRALS_LIMIT);
        if !(1..=MAX_REFERRALS_LIMIT).contains(&limit) {
            return Err(invalid_referrals_limit());
        }
        let after = page
            .cursor
            .as_deref()
            .map(|cursor| self.cursors.decode(owner, cursor))
            .transpose()?;
        Ok((limit, after))
    }

    pub(super) fn with_referrals(&self, mut user: User, page: ReferralPage) -> Profile {
        let referrals_next = page.next.map(|key| self.cursors.encode(user.id, &key));
        user.referrals_count = page.total;
        Profile {
            user,
            referrals: page.items,
            referrals_next,
        }
    }

    /// The account an access token's owner acts as: gone is not found, and
    /// a disabled one may do nothing with the tokens it still holds.
    pub(super) fn active(&self, user: Option<User>) -> Result<User> {
        match user {
            Some(user) if user.disabled_at(self.clock.now()) => Err(Error::AccountDisabled),
            Some(user) => Ok(user),
            None => Err(Error::NotFound),
        }
    }

    /// Reads the caller's account and checks it is `active`.
    pub(super) async fn active_caller(&self, caller: &Claims) -> Result<User> {
        self.active(self.store.user(caller.user_id).await?)
    }

    /// Only the owner may see or change a profile.
    pub(super) fn owned(&self, caller: &Claims, target: ProfileRef) -> Result<UserId> {
        match target {
            ProfileRef::Me => Ok(caller.user_id),
            ProfileRef::Id(id) if id == caller.user_id => Ok(id),
            ProfileRef::Id(_) => Err(Error::PermissionDenied),
        }
    }
}

pub fn invalid_referrals_limit() -> Error {
    Error::InvalidRequest(format!(
        "referrals_limit must be a whole number from 1 to {MAX_REFERRALS_LIMIT}."
    ))
}
