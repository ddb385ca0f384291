//! The SMS itself: its text for every combination of the settings, the SNS
//! attributes as they go over the wire, and the per-region daily budgets.

use std::sync::Arc;

use api_tests::{
    Backend, FlakySms, TestApp, assert_problem, code_in, config, moto_endpoint, moto_sms,
    spawn_app, spawn_app_on,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use phone_auth::ports::{Clock, SystemClock};
use serde_json::{Value, json};

/// Sends are not held back by the per-phone or per-IP limits here.
const OPEN: [(&str, &str); 3] = [
    ("RESEND_COOLDOWN_SECONDS", "0"),
    ("PHONE_MAX_SENDS_PER_HOUR", "100"),
    ("IP_MAX_SENDS_PER_HOUR", "10000"),
];

fn with_open(settings: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    OPEN.iter().chain(settings).copied().collect()
}

/// A phone of its own for each test and backend, so that the shared moto's
/// record of SMS tells the tests apart.
fn phone(test: u32, backend: Backend, n: u32) -> String {
    let backend = match backend {
        Backend::Memory => 1,
        Backend::Moto => 2,
    };
    format!("+791245{test}{backend}{n:03}")
}

async fn send(app: &TestApp, phone: &str) -> api_tests::Reply {
    app.post("/phone/", json!({ "phone": phone })).await
}

/// Settings, and the text they make of a code.
type TextCase = (&'static [(&'static str, &'static str)], fn(&str) -> String);

async fn texts_follow_the_settings(backend: Backend) {
    let cases: [TextCase; 8] = [
        (&[], |code| {
            format!("Your verification code is {code}. It expires in 5 minutes.")
        }),
        (
            &[
                ("SMS_TEMPLATE", "{app} code: {code}, valid {minutes} min"),
                ("SMS_APP_NAME", "Acme"),
                ("CODE_TTL_SECONDS", "600"),
            ],
            |code| format!("Acme code: {code}, valid 10 min"),
        ),
        (&[("WEBOTP_DOMAIN", "login.example.com")], |code| {
            format!(
                "Your verification code is {code}. It expires in 5 minutes.\n\n@login.example.com #{code}"
            )
        }),
        (&[("ANDROID_APP_HASH", "FA+9qCX9VSu")], |code| {
            format!("Your verification code is {code}. It expires in 5 minutes.\n\nFA+9qCX9VSu")
        }),
        (
            &[
                ("WEBOTP_DOMAIN", "example.com"),
                ("ANDROID_APP_HASH", "FA+9qCX9VSu"),
            ],
            |code| {
                format!(
                    "Your verification code is {code}. It expires in 5 minutes.\n\n@example.com #{code}\nFA+9qCX9VSu"
                )
            },
        ),
        (
            &[
                ("SMS_TEMPLATE", "{code} is your code"),
                ("WEBOTP_DOMAIN", "example.com"),
            ],
            |code| format!("{code} is your code\n\n@example.com #{code}"),
        ),
        (
            &[
                ("SMS_TEMPLATE", "{code} is your code"),
                ("ANDROID_APP_HASH", "FA+9qCX9VSu"),
            ],
            |code| format!("{code} is your code\n\nFA+9qCX9VSu"),
        ),
        (
            &[
                ("SMS_TEMPLATE", "{code} is your code"),
                ("WEBOTP_DOMAIN", "example.com"),
                ("ANDROID_APP_HASH", "FA+9qCX9VSu"),
            ],
            |code| format!("{code} is your code\n\n@example.com #{code}\nFA+9qCX9VSu"),
        ),
    ];
    for (n, (settings, expected)) in cases.into_iter().enumerate() {
        let app = spawn_app(backend, settings).await;
        let to = phone(1, backend, n as u32);
        assert_eq!(send(&app, &to).await.status, 200, "{settings:?}");
        let texts = app.sent_sms(&to).await;
        assert_eq!(texts.len(), 1);
        let want = expected(&code_in(&texts[0]));
        assert_eq!(texts[0], want, "{settings:?}");
        if backend == Backend::Moto {
            let recorded = moto_sms().await;
            assert!(
                recorded.contains(&(to.clone(), want.clone())),
                "SNS on moto did not get {want:?}"
            );
        }
    }
}

/// Seconds from now to the next UTC midnight.
fn secs_to_midnight() -> u64 {
    let now = SystemClock.now();
    now.secs_until(now.next_utc_midnight())
}

fn assert_budget_spent(reply: &api_tests::Reply) {
    assert_problem(reply, 503, "sms_unavailable");
    let retry: u64 = reply
        .header("retry-after")
        .expect("a 503 carries Retry-After")
        .parse()
        .unwrap();
    // Read after the answer came: the answer's count can only be the
    // larger, by however long a loaded machine took in between.
    let midnight = secs_to_midnight();
    assert!(
        (midnight.saturating_sub(1)..=midnight + 60).contains(&retry),
        "Retry-After {retry}, midnight in {midnight}"
    );
}

async fn a_region_budget_holds_under_concurrency(backend: Backend) {
    const CAP: usize = 5;
    const SENDS: u32 = 16;
    let app = Arc::new(
        spawn_app(
            backend,
            &with_open(&[("SMS_COUNTRY_DAILY_BUDGET", "RU:5,GB:2")]),
        )
        .await,
    );
    let sends = (0..SENDS).map(|n| {
        let app = Arc::clone(&app);
        tokio::spawn(async move { send(&app, &phone(2, backend, n)).await })
    });
    let mut sent = 0;
    for reply in sends {
        let reply = reply.await.unwrap();
        if reply.status == 200 {
            sent += 1;
        } else {
            assert_budget_spent(&reply);
        }
    }
    assert_eq!(sent, CAP, "exactly the region's budget went out");
    let mut delivered = 0;
    for n in 0..SENDS {
        delivered += app.sent_sms(&phone(2, backend, n)).await.len();
    }
    assert_eq!(delivered, CAP);

    // Other regions are not touched by it; each has its own.
    for gb in ["+447400123456", "+447400123457"] {
        assert_eq!(send(&app, gb).await.status, 200, "{gb}");
    }
    assert_budget_spent(&send(&app, "+447400123458").await);
    assert_eq!(send(&app, "+12015550123").await.status, 200, "no US budget");
}

async fn a_failed_sms_gives_its_unit_back_to_both_counters(backend: Backend) {
    let settings = with_open(&[
        ("SMS_DAILY_BUDGET", "2"),
        ("SMS_COUNTRY_DAILY_BUDGET", "RU:2"),
    ]);
    let sms = Arc::new(FlakySms::default());
    let app = spawn_app_on(
        backend,
        backend.store().await,
        sms.clone(),
        config(&settings),
        Arc::new(SystemClock),
    )
    .await;
    sms.set_failing(true);
    for n in 0..3 {
        let failed = send(&app, &phone(3, backend, n)).await;
        assert_problem(&failed, 503, "sms_unavailable");
        assert!(failed.header("retry-after").is_some());
    }
    sms.set_failing(false);
    // Had a failed send kept a unit of either counter, these would not
    // both go out.
    assert_eq!(send(&app, &phone(3, backend, 10)).await.status, 200);
    assert_eq!(send(&app, &phone(3, backend, 11)).await.status, 200);
    assert_budget_spent(&send(&app, &phone(3, backend, 12)).await);
}

api_tests::on_both_backends!(
    texts_follow_the_settings,
    a_region_budget_holds_under_concurrency,
    a_failed_sms_gives_its_unit_back_to_both_counters,
);

/// moto's request recorder, for what went over the wire.
async fn recorder(what: &str) {
    let url = format!("{}/moto-api/recorder/{what}", moto_endpoint());
    let status = reqwest::Client::new()
        .post(url)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "recorder {what}: {status}");
}

fn form_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The message attributes of the recorded Publish to `to`, as (name,
/// data type, value), sorted.
async fn published_attributes(to: &str) -> Vec<(String, String, String)> {
    let url = format!("{}/moto-api/recorder/download-recording", moto_endpoint());
    let log = reqwest::get(url).await.unwrap().text().await.unwrap();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let raw = entry["body"].as_str().unwrap_or_default();
        let body = if entry["body_encoded"] == true {
            String::from_utf8_lossy(&STANDARD.decode(raw).unwrap_or_default()).into_owned()
        } else {
            raw.to_owned()
        };
        let fields: Vec<(String, String)> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (form_decode(k), form_decode(v)))
            .collect();
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if field("Action").as_deref() != Some("Publish")
            || field("PhoneNumber").as_deref() != Some(to)
        {
            continue;
        }
        let mut attributes = Vec::new();
        for n in 1.. {
            let entry = |part: &str| field(&format!("MessageAttributes.entry.{n}.{part}"));
            let Some(name) = entry("Name") else { break };
            attributes.push((
                name,
                entry("Value.DataType").unwrap_or_default(),
                entry("Value.StringValue").unwrap_or_default(),
            ));
        }
        attributes.sort();
        return attributes;
    }
    panic!("no Publish to {to} was recorded");
}

