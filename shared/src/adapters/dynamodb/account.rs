//! Deleting an account, and what the stream finishes after it.

use async_trait::async_trait;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::invites::referrals_key;
use crate::domain::phone::Phone;
use crate::domain::user::{Inviter, User, UserId};
use crate::error::Result;
use crate::ports::{
    AccountStore, CodeClaim, Deletion, DeletionOutcome, PhoneChange, PhoneMove, ReferralKey,
    SESSIONS_IN_DELETION,
};

use super::errors::conditional;
use super::items::{PHONE_PENDING, invite_key, phone_key, user_key};
use super::{DynamoStore, key, n, s};

impl DynamoStore {
    /// `expression` on each of `invitees` still pointing at `owner`: one
    /// conditional update each, 32 in flight.
    async fn update_invitees(
        &self,
        owner: UserId,
        invitees: &[UserId],
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<()> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(invitees.iter().copied())
            .map(|invitee| {
                let values = values.clone();
                async move {
                    let mut update = self
                        .client
                        .update_item()
                        .table_name(&self.tables.users)
                        .set_key(Some(key("pk", s(user_key(invitee)))))
                        .update_expression(expression)
                        .condition_expression("parent_invite = :owner")
                        .expression_attribute_values(":owner", n(owner.0));
                    for (name, value) in values {
                        update = update.expression_attribute_values(name, value);
                    }
                    conditional("UpdateItem", update.send().await).map(drop)
                }
            })
            .buffer_unordered(32)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    /// A transaction item deleting the users table's claim `pk` (a phone's
    /// or an invite code's) if it is still `user`'s.
    fn release(&self, pk: String, user: UserId) -> Result<TransactWriteItem> {
        let condition = "user_id = :id";
        let id = vec![(":id", n(user.0))];
        self.delete(&self.tables.users, key("pk", s(pk)), condition, id)
    }
}

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
            self.release(phone_key(&user.phone), user.id)?,
            self.release(invite_key(&user.invite), user.id)?,
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

    /// Only those still pointing at `owner` change, so a retry changes
    /// nothing twice.
    #[tracing::instrument(skip_all)]
    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()> {
        let expression = "REMOVE inv_phone, parent_invite, inv_date";
        self.update_invitees(owner, invitees, expression, vec![])
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()> {
        let keys = keys.iter().map(|sk| referrals_key(owner, sk)).collect();
        self.batch_delete(&self.tables.invites, keys).await
    }

    /// One transaction: the new number's code consumed, `phone#<new>` put
    /// if absent, `phone#<old>` deleted if the user's, the user moved (if
    /// still on the old number) and marked for the stream to tell its
    /// referrals, and its invite code's item told.
    #[tracing::instrument(skip_all)]
    async fn change_phone(&self, change: PhoneChange<'_>) -> Result<PhoneMove> {
        let (user, new) = (change.user, &change.claim.phone);
        let users = &self.tables.users;
        let id = || (":id", n(user.id.0));
        let items = vec![
            self.consume_code(change.claim)?,
            self.put(
                users,
                super::to_item(&super::items::PhoneItem {
                    pk: phone_key(new),
                    user_id: user.id.0,
                })?,
                "attribute_not_exists(pk)",
            )?,
            self.release(phone_key(&user.phone), user.id)?,
            self.update(
                users,
                key("pk", s(user_key(user.id))),
                &format!("SET phone = :new, {PHONE_PENDING} = :pending"),
                "phone = :old",
                vec![
                    (":new", s(new.as_str())),
                    (":old", s(user.phone.as_str())),
                    (":pending", AttributeValue::Bool(true)),
                ],
            )?,
            self.update(
                users,
                key("pk", s(invite_key(&user.invite))),
                "SET phone = :new",
                "user_id = :id",
                vec![(":new", s(new.as_str())), id()],
            )?,
        ];
        Ok(match self.transact(items).await? {
            Ok(()) => PhoneMove::Moved,
            Err(cancelled) => match cancelled.failed_index() {
                Some(0) | None => PhoneMove::CodeGone,
                Some(1) => PhoneMove::PhoneTaken,
                Some(_) => PhoneMove::UserChanged,
            },
        })
    }

    #[tracing::instrument(skip_all)]
    async fn use_code(&self, claim: &CodeClaim) -> Result<bool> {
        Ok(self
            .transact(vec![self.consume_code(claim)?])
            .await?
            .is_ok())
    }

    #[tracing::instrument(skip_all)]
    async fn retag_referral(&self, inviter: &Inviter, user: &User) -> Result<()> {
        let Some(listed) = self.referral_key(inviter, user).await? else {
            return Ok(());
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.invites)
            .set_key(Some(listed))
            .update_expression("SET phone = :phone")
            .condition_expression("attribute_exists(inviter)")
            .expression_attribute_values(":phone", s(user.phone.as_str()))
            .send()
            .await;
        conditional("UpdateItem", result).map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn retag_invitees(
        &self,
        owner: UserId,
        invitees: &[UserId],
        phone: &Phone,
    ) -> Result<()> {
        let phone = vec![(":phone", s(phone.as_str()))];
        self.update_invitees(owner, invitees, "SET inv_phone = :phone", phone)
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn phone_settled(&self, id: UserId, phone: &Phone) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", s(user_key(id)))))
            .update_expression(format!("REMOVE {PHONE_PENDING}"))
            .condition_expression("phone = :phone")
            .expression_attribute_values(":phone", s(phone.as_str()))
            .send()
            .await;
        conditional("UpdateItem", result).map(drop)
    }
}
