//! What became of each SMS, from SNS's own delivery status logs.
//!
//! - A CloudWatch Logs subscription on SNS's two log groups
//!   (`sns/<region>/<account>/DirectPublishToPhoneNumber` and its
//!   `/Failure`) hands this function batches of delivery records, gzipped
//!   and base64 as Lambda receives them. Each record becomes one metric
//!   line: `SmsDelivered` or `SmsFailed` by the number's region, with
//!   `SmsPriceUSD`. A record is counted once: a batch's repeats are
//!   dropped, and a batch never fails (a retried batch would count again),
//!   a malformed record is logged (without its number) and skipped.
//! - The stack's `SmsDeliveryLogging` custom resource turns that logging
//!   on: SNS's account-wide SMS attributes `DeliveryStatusIAMRole` (the
//!   role SNS writes the logs as) and `DeliveryStatusSuccessSamplingRate`.
//!   Its deletion takes the role back out, if it is still the stack's.
//!
//! The records carry phone numbers: nothing here logs one.

use std::collections::HashSet;
use std::io::Read;

use aws_sdk_sns::error::ProvideErrorMetadata;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use phone_auth::adapters::emf::EmfMetrics;
use phone_auth::custom_resource::{answer, send_answer};
use phone_auth::domain::metric::Metric;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::time::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

/// The payload's decompressed size is capped: CloudWatch Logs sends at
/// most 1 MB of events a batch.
const MAX_BATCH_BYTES: u64 = 8 << 20;

/// The physical id of the logging resource: one per account and region,
/// as the attributes it sets are.
pub const LOGGING_ID: &str = "sms-delivery-status-logging";

/// A CloudWatch Logs subscription batch, decompressed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    message_type: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    timestamp: i64,
    message: String,
}

/// One record of SNS's SMS delivery log.
#[derive(Deserialize)]
struct Record {
    notification: Notification,
    delivery: Delivery,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    destination: String,
    #[serde(rename = "priceInUSD", default)]
    price_in_usd: Option<f64>,
}

/// A delivery record as a metric, with the time SNS logged it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub metric: Metric,
    pub at: Timestamp,
}

/// The deliveries of a subscription batch, each message once.
pub fn deliveries(payload: &Value) -> Result<Vec<Counted>, String> {
    let data = payload["awslogs"]["data"]
        .as_str()
        .ok_or("not a CloudWatch Logs subscription event")?;
    let gzipped = STANDARD
        .decode(data)
        .map_err(|_| "the batch is not base64")?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .take(MAX_BATCH_BYTES)
        .read_to_end(&mut json)
        .map_err(|_| "the batch is not gzip")?;
    let batch: Batch =
        serde_json::from_slice(&json).map_err(|_| "the batch is not CloudWatch Logs' JSON")?;
    // CloudWatch Logs checks that it may invoke the function with these.
    if batch.message_type != "DATA_MESSAGE" {
        return Ok(Vec::new());
    }
    let mut seen = HashSet::new();
    let mut counted = Vec::new();
    for event in &batch.log_events {
        let Ok(record) = serde_json::from_str::<Record>(&event.message) else {
            tracing::warn!("a delivery log record without its fields: skipped");
            continue;
        };
        if !seen.insert(record.notification.message_id.clone()) {
            continue;
        }
        let region = Phone::parse(&record.delivery.destination, None)
            .ok()
            .and_then(|phone| phone.region());
        let price = record.delivery.price_in_usd.unwrap_or_default();
        let price_micro_usd = if price.is_finite() && price > 0.0 {
            (price * 1e6).round() as u64
        } else {
            0
        };
        counted.push(Counted {
            metric: Metric::SmsDelivery {
                region,
                delivered: record.status == "SUCCESS",
                price_micro_usd,
            },
            at: Timestamp(event.timestamp),
        });
    }
    Ok(counted)
}

