//! Creating the tables exactly as `template.yaml` defines them, for tests
//! and local runs on moto: the tables the code is tested against are the
//! tables that deploy. Built only with the `local` feature.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_norway::Value;

use crate::config::Tables;
use crate::error::{Error, Result};

pub const TEMPLATE: &str = include_str!("../../../../template.yaml");

/// (name, type, HASH or RANGE)
pub type KeySpec = (String, String, String);

/// One `AWS::DynamoDB::Table` of the template, as far as creating it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub keys: Vec<KeySpec>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
    /// The stream's view type (`NEW_AND_OLD_IMAGES`, ...), when it has one.
    pub stream: Option<String>,
}

/// A global secondary index of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<KeySpec>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
}

fn text(value: &Value, path: &[&str]) -> Option<String> {
    let mut current = value;
    for key in path {
        current = current.get(*key)?;
    }
    current.as_str().map(str::to_owned)
}

fn invalid(what: &str) -> Error {
    Error::Internal(format!("template.yaml: {what}"))
}

/// Every DynamoDB table the template defines.
pub fn table_specs(template: &str) -> Result<Vec<TableSpec>> {
    let doc: Value = serde_norway::from_str(template).map_err(|e| invalid(&e.to_string()))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| invalid("no Resources"))?;
    let mut specs = Vec::new();
    for (id, resource) in resources {
        if text(resource, &["Type"]).as_deref() != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let logical_id = id
            .as_str()
            .ok_or_else(|| invalid("a resource id is not text"))?
            .to_owned();
        let properties = resource
            .get("Properties")
            .ok_or_else(|| invalid("a table has no Properties"))?;
        let types: Vec<(String, String)> = properties
            .get("AttributeDefinitions")
            .and_then(Value::as_sequence)
            .ok_or_else(|| invalid("a table has no AttributeDefinitions"))?
            .iter()
            .filter_map(|d| Some((text(d, &["AttributeName"])?, text(d, &["AttributeType"])?)))
            .collect();
        let key_schema = |schema: Option<&Value>| -> Result<Vec<KeySpec>> {
            schema
                .and_then(Value::as_sequence)
                .ok_or_else(|| invalid("a table or index has no KeySchema"))?
                .iter()
                .map(|k| {
                    let name =
                        text(k, &["AttributeName"]).ok_or_else(|| invalid("a key has no name"))?;
                    let kind =
                        text(k, &["KeyType"]).ok_or_else(|| invalid("a key has no KeyType"))?;
                    let (_, scalar) = types
                        .iter()
                        .find(|(n, _)| *n == name)
                        .ok_or_else(|| invalid("a key has no AttributeDefinition"))?;
                    Ok((name, scalar.clone(), kind))
                })
                .collect()
        };
        let keys = key_schema(properties.get("KeySchema"))?;
        let indexes = properties
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|index| {
                Ok(IndexSpec {
                    name: text(index, &["IndexName"]).ok_or_else(|| invalid("an unnamed index"))?,
                    keys: key_schema(index.get("KeySchema"))?,
                    projection: text(index, &["Projection", "ProjectionType"])
                        .ok_or_else(|| invalid("an index has no ProjectionType"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ttl_enabled = properties
            .get("TimeToLiveSpecification")
            .and_then(|t| t.get("Enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ttl_attribute = ttl_enabled
            .then(|| text(properties, &["TimeToLiveSpecification", "AttributeName"]))
            .flatten();
        let stream = text(properties, &["StreamSpecification", "StreamViewType"]);
        specs.push(TableSpec {
            logical_id,
            keys,
            indexes,
            ttl_attribute,
            stream,
        });
    }
    Ok(specs)
}

/// Each function's binary with the `MemorySize` it deploys with: its own,
/// else the template's global one. Lambda's CPU share follows from it.
pub fn function_memory_sizes(template: &str) -> Result<Vec<(String, u32)>> {
    let doc: Value = serde_norway::from_str(template).map_err(|e| invalid(&e.to_string()))?;
    let global = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("MemorySize"))
        .and_then(Value::as_u64);
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| invalid("no Resources"))?;
    let mut sizes = Vec::new();
    for resource in resources.values() {
        if text(resource, &["Type"]).as_deref() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = text(resource, &["Metadata", "BuildProperties", "Binary"])
            .ok_or_else(|| invalid("a function has no BuildProperties.Binary"))?;
        let memory = resource
            .get("Properties")
            .and_then(|p| p.get("MemorySize"))
            .and_then(Value::as_u64)
            .or(global)
            .ok_or_else(|| invalid(&format!("{binary} has no MemorySize")))?;
        let memory = u32::try_from(memory).map_err(|_| invalid("MemorySize is too large"))?;
        sizes.push((binary, memory));
    }
    Ok(sizes)
}

/// The name a table gets: `Tables` maps the template's logical ids.
fn name_for<'a>(tables: &'a Tables, logical_id: &str) -> Result<&'a str> {
    Ok(match logical_id {
        "UsersTable" => &tables.users,
        "CodesTable" => &tables.codes,
        "SessionsTable" => &tables.sessions,
        "InvitesTable" => &tables.invites,
        other => return Err(invalid(&format!("unknown table {other}"))),
    })
}

fn built<T>(result: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    result.map_err(|e| Error::Internal(format!("building a table definition: {e}")))
}

fn key_element((name, _, kind): &KeySpec) -> Result<KeySchemaElement> {
    built(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::from(kind.as_str()))
            .build(),
    )
}

/// Creates every table of `template.yaml` under the names in `tables`.
pub async fn create_tables(client: &Client, tables: &Tables) -> Result<()> {
    create(client, tables, true).await
}

/// The same tables without their streams, for a run that writes many
/// items and reads no stream (the bench): moto holds every stream record
/// in memory, and copies them with every transaction (a bench seeding
/// 10,000 referrals grew it past 23 GiB).
pub async fn create_tables_without_streams(client: &Client, tables: &Tables) -> Result<()> {
    create(client, tables, false).await
}

async fn create(client: &Client, tables: &Tables, streams: bool) -> Result<()> {
    for spec in table_specs(TEMPLATE)? {
        let name = name_for(tables, &spec.logical_id)?;
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest);
        let mut defined: Vec<&KeySpec> = Vec::new();
        for spec_key in spec
            .keys
            .iter()
            .chain(spec.indexes.iter().flat_map(|i| &i.keys))
        {
            if !defined.iter().any(|(name, ..)| *name == spec_key.0) {
                defined.push(spec_key);
            }
        }
        for (attribute, scalar, _) in defined {
            request = request.attribute_definitions(built(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::from(scalar.as_str()))
                    .build(),
            )?);
        }
        for key in &spec.keys {
            request = request.key_schema(key_element(key)?);
        }
        for index in &spec.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                );
            for key in &index.keys {
                gsi = gsi.key_schema(key_element(key)?);
            }
            request = request.global_secondary_indexes(built(gsi.build())?);
        }
        if let Some(view) = spec.stream.as_ref().filter(|_| streams) {
            request = request.stream_specification(built(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build(),
            )?);
        }
        request.send().await.map_err(|e| {
            Error::Internal(format!(
                "creating table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ))
        })?;
        if let Some(attribute) = &spec.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(built(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build(),
                )?)
                .send()
                .await
                .map_err(|e| {
                    Error::Internal(format!(
                        "enabling TTL on {name}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tables_the_store_uses() {
        let specs = table_specs(TEMPLATE).unwrap();
        let find = |id: &str| specs.iter().find(|s| s.logical_id == id).unwrap().clone();
        let key = |n: &str, t: &str, k: &str| (n.to_owned(), t.to_owned(), k.to_owned());
        assert_eq!(specs.len(), 4);
        assert_eq!(find("UsersTable").keys, vec![key("pk", "S", "HASH")]);
        assert_eq!(find("UsersTable").ttl_attribute, None);
        assert_eq!(find("CodesTable").ttl_attribute.as_deref(), Some("ttl"));
        assert_eq!(find("SessionsTable").keys, vec![key("sid", "S", "HASH")]);
        assert_eq!(find("SessionsTable").ttl_attribute.as_deref(), Some("ttl"));
        assert_eq!(
            find("SessionsTable").indexes,
            vec![IndexSpec {
                name: "by_user".into(),
                keys: vec![key("user_id", "N", "HASH")],
                projection: "KEYS_ONLY".into(),
            }]
        );
        assert_eq!(
            find("InvitesTable").keys,
            vec![key("inviter", "N", "HASH"), key("sk", "S", "RANGE")]
        );
    }

    #[test]
    fn reads_each_functions_memory_size_or_the_global_one() {
        let template = "Globals: {Function: {MemorySize: 128}}\nResources:\n  \
            A: {Type: AWS::Serverless::Function, Metadata: {BuildProperties: {Binary: a}}}\n  \
            B: {Type: AWS::Serverless::Function, Metadata: {BuildProperties: {Binary: b}}, \
            Properties: {MemorySize: 512}}\n  \
            T: {Type: AWS::DynamoDB::Table}\n";
        let mut sizes = function_memory_sizes(template).unwrap();
        sizes.sort();
        assert_eq!(sizes, vec![("a".into(), 128), ("b".into(), 512)]);
        assert_eq!(function_memory_sizes(TEMPLATE).unwrap().len(), 12);
    }
}
