//! The stack's events: the `user-events` function turns the users table's
//! stream records (its `events/user-events.json` fixture) into events on
//! an EventBridge bus, on moto; a rule on the bus hands them to a queue
//! this test reads. A bus that refuses them hands the record back.

use api_tests::sdk_config;
use aws_sdk_eventbridge::types::Target;
use serde_json::{Value, json};
use user_events::{Bus, SOURCE};

const FIXTURE: &str = include_str!("../events/user-events.json");

/// A bus of its own, and a queue that a rule on the bus fills.
async fn bus_and_queue() -> (Bus, aws_sdk_sqs::Client, String) {
    let sdk = sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!("phone-auth-{}", uuid::Uuid::new_v4().simple());
    events.create_event_bus().name(&name).send().await.unwrap();
    let queue = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    events
        .put_rule()
        .name("all")
        .event_bus_name(&name)
        .event_pattern(json!({ "source": [SOURCE] }).to_string())
        .send()
        .await
        .unwrap();
    let target = Target::builder()
        .id("queue")
        .arn(queue_arn)
        .build()
        .unwrap();
    events
        .put_targets()
        .rule("all")
        .event_bus_name(&name)
        .targets(target)
        .send()
        .await
        .unwrap();
    (
        Bus {
            client: events,
            name,
        },
        sqs,
        queue_url,
    )
}

/// Everything the queue received, as EventBridge delivered it.
async fn received(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = batch.messages();
        if messages.is_empty() {
            return all;
        }
        for message in messages {
            all.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn the_stream_becomes_events_on_the_bus() {
    let (bus, sqs, queue_url) = bus_and_queue().await;
    let batch: Value = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(
        user_events::handle(&bus, &batch).await,
        json!({"batchItemFailures": []})
    );
    let mut delivered = received(&sqs, &queue_url).await;
    delivered.sort_by_key(|e| e["detail"]["id"].as_str().unwrap().to_owned());
    let types: Vec<&str> = delivered
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    // The phone item's record makes none.
    assert_eq!(
        types,
        [
            "user.created",
            "user.logged_in",
            "user.phone_changed",
            "user.disabled",
            "user.deleted"
        ]
    );
    for event in &delivered {
        assert_eq!(event["source"], SOURCE);
        let detail = &event["detail"];
        assert_eq!(detail["type"], event["detail-type"]);
        assert_eq!(detail["user_id"], 4815162342u64);
        assert!(!detail.to_string().contains("chargeback"), "{detail}");
    }
    assert_eq!(delivered[0]["detail"]["phone"], "+79123456789");
    assert_eq!(delivered[2]["detail"]["phone"], "+79001112299");
    let operator = "arn:aws:sts::123456789012:assumed-role/support/jane";
    assert_eq!(delivered[3]["detail"]["by"], operator);
    assert_eq!(delivered[4]["detail"]["by"], operator);
    assert_eq!(delivered[0]["detail"]["at"], "2026-11-27T10:15:31Z");

    // Read again (a retried batch), the same ids: consumers dedupe by them.
    user_events::handle(&bus, &batch).await;
    let mut again: Vec<String> = received(&sqs, &queue_url)
        .await
        .iter()
        .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    again.sort();
    let first: Vec<String> = delivered
        .iter()
        .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(again, first);
}

/// A bus that cannot take the events: the first record is handed back,
/// for Lambda to retry the batch from it.
#[tokio::test]
async fn a_refused_publish_hands_its_record_back() {
    let (bus, _, _) = bus_and_queue().await;
    let gone = Bus {
        client: bus.client.clone(),
        name: format!("{}-gone", bus.name),
    };
    let batch: Value = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(
        user_events::handle(&gone, &batch).await,
        json!({"batchItemFailures": [{"itemIdentifier": "222200000000000000000001"}]})
    );
}
