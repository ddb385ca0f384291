//! Invite codes and the referral lists their activations build.

use async_trait::async_trait;

use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::error::Result;

/// The owner of an invite code, as activating it needs to know them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteOwner {
    pub id: UserId,
    pub phone: Phone,
    pub date_joined: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// The user activated a code meanwhile (or no longer exists).
    AlreadyActivated,
    /// The code's owner no longer exists.
    OwnerGone,
}

/// One user who activated an inviter's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    pub id: UserId,
    pub phone: Phone,
    pub date: Timestamp,
}

/// Where a referral sits in its inviter's list: activation time, then id,
/// zero-padded so that the text sorts as the pair does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReferralKey(pub String);

impl ReferralKey {
    pub fn of(referral: &Referral) -> ReferralKey {
        ReferralKey(format!("{:015}#{:016}", referral.date.0, referral.id.0))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralPage {
    pub items: Vec<Referral>,
    /// Set when there are more, to pass as `after` for the next page.
    pub next: Option<ReferralKey>,
    /// The inviter's referrals in all: counted from the list itself, so no
    /// activation writes the inviter's own item (a popular code's owner
    /// would be a hot item).
    pub total: u64,
}

/// Invites and the referral lists they build.
#[async_trait]
pub trait InviteStore: Send + Sync {
    /// What activating `code` for `user` needs, in one round trip: the user
    /// and the code's owner, each if it exists.
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)>;

    /// Records that `user` activated `owner`'s code: sets the user's invite
    /// (only if none is set yet), adds one to the owner's referral count and
    /// lists the user among the owner's referrals; all or nothing.
    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation>;

    /// `inviter`'s referrals, newest first, at most `limit`, starting after
    /// `after` (the key of the last one seen).
    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage>;
}
