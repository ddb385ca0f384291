//! The tables' keys, as the store uses them. Deployments get them from
//! `template.yaml`; tests and local runs create them with this.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use crate::config::Tables;
use crate::error::{Error, Result};

struct TableDef<'a> {
    name: &'a str,
    hash: (&'a str, ScalarAttributeType),
    range: Option<(&'a str, ScalarAttributeType)>,
    ttl: Option<&'a str>,
}

fn definitions(tables: &Tables) -> [TableDef<'_>; 4] {
    use ScalarAttributeType::{N, S};
    [
        TableDef {
            name: &tables.users,
            hash: ("pk", S),
            range: None,
            ttl: None,
        },
        TableDef {
            name: &tables.codes,
            hash: ("pk", S),
            range: None,
            ttl: Some("ttl"),
        },
        TableDef {
            name: &tables.sessions,
            hash: ("sid", S),
            range: None,
            ttl: Some("ttl"),
        },
        TableDef {
            name: &tables.invites,
            hash: ("inviter", N),
            range: Some(("sk", S)),
            ttl: None,
        },
    ]
}

fn internal(what: &str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

/// Creates the four tables (on-demand, TTL where the store writes one).
pub async fn create_tables(client: &Client, tables: &Tables) -> Result<()> {
    for def in definitions(tables) {
        let mut request = client
            .create_table()
            .table_name(def.name)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, kind, key_type) in
            std::iter::once((def.hash.0, def.hash.1.clone(), KeyType::Hash)).chain(
                def.range
                    .iter()
                    .map(|(name, kind)| (*name, kind.clone(), KeyType::Range)),
            )
        {
            request = request
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(kind)
                        .build()
                        .map_err(internal("attribute definition"))?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(key_type)
                        .build()
                        .map_err(internal("key schema"))?,
                );
        }
        request.send().await.map_err(|e| {
            Error::Internal(format!(
                "creating table {}: {}",
                def.name,
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ))
        })?;
        if let Some(attribute) = def.ttl {
            client
                .update_time_to_live()
                .table_name(def.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build()
                        .map_err(internal("ttl specification"))?,
                )
                .send()
                .await
                .map_err(|e| {
                    Error::Internal(format!(
                        "enabling TTL on {}: {}",
                        def.name,
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
        }
    }
    Ok(())
}
