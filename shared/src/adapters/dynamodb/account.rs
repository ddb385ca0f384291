//! Deleting an account, and what the stream finishes after it.

use async_trait::async_trait;

use super::invites::referrals_key;
use crate::domain::user::UserId;
use crate::error::Result;
use crate::ports::{AccountStore, Deletion, DeletionOutcome, ReferralKey, SESSIONS_IN_DELETION};

use super::errors::conditional;
use super::items::{invite_key, phone_key, user_key};
use super::{DynamoStore, key, n, s};

#[async_trait]
impl AccountStore for DynamoStore {
    /// One transaction: the code, the user, the claims on its phone and
    /// invite code, its place in its inviter's referrals and up to
    /// `SESSIONS_IN_DELETION` sessions. A user that changed since it was
    /// read (an invite activated, its inviter detached) fails it.
    #[tracing::instrument(skip_all)]
    async fn delete_account(&self, deletion: Deletion<'_>) -> Result<DeletionOutcome> {
        let (user, claim) = (deletion.user, deletion.claim);
        let users = &self.tables.users;
        let id = || (":id", n(user.id.0));
        let code = match claim {
            Some(claim) => self.delete_code(claim)?,
            None => self.delete(
                &self.tables.codes,
                key("pk", s(phone_key(&user.phone))),
                "",
                vec![],
            )?,
        };
        let activated = user.activated.as_ref();
        let owner = activated.and_then(|a| a.owner.as_ref());
        let (unchanged, mut values) = match (activated, owner) {
            (None, _) => ("attribute_not_exists(inv)", vec![]),
            (Some(a), None) => (
                "inv = :inv AND attribute_not_exists(parent_invite)",
                vec![(":inv", s(a.code.as_str()))],
            ),
            (Some(a), Some(o)) => (
                "inv = :inv AND parent_invite = :owner",
                vec![(":inv", s(a.code.as_str())), (":owner", n(o.id.0))],
            ),
        };
        values.push(id());
        let mut items = vec![
            code,
            self.delete(
                users,
                key("pk", s(user_key(user.id))),
                &format!("id = :id AND {unchanged}"),
                values,
            )?,
            self.delete(
                users,
                key("pk", s(phone_key(&user.phone))),
                "user_id = :id",
                vec![id()],
            )?,
            self.delete(
                users,
                key("pk", s(invite_key(&user.invite))),
                "user_id = :id",
                vec![id()],
            )?,
        ];
        if let Some(owner) = owner.filter(|_| deletion.leaves_inviter)
            && let Some(listed) = self.referral_key(owner, user).await?
        {
            items.push(self.delete(&self.tables.invites, listed, "", vec![])?);
        }
        for sid in deletion.sessions.iter().take(SESSIONS_IN_DELETION) {
            items.push(self.delete(&self.tables.sessions, key("sid", s(sid)), "", vec![])?);
        }
        Ok(match self.transact(items).await? {
            Ok(()) => DeletionOutcome::Deleted,
            Err(cancelled) => match cancelled.failed_index() {
                Some(0) => DeletionOutcome::CodeGone,
                _ => DeletionOutcome::Changed,
            },
        })
    }

    /// One conditional update per invitee, 32 in flight: only those still
    /// pointing at `owner` change, so a retry changes nothing twice.
    #[tracing::instrument(skip_all)]
    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(invitees.iter().copied())
            .map(|invitee| async move {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.tables.users)
                    .set_key(Some(key("pk", s(user_key(invitee)))))
                    .update_expression("REMOVE inv_phone, parent_invite, inv_date")
                    .condition_expression("parent_invite = :owner")
                    .expression_attribute_values(":owner", n(owner.0))
                    .send()
                    .await;
                conditional("UpdateItem", result).map(drop)
            })
            .buffer_unordered(32)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()> {
        let keys = keys.iter().map(|sk| referrals_key(owner, sk)).collect();
        self.batch_delete(&self.tables.invites, keys).await
    }
}
