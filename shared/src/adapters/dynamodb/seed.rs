//! Referrals written in bulk, as activations would have left them: data at
//! the scale the bench measures deletions with (the `local` feature only).

use aws_sdk_dynamodb::types::WriteRequest;

use crate::domain::invite::InviteCode;
use crate::domain::time::Timestamp;
use crate::domain::user::{ActivatedInvite, Inviter, User};
use crate::error::Result;
use crate::ports::{InviteOwner, Referral};

use super::items::{ReferralItem, UserItem};
use super::{DynamoStore, Item, built, to_item};

impl DynamoStore {
    /// Users who activated `owner`'s code at `at`, written as the
    /// activations would have left them, 25 to a request: data at a scale
    /// the bench measures deletions with.
    pub async fn seed_invitees(
        &self,
        owner: &InviteOwner,
        code: &InviteCode,
        invitees: &[User],
        at: Timestamp,
    ) -> Result<()> {
        let put = |item: Item| {
            let request = aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(item));
            let put = built(request.build())?;
            Ok(WriteRequest::builder().put_request(put).build())
        };
        let mut users = Vec::new();
        let mut listed = Vec::new();
        for invitee in invitees {
            let mut user = invitee.clone();
            user.activated = Some(ActivatedInvite {
                code: code.clone(),
                owner: Some(Inviter {
                    id: owner.id,
                    phone: owner.phone.clone(),
                    at: Some(at),
                }),
            });
            users.push(put(to_item(&UserItem::from(&user))?)?);
            let referral = Referral {
                id: user.id,
                phone: user.phone.clone(),
                date: at,
            };
            listed.push(put(to_item(&ReferralItem::new(owner.id, &referral))?)?);
        }
        self.batch_write(&self.tables.users, users).await?;
        self.batch_write(&self.tables.invites, listed).await
    }
}
