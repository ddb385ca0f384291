//! Invite activations and the inviter's list of referrals.

use std::collections::HashMap;
use std::ops::ControlFlow;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use crate::domain::invite::InviteCode;
use crate::domain::time::Timestamp;
use crate::domain::user::{Inviter, User, UserId};
use crate::error::Result;
use crate::ports::{Activation, InviteOwner, InviteStore, Referral, ReferralKey, ReferralPage};

use super::errors::store_error;
use super::items::{InviteItem, ReferralItem, UserItem, invite_key, user_key};
use super::{DynamoStore, Item, built, from_item, key, n, s, to_item};

/// The key of one entry of `inviter`'s referrals (invites table).
pub(super) fn referrals_key(inviter: UserId, sk: &ReferralKey) -> Item {
    HashMap::from([
        ("inviter".to_owned(), n(inviter.0)),
        ("sk".to_owned(), s(&sk.0)),
    ])
}

impl DynamoStore {
    /// How many referrals `inviter` has: a count of the list's items (no
    /// item read back, a page of up to 1 MB a call).
    async fn referrals_total(&self, inviter: UserId) -> Result<u64> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.invites)
            .key_condition_expression("inviter = :inviter")
            .expression_attribute_values(":inviter", n(inviter.0))
            .select(Select::Count);
        let mut total = 0;
        self.each_page(query, |page| {
            total += u64::try_from(page.count).unwrap_or(0);
            Ok(ControlFlow::<()>::Continue(()))
        })
        .await?;
        Ok(total)
    }

    /// Runs `query` page by page, handing each to `page` until it breaks
    /// (its value answered) or the pages end (`None`).
    async fn each_page<T>(
        &self,
        query: QueryFluentBuilder,
        mut page: impl FnMut(QueryOutput) -> Result<ControlFlow<T>>,
    ) -> Result<Option<T>> {
        let mut start = None;
        loop {
            let output = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            start = output.last_evaluated_key.clone();
            if let ControlFlow::Break(found) = page(output)? {
                return Ok(Some(found));
            }
            if start.is_none() {
                return Ok(None);
            }
        }
    }

    /// Where `user` sits in `inviter`'s referrals: from the activation time
    /// the user item keeps, or, for an item without it, found by a query.
    pub(super) async fn referral_key(
        &self,
        inviter: &Inviter,
        user: &User,
    ) -> Result<Option<Item>> {
        if let Some(at) = inviter.at {
            let referral = Referral {
                id: user.id,
                phone: user.phone.clone(),
                date: at,
            };
            return Ok(Some(referrals_key(inviter.id, &ReferralKey::of(&referral))));
        }
        let query = self
            .client
            .query()
            .table_name(&self.tables.invites)
            .key_condition_expression("inviter = :inviter")
            .filter_expression("invitee = :me")
            .expression_attribute_values(":inviter", n(inviter.id.0))
            .expression_attribute_values(":me", n(user.id.0));
        self.each_page(query, |page| {
            Ok(match page.items.unwrap_or_default().into_iter().next() {
                Some(item) => {
                    let listed = from_item::<ReferralItem>(item)?;
                    ControlFlow::Break(referrals_key(inviter.id, &ReferralKey(listed.sk)))
                }
                None => ControlFlow::Continue(()),
            })
        })
        .await
    }
}

#[async_trait]
impl InviteStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)> {
        let user_pk = user_key(user);
        let keys = vec![key("pk", s(&user_pk)), key("pk", s(invite_key(code)))];
        let found = self.batch_get(&self.tables.users, keys).await?;
        let (mut user, mut owner) = (None, None);
        for item in found {
            match item.get("pk") {
                Some(AttributeValue::S(pk)) if *pk == user_pk => {
                    user = Some(User::from(from_item::<UserItem>(item)?))
                }
                _ => owner = Some(InviteOwner::from(from_item::<InviteItem>(item)?)),
            }
        }
        Ok((user, owner))
    }

    #[tracing::instrument(skip_all)]
    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation> {
        let set_invite = built(
            Update::builder()
                .table_name(&self.tables.users)
                .set_key(Some(key("pk", s(user_key(user.id)))))
                .update_expression(
                    "SET inv = :code, inv_phone = :phone, parent_invite = :owner, inv_date = :at",
                )
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(inv)")
                .expression_attribute_values(":code", s(code.as_str()))
                .expression_attribute_values(":phone", s(owner.phone.as_str()))
                .expression_attribute_values(":owner", n(owner.id.0))
                .expression_attribute_values(":at", n(at.0))
                .build(),
        )?;
        // The owner still holds the code: checked, not written, so a
        // popular code's owner is no hot item (the count is the list's).
        let owner_holds = built(
            ConditionCheck::builder()
                .table_name(&self.tables.users)
                .set_key(Some(key("pk", s(invite_key(code)))))
                .condition_expression("user_id = :owner")
                .expression_attribute_values(":owner", n(owner.id.0))
                .build(),
        )?;
        let referral = Referral {
            id: user.id,
            phone: user.phone.clone(),
            date: at,
        };
        let listed = self.put(
            &self.tables.invites,
            to_item(&ReferralItem::new(owner.id, &referral))?,
            "attribute_not_exists(sk)",
        )?;
        let items = vec![
            TransactWriteItem::builder().update(set_invite).build(),
            TransactWriteItem::builder()
                .condition_check(owner_holds)
                .build(),
            listed,
        ];
        Ok(match self.transact(items).await? {
            Ok(()) => Activation::Activated,
            Err(cancelled) => match cancelled.failed_index() {
                Some(1) => Activation::OwnerGone,
                _ => Activation::AlreadyActivated,
            },
        })
    }

    #[tracing::instrument(skip_all)]
    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage> {
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.invites)
            .expression_attribute_values(":inviter", n(inviter.0))
            .scan_index_forward(false)
            // One more than asked tells whether there is a next page.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        query = match after {
            Some(after) => query
                .key_condition_expression("inviter = :inviter AND sk < :after")
                .expression_attribute_values(":after", s(&after.0)),
            None => query.key_condition_expression("inviter = :inviter"),
        };
        let (output, total) = tokio::try_join!(
            async { query.send().await.map_err(|e| store_error("Query", e)) },
            self.referrals_total(inviter)
        )?;
        let mut items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<ReferralItem>(item).map(Referral::from))
            .collect::<Result<Vec<_>>>()?;
        let next = (items.len() > limit).then(|| ReferralKey::of(&items[limit - 1]));
        items.truncate(limit);
        Ok(ReferralPage { items, next, total })
    }
}
