//! Users and the claims on their phone and invite code, written together
//! by a first login.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{CustomClaims, Disabled, User, UserId};
use crate::error::{Error, Result};
use crate::ports::{CodeClaim, Login, LoginOutcome, Session, UserStore};

use super::errors::{conditional, store_error};
use super::items::{
    InviteItem, PhoneItem, SessionItem, UserItem, claims_text, invite_key, phone_key, user_key,
};
use super::{DynamoStore, from_item, key, n, s, to_item};

impl DynamoStore {
    /// `SET`s the present values and `REMOVE`s the absent ones on an
    /// existing user; false when there is none.
    async fn set_user_attributes(
        &self,
        id: UserId,
        attributes: &[(&str, Option<aws_sdk_dynamodb::types::AttributeValue>)],
    ) -> Result<bool> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", s(user_key(id)))))
            .condition_expression("attribute_exists(pk)");
        let (mut set, mut remove) = (Vec::new(), Vec::new());
        for (name, value) in attributes {
            match value {
                Some(value) => {
                    set.push(format!("{name} = :{name}"));
                    update = update.expression_attribute_values(format!(":{name}"), value.clone());
                }
                None => remove.push(*name),
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression = format!("SET {}", set.join(", "));
        }
        if !remove.is_empty() {
            expression = format!("{expression} REMOVE {}", remove.join(", "));
        }
        let result = update.update_expression(expression.trim()).send().await;
        conditional("UpdateItem", result)
    }

    /// A later login's update of its user: only while the user is on the
    /// login's phone (a phone change racing it moves the number away) and
    /// no disabling holds at the login's time, even one written after the
    /// user was read.
    pub(super) fn touch_last_login(
        &self,
        user: UserId,
        phone: &Phone,
        at: Timestamp,
    ) -> Result<TransactWriteItem> {
        self.update(
            &self.tables.users,
            key("pk", s(user_key(user))),
            "SET last_login = :at REMOVE changed_by",
            "phone = :phone AND \
             (attribute_not_exists(disabled_reason) OR disabled_until <= :at)",
            vec![(":at", n(at.0)), (":phone", s(phone.as_str()))],
        )
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>> {
        let item = self
            .get(&self.tables.users, key("pk", s(phone_key(phone))))
            .await?;
        item.map(|item| from_item::<PhoneItem>(item).map(|p| UserId(p.user_id)))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let item = self
            .get(&self.tables.users, key("pk", s(user_key(id))))
            .await?;
        item.map(|item| from_item::<UserItem>(item).map(User::from))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn user_exists(&self, id: UserId) -> Result<bool> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", s(user_key(id)))))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        Ok(output.item.is_some())
    }

    #[tracing::instrument(skip_all)]
    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome> {
        let absent_pk = "attribute_not_exists(pk)";
        let mut items = vec![self.consume_code(claim)?];
        let on_failure: &[LoginOutcome] = match login {
            Login::Existing { user, at } => {
                items.push(self.touch_last_login(user, &claim.phone, at)?);
                &[LoginOutcome::UserGone]
            }
            Login::New(user) => {
                let phone = PhoneItem {
                    pk: phone_key(&user.phone),
                    user_id: user.id.0,
                };
                let invite = InviteItem {
                    pk: invite_key(&user.invite),
                    user_id: user.id.0,
                    phone: user.phone.as_str().to_owned(),
                    date_joined: user.date_joined.0,
                };
                items.push(self.put(&self.tables.users, to_item(&phone)?, absent_pk)?);
                items.push(self.put(&self.tables.users, to_item(&invite)?, absent_pk)?);
                items.push(self.put(
                    &self.tables.users,
                    to_item(&UserItem::from(user))?,
                    absent_pk,
                )?);
                &[
                    LoginOutcome::PhoneTaken,
                    LoginOutcome::InviteTaken,
                    LoginOutcome::IdTaken,
                ]
            }
        };
        items.push(self.put(
            &self.tables.sessions,
            to_item(&SessionItem::from(session))?,
            "attribute_not_exists(sid)",
        )?);
        let session_index = items.len() - 1;
        Ok(match self.transact(items).await? {
            Ok(()) => LoginOutcome::LoggedIn,
            Err(cancelled) => match cancelled.failed_index() {
                Some(0) | None => LoginOutcome::CodeGone,
                Some(i) if i == session_index => {
                    return Err(Error::Internal(
                        "a fresh session id was already taken".into(),
                    ));
                }
                Some(i) => on_failure
                    .get(i - 1)
                    .copied()
                    .unwrap_or(LoginOutcome::CodeGone),
            },
        })
    }

    #[tracing::instrument(skip_all)]
    async fn set_disabled(
        &self,
        id: UserId,
        disabled: Option<&Disabled>,
        by: &str,
    ) -> Result<bool> {
        let reason = disabled.map(|d| s(&d.reason));
        let until = disabled.and_then(|d| d.until).map(|t| n(t.0));
        let attributes = [
            ("disabled_reason", reason),
            ("disabled_until", until),
            ("changed_by", Some(s(by))),
        ];
        self.set_user_attributes(id, &attributes).await
    }

    #[tracing::instrument(skip_all)]
    async fn set_claims(&self, id: UserId, claims: &CustomClaims, by: &str) -> Result<bool> {
        let attributes = [
            ("claims", claims_text(claims).map(s)),
            ("changed_by", Some(s(by))),
        ];
        self.set_user_attributes(id, &attributes).await
    }

    #[tracing::instrument(skip_all)]
    async fn signed_out(&self, id: UserId, at: Timestamp, by: Option<&str>) -> Result<bool> {
        let attributes = [("signed_out_at", Some(n(at.0))), ("changed_by", by.map(s))];
        self.set_user_attributes(id, &attributes).await
    }

    #[tracing::instrument(skip_all)]
    async fn set_changed_by(&self, id: UserId, by: &str) -> Result<bool> {
        self.set_user_attributes(id, &[("changed_by", Some(s(by)))])
            .await
    }
}
