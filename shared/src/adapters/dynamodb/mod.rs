//! The store on DynamoDB. Every rule that must hold under concurrency (one
//! user per phone, unique invite codes, single-use codes, capped counters,
//! one current refresh token per session) is a condition on the write that
//! would break it, never a read before the write.

mod errors;
#[cfg(feature = "local")]
pub mod import;
mod items;
#[cfg(feature = "local")]
pub mod schema;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};
use serde::Serialize;

use crate::adapters::lazy::LazyClient;
use crate::config::Tables;
use crate::domain::code::CodeHash;
use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{Inviter, User, UserId};
use crate::error::{Error, Result};
use crate::ports::{
    AccountStore, Activation, Charge, CodeClaim, CodeRecord, CodeStore, Deletion, DeletionOutcome,
    InviteOwner, InviteStore, Login, LoginOutcome, Referral, ReferralKey, ReferralPage, Rotation,
    SESSIONS_IN_DELETION, SaveCode, Session, SessionState, SessionStore, UserStore,
};

use errors::{Cancelled, TransactError, conditional, store_error};
use items::{
    CodeItem, InviteItem, PhoneItem, ReferralItem, SessionItem, UserItem, invite_key, phone_key,
    user_key,
};

type Item = HashMap<String, AttributeValue>;

/// The sessions table's index by `user_id` (template.yaml), for logging a
/// user out everywhere.
const SESSIONS_BY_USER: &str = "by_user";

pub struct DynamoStore {
    client: LazyClient<Client>,
    tables: Tables,
}

