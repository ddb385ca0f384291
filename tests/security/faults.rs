//! Faults in DynamoDB and SNS: every endpoint answers a problem+json 503
//! (or 500) that says nothing of the fault, and nothing is half done.

use std::sync::Arc;

use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::config::SmsSending;
use phone_auth::config::Tables;
use phone_auth::error::Error;
use phone_auth::ports::{SmsSender, Store, SystemClock};
use serde_json::{Value, json};

use api_tests::{
    Backend, FaultyStore, FlakySms, OTHER_PHONE, PHONE, Reply, TestApp, assert_problem, config,
    sdk_config_at, spawn_app, spawn_app_on, spawn_server,
};
use api_tests::{PrivateMoto, on_both_backends};

/// Words that would show the fault's inner detail to a client.
const LEAKS: &[&str] = &[
    "secret-table",
    "Exception",
    "dispatch",
    "DynamoDB",
    "SNS",
    "Throttl",
    "connection",
    "127.0.0.1",
];

fn assert_no_leak(reply: &Reply) {
    let text = reply.body.to_string();
    for word in LEAKS {
        assert!(!text.contains(word), "{word:?} leaked in {text}");
    }
}

async fn a_failed_sms_is_not_counted_as_sent(backend: Backend) {
    let sms = Arc::new(FlakySms::default());
    let limits = config(&[
        ("IP_MAX_SENDS_PER_HOUR", "2"),
        ("SMS_DAILY_BUDGET", "2"),
        ("RESEND_COOLDOWN_SECONDS", "0"),
    ]);
    let store = backend.store().await;
    let app = spawn_app_on(backend, store, sms.clone(), limits, Arc::new(SystemClock)).await;

    // A live code, then a resend whose SMS fails: the live code stands.
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    let live = app.last_code(PHONE).await;
    sms.set_failing(true);
    for _ in 0..3 {
        let reply = app.post("/phone/", json!({"phone": PHONE})).await;
        assert_problem(&reply, 503, "sms_unavailable");
        assert_no_leak(&reply);
        let other = app.post("/phone/", json!({"phone": OTHER_PHONE})).await;
        assert_problem(&other, 503, "sms_unavailable");
    }
    sms.set_failing(false);

    // The failed sends spent neither the IP's hour (2) nor the day's budget (2).
    assert_eq!(
        app.post("/phone/", json!({"phone": OTHER_PHONE}))
            .await
            .status,
        200
    );
    let code = app
        .post("/code/", json!({"phone": PHONE, "code": live}))
        .await;
    assert_eq!(
        code.status, 200,
        "the code sent before the failures still works: {:?}",
        code.body
    );
}

/// Every endpoint once, with a real session's tokens.
async fn every_endpoint(app: &TestApp, tokens: &Value) -> Vec<(&'static str, Reply)> {
    let access = tokens["access"].as_str().unwrap();
    let refresh = tokens["refresh"].clone();
    let patch = app
        .http
        .patch(app.url("/profile/me/"))
        .bearer_auth(access)
        .json(&json!({"inv": "ABCDEF"}));
    vec![
        (
            "phone",
            app.post("/phone/", json!({"phone": OTHER_PHONE})).await,
        ),
        (
            "code",
            app.post("/code/", json!({"phone": PHONE, "code": "123456"}))
                .await,
        ),
        ("profile", app.get_auth("/profile/me/", access).await),
        ("invite", app.send(patch).await),
        (
            "refresh",
            app.post("/token/refresh/", json!({"refresh": refresh}))
                .await,
        ),
        (
            "revoke",
            app.post("/token/revoke/", json!({"refresh": refresh}))
                .await,
        ),
    ]
}

