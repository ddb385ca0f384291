//! Wiring of the AWS world, for the functions, the dev server and the
//! tools alike: the HTTP client every SDK client shares, the SDK
//! configuration, and the DynamoDB and SNS ports built on it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::sns::SnsSms;
use crate::config::{ConfigError, Settings, SmsSending, Tables};
use crate::ports::{SmsSender, Store};

/// HTTPS on rustls with ring. The trust store is the platform's, or the
/// file `SSL_CERT_FILE` names, loaded on the first connection.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Turnstile's siteverify client, when the settings name it.
pub fn captcha(
    settings: Option<&crate::config::CaptchaSettings>,
) -> Result<Option<Arc<dyn crate::ports::CaptchaVerifier>>, ConfigError> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    let turnstile = crate::adapters::turnstile::Turnstile::new(
        settings.verify_url.clone(),
        settings.secret.clone(),
    )
    .map_err(|e| ConfigError {
        name: "CAPTCHA_VERIFY_URL",
        problem: format!("no TLS roots for siteverify: {e}"),
    })?;
    Ok(Some(Arc::new(turnstile)))
}

/// Timeouts short enough that a stalled call fails well inside a
/// function's own timeout.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// The SDK configuration inside Lambda, from the variables Lambda sets:
/// `AWS_REGION`, the function role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL`
/// when set. Nothing else of the SDK's default chain (profile files, SSO,
/// STS web identity, IMDS) runs on Lambda, so none of it is linked or read
/// at a cold start.
pub fn lambda_sdk_config(settings: &Settings) -> Result<SdkConfig, ConfigError> {
    let region = settings.get("AWS_REGION").ok_or(ConfigError {
        name: "AWS_REGION",
        problem: "is required and not set (Lambda sets it)".into(),
    })?;
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http_client())
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio's sleep"))
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .retry_config(RetryConfig::standard())
        .timeout_config(timeouts());
    if let Some(endpoint) = settings.get("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// The SDK configuration elsewhere (the dev server on `BACKEND=aws`, the
/// tools): the SDK's whole default chain, profiles and SSO included.
pub async fn aws_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// The SDK configuration of `import-django`: the default chain, and
/// throttling retried with backoff for longer than a request's (an import
/// runs for minutes and must not stop on a burst of throttling).
pub async fn import_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                // Long: a transaction retried after a timeout may have
                // committed, and the retry then counts it as already there.
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// The DynamoDB store; it builds its client when it first calls.
pub fn aws_store(sdk: &SdkConfig, tables: Tables) -> Arc<dyn Store> {
    Arc::new(DynamoStore::lazy(sdk, tables))
}

/// The SNS sender; it builds its client when it first sends.
pub fn aws_sms(sdk: &SdkConfig, sending: &SmsSending) -> Arc<dyn SmsSender> {
    Arc::new(SnsSms::lazy(sdk, sending))
}

/// The team's webhook bridge, when `SMS_PROVIDER=webhook` names one.
pub fn webhook_sms(
    config: &crate::config::Config,
    clock: Arc<dyn crate::ports::Clock>,
) -> Result<Option<Arc<dyn SmsSender>>, ConfigError> {
    let Some(webhook) = &config.webhook else {
        return Ok(None);
    };
    let sender =
        crate::adapters::webhook::WebhookSms::new(webhook.clone(), clock).map_err(|e| {
            ConfigError {
                name: "SMS_WEBHOOK_URL",
                problem: format!("no TLS roots for the webhook: {e}"),
            }
        })?;
    Ok(Some(Arc::new(sender)))
}

/// Who carries the codes: the webhook bridge, else SNS (its client built
/// when it first sends).
pub fn sms_sender(
    sdk: &SdkConfig,
    config: &crate::config::Config,
    clock: Arc<dyn crate::ports::Clock>,
) -> Result<Arc<dyn SmsSender>, ConfigError> {
    Ok(webhook_sms(config, clock)?.unwrap_or_else(|| aws_sms(sdk, &config.sms_sending)))
}

/// Test credentials and region, every client aimed at `endpoint` (a moto
/// server): for tests, the bench and local tools.
#[cfg(feature = "local")]
pub async fn moto_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}