fn to_item<T: Serialize>(value: &T) -> Result<Item> {
    serde_dynamo::to_item(value).map_err(|e| Error::Internal(format!("serialising an item: {e}")))
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|e| Error::Internal(format!("reading an item: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(name: &str, value: AttributeValue) -> Item {
    HashMap::from([(name.to_owned(), value)])
}

/// What a login or a deletion holds its code to: the hash it matched, not
/// burned, not expired (with `#hash` naming `hash`, a reserved word).
const CLAIM_HOLDS: &str = "#hash = :hash AND attempts < :max AND expires_at > :now";

fn claim_values(claim: &CodeClaim) -> [(&'static str, AttributeValue); 3] {
    [
        (":hash", s(&claim.hash.0)),
        (":max", n(claim.max_attempts)),
        (":now", n(claim.now.0)),
    ]
}

/// The key of one entry of `inviter`'s referrals (invites table).
fn referrals_key(inviter: UserId, sk: &ReferralKey) -> Item {
    HashMap::from([
        ("inviter".to_owned(), n(inviter.0)),
        ("sk".to_owned(), s(&sk.0)),
    ])
}

/// Builds a transaction item; building fails only on a missing required
/// field, which is a bug here.
fn built<T>(result: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    result.map_err(|e| Error::Internal(format!("building a DynamoDB request: {e}")))
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> DynamoStore {
        DynamoStore {
            client: LazyClient::ready(client),
            tables,
        }
    }

    /// A store whose client is built on its first call.
    pub fn lazy(sdk: &aws_config::SdkConfig, tables: Tables) -> DynamoStore {
        DynamoStore {
            client: LazyClient::new(sdk, Client::new),
            tables,
        }
    }

    async fn get(&self, table: &str, key: Item) -> Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        Ok(output.item)
    }

    /// Runs a transaction, retrying it when DynamoDB reports a conflict with
    /// another transaction in flight; a cancelled transaction answers which
    /// of its items failed its condition.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Result<(), Cancelled>> {
        const TRIES: u32 = 4;
        for attempt in 1..=TRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match errors::transact_outcome(result) {
                Ok(()) => return Ok(Ok(())),
                Err(TransactError::Cancelled(cancelled)) => return Ok(Err(cancelled)),
                Err(TransactError::Conflict) if attempt < TRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)))
                        .await;
                }
                Err(TransactError::Conflict) => {
                    return Err(Error::StoreUnavailable(
                        "transaction conflicts persisted".into(),
                    ));
                }
                Err(TransactError::Other(e)) => return Err(e),
            }
        }
        unreachable!("the last try returns")
    }

    fn put(&self, table: &str, item: Item, condition: &str) -> Result<TransactWriteItem> {
        let put = built(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(condition)
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction item deleting `key` where `condition` holds (none when
    /// empty); `values` are the condition's.
    fn delete(
        &self,
        table: &str,
        key: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let mut delete = Delete::builder().table_name(table).set_key(Some(key));
        if !condition.is_empty() {
            delete = delete.condition_expression(condition);
        }
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
    }

    /// Where `user` sits in `inviter`'s referrals: from the activation time
    /// the user item keeps, or, for an item without it, found by a query.
    async fn referral_key(&self, inviter: &Inviter, user: &User) -> Result<Option<Item>> {
        if let Some(at) = inviter.at {
            let referral = Referral {
                id: user.id,
                phone: user.phone.clone(),
                date: at,
            };
            return Ok(Some(referrals_key(inviter.id, &ReferralKey::of(&referral))));
        }
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.tables.invites)
                .key_condition_expression("inviter = :inviter")
                .filter_expression("invitee = :me")
                .expression_attribute_values(":inviter", n(inviter.id.0))
                .expression_attribute_values(":me", n(user.id.0))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            if let Some(item) = output.items.unwrap_or_default().into_iter().next() {
                let listed = from_item::<ReferralItem>(item)?;
                return Ok(Some(referrals_key(inviter.id, &ReferralKey(listed.sk))));
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(None);
            }
        }
    }

    fn charge_update(&self, charge: &Charge) -> Result<TransactWriteItem> {
        let update = built(
            Update::builder()
                .table_name(&self.tables.codes)
                .set_key(Some(key("pk", s(&charge.key))))
                .update_expression("SET #ttl = :ttl ADD #count :one")
                .condition_expression("attribute_not_exists(#count) OR #count < :cap")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":ttl", n(charge.expires_at.secs()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cap", n(charge.cap))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A login's use of its code: the hash goes, the record stays (it keeps
    /// the phone's send history).
    fn consume_code(&self, claim: &CodeClaim) -> Result<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(&claim.phone)))))
            .update_expression("SET attempts = :zero REMOVE #hash")
            .condition_expression(CLAIM_HOLDS)
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_values(":zero", n(0));
        for (name, value) in claim_values(claim) {
            update = update.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// A deletion's use of its code: the whole record goes (it names the
    /// phone), on the same condition as a login's.
    fn delete_code(&self, claim: &CodeClaim) -> Result<TransactWriteItem> {
        let mut delete = Delete::builder()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(&claim.phone)))))
            .condition_expression(CLAIM_HOLDS)
            .expression_attribute_names("#hash", "hash");
        for (name, value) in claim_values(claim) {
            delete = delete.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
    }

    fn touch_last_login(&self, user: UserId, at: Timestamp) -> Result<TransactWriteItem> {
        let update = built(
            Update::builder()
                .table_name(&self.tables.users)
                .set_key(Some(key("pk", s(user_key(user)))))
                .update_expression("SET last_login = :at")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":at", n(at.0))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Deletes every key, 25 to a BatchWriteItem.
    async fn batch_delete(&self, table: &str, keys: Vec<Item>) -> Result<()> {
        let requests = keys
            .into_iter()
            .map(|key| {
                let delete = built(DeleteRequest::builder().set_key(Some(key)).build())?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(table, requests).await
    }

    /// Writes every request, 25 to a BatchWriteItem, asking again (with a
    /// growing pause) for what DynamoDB left unprocessed.
    async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> Result<()> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    let pause = 25u64 << attempt.min(5);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .map_err(|e| store_error("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(table))
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(Error::StoreUnavailable(
                    "BatchWriteItem left items unprocessed".into(),
                ));
            }
        }
        Ok(())
    }

    /// Users who activated `owner`'s code at `at`, written as the
    /// activations would have left them, 25 to a request: data at a scale
    /// the bench measures deletions with.
    #[cfg(feature = "local")]
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
            user.activated = Some(crate::domain::user::ActivatedInvite {
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
        self.batch_write(&self.tables.invites, listed).await?;
        self.client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", s(user_key(owner.id)))))
            .update_expression("ADD referrals_count :n")
            .expression_attribute_values(":n", n(invitees.len()))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

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
impl CodeStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>> {
        let item = self
            .get(&self.tables.codes, key("pk", s(phone_key(phone))))
            .await?;
        item.map(|item| from_item::<CodeItem>(item).map(CodeRecord::from))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode> {
        let item = to_item(&CodeItem::from(record))?;
        let mut put = Put::builder()
            .table_name(&self.tables.codes)
            .set_item(Some(item));
        put = if record.version <= 1 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :previous")
                .expression_attribute_values(":previous", n(record.version - 1))
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
        ];
        for charge in charges {
            items.push(self.charge_update(charge)?);
        }
        Ok(match self.transact(items).await? {
            Ok(()) => SaveCode::Saved,
            Err(cancelled) => match cancelled.failed_index() {
                Some(0) | None => SaveCode::Conflict,
                Some(index) => SaveCode::LimitReached(index - 1),
            },
        })
    }

    #[tracing::instrument(skip_all)]
    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()> {
        // Conditional on the written version: when a later send replaced the
        // record, that one stands.
        let condition = "version = :written";
        match previous {
            Some(prev) => {
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.tables.codes)
                    .set_item(Some(to_item(&CodeItem::from(
                        &prev.restored_after(written),
                    ))?))
                    .condition_expression(condition)
                    .expression_attribute_values(":written", n(written.version))
                    .send()
                    .await;
                conditional("PutItem", result)?;
            }
            None => {
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.tables.codes)
                    .set_key(Some(key("pk", s(phone_key(&written.phone)))))
                    .condition_expression(condition)
                    .expression_attribute_values(":written", n(written.version))
                    .send()
                    .await;
                conditional("DeleteItem", result)?;
            }
        }
        for charge in charges {
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.codes)
                .set_key(Some(key("pk", s(&charge.key))))
                .update_expression("ADD #count :minus_one")
                .condition_expression("#count > :zero")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":minus_one", n(-1))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            conditional("UpdateItem", result)?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn count_wrong_attempt(&self, phone: &Phone, hash: &CodeHash, max: u32) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(phone)))))
            .update_expression("ADD attempts :one")
            .condition_expression("#hash = :hash AND attempts < :max")
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":hash", s(&hash.0))
            .expression_attribute_values(":max", n(max))
            .send()
            .await;
        conditional("UpdateItem", result)
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
                items.push(self.touch_last_login(user, at)?);
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

