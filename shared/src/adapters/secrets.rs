//! Keys from AWS Secrets Manager, read once at cold start. In a deployment
//! the functions get only the secrets' ARNs in their environment; the key
//! material never sits in a template, a parameter or an environment variable.
//!
//! `JWT_SECRET_ARN` holds JSON: `{"kid": "k2", "key": "...", "private_key":
//! "<PKCS#8 PEM>"}`, and during a rotation also `"previous_kid"`,
//! `"previous_key"` and `"previous_public_key"`. The stack's `signing-key`
//! function writes it; `private_key` is read only under RS256.
//! `CODE_HASH_SECRET_ARN` holds the code-hash secret as plain text, and
//! `LEGACY_JWT_SECRET_ARN` `{"key": "..."}`: the Django system's SimpleJWT
//! key while its sessions move over, empty before and after.
//! `TEST_PHONE_CODES_SECRET_ARN` holds the review numbers' list as
//! `TEST_PHONE_CODES` reads it: their codes log in, so they are a secret.
//! `CAPTCHA_SECRET_ARN` holds Cloudflare Turnstile's secret key as plain
//! text (`CAPTCHA_PROVIDER=turnstile`), and `SMS_WEBHOOK_SECRET_ARN` the
//! Standard Webhooks secret that signs each send (`SMS_PROVIDER=webhook`).

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Settings};

/// The JSON of the `JWT_SECRET_ARN` secret (the stack's `signing-key`
/// function writes it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtSecret {
    pub kid: String,
    /// The HMAC key.
    pub key: String,
    /// The RSA key, PKCS#8 PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key: Option<String>,
    /// The previous RSA key's public half, SPKI PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_public_key: Option<String>,
}

async fn read(
    client: &aws_sdk_secretsmanager::Client,
    name: &'static str,
    arn: &str,
) -> Result<String, ConfigError> {
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError {
            name,
            problem: format!(
                "could not read the secret ({})",
                e.code().unwrap_or("no response")
            ),
        })?;
    output.secret_string.ok_or(ConfigError {
        name,
        problem: "the secret has no string value".into(),
    })
}

/// The JSON of the `LEGACY_JWT_SECRET_ARN` secret: the Django system's
/// SimpleJWT key, empty until the operator fills it in.
#[derive(Deserialize)]
struct LegacySecret {
    key: String,
}

/// Reads the secret `arn_setting` names, when it names one.
async fn read_named(
    client: &aws_sdk_secretsmanager::Client,
    settings: &Settings,
    arn_setting: &'static str,
) -> Result<Option<String>, ConfigError> {
    match settings.get(arn_setting) {
        Some(arn) => read(client, arn_setting, &arn).await.map(Some),
        None => Ok(None),
    }
}

/// The settings that name a secret to read at start-up.
const ARNS: [&str; 6] = [
    "JWT_SECRET_ARN",
    "CODE_HASH_SECRET_ARN",
    "LEGACY_JWT_SECRET_ARN",
    "TEST_PHONE_CODES_SECRET_ARN",
    "CAPTCHA_SECRET_ARN",
    "SMS_WEBHOOK_SECRET_ARN",
];

/// Whether a start-up reads secrets: as deployed, it does.
pub fn named(settings: &Settings) -> bool {
    ARNS.iter().any(|arn| settings.get(arn).is_some())
}

/// Fills the key settings from the secrets the `*_SECRET_ARN` settings name.
/// Settings without an ARN are left as they are.
pub async fn resolve(
    sdk: &aws_config::SdkConfig,
    settings: &mut Settings,
) -> Result<(), ConfigError> {
    if !named(settings) {
        return Ok(());
    }
    let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
    // The SDKs' variable for this service's own endpoint: a VPC endpoint,
    // or in the bench a host apart from DynamoDB's, as on AWS.
    if let Some(url) = settings.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_secretsmanager::Client::from_conf(config.build());
    let (jwt, hash, legacy, test_phones, captcha, webhook) = tokio::join!(
        read_named(&client, settings, ARNS[0]),
        read_named(&client, settings, ARNS[1]),
        read_named(&client, settings, ARNS[2]),
        read_named(&client, settings, ARNS[3]),
        read_named(&client, settings, ARNS[4]),
        read_named(&client, settings, ARNS[5]),
    );
    if let Some(secret) = webhook? {
        settings.set("SMS_WEBHOOK_SECRET", secret);
    }
    if let Some(secret) = captcha? {
        settings.set("CAPTCHA_SECRET", secret);
    }
    if let Some(list) = test_phones? {
        settings.set("TEST_PHONE_CODES", list);
    }
    if let Some(json) = jwt? {
        let keys: JwtSecret = serde_json::from_str(&json).map_err(|_| ConfigError {
            name: "JWT_SECRET_ARN",
            problem: "the secret is not JSON with \"kid\" and \"key\"".into(),
        })?;
        settings.set("JWT_KEY_ID", keys.kid);
        settings.set("JWT_SIGNING_KEY", keys.key);
        if let Some(kid) = keys.previous_kid {
            settings.set("JWT_PREVIOUS_KEY_ID", kid);
        }
        if let Some(key) = keys.previous_key {
            settings.set("JWT_PREVIOUS_SIGNING_KEY", key);
        }
        if let Some(pem) = keys.private_key {
            settings.set("JWT_PRIVATE_KEY", pem);
        }
        if let Some(pem) = keys.previous_public_key {
            settings.set("JWT_PREVIOUS_PUBLIC_KEY", pem);
        }
    }
    if let Some(secret) = hash? {
        settings.set("CODE_HASH_SECRET", secret);
    }
    if let Some(json) = legacy? {
        let legacy: LegacySecret = serde_json::from_str(&json).map_err(|_| ConfigError {
            name: "LEGACY_JWT_SECRET_ARN",
            problem: "the secret is not JSON with \"key\"".into(),
        })?;
        // Empty: the operator has not filled it in, or emptied it once the
        // old refresh tokens expired.
        settings.set("LEGACY_JWT_SIGNING_KEY", legacy.key);
    }
    Ok(())
}
