//! The users table's stream as events on the stack's EventBridge bus
//! (`Source` `phone-auth`, `DetailType` the event's type, `Detail` the
//! event). Only what committed reaches the stream, in commit order per
//! user; each record's events are sent before the next record's, and a
//! record whose events could not all be sent is reported back, so that
//! Lambda retries the batch from it (at least once: consumers dedupe by
//! the event's `id`).

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use phone_auth::adapters::dynamodb::events_of_record;
use phone_auth::domain::event::Event;
use serde_json::{Value, json};

/// `Source` of every event.
pub const SOURCE: &str = "phone-auth";

/// PutEvents takes at most ten entries.
const ENTRIES_PER_CALL: usize = 10;

/// Tries of one record's events before the record is handed back to
/// Lambda's own retries.
const TRIES: usize = 3;

/// Where the events go.
pub struct Bus {
    pub client: Client,
    pub name: String,
}

/// Sends the events of each record of a stream batch, in order; answers
/// Lambda's `batchItemFailures` (the first record not fully sent).
pub async fn handle(bus: &Bus, batch: &Value) -> Value {
    for record in batch["Records"].as_array().into_iter().flatten() {
        let events = events_of_record(record);
        if let Err(why) = send(bus, &events).await {
            let sequence = &record["dynamodb"]["SequenceNumber"];
            tracing::error!(%why, events = events.len(), "events not sent; retried");
            return json!({ "batchItemFailures": [{ "itemIdentifier": sequence }] });
        }
        for event in &events {
            tracing::info!(id = event.id, kind = event.kind.as_str(), "event sent");
        }
    }
    json!({ "batchItemFailures": [] })
}

/// Sends `events`, ten a call, each call's refused entries again.
async fn send(bus: &Bus, events: &[Event]) -> Result<(), String> {
    for chunk in events.chunks(ENTRIES_PER_CALL) {
        let mut pending: Vec<PutEventsRequestEntry> =
            chunk.iter().map(|event| entry(&bus.name, event)).collect();
        for _ in 0..TRIES {
            let output = bus
                .client
                .put_events()
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "PutEvents: {}",
                        aws_sdk_eventbridge::error::DisplayErrorContext(e)
                    )
                })?;
            // The answer lists an entry per request entry, in order: the
            // refused ones carry an error code.
            let refused: Vec<PutEventsRequestEntry> = output
                .entries()
                .iter()
                .zip(&pending)
                .filter(|(result, _)| result.error_code().is_some())
                .map(|(_, sent)| sent.clone())
                .collect();
            pending = refused;
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(format!("{} entries refused", pending.len()));
        }
    }
    Ok(())
}

fn entry(bus: &str, event: &Event) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(event.kind.as_str())
        .detail(event.json().to_string())
        .build()
}