#[async_trait]
impl InviteStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)> {
        let user_pk = user_key(user);
        let keys = KeysAndAttributes::builder()
            .keys(key("pk", s(&user_pk)))
            .keys(key("pk", s(invite_key(code))))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::Internal(format!("building BatchGetItem: {e}")))?;
        let mut pending = Some(HashMap::from([(self.tables.users.clone(), keys)]));
        let mut found = Vec::new();
        // BatchGetItem may leave keys unprocessed under load: ask again.
        for _ in 0..5 {
            let Some(request) = pending.take().filter(|p| !p.is_empty()) else {
                break;
            };
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| store_error("BatchGetItem", e))?;
            found.extend(output.responses.unwrap_or_default().into_values().flatten());
            pending = output.unprocessed_keys;
        }
        if pending.is_some_and(|p| !p.is_empty()) {
            return Err(Error::StoreUnavailable(
                "BatchGetItem left keys unprocessed".into(),
            ));
        }
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
        let count = built(
            Update::builder()
                .table_name(&self.tables.users)
                .set_key(Some(key("pk", s(user_key(owner.id)))))
                .update_expression("ADD referrals_count :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", n(1))
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
            TransactWriteItem::builder().update(count).build(),
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
        let output = query.send().await.map_err(|e| store_error("Query", e))?;
        let mut items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<ReferralItem>(item).map(Referral::from))
            .collect::<Result<Vec<_>>>()?;
        let next = (items.len() > limit).then(|| ReferralKey::of(&items[limit - 1]));
        items.truncate(limit);
        Ok(ReferralPage { items, next })
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
        let code = self.delete_code(claim)?;
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
        if let Some(owner) = owner.filter(|_| deletion.leaves_inviter) {
            let count = built(
                Update::builder()
                    .table_name(users)
                    .set_key(Some(key("pk", s(user_key(owner.id)))))
                    .update_expression("ADD referrals_count :minus")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":minus", n(-1))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().update(count).build());
            if let Some(listed) = self.referral_key(owner, user).await? {
                items.push(self.delete(&self.tables.invites, listed, "", vec![])?);
            }
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
