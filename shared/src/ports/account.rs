//! Deleting an account: at once, everything that names the user and that
//! one transaction can hold; after it, their referrals, however many.

use async_trait::async_trait;

use super::{CodeClaim, ReferralKey};
use crate::domain::phone::Phone;
use crate::domain::user::{Inviter, User, UserId};
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

/// A user moving to a new phone, in one transaction: the new number's
/// code consumed, the new number claimed for the user, the old one
/// released, the user and its invite code's item told.
pub struct PhoneChange<'a> {
    /// The user as read, on its old phone: the transaction holds only if
    /// the phone is unchanged.
    pub user: &'a User,
    /// The code sent to the new number (its `phone`).
    pub claim: &'a CodeClaim,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneMove {
    Moved,
    /// The code was used, replaced, burned or expired meanwhile.
    CodeGone,
    /// Another account holds the new number.
    PhoneTaken,
    /// The user changed phone (or went) since it was read: read it again.
    UserChanged,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Moves the user to the claim's phone; all or nothing. The users who
    /// activated its code, and its place in its inviter's referrals, learn
    /// the new number after (`retag_*`).
    async fn change_phone(&self, change: PhoneChange<'_>) -> Result<PhoneMove>;

    /// Consumes the claimed code alone (a change refused after its code):
    /// false when it no longer holds.
    async fn use_code(&self, claim: &CodeClaim) -> Result<bool>;

    /// Shows `user`'s phone on its entry in `inviter`'s referrals, if the
    /// entry is there.
    async fn retag_referral(&self, inviter: &Inviter, user: &User) -> Result<()>;

    /// Shows `phone` as `inv_phone` in these users who activated `owner`'s
    /// code (only those still pointing at `owner`).
    async fn retag_invitees(&self, owner: UserId, invitees: &[UserId], phone: &Phone)
    -> Result<()>;

    /// Marks the user's change to `phone` as told to its referrals, if it
    /// is still on `phone` (a later change is told on its own).
    async fn phone_settled(&self, id: UserId, phone: &Phone) -> Result<()>;

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