fn assert_unavailable(replies: &[(&str, Reply)], code: &str, status: u16) {
    for (endpoint, reply) in replies {
        let expected = if *endpoint == "phone" && status == 503 {
            ["sms_unavailable", code]
        } else {
            [code, code]
        };
        assert_eq!(reply.status, status, "{endpoint}: {:?}", reply.body);
        assert!(
            expected.contains(&reply.code()),
            "{endpoint}: {:?}",
            reply.body
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{endpoint}"
        );
        assert_no_leak(reply);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_faults_answer_without_detail_and_lose_nothing() {
    let handle = Backend::Memory.store().await;
    let faulty = Arc::new(FaultyStore::new(handle.store()));
    let sms = Backend::Memory.sms(&config(&[])).await;
    let app = spawn_server(
        Backend::Memory,
        handle.clone(),
        faulty.clone(),
        sms,
        config(&[("RESEND_COOLDOWN_SECONDS", "0")]),
        Arc::new(SystemClock),
    )
    .await;
    let tokens = app.login(PHONE).await.body;

    faulty.fail(
        Some(|| Error::StoreUnavailable("ThrottlingException on secret-table".into())),
        None,
    );
    assert_unavailable(
        &every_endpoint(&app, &tokens).await,
        "service_unavailable",
        503,
    );
    for (_, reply) in every_endpoint(&app, &tokens).await {
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
    faulty.fail(
        Some(|| Error::Internal("ValidationException: secret-table".into())),
        None,
    );
    assert_unavailable(&every_endpoint(&app, &tokens).await, "internal_error", 500);

    // The login write fails after the code checked out: the code is not
    // used up, and no user or session was made.
    faulty.fail(None, None);
    assert_eq!(
        app.post("/phone/", json!({"phone": OTHER_PHONE}))
            .await
            .status,
        200
    );
    let code = app.last_code(OTHER_PHONE).await;
    let before = handle.fingerprint().await;
    faulty.fail(
        Some(|| Error::StoreUnavailable("secret-table".into())),
        Some("login"),
    );
    let failed = app
        .post("/code/", json!({"phone": OTHER_PHONE, "code": code}))
        .await;
    assert_problem(&failed, 503, "service_unavailable");
    assert_eq!(handle.fingerprint().await, before);
    faulty.fail(None, None);
    let retried = app
        .post("/code/", json!({"phone": OTHER_PHONE, "code": code}))
        .await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["created"], true);
}

/// A DynamoDB store on a port where nothing listens.
async fn unreachable_store() -> Arc<dyn Store> {
    let sdk = sdk_config_at("http://127.0.0.1:1").await;
    let tables = Tables {
        users: "secret-table-users".into(),
        codes: "secret-table-codes".into(),
        sessions: "secret-table-sessions".into(),
        invites: "secret-table-invites".into(),
    };
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        tables,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_unreachable_is_503() {
    // Tokens from a healthy app with the same keys.
    let healthy = spawn_app(Backend::Memory, &[]).await;
    let tokens = healthy.login(PHONE).await.body;
    let handle = Backend::Memory.store().await;
    let app = spawn_server(
        Backend::Memory,
        handle,
        unreachable_store().await,
        Backend::Memory.sms(&config(&[])).await,
        config(&[]),
        Arc::new(SystemClock),
    )
    .await;
    assert_unavailable(
        &every_endpoint(&app, &tokens).await,
        "service_unavailable",
        503,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_unreachable_is_503_and_spends_nothing() {
    let sdk = sdk_config_at("http://127.0.0.1:1").await;
    let sns: Arc<dyn SmsSender> = Arc::new(phone_auth::adapters::sns::SnsSms::new(
        aws_sdk_sns::Client::new(&sdk),
        &SmsSending::default(),
    ));
    let handle = Backend::Memory.store().await;
    let app = spawn_app_on(
        Backend::Memory,
        handle.clone(),
        sns,
        config(&[]),
        Arc::new(SystemClock),
    )
    .await;
    for _ in 0..2 {
        let reply = app.post("/phone/", json!({"phone": PHONE})).await;
        assert_problem(&reply, 503, "sms_unavailable");
        assert_no_leak(&reply);
    }
    assert!(app.sent_sms(PHONE).await.is_empty());
    let after = handle.fingerprint().await;
    assert!(
        !after.contains("code "),
        "no code record stands for an SMS never sent: {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_stopped_mid_test_is_503() {
    let mut moto = PrivateMoto::start().await;
    let sdk = sdk_config_at(&moto.endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let tables = Tables {
        users: "users".into(),
        codes: "codes".into(),
        sessions: "sessions".into(),
        invites: "invites".into(),
    };
    phone_auth::adapters::dynamodb::schema::create_tables(&client, &tables)
        .await
        .unwrap();
    let sms: Arc<dyn SmsSender> = Arc::new(phone_auth::adapters::sns::SnsSms::new(
        aws_sdk_sns::Client::new(&sdk),
        &SmsSending::default(),
    ));
    let handle = api_tests::StoreHandle::Moto(client, tables);
    let app = spawn_app_on(
        Backend::Moto,
        handle,
        sms,
        config(&[]),
        Arc::new(SystemClock),
    )
    .await;
    let tokens = app.login(PHONE).await.body;
    assert_eq!(
        app.get_auth("/profile/me/", tokens["access"].as_str().unwrap())
            .await
            .status,
        200
    );

    moto.stop();
    assert_unavailable(
        &every_endpoint(&app, &tokens).await,
        "service_unavailable",
        503,
    );
}

on_both_backends!(a_failed_sms_is_not_counted_as_sent);