/// Whether `event` is CloudFormation's, for the custom resource.
pub fn is_custom_resource(event: &Value) -> bool {
    event["RequestType"].is_string() && event["ResponseURL"].is_string()
}

/// Sets SNS's delivery status attributes as the resource asks, or, on its
/// deletion, takes the role back out if it is still the one it set.
async fn apply(client: &aws_sdk_sns::Client, event: &Value) -> Result<Value, String> {
    let properties = &event["ResourceProperties"];
    let role = properties["DeliveryStatusRole"]
        .as_str()
        .ok_or("the resource has no DeliveryStatusRole")?;
    let rate = properties["SuccessSamplingRate"].as_str().unwrap_or("100");
    if !rate.parse::<u8>().is_ok_and(|r| r <= 100) {
        return Err(format!(
            "SuccessSamplingRate must be 0 to 100, got {rate:?}"
        ));
    }
    match event["RequestType"].as_str() {
        Some("Create" | "Update") => {
            client
                .set_sms_attributes()
                .attributes("DeliveryStatusIAMRole", role)
                .attributes("DeliveryStatusSuccessSamplingRate", rate)
                .send()
                .await
                .map_err(|e| {
                    let code = e.code().unwrap_or("no response");
                    format!("SetSMSAttributes failed ({code})")
                })?;
            tracing::info!(rate, "SMS delivery status logging on");
        }
        Some("Delete") => {
            // A failure here must not block the stack's deletion: logged,
            // and the answer is still a success.
            let current = client
                .get_sms_attributes()
                .attributes("DeliveryStatusIAMRole")
                .send()
                .await
                .map(|out| out.attributes.unwrap_or_default());
            match current {
                Ok(attributes)
                    if attributes.get("DeliveryStatusIAMRole").map(String::as_str)
                        == Some(role) =>
                {
                    let cleared = client
                        .set_sms_attributes()
                        .attributes("DeliveryStatusIAMRole", "")
                        .send()
                        .await;
                    if let Err(e) = cleared {
                        tracing::warn!(
                            error.code = e.code().unwrap_or("no response"),
                            "SMS delivery logging left on"
                        );
                    }
                }
                Ok(_) => {
                    tracing::info!("SMS delivery logging belongs to another role: left as it is")
                }
                Err(e) => tracing::warn!(
                    error.code = e.code().unwrap_or("no response"),
                    "could not read the SMS attributes"
                ),
            }
        }
        other => return Err(format!("unknown RequestType {other:?}")),
    }
    Ok(json!({}))
}

/// The custom resource's answer to CloudFormation.
pub async fn set_up_logging(client: &aws_sdk_sns::Client, event: &Value) -> Value {
    let outcome = apply(client, event).await;
    if let Err(reason) = &outcome {
        tracing::error!(%reason, "SMS delivery logging was not set up");
    }
    answer(event, LOGGING_ID, outcome)
}

/// One invocation: CloudFormation's event is answered; a log batch is
/// counted, and its summary returned (a malformed batch is logged and
/// counted as nothing, never retried).
pub async fn handle(
    sdk: &aws_config::SdkConfig,
    metrics: &EmfMetrics,
    event: &Value,
) -> Result<Value, String> {
    if is_custom_resource(event) {
        let client = aws_sdk_sns::Client::new(sdk);
        let answer = set_up_logging(&client, event).await;
        send_answer(event, answer.clone()).await?;
        return Ok(answer);
    }
    let counted = deliveries(event).unwrap_or_else(|why| {
        tracing::error!(why, "a delivery log batch could not be read: skipped");
        Vec::new()
    });
    let delivered = counted
        .iter()
        .filter(|c| {
            matches!(
                c.metric,
                Metric::SmsDelivery {
                    delivered: true,
                    ..
                }
            )
        })
        .count();
    for c in &counted {
        metrics.record_at(c.metric, c.at);
    }
    Ok(json!({ "delivered": delivered, "failed": counted.len() - delivered }))
}
