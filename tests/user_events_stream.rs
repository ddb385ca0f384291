//! The stack's events: the `user-events` function turns the users table's
//! stream records (its `events/user-events.json` fixture, and the stream
//! moto records for a table the dev server writes) into events on an
//! EventBridge bus, on moto; a rule on the bus hands them to a queue this
//! test reads. A bus that refuses them hands the record back.

use api_tests::{ADMIN_TOKEN, Backend, StoreHandle, TestApp, sdk_config, spawn_app};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
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

/// A stream attribute as the Lambda event writes it.
fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(list) => json!({ "SS": list }),
        AttributeValue::Ns(list) => json!({ "NS": list }),
        AttributeValue::L(list) => {
            json!({ "L": list.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({ "M": image_json(map) }),
        other => panic!("an attribute this table never holds: {other:?}"),
    }
}

fn image_json(image: &std::collections::HashMap<String, AttributeValue>) -> Value {
    image
        .iter()
        .map(|(name, value)| (name.clone(), attribute_json(value)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The users table's stream as moto recorded it, as the Lambda event the
/// stream's functions are handed.
async fn users_stream(app: &TestApp) -> Value {
    let StoreHandle::Moto(client, tables) = &app.store else {
        panic!("a moto store")
    };
    let table = client
        .describe_table()
        .table_name(&tables.users)
        .send()
        .await
        .unwrap();
    let arn = table
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config().await);
    let stream = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for shard in stream.stream_description().unwrap().shards() {
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let got = streams
            .get_records()
            .shard_iterator(iterator.shard_iterator().unwrap())
            .limit(1000)
            .send()
            .await
            .unwrap();
        for record in got.records() {
            let change = record.dynamodb().unwrap();
            let mut dynamodb = json!({
                "Keys": image_json(change.keys().unwrap()),
                "SequenceNumber": change.sequence_number().unwrap(),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(at) = change.approximate_creation_date_time() {
                dynamodb["ApproximateCreationDateTime"] = json!(at.secs());
            }
            if let Some(image) = change.new_image() {
                dynamodb["NewImage"] = image_json(image);
            }
            if let Some(image) = change.old_image() {
                dynamodb["OldImage"] = image_json(image);
            }
            records.push(json!({
                "eventID": record.event_id().unwrap(),
                "eventName": record.event_name().unwrap().as_str(),
                "eventSource": "aws:dynamodb",
                "dynamodb": dynamodb,
            }));
        }
    }
    json!({ "Records": records })
}

/// On DynamoDB (moto) with its real stream: what a user does, read from
/// the stream the stack's function reads, makes the same events, in the
/// order they committed, as the dev server's memory store makes them; and
/// they reach the bus.
#[tokio::test]
async fn the_table_s_own_stream_makes_the_events_in_commit_order() {
    let app = spawn_app(
        Backend::Moto,
        &[
            ("RESEND_COOLDOWN_SECONDS", "0"),
            ("PHONE_MAX_SENDS_PER_HOUR", "100"),
        ],
    )
    .await;
    let phone = "+79001190001";
    let login = app.login(phone).await;
    let id = login.body["user_id"].as_u64().unwrap();
    app.login(phone).await;
    let code = app.last_code(phone).await;
    let wrong = json!({"phone": phone, "code": api_tests::wrong_code(&code)});
    app.post("/code/", wrong).await;
    let disable = app
        .send(
            app.http
                .post(app.url(&format!("/admin/users/{id}/disable/")))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"reason": "chargeback"})),
        )
        .await;
    assert_eq!(disable.status, 200);
    let delete = app
        .send(
            app.http
                .delete(app.url(&format!("/admin/users/{id}/")))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(delete.status, 204);

    let batch = users_stream(&app).await;
    let made: Vec<phone_auth::domain::event::Event> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(phone_auth::adapters::dynamodb::events_of_record)
        .collect();
    let types: Vec<&str> = made.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        types,
        [
            "user.created",
            "user.logged_in",
            "user.logged_in",
            "user.disabled",
            "user.deleted"
        ]
    );
    assert!(made.iter().all(|e| e.user_id.0 == id));
    assert_eq!(made[3].by.as_deref(), Some("dev-admin"));

    let (bus, sqs, queue_url) = bus_and_queue().await;
    assert_eq!(
        user_events::handle(&bus, &batch).await,
        json!({"batchItemFailures": []})
    );
    assert_eq!(received(&sqs, &queue_url).await.len(), made.len());
}
