//! The store on DynamoDB. Every rule that must hold under concurrency (one
//! user per phone, unique invite codes, single-use codes, capped counters,
//! one current refresh token per session) is a condition on the write that
//! would break it, never a read before the write.

mod account;
mod codes;
mod errors;
#[cfg(feature = "local")]
pub mod import;
mod invites;
mod items;
#[cfg(feature = "local")]
pub mod schema;
#[cfg(feature = "local")]
mod seed;
mod sessions;
mod stream;
mod users;

pub use items::PHONE_PENDING;
pub use stream::events_of_record;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, Update,
    WriteRequest,
};
use serde::Serialize;

use crate::adapters::lazy::LazyClient;
use crate::config::Tables;
use crate::error::{Error, Result};

use errors::{Cancelled, TransactError, store_error};

type Item = HashMap<String, AttributeValue>;

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

    /// Opens the connection to DynamoDB (TCP and the TLS handshake), which
    /// the client's pool keeps for the calls that follow. DescribeEndpoints
    /// reads no table and tells nothing: the cheapest signed call there is.
    pub async fn connect(&self) -> Result<()> {
        self.client
            .describe_endpoints()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DescribeEndpoints", e))
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

    /// Every item of `keys` in `table` that exists, read consistently: a
    /// BatchGetItem per hundred keys (its limit), all in flight at once.
    async fn batch_get(&self, table: &str, keys: Vec<Item>) -> Result<Vec<Item>> {
        let reads = keys
            .chunks(100)
            .map(|chunk| self.batch_get_hundred(table, chunk.to_vec()));
        let found = futures_util::future::try_join_all(reads).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One BatchGetItem of at most 100 keys, asking again for what
    /// DynamoDB leaves unprocessed under load.
    async fn batch_get_hundred(&self, table: &str, keys: Vec<Item>) -> Result<Vec<Item>> {
        let wanted = built(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build(),
        )?;
        let mut pending = Some(HashMap::from([(table.to_owned(), wanted)]));
        let mut found = Vec::new();
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
        Ok(found)
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

    /// A transaction item updating `key` of `table` where `condition` holds.
    fn update(
        &self,
        table: &str,
        key: Item,
        expression: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
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
}
