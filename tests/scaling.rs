//! What holds at any traffic: the budgets never overshoot under concurrent
//! senders, a failed SMS gives its units back while the store is busy, and
//! the DynamoDB requests of 200 sends and their logins write no item more
//! than once in 16.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use api_tests::{
    Backend, FaultyStore, FlakySms, PrivateMoto, TestClock, assert_problem, config,
    fresh_tables_at, sdk_config_at, spawn_app,
};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use phone_auth::adapters::console::{ConsoleSms, Outbox};
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::domain::code::OtpCode;
use phone_auth::domain::service::{Attempt, ProfileRef, ReferralsQuery, SendRequest, Service};
use phone_auth::error::Error;
use serde_json::{Value, json};

async fn budgets_never_overshoot_with_32_concurrent_senders(backend: Backend) {
    let settings = [
        ("SMS_DAILY_BUDGET", "10"),
        ("SMS_COUNTRY_DAILY_BUDGET", "RU:25"),
        ("IP_MAX_SENDS_PER_HOUR", "1000"),
        ("FRAUD_MIN_SENDS", "1000"),
    ];
    let app = Arc::new(spawn_app(backend, &settings).await);
    let sends = (0..32).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let phone = format!("+7912666{i:04}");
            app.post("/phone/", json!({ "phone": phone })).await.status
        })
    });
    let mut statuses = HashMap::new();
    for send in sends {
        *statuses.entry(send.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(statuses, HashMap::from([(200, 10), (503, 22)]));
}

/// SNS fails, and the first two tries at taking the send back find the
/// store busy: the third lands, and the day's one SMS is there to spend.
async fn a_failed_sms_gives_its_units_back_while_the_store_is_busy(backend: Backend) {
    let settings = config(&[("SMS_DAILY_BUDGET", "1"), ("IP_MAX_SENDS_PER_HOUR", "1")]);
    let handle = backend.store().await;
    let store = Arc::new(FaultyStore::new(handle.store()));
    let sms = Arc::new(FlakySms::default());
    let app = api_tests::spawn_server(
        backend,
        handle,
        store.clone(),
        sms.clone(),
        settings,
        TestClock::new(),
    )
    .await;
    sms.set_failing(true);
    let busy = || Error::StoreUnavailable("TransactionConflict".into());
    store.fail_times(busy, "undo_save_code", 2);
    let failed = app.post("/phone/", json!({"phone": "+79126660100"})).await;
    assert_problem(&failed, 503, "sms_unavailable");
    sms.set_failing(false);
    // Neither the source's one send nor the day's one SMS was kept.
    let next = app.post("/phone/", json!({"phone": "+79126660101"})).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
}

/// Every DynamoDB request the client sends, as (operation, JSON body).
#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Mutex<Vec<(String, Value)>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body = request.body().bytes().unwrap_or_default();
        let body = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.0.lock().unwrap().push((operation, body));
        Ok(())
    }
}

/// The items a request writes, as "table key".
fn written(operation: &str, body: &Value) -> Vec<String> {
    let item = |table: &Value, key: &Value| format!("{} {key}", table.as_str().unwrap_or(""));
    let keyed = |write: &Value| -> String {
        let table = &write["TableName"];
        match (&write["Key"], &write["Item"]) {
            (Value::Object(key), _) => item(table, &Value::Object(key.clone())),
            // A put names its item by its key attributes: ours are these.
            (_, Value::Object(put)) => {
                let key: serde_json::Map<String, Value> = put
                    .iter()
                    .filter(|(name, _)| ["pk", "sk", "sid", "inviter"].contains(&name.as_str()))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                item(table, &Value::Object(key))
            }
            _ => panic!("a write without a key: {write}"),
        }
    };
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => vec![keyed(body)],
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| {
                ["Put", "Update", "Delete"]
                    .iter()
                    .find_map(|kind| entry.get(*kind))
                    .map(keyed)
            })
            .collect(),
        "BatchWriteItem" => panic!("the send path makes no batch writes"),
        _ => Vec::new(),
    }
}

/// 200 sends to one number prefix and region, from 200 sources, each
/// followed by its login and an activation of the first user's invite
/// code, with both budgets on: no item is written by more than 200 / 16 of
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_sends_write_no_item_more_than_once_in_sixteen() {
    const SENDS: usize = 200;
    // A moto of its own: hundreds of transactions would slow the shared
    // one for every later test (moto copies its tables on each).
    let moto = PrivateMoto::start().await;
    let (_, tables) = fresh_tables_at(&moto.endpoint).await;
    let recorder = Recorder::default();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk_config_at(&moto.endpoint).await)
        .interceptor(recorder.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), tables);
    let clock = TestClock::new();
    let outbox = Arc::new(Outbox::new(Arc::new(ConsoleSms), clock.clone()));
    let settings = config(&[
        ("SMS_DAILY_BUDGET", "100000"),
        ("SMS_COUNTRY_DAILY_BUDGET", "RU:100000"),
        ("FRAUD_MIN_SENDS", "100000"),
    ]);
    let service = Service::new(
        settings.rules,
        Arc::new(store),
        outbox.clone(),
        clock.clone(),
    );
    let mut first_invite = None;
    for i in 0..SENDS {
        // Each user joins after the one before: the first one's code is
        // theirs to activate.
        clock.advance_secs(1);
        let phone = service.parse_phone(&format!("+7912345{i:04}")).unwrap();
        let source = format!("198.51.{}.{}", i / 250, i % 250);
        let request = SendRequest {
            source: Some(&source),
            ..SendRequest::default()
        };
        let sent = service.send_code(&phone, &request).await.unwrap();
        let text = outbox.sent_to(&phone).pop().unwrap().text;
        let code = OtpCode::parse(&api_tests::code_in(&text), 6).unwrap();
        let attempt = Attempt {
            verification_id: Some(&sent.verification_id),
            source: Some(&source),
            user_agent: None,
        };
        let login = service.verify_code(&phone, &code, &attempt).await.unwrap();
        let bearer = format!("Bearer {}", login.access);
        let caller = service.authenticate(Some(&bearer)).unwrap();
        let page = ReferralsQuery::default();
        match &first_invite {
            None => {
                let profile = service.profile(&caller, ProfileRef::Me, &page).await;
                first_invite = Some(profile.unwrap().user.invite.as_str().to_owned());
            }
            Some(code) => {
                let activated = service.activate_invite(&caller, ProfileRef::Me, code, &page);
                assert!(activated.await.unwrap().user.activated.is_some());
            }
        }
    }
    let mut writes: HashMap<String, usize> = HashMap::new();
    let requests = recorder.0.lock().unwrap().clone();
    for (operation, body) in &requests {
        for item in written(operation, body) {
            *writes.entry(item).or_default() += 1;
        }
    }
    assert!(
        writes.len() > 3 * SENDS,
        "the writes were recorded: {}",
        writes.len()
    );
    let (hottest, most) = writes.iter().max_by_key(|(_, n)| **n).unwrap();
    println!(
        "{} requests, {} items written, the most-written {most} times: {hottest}",
        requests.len(),
        writes.len()
    );
    assert!(
        *most * 16 <= SENDS,
        "{hottest} written {most} times in {SENDS} sends"
    );
}

api_tests::on_both_backends!(
    budgets_never_overshoot_with_32_concurrent_senders,
    a_failed_sms_gives_its_units_back_while_the_store_is_busy,
);
