//! The stack's custom resources (the JWT keys, SMS delivery logging):
//! CloudFormation's event in, its answer out, sent to the presigned URL the
//! event names. Without an answer a stack waits an hour.

use serde_json::{Value, json};

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

/// Sends the answer to the presigned URL CloudFormation gave. Its
/// signature covers an empty content type, so none is sent.
pub fn respond(url: &str, answer: &Value) -> Result<(), String> {
    ureq::put(url)
        .send(answer.to_string().as_bytes())
        .map(|_| ())
        .map_err(|e| format!("answering CloudFormation failed: {e}"))
}

/// Sends `answer` to the URL `event` names, off the async runtime (the
/// client blocks). A failure to send it is an error: Lambda then tries
/// the event again.
pub async fn send_answer(event: &Value, answer: Value) -> Result<(), String> {
    let url = event["ResponseURL"].as_str().unwrap_or_default().to_owned();
    tokio::task::spawn_blocking(move || respond(&url, &answer))
        .await
        .map_err(|e| e.to_string())?
}
