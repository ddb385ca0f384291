//! Running on AWS Lambda behind an API Gateway HTTP API: building the app
//! once per cold start, and translating events to and from `ApiRequest`.

use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use tracing_subscriber::filter::LevelFilter;

use crate::adapters::dynamodb::{DynamoStore, PHONE_PENDING};
use crate::adapters::emf::EmfMetrics;
use crate::adapters::secrets;
use crate::config::{Config, ConfigError, Settings, random_secret};
use crate::domain::service::{Service, finish_deletion, finish_phone_change};
use crate::domain::user::UserId;
use crate::error::Error;
use crate::http::routes::{Endpoint, Function};
use crate::http::{ApiRequest, ApiResponse, App};
use crate::ports::{Clock, OtpMessage, SmsSender, Store, SystemClock};
use crate::startup;

/// Reads the configuration or stops the process with one clear line: a
/// log line where logging is set up, else a line on standard error.
pub fn config_or_exit<T>(loaded: Result<T, ConfigError>) -> T {
    loaded.unwrap_or_else(|error| {
        if tracing::dispatcher::has_been_set() {
            tracing::error!("{error}");
        } else {
            eprintln!("{error}");
        }
        std::process::exit(1)
    })
}

/// The app of function `F`: the DynamoDB store, SNS only when `F` sends
/// SMS, and metrics as EMF lines under the `METRICS_STACK` dimension.
pub async fn app_from_env<F: Function>() -> App {
    let mut settings = Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let tables = config_or_exit(settings.tables());
    let dynamo = DynamoStore::lazy(&sdk, tables);
    // As deployed, start-up reads its keys from Secrets Manager over TLS;
    // the connection to DynamoDB is opened meanwhile, so that the first
    // request finds it open. Lambda runs start-up before the first event,
    // at full CPU by others' measurements (docs/BENCHMARKS.md). Locally,
    // with the keys in the environment, nothing connects before a request
    // needs it.
    let connect = secrets::named(&settings) && F::ENDPOINT.uses_store();
    let (resolved, connected) = tokio::join!(secrets::resolve(&sdk, &mut settings), async {
        if connect {
            dynamo.connect().await
        } else {
            Ok(())
        }
    });
    config_or_exit(resolved);
    if let Err(error) = connected {
        // The first request connects instead.
        tracing::warn!(%error, "connecting to DynamoDB at start-up failed");
    }
    stand_in_for_unused_secrets(F::ENDPOINT, &mut settings);
    let config: Config = config_or_exit(settings.config());
    for warning in config.rules.warnings(SystemClock.now()) {
        tracing::warn!("configuration: {warning}");
    }
    let store: Arc<dyn Store> = Arc::new(dynamo);
    let clock = Arc::new(SystemClock);
    let sms: Arc<dyn SmsSender> = if F::ENDPOINT.sends_sms() {
        config_or_exit(startup::sms_sender(&sdk, &config, clock.clone()))
    } else {
        Arc::new(NoSms)
    };
    // Only a send checks a Turnstile token.
    let captcha = if F::ENDPOINT.sends_sms() {
        config_or_exit(startup::captcha(config.captcha.as_ref()))
    } else {
        None
    };
    let service = Service::new(config.rules, store, sms, clock.clone()).with_captcha(captcha);
    if F::ENDPOINT.signs_tokens() {
        config_or_exit(service.check_signing_key().map_err(|problem| ConfigError {
            name: "JWT_PRIVATE_KEY",
            problem,
        }));
    }
    let stack = settings
        .get("METRICS_STACK")
        .unwrap_or_else(|| "phone-auth".into());
    let metrics = Arc::new(EmfMetrics::new(stack, clock.clone()));
    App::new(service.with_metrics(metrics))
}

/// The stack gives each function only the secrets it reads (least
/// privilege). The settings a function never reads are filled with a fresh
/// random value, so that one configuration type serves every function: a
/// stand-in signs nothing anyone accepts, and a secret the function does
/// read and lacks still stops it at start-up.
pub fn stand_in_for_unused_secrets(endpoint: Endpoint, settings: &mut Settings) {
    if !endpoint.uses_token_keys() && settings.get("JWT_SIGNING_KEY").is_none() {
        if settings.get("JWT_KEY_ID").is_none() {
            settings.set("JWT_KEY_ID", "unused".into());
        }
        settings.set("JWT_SIGNING_KEY", random_secret());
        if settings.get("JWT_PREVIOUS_KEY_ID").is_some() {
            settings.set("JWT_PREVIOUS_SIGNING_KEY", random_secret());
        }
        // Nothing to publish or check without the public key.
        if settings.get("JWT_PUBLIC_KEY").is_none() {
            settings.set("JWT_ALGORITHM", "HS256".into());
        }
    }
    if !endpoint.uses_code_hash() && settings.get("CODE_HASH_SECRET").is_none() {
        settings.set("CODE_HASH_SECRET", random_secret());
    }
    // Only a send checks a Turnstile token or signs a webhook.
    for secret in ["CAPTCHA_SECRET", "SMS_WEBHOOK_SECRET"] {
        if !endpoint.sends_sms() && settings.get(secret).is_none() {
            settings.set(secret, random_secret());
        }
    }
}

