//! Deleting an account: at once, everything that names the user and that
//! one transaction can hold; after it, their referrals, however many.

use async_trait::async_trait;

use super::{CodeClaim, ReferralKey};
use crate::domain::user::{User, UserId};
use crate::error::Result;

/// What a deletion removes in its one transaction.
pub struct Deletion<'a> {
    /// The user as read: the transaction holds only if it is unchanged.
    pub user: &'a User,
    /// The code sent to the user's phone, consumed (its record deleted);
    /// none for an operator's deletion, which deletes the record as it is.
    pub claim: Option<&'a CodeClaim>,
    /// Sessions ended in the same transaction.
    pub sessions: &'a [String],
    /// Whether the inviter's account still exists: if so the user leaves
    /// their referrals, and their count drops by one.
    pub leaves_inviter: bool,
}

/// The most sessions a deletion ends in its own transaction; any more end
/// just after it.
pub const SESSIONS_IN_DELETION: usize = 90;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionOutcome {
    Deleted,
    /// The code was used, replaced, burned or expired meanwhile.
    CodeGone,
    /// The user changed (or went) since it was read: read it again.
    Changed,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Deletes the user, their phone and invite code claims, the code, the
    /// listed sessions and their place in their inviter's referrals; all or
    /// nothing.
    async fn delete_account(&self, deletion: Deletion<'_>) -> Result<DeletionOutcome>;

    /// Forgets a deleted owner in the users who activated their code: each
    /// keeps `inv`, and loses the owner's phone and id.
    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()>;

    /// Deletes these entries of `owner`'s referrals.
    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()>;
}
