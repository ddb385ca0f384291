use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;

/// Ids stay below 2^53 so that JavaScript clients read them exactly.
pub const MAX_ID: u64 = 1 << 53;

/// A user id: a uniform random draw, so one user's id says nothing about
/// another's and ids cannot be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl UserId {
    pub fn generate(rng: &mut impl Rng) -> UserId {
        UserId(rng.random_range(1..MAX_ID))
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The invite a user activated, denormalised into the user so that a profile
/// is one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivatedInvite {
    pub code: InviteCode,
    /// The code's owner; `None` once they deleted their account (the code
    /// stays, as the contract shows it).
    pub owner: Option<Inviter>,
}

/// Who owned an activated code, and when it was activated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inviter {
    pub id: UserId,
    pub phone: Phone,
    /// When the code was activated: where the user sits in the owner's
    /// referrals. Unknown for items written before it was kept.
    pub at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub phone: Phone,
    pub invite: InviteCode,
    pub activated: Option<ActivatedInvite>,
    pub last_login: Option<Timestamp>,
    pub date_joined: Timestamp,
    pub referrals_count: u64,
    /// When the user came over from the Django system (`import-django`);
    /// none for a user who signed up here. The old system's refresh tokens
    /// are exchanged only for such a user, and only those issued before.
    pub imported_at: Option<Timestamp>,
    /// Set by an operator: the account cannot log in or use its tokens.
    pub disabled: Option<Disabled>,
    /// Set by an operator: claims every access token of the user carries
    /// from its next login or refresh. Empty: none.
    pub claims: CustomClaims,
    /// When every session of the user was last ended at once (logging out
    /// everywhere, an operator's sign-out): an event says so.
    pub signed_out_at: Option<Timestamp>,
    /// The operator of the last admin change to the user (the events'
    /// `by`); none after a change of the user's own.
    pub changed_by: Option<String>,
}

impl User {
    /// A user who signs up at `at` with its first login: nothing
    /// activated, no referrals, nothing an operator set.
    pub fn signed_up(id: UserId, phone: Phone, invite: InviteCode, at: Timestamp) -> User {
        User {
            id,
            phone,
            invite,
            activated: None,
            last_login: Some(at),
            date_joined: at,
            referrals_count: 0,
            imported_at: None,
            disabled: None,
            claims: CustomClaims::new(),
            signed_out_at: None,
            changed_by: None,
        }
    }

    /// Whether an operator's disabling holds at `now`.
    pub fn disabled_at(&self, now: Timestamp) -> bool {
        self.disabled.as_ref().is_some_and(|d| d.holds(now))
    }
}

/// Claims an operator gives a user's access tokens, at their top level.
pub type CustomClaims = serde_json::Map<String, serde_json::Value>;

/// An operator's disabling of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disabled {
    pub reason: String,
    /// When it ends by itself; `None`: when an operator enables the account.
    pub until: Option<Timestamp>,
}

impl Disabled {
    pub fn holds(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_below_2_pow_53_and_spread() {
        let mut rng = rand::rng();
        let ids: Vec<u64> = (0..1000).map(|_| UserId::generate(&mut rng).0).collect();
        assert!(ids.iter().all(|id| (1..MAX_ID).contains(id)));
        let above_half = ids.iter().filter(|id| **id > MAX_ID / 2).count();
        assert!(
            (400..600).contains(&above_half),
            "{above_half} of 1000 above 2^52"
        );
    }
}
