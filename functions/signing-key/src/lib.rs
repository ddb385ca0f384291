//! The stack's `SigningKey` custom resource. The key material is made here,
//! inside the account, and written straight into `JwtKeySecret`: it never
//! appears in the template, a parameter, the resource's answer or a log.
//!
//! - Create: adds an RSA 2048 private key to the secret the stack made
//!   (which holds the HMAC key and its kid already).
//! - Update with a new `Generation`: rotates. Every key of the secret gets
//!   a successor under a new kid; the old kid, HMAC key and RSA public key
//!   become the previous ones, which still verify.
//! - Delete: nothing; the secret goes with the stack.
//!
//! The answer names the current kid (`KeyId`), which the stack outputs.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use phone_auth::adapters::secrets::JwtSecret;
use phone_auth::custom_resource::answer;
pub use phone_auth::custom_resource::respond;
use phone_auth::domain::token::rsa::{RsaSigningKey, generate_pem, public_pem_of};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Add an RSA key where there is none; keep everything else.
    Complete,
    /// New keys under a new kid, the current ones kept as previous.
    Rotate,
}

/// 64 letters and digits, as the template's `GenerateSecretString` makes.
fn hmac_key() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

/// A kid from the key itself (the start of its SHA-256), so two rotations
/// never reuse one and an operator's hand-made kid cannot collide.
fn kid_of(private_pem: &str) -> Result<String, String> {
    let key = RsaSigningKey::from_pem(String::new(), private_pem)?;
    let digest = Sha256::digest(key.public().modulus());
    Ok(URL_SAFE_NO_PAD.encode(&digest[..12]))
}

/// The secret after `change`.
pub fn changed(secret: &JwtSecret, change: Change) -> Result<JwtSecret, String> {
    match (change, &secret.private_key) {
        (Change::Complete, Some(_)) => Ok(secret.clone()),
        (Change::Complete, None) => {
            let (private, _) = generate_pem()?;
            Ok(JwtSecret {
                private_key: Some(private),
                ..secret.clone()
            })
        }
        (Change::Rotate, current) => {
            let (private, _) = generate_pem()?;
            Ok(JwtSecret {
                kid: kid_of(&private)?,
                key: hmac_key(),
                private_key: Some(private),
                previous_kid: Some(secret.kid.clone()),
                previous_key: Some(secret.key.clone()),
                previous_public_key: current.as_deref().map(public_pem_of).transpose()?,
            })
        }
    }
}

/// What a CloudFormation request asks of the secret, if anything.
pub fn change_for(event: &Value) -> Option<Change> {
    let generation = |props: &Value| props["Generation"].to_string();
    match event["RequestType"].as_str() {
        Some("Create") => Some(Change::Complete),
        Some("Update")
            if generation(&event["ResourceProperties"])
                != generation(&event["OldResourceProperties"]) =>
        {
            Some(Change::Rotate)
        }
        Some("Update") => Some(Change::Complete),
        _ => None,
    }
}

async fn read(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<JwtSecret, String> {
    let value = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the secret failed ({})",
                e.code().unwrap_or("no response")
            )
        })?;
    let text = value
        .secret_string
        .ok_or("the secret has no string value")?;
    serde_json::from_str(&text)
        .map_err(|_| "the secret is not JSON with \"kid\" and \"key\"".into())
}

async fn write(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    secret: &JwtSecret,
) -> Result<(), String> {
    let text = serde_json::to_string(secret).map_err(|e| e.to_string())?;
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(text)
        .send()
        .await
        .map_err(|e| {
            format!(
                "writing the secret failed ({})",
                e.code().unwrap_or("no response")
            )
        })?;
    Ok(())
}

/// Does what `event` asks and returns the kid now current.
async fn apply(client: &aws_sdk_secretsmanager::Client, event: &Value) -> Result<Value, String> {
    let id = event["ResourceProperties"]["SecretId"]
        .as_str()
        .ok_or("the resource has no SecretId")?;
    let Some(change) = change_for(event) else {
        return Ok(json!({}));
    };
    let secret = read(client, id).await?;
    let next = changed(&secret, change)?;
    if next != secret {
        write(client, id, &next).await?;
    }
    tracing::info!(kid = %next.kid, rotated = (change == Change::Rotate), "JWT keys in place");
    published(&next)
}

/// What the stack may know of the keys, as the resource's attributes: the
/// ids and the public halves, which the JWKS function publishes without
/// reading the secret (so it never holds a private key). Empty where there
/// is none.
fn published(secret: &JwtSecret) -> Result<Value, String> {
    let public = secret
        .private_key
        .as_deref()
        .map(public_pem_of)
        .transpose()?;
    Ok(json!({
        "KeyId": secret.kid,
        "PublicKey": public.unwrap_or_default(),
        "PreviousKeyId": secret.previous_kid.clone().unwrap_or_default(),
        "PreviousPublicKey": secret.previous_public_key.clone().unwrap_or_default(),
    }))
}

/// The answer CloudFormation waits for. The physical id is the secret's,
/// so an update never looks like a replacement (which would delete).
pub async fn handle(client: &aws_sdk_secretsmanager::Client, event: &Value) -> Value {
    let physical = event["ResourceProperties"]["SecretId"]
        .as_str()
        .or(event["PhysicalResourceId"].as_str())
        .unwrap_or("signing-key")
        .to_owned();
    let outcome = apply(client, event).await;
    if let Err(reason) = &outcome {
        tracing::error!(%reason, "the JWT keys were not changed");
    }
    answer(event, &physical, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs256_only() -> JwtSecret {
        JwtSecret {
            kid: "k1".into(),
            key: "a".repeat(64),
            ..JwtSecret::default()
        }
    }

    #[test]
    fn create_adds_an_rsa_key_and_keeps_the_rest() {
        let completed = changed(&hs256_only(), Change::Complete).unwrap();
        assert_eq!(
            (completed.kid.as_str(), completed.key.as_str()),
            ("k1", &*"a".repeat(64))
        );
        let pem = completed.private_key.clone().unwrap();
        assert!(RsaSigningKey::from_pem("k1".into(), &pem).is_ok());
        assert_eq!(changed(&completed, Change::Complete).unwrap(), completed);
    }

    #[test]
    fn rotation_keeps_the_old_keys_as_previous() {
        let first = changed(&hs256_only(), Change::Complete).unwrap();
        let second = changed(&first, Change::Rotate).unwrap();
        assert_ne!(second.kid, first.kid);
        assert_ne!(second.key, first.key);
        assert_eq!(second.key.len(), 64);
        assert_ne!(second.private_key, first.private_key);
        assert_eq!(second.previous_kid.as_deref(), Some("k1"));
        assert_eq!(second.previous_key, Some(first.key.clone()));
        let previous = second.previous_public_key.unwrap();
        assert_eq!(
            Some(previous),
            first
                .private_key
                .as_deref()
                .map(|p| public_pem_of(p).unwrap())
        );
    }

    #[test]
    fn only_a_new_generation_rotates() {
        let event = |kind: &str, new: u32, old: u32| {
            json!({"RequestType": kind, "ResourceProperties": {"Generation": new.to_string()},
                   "OldResourceProperties": {"Generation": old.to_string()}})
        };
        assert_eq!(change_for(&event("Create", 1, 1)), Some(Change::Complete));
        assert_eq!(change_for(&event("Update", 1, 1)), Some(Change::Complete));
        assert_eq!(change_for(&event("Update", 2, 1)), Some(Change::Rotate));
        assert_eq!(change_for(&event("Delete", 2, 1)), None);
    }
}