/// Logs to standard output as Lambda's logging settings ask: JSON when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON` (the template's `LogFormat`), at the
/// level `AWS_LAMBDA_LOG_LEVEL` names (its `ApplicationLogLevel`), else
/// `RUST_LOG`'s level, else INFO. The runtime crate's own subscriber does
/// the same through an `EnvFilter`, whose directive parser links a regex
/// engine and its Unicode tables into every function for a level.
pub fn init_logging() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok())
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// The whole `main` of a function: logs as JSON, configuration checked
/// before the first request, one app for every invocation.
pub async fn run<F: Function>() -> Result<(), lambda_http::Error> {
    init_logging();
    let app = Arc::new(app_from_env::<F>().await);
    lambda_http::run(lambda_http::service_fn(move |event: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(handle_event::<F>(&app, event).await) }
    }))
    .await
}

/// The whole `main` of `account-cleanup`: for each batch of the users
/// table's stream, finishes the deletion of every user item it removed.
pub async fn run_account_cleanup() -> Result<(), lambda_http::Error> {
    init_logging();
    let settings = Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let store = startup::aws_store(&sdk, config_or_exit(settings.tables()));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<Value>| {
            let store = Arc::clone(&store);
            async move {
                Ok::<_, std::convert::Infallible>(
                    cleanup_batch(store.as_ref(), &event.payload).await,
                )
            }
        },
    ))
    .await
}

/// Finishes what each stream record of the users table left: the deletion
/// of a user it removed, the phone change of a user it marked. In order;
/// on a failure it reports that record and stops, so that Lambda retries
/// the batch from there (`ReportBatchItemFailures`); finishing is safe to
/// repeat.
pub async fn cleanup_batch(store: &dyn Store, batch: &Value) -> Value {
    for record in batch["Records"].as_array().into_iter().flatten() {
        let Some((id, left)) = left_to_finish(record) else {
            continue;
        };
        let finished = match left {
            Left::Deletion => finish_deletion(store, id).await,
            Left::PhoneChange => finish_phone_change(store, id).await,
        };
        if let Err(error) = finished {
            tracing::error!(user_id = id.0, %error, ?left, "finishing failed; retried");
            let sequence = &record["dynamodb"]["SequenceNumber"];
            return json!({ "batchItemFailures": [{ "itemIdentifier": sequence }] });
        }
    }
    json!({ "batchItemFailures": [] })
}

/// What a stream record leaves to finish.
#[derive(Clone, Copy, Debug)]
enum Left {
    Deletion,
    PhoneChange,
}

/// The user a stream record names and what it left: a `REMOVE` of a
/// `user#` item, or a `MODIFY` that marks a phone change (the stream's
/// filter passes only those, but a test may not).
fn left_to_finish(record: &Value) -> Option<(UserId, Left)> {
    let left = match record["eventName"].as_str()? {
        "REMOVE" => Left::Deletion,
        "MODIFY" if record["dynamodb"]["NewImage"][PHONE_PENDING]["BOOL"] == true => {
            Left::PhoneChange
        }
        _ => return None,
    };
    let pk = record["dynamodb"]["Keys"]["pk"]["S"].as_str()?;
    let id = pk.strip_prefix("user#")?.parse().ok().map(UserId)?;
    Some((id, left))
}

pub async fn handle_event<F: Function>(app: &App, event: Request) -> Response<Body> {
    let request = api_request(event);
    into_lambda(app.handle_for::<F>(request).await)
}

/// The SMS sender of a function that sends none. It is never called, and
/// it keeps the SNS client out of that function's binary.
struct NoSms;

#[async_trait::async_trait]
impl SmsSender for NoSms {
    async fn send(&self, _message: &OtpMessage<'_>) -> crate::Result<()> {
        Err(Error::Internal("this function sends no SMS".into()))
    }
}

/// API Gateway has already decoded a base64 body into bytes.
pub fn api_request(event: Request) -> ApiRequest {
    let (source_ip, iam_caller) = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.http.source_ip.clone(),
            // What `AWS_IAM` authorization verified: the caller's ARN.
            context
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.iam.as_ref())
                .and_then(|iam| iam.user_arn.clone()),
        ),
        _ => (None, None),
    };
    let query = event.uri().query().map(str::to_owned);
    let (parts, body) = event.into_parts();
    ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers,
        body: bytes::Bytes::from(body.to_vec()),
        source_ip,
        iam_caller,
    }
}

pub fn into_lambda(response: ApiResponse) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(String::from_utf8_lossy(&body).into_owned())
    };
    Response::from_parts(parts, body)
}
