//! Codes and the counters a send charges: one record per phone, replaced by
//! each send on its version, its wrong tries counted on the hash they were
//! made against.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::domain::code::CodeHash;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::ports::{
    Allowance, Charge, CodeClaim, CodeRecord, CodeStore, SaveCode, Tally, TallyField,
};

use super::errors::{conditional, store_error};
use super::items::{CodeItem, phone_key};
use super::{DynamoStore, built, from_item, key, n, s, to_item};

/// What a login or a deletion holds its code to: the hash it matched, its
/// allowance (`#tries`) not spent, not expired (with `#hash` naming `hash`,
/// a reserved word). A record written before the stranger's allowance
/// existed has no `stranger_attempts`: none spent.
const CLAIM_HOLDS: &str = "#hash = :hash AND (attribute_not_exists(#tries) OR #tries < :max) \
                           AND expires_at > :now";

fn claim_values(claim: &CodeClaim) -> [(&'static str, AttributeValue); 3] {
    [
        (":hash", s(&claim.hash.0)),
        (":max", n(claim.max_attempts)),
        (":now", n(claim.now.0)),
    ]
}

impl DynamoStore {
    /// One unit more on `charge.key`, unless that would pass its cap: a
    /// send's transaction item, or (a budget's shard) an update alone.
    fn charge_item(&self, charge: &Charge) -> Result<Update> {
        built(
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
        )
    }

    pub(super) fn charge_update(&self, charge: &Charge) -> Result<TransactWriteItem> {
        let update = self.charge_item(charge)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A login's use of its code: the hash goes, the record stays (it keeps
    /// the phone's send history).
    pub(super) fn consume_code(&self, claim: &CodeClaim) -> Result<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(&claim.phone)))))
            .update_expression("SET attempts = :zero, stranger_attempts = :zero REMOVE #hash")
            .condition_expression(CLAIM_HOLDS)
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_names("#tries", claim.allowance.attribute())
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
    pub(super) fn delete_code(&self, claim: &CodeClaim) -> Result<TransactWriteItem> {
        let mut delete = Delete::builder()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(&claim.phone)))))
            .condition_expression(CLAIM_HOLDS)
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_names("#tries", claim.allowance.attribute());
        for (name, value) in claim_values(claim) {
            delete = delete.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
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
        self.give_back(written, charges).await
    }

    #[tracing::instrument(skip_all)]
    async fn count_wrong_attempt(
        &self,
        phone: &Phone,
        hash: &CodeHash,
        allowance: Allowance,
        max: u32,
    ) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(phone_key(phone)))))
            .update_expression("ADD #tries :one")
            .condition_expression(
                "#hash = :hash AND (attribute_not_exists(#tries) OR #tries < :max)",
            )
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_names("#tries", allowance.attribute())
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":hash", s(&hash.0))
            .expression_attribute_values(":max", n(max))
            .send()
            .await;
        conditional("UpdateItem", result)
    }

    #[tracing::instrument(skip_all)]
    async fn charge(&self, charge: &Charge) -> Result<bool> {
        let update = self.charge_item(charge)?;
        let result = self
            .client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await;
        conditional("UpdateItem", result)
    }

    #[tracing::instrument(skip_all)]
    async fn add_to_counter(
        &self,
        counter: &str,
        field: TallyField,
        expires_at: Timestamp,
    ) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.tables.codes)
            .set_key(Some(key("pk", s(counter))))
            .update_expression("SET #ttl = :ttl ADD #field :one")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#field", field.attribute())
            .expression_attribute_values(":ttl", n(expires_at.secs()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

    /// A send reads its source's two hours and the pumping shards of its
    /// prefix and region: 162 keys.
    #[tracing::instrument(skip_all)]
    async fn counters(&self, keys: &[String]) -> Result<Vec<Tally>> {
        let mut found = HashMap::new();
        let mut unique: Vec<&String> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let wanted = unique
            .iter()
            .map(|counter| key("pk", s(counter.as_str())))
            .collect();
        for item in self.batch_get(&self.tables.codes, wanted).await? {
            let number = |name: &str| match item.get(name) {
                Some(AttributeValue::N(value)) => value.parse().unwrap_or(0),
                _ => 0,
            };
            if let Some(AttributeValue::S(pk)) = item.get("pk") {
                let tally = Tally {
                    count: number("count"),
                    logins: number("logins"),
                };
                found.insert(pk.clone(), tally);
            }
        }
        Ok(keys
            .iter()
            .map(|counter| found.get(counter).copied().unwrap_or_default())
            .collect())
    }
}

impl DynamoStore {
    /// One off each charge, once per send: a marker item for the send's id
    /// goes in the same transaction, so a retry after a lost answer finds
    /// it and gives nothing twice. A counter that is gone (its day or hour
    /// over) is left out rather than made negative.
    async fn give_back(&self, written: &CodeRecord, charges: &[Charge]) -> Result<()> {
        let mut charges: Vec<&Charge> = charges.iter().collect();
        let marker = written.verification_id.as_ref().map(|id| {
            let mut item = key("pk", s(format!("undo#{id}")));
            item.insert("ttl".into(), n(written.forget_at().secs()));
            item
        });
        loop {
            if charges.is_empty() {
                return Ok(());
            }
            let mut items = Vec::new();
            if let Some(marker) = &marker {
                items.push(self.put(
                    &self.tables.codes,
                    marker.clone(),
                    "attribute_not_exists(pk)",
                )?);
            }
            for charge in &charges {
                let update = built(
                    Update::builder()
                        .table_name(&self.tables.codes)
                        .set_key(Some(key("pk", s(&charge.key))))
                        .update_expression("ADD #count :minus_one")
                        .condition_expression("#count > :zero")
                        .expression_attribute_names("#count", "count")
                        .expression_attribute_values(":minus_one", n(-1))
                        .expression_attribute_values(":zero", n(0))
                        .build(),
                )?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
            let offset = usize::from(marker.is_some());
            match self.transact(items).await? {
                Ok(()) => return Ok(()),
                Err(cancelled) => match cancelled.failed_index() {
                    // The marker is there: this send was given back already.
                    Some(0) if marker.is_some() => return Ok(()),
                    Some(index) => {
                        charges.remove(index - offset);
                    }
                    None => {
                        return Err(crate::error::Error::StoreUnavailable(
                            "giving a send back was cancelled".into(),
                        ));
                    }
                },
            }
        }
    }
}
