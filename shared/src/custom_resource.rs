//! The stack's custom resources (the JWT keys, SMS delivery logging):
//! CloudFormation's event in, its answer out, sent to the presigned URL the
//! event names. Without an answer a stack waits an hour.

use std::time::Duration;

use serde_json::{Value, json};

use crate::adapters::https::HttpsClient;

/// The answer to `event`: SUCCESS with `data`, or FAILED with the reason
/// (which CloudFormation shows in the stack's events: never a secret).
pub fn answer(event: &Value, physical_id: &str, outcome: Result<Value, String>) -> Value {
    let (status, reason, data) = match outcome {
        Ok(data) => ("SUCCESS", String::new(), data),
        Err(reason) => ("FAILED", reason, json!({})),
    };
    json!({
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    })
}

/// How long CloudFormation's endpoint gets to take the answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the answer to the presigned URL CloudFormation gave, with the
/// HTTPS client the functions already link. Its signature covers an empty
/// content type, so none is sent.
pub async fn respond(url: &str, answer: &Value) -> Result<(), String> {
    let failed = |why: String| format!("answering CloudFormation failed: {why}");
    let url: http::Uri = url.parse().map_err(|_| failed("no valid URL".into()))?;
    let client = HttpsClient::shared().map_err(|e| failed(format!("no TLS roots: {e}")))?;
    let (status, _) = client
        .put(&url, answer.to_string(), ANSWER_TIMEOUT)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(failed(format!("status {status}")))
    }
}

/// Sends `answer` to the URL `event` names. A failure to send it is an
/// error: Lambda then tries the event again.
pub async fn send_answer(event: &Value, answer: Value) -> Result<(), String> {
    let url = event["ResponseURL"].as_str().unwrap_or_default();
    respond(url, &answer).await
}
