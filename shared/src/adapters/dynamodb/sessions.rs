//! Refresh sessions: one item each, rotated on the current `jti`.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::Result;
use crate::ports::{Rotation, Session, SessionState, SessionStore};

use super::errors::{conditional, store_error};
use super::items::SessionItem;
use super::{DynamoStore, from_item, key, n, s, to_item};

/// The sessions table's index by `user_id` (template.yaml), for logging a
/// user out everywhere.
const SESSIONS_BY_USER: &str = "by_user";

impl DynamoStore {
    async fn set_revoked(&self, sid: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(key("sid", s(sid))))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(sid)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        // Refused only when there is no such session (never was, or expired
        // and deleted): nothing to revoke then.
        conditional("UpdateItem", result)?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    /// One transaction: the record of the exchange (`sid` =
    /// `legacy#<jti>`, no `user_id`, so not in `by_user`; expired by TTL
    /// with the old token) if it is the first, and the session.
    #[tracing::instrument(skip_all)]
    async fn start_exchanged_session(
        &self,
        legacy_jti: &str,
        legacy_expires: Timestamp,
        session: &Session,
    ) -> Result<bool> {
        let mut marker = key("sid", s(format!("legacy#{legacy_jti}")));
        marker.insert("ttl".into(), n(legacy_expires.secs()));
        let items = vec![
            self.put(&self.tables.sessions, marker, "attribute_not_exists(sid)")?,
            self.put(
                &self.tables.sessions,
                to_item(&SessionItem::from(session))?,
                "attribute_not_exists(sid)",
            )?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }

    #[tracing::instrument(skip_all)]
    async fn rotate_session(
        &self,
        sid: &str,
        old_jti: &str,
        new_jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(key("sid", s(sid))))
            .update_expression(
                "SET current_jti = :new, previous_jti = :old, rotated_at = :now, \
                 expires_at = :exp, #ttl = :ttl",
            )
            .condition_expression("current_jti = :old AND revoked = :no")
            // A refused rotation answers the session as it stands, so the
            // grace rule needs no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":new", s(new_jti))
            .expression_attribute_values(":old", s(old_jti))
            .expression_attribute_values(":now", n(now.0))
            .expression_attribute_values(":exp", n(expires_at.0))
            .expression_attribute_values(":ttl", n(expires_at.secs()))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Rotation::Rotated),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let state = match failed.item() {
                        Some(item) => Some(from_item::<SessionItem>(item.clone())?.into()),
                        None => None,
                    };
                    Ok(Rotation::Refused(state))
                }
                _ => Err(store_error("UpdateItem", error)),
            },
        }
    }

    #[tracing::instrument(skip_all)]
    async fn session(&self, sid: &str) -> Result<Option<SessionState>> {
        let item = self.get(&self.tables.sessions, key("sid", s(sid))).await?;
        item.map(|item| from_item::<SessionItem>(item).map(SessionState::from))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_session(&self, sid: &str) -> Result<()> {
        self.set_revoked(sid).await
    }

    #[tracing::instrument(skip_all)]
    async fn sessions(&self, sids: &[String]) -> Result<Vec<(String, SessionState)>> {
        let keys = sids.iter().map(|sid| key("sid", s(sid.as_str()))).collect();
        let items = self.batch_get(&self.tables.sessions, keys).await?;
        items
            .into_iter()
            .map(|item| {
                let item: SessionItem = from_item(item)?;
                Ok((item.sid.clone(), SessionState::from(item)))
            })
            .collect()
    }

    /// By the sessions table's `user_id` index, a page at a time.
    #[tracing::instrument(skip_all)]
    async fn sessions_of(&self, user: UserId) -> Result<Vec<String>> {
        let mut sids = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.tables.sessions)
                .index_name(SESSIONS_BY_USER)
                .key_condition_expression("user_id = :user")
                .expression_attribute_values(":user", n(user.0))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            for item in output.items.unwrap_or_default() {
                if let Some(AttributeValue::S(sid)) = item.get("sid") {
                    sids.push(sid.clone());
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(sids);
            }
        }
    }

    /// Deleted, 25 to a request.
    #[tracing::instrument(skip_all)]
    async fn end_sessions(&self, sids: &[String]) -> Result<()> {
        let keys = sids.iter().map(|sid| key("sid", s(sid))).collect();
        self.batch_delete(&self.tables.sessions, keys).await
    }
}