#[tokio::test]
async fn publish_carries_the_attributes_the_settings_give() {
    let attribute =
        |name: &str, kind: &str, value: &str| (name.to_owned(), kind.to_owned(), value.to_owned());
    let plain = spawn_app(Backend::Moto, &[]).await;
    let set = spawn_app(
        Backend::Moto,
        &[
            ("SMS_SENDER_ID", "Acme"),
            ("SMS_ORIGINATION_NUMBER", "+15555550100"),
            ("SMS_MAX_PRICE_USD", "0.50"),
        ],
    )
    .await;
    recorder("start-recording").await;
    let (plain_to, set_to) = ("+79124590001", "+79124590002");
    let sent = (send(&plain, plain_to).await, send(&set, set_to).await);
    recorder("stop-recording").await;
    assert_eq!((sent.0.status, sent.1.status), (200, 200));

    assert_eq!(
        published_attributes(plain_to).await,
        vec![attribute("AWS.SNS.SMS.SMSType", "String", "Transactional")]
    );
    assert_eq!(
        published_attributes(set_to).await,
        vec![
            attribute("AWS.MM.SMS.OriginationNumber", "String", "+15555550100"),
            attribute("AWS.SNS.SMS.MaxPrice", "Number", "0.50"),
            attribute("AWS.SNS.SMS.SMSType", "String", "Transactional"),
            attribute("AWS.SNS.SMS.SenderID", "String", "Acme"),
        ]
    );
}
