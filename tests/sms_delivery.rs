//! The `sms-delivery` function on its `events/` fixtures (CloudWatch Logs
//! subscription batches of SNS's delivery records, gzipped and base64 as
//! Lambda receives them) and on moto's SNS: each record counted once, by
//! region, with its price, at the time SNS logged it; the custom resource
//! turning SNS's delivery status logging on, and off again.

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use phone_auth::adapters::emf::EmfMetrics;
use phone_auth::domain::metric::Metric;
use phone_auth::domain::phone::Region;
use phone_auth::domain::time::Timestamp;
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};
use sms_delivery::{Counted, deliveries};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn delivery(region: Region, delivered: bool, price_micro_usd: u64, at: i64) -> Counted {
    Counted {
        metric: Metric::SmsDelivery {
            region: Some(region),
            delivered,
            price_micro_usd,
        },
        at: Timestamp(at),
    }
}

/// A batch as CloudWatch Logs sends one: the records gzipped, then base64.
fn batch(message_type: &str, messages: &[String]) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(
            |(i, m)| json!({"id": i.to_string(), "timestamp": 1_796_467_200_000_i64, "message": m}),
        )
        .collect();
    let body = json!({
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "sns/eu-west-1/123456789012/DirectPublishToPhoneNumber",
        "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": events,
    });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(body.to_string().as_bytes()).unwrap();
    json!({"awslogs": {"data": STANDARD.encode(gzip.finish().unwrap())}})
}

#[test]
fn each_delivery_record_counts_once_by_region_with_its_price() {
    // The success log's batch repeats its first record: counted once.
    assert_eq!(
        deliveries(&fixture("sms-delivery.json")).unwrap(),
        [
            delivery(Region::BR, true, 21_500, 1_796_467_234_558),
            delivery(Region::US, true, 5_810, 1_796_467_236_102),
        ]
    );
    assert_eq!(
        deliveries(&fixture("sms-delivery-failure.json")).unwrap(),
        [delivery(Region::IN, false, 0, 1_796_467_262_010)]
    );
}

#[test]
fn a_delivery_s_metric_line_is_stamped_when_sns_logged_it() {
    let counted = deliveries(&fixture("sms-delivery-failure.json")).unwrap();
    let emf = EmfMetrics::new("prod", Arc::new(SystemClock));
    let line: Value =
        serde_json::from_str(&emf.line_at(&counted[0].metric, counted[0].at)).unwrap();
    assert_eq!(line["_aws"]["Timestamp"], 1_796_467_262_010_i64);
    assert_eq!(
        (&line["SmsFailed"], &line["SmsDelivered"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(line["Region"], "IN");
    // The number is not in it.
    assert!(!line.to_string().contains("8123456789"));
}

#[test]
fn odd_batches_and_records_count_nothing() {
    let record = |destination: &str, id: &str| {
        json!({
            "notification": {"messageId": id, "timestamp": "2026-12-05 10:00:00.000"},
            "delivery": {"destination": destination, "priceInUSD": 0.01, "smsType": "Transactional"},
            "status": "SUCCESS",
        })
        .to_string()
    };
    // CloudWatch Logs' check that it may invoke the function.
    assert!(
        deliveries(&batch("CONTROL_MESSAGE", &[]))
            .unwrap()
            .is_empty()
    );
    // A record without its fields is skipped; a number no region owns is
    // counted under no region.
    let counted = deliveries(&batch(
        "DATA_MESSAGE",
        &[
            "not json".into(),
            r#"{"status": "SUCCESS"}"#.into(),
            record("+999123", "m1"),
        ],
    ))
    .unwrap();
    assert_eq!(counted.len(), 1);
    assert!(matches!(
        counted[0].metric,
        Metric::SmsDelivery {
            region: None,
            delivered: true,
            ..
        }
    ));
    for bad in [
        json!({}),
        json!({"awslogs": {"data": "%%%"}}),
        json!({"awslogs": {"data": "aGVsbG8="}}),
    ] {
        assert!(deliveries(&bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_batch_is_summed_and_never_fails() {
    let sdk = api_tests::sdk_config().await;
    let emf = EmfMetrics::new("prod", Arc::new(SystemClock));
    let summary = sms_delivery::handle(&sdk, &emf, &fixture("sms-delivery.json")).await;
    assert_eq!(summary.unwrap(), json!({"delivered": 2, "failed": 0}));
    // Unreadable: logged, counted as nothing, not retried.
    let garbage = json!({"awslogs": {"data": "%%%"}});
    let summary = sms_delivery::handle(&sdk, &emf, &garbage).await;
    assert_eq!(summary.unwrap(), json!({"delivered": 0, "failed": 0}));
}

async fn attributes(client: &aws_sdk_sns::Client) -> Value {
    let out = client.get_sms_attributes().send().await.unwrap();
    let attributes = out.attributes.unwrap_or_default();
    json!({
        "role": attributes.get("DeliveryStatusIAMRole").cloned().unwrap_or_default(),
        "rate": attributes.get("DeliveryStatusSuccessSamplingRate").cloned().unwrap_or_default(),
    })
}

/// One test for the whole life of the account-wide attributes: moto keeps
/// them per account and region, shared by every test.
#[tokio::test]
async fn the_custom_resource_turns_delivery_logging_on_and_off() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_sns::Client::new(&sdk);
    let event = fixture("sms-delivery-logging.json");
    let role = event["ResourceProperties"]["DeliveryStatusRole"].clone();
    assert!(sms_delivery::is_custom_resource(&event));
    assert!(!sms_delivery::is_custom_resource(&fixture(
        "sms-delivery.json"
    )));

    let created = sms_delivery::set_up_logging(&client, &event).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], sms_delivery::LOGGING_ID);
    assert_eq!(created["LogicalResourceId"], "SmsDeliveryLogging");
    assert_eq!(created["RequestId"], event["RequestId"]);
    assert_eq!(
        attributes(&client).await,
        json!({"role": role, "rate": "100"})
    );

    let mut update = event.clone();
    update["RequestType"] = json!("Update");
    update["ResourceProperties"]["SuccessSamplingRate"] = json!("25");
    assert_eq!(
        sms_delivery::set_up_logging(&client, &update).await["Status"],
        "SUCCESS"
    );
    assert_eq!(attributes(&client).await["rate"], "25");

    // A bad rate fails the resource and changes nothing.
    update["ResourceProperties"]["SuccessSamplingRate"] = json!("101");
    let refused = sms_delivery::set_up_logging(&client, &update).await;
    assert_eq!(refused["Status"], "FAILED");
    assert!(refused["Reason"].as_str().unwrap().contains("0 to 100"));
    assert_eq!(attributes(&client).await["rate"], "25");

    // Deleting another stack's resource leaves this role alone; deleting
    // this one takes it out. Both answer success: a deletion never blocks.
    let mut other = event.clone();
    other["RequestType"] = json!("Delete");
    other["ResourceProperties"]["DeliveryStatusRole"] =
        json!("arn:aws:iam::123456789012:role/other");
    assert_eq!(
        sms_delivery::set_up_logging(&client, &other).await["Status"],
        "SUCCESS"
    );
    assert_eq!(attributes(&client).await["role"], role);
    let mut delete = event.clone();
    delete["RequestType"] = json!("Delete");
    assert_eq!(
        sms_delivery::set_up_logging(&client, &delete).await["Status"],
        "SUCCESS"
    );
    assert_eq!(attributes(&client).await["role"], "");
}
