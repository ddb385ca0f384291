//! The users table's stream records (`NEW_AND_OLD_IMAGES`), read back
//! into users and into the events their changes mean.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::items::UserItem;
use crate::domain::event::{Event, events_of};
use crate::domain::time::Timestamp;
use crate::domain::user::User;

/// The events one stream record means, in order: none for an item that is
/// not a user, or a record it cannot read.
pub fn events_of_record(record: &Value) -> Vec<Event> {
    let dynamodb = &record["dynamodb"];
    let is_user = dynamodb["Keys"]["pk"]["S"]
        .as_str()
        .is_some_and(|pk| pk.starts_with("user#"));
    let (Some(change), true) = (record["eventID"].as_str(), is_user) else {
        return Vec::new();
    };
    let at = dynamodb["ApproximateCreationDateTime"]
        .as_f64()
        .map_or(Timestamp(0), |secs| Timestamp((secs * 1000.0) as i64));
    let before = user_of_image(&dynamodb["OldImage"]);
    let after = user_of_image(&dynamodb["NewImage"]);
    events_of(change, before.as_ref(), after.as_ref(), at)
}

/// A user item's image as the stream writes it (`{"S": ...}` and so on).
fn user_of_image(image: &Value) -> Option<User> {
    super::from_item::<UserItem>(item(image)?)
        .ok()
        .map(User::from)
}

/// A map of attributes as the stream writes it: an image, or an `M`.
fn item(map: &Value) -> Option<super::Item> {
    map.as_object()?
        .iter()
        .map(|(name, value)| Some((name.clone(), attribute(value)?)))
        .collect()
}

fn attribute(value: &Value) -> Option<AttributeValue> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(attribute)
                .collect::<Option<_>>()?,
        ),
        "M" => AttributeValue::M(item(inner)?),
        _ => return None,
    })
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_owned))
        .collect()
}
