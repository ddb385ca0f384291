//! The writes of `import-django`: another system's users into the tables,
//! under the same conditions the service's own writes use, so an import
//! running beside live traffic never makes a second user for a phone or a
//! second owner for a code.
//!
//! One number may come under several old ids; the one that logged in last
//! is imported. Which one that is cannot be known before the whole dump has
//! been read, and the dump is too large to hold, so the first pass stages
//! every row's claim in the codes table (`import#<e164>`, expired by its
//! TTL a week later): a conditional put that only a later login replaces.
//! The second pass imports a row only if its claim won.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::errors::conditional;
use super::items::{InviteItem, PhoneItem, UserItem, invite_key, phone_key, user_key};
use super::{DynamoStore, Item, from_item, key, n, s, to_item};
use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::error::Result;
use crate::ports::UserStore;

/// How long a staged claim outlives the import.
const STAGED_TTL_SECS: i64 = 7 * 86_400;

/// A row's claim on its phone, after the first pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staged {
    /// This row holds the claim (or already did).
    Held,
    /// A row that logged in later holds it.
    LostTo(UserId),
}

/// What writing one user did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    Written,
    /// The user is there from an earlier run.
    Unchanged,
    /// The phone belongs to another user of this service (one who signed
    /// up here), so this row was not written.
    PhoneTaken(UserId),
    /// The invite code belongs to another user.
    CodeTaken(UserId),
}

fn staged_key(phone: &Phone) -> Item {
    key("pk", s(format!("import#{}", phone.as_str())))
}

/// A login time to compare claims by: never logged in sorts first.
fn login_rank(last_login: Option<Timestamp>) -> i64 {
    last_login.map_or(-1, |t| t.0)
}

impl DynamoStore {
    /// Stages `id`'s claim on `phone`: it takes the claim unless a row that
    /// logged in later (or at the same time with a higher id) has it.
    pub async fn stage_phone(
        &self,
        id: UserId,
        phone: &Phone,
        last_login: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Staged> {
        let mut item = staged_key(phone);
        item.insert("user_id".into(), n(id.0));
        item.insert("login".into(), n(login_rank(last_login)));
        item.insert("ttl".into(), n(now.secs() + STAGED_TTL_SECS));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.codes)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR login < :login OR (login = :login AND user_id < :id)",
            )
            .expression_attribute_values(":login", n(login_rank(last_login)))
            .expression_attribute_values(":id", n(id.0))
            .send()
            .await;
        if conditional("PutItem", result)? {
            return Ok(Staged::Held);
        }
        self.staged_holder(phone, id).await
    }

    /// Who holds the staged claim on `phone`, as seen by row `id`.
    pub async fn staged_holder(&self, phone: &Phone, id: UserId) -> Result<Staged> {
        // The staged claim has a phone claim's `user_id`.
        let holder = self
            .get(&self.tables.codes, staged_key(phone))
            .await?
            .map(|item| from_item::<PhoneItem>(item).map(|claim| UserId(claim.user_id)))
            .transpose()?;
        Ok(match holder {
            Some(holder) if holder != id => Staged::LostTo(holder),
            _ => Staged::Held,
        })
    }

    /// Writes `user` (without its activation) with its phone and invite
    /// code claimed, as a first login does: all or nothing.
    pub async fn import_user(&self, user: &User) -> Result<Imported> {
        let item = UserItem::from(&User {
            activated: None,
            ..user.clone()
        });
        let items: Vec<TransactWriteItem> = vec![
            self.put(
                &self.tables.users,
                to_item(&item)?,
                "attribute_not_exists(pk)",
            )?,
            self.put(
                &self.tables.users,
                to_item(&PhoneItem {
                    pk: phone_key(&user.phone),
                    user_id: user.id.0,
                })?,
                "attribute_not_exists(pk)",
            )?,
            self.put(
                &self.tables.users,
                to_item(&InviteItem {
                    pk: invite_key(&user.invite),
                    user_id: user.id.0,
                    phone: user.phone.as_str().to_owned(),
                    date_joined: user.date_joined.0,
                })?,
                "attribute_not_exists(pk)",
            )?,
        ];
        if self.transact(items).await?.is_ok() {
            return Ok(Imported::Written);
        }
        // Read what is there rather than trusting which condition failed
        // first: a rerun finds all three.
        let phone_owner = self.user_id_by_phone(&user.phone).await?;
        match phone_owner {
            Some(owner) if owner != user.id => return Ok(Imported::PhoneTaken(owner)),
            _ => {}
        }
        let code_owner = self
            .get(&self.tables.users, key("pk", s(invite_key(&user.invite))))
            .await?
            .map(|i| from_item::<InviteItem>(i).map(|c| UserId(c.user_id)))
            .transpose()?;
        match code_owner {
            Some(owner) if owner != user.id => Ok(Imported::CodeTaken(owner)),
            _ => Ok(Imported::Unchanged),
        }
    }

    /// Records an activation whose code's owner is gone: the user keeps the
    /// code, with no inviter (as after the inviter's deletion). False when
    /// the user had an activation already.
    pub async fn import_orphan_invite(&self, id: UserId, code: &InviteCode) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", s(user_key(id)))))
            .update_expression("SET inv = :code")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(inv)")
            .expression_attribute_values(":code", s(code.as_str()))
            .send()
            .await;
        conditional("UpdateItem", result)
    }
}
