//! Through `make emulate`: the real Lambda binaries under `cargo lambda
//! watch`, on moto. `make test` starts the emulator and runs these with
//! `--ignored`, passing its addresses in EMULATE_API and EMULATE_MOTO.

use std::process::Command;

use serde_json::{Value, json};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: `make test` runs these against `make emulate`")
    })
}

async fn post(api: &str, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{api}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
#[ignore = "needs `make emulate`; `make test` starts it and runs this"]
async fn seed_flow_through_the_lambda_functions() {
    let (api, moto) = (env("EMULATE_API"), env("EMULATE_MOTO"));
    // A phone of this run's own, clear of the resend cooldown of any other.
    let phone = format!("+7900555{:04}", std::process::id() % 10_000);
    let phone = phone.as_str();
    let (status, sent) = post(&api, "/phone/", json!({"phone": phone})).await;
    assert_eq!(status, 200, "{sent}");

    let sms = api_tests::moto_sms_at(&moto).await;
    let (_, text) = sms
        .iter()
        .rev()
        .find(|(to, _)| to == phone)
        .expect("moto recorded the SMS");
    let code = api_tests::code_in(text);

    let (status, login) = post(&api, "/code/", json!({"phone": phone, "code": code})).await;
    assert_eq!(status, 200, "{login}");
    let access = login["token"].as_str().unwrap();
    let profile = reqwest::Client::new()
        .get(format!("{api}/profile/{}/", login["user_id"]))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);
    assert_eq!(profile.headers()["cache-control"], "no-store");
    let profile: Value = profile.json().await.unwrap();
    assert_eq!(profile["phone"], phone);

    let (status, refreshed) =
        post(&api, "/token/refresh", json!({"refresh": login["refresh"]})).await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, bad) = post(&api, "/phone", json!({"phone": "nope"})).await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("invalid_phone")));

    // Log out everywhere: the refreshed session ends.
    let newest = refreshed["refresh"].clone();
    let (status, _) = post(
        &api,
        "/token/revoke/",
        json!({"refresh": newest, "scope": "all"}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = post(&api, "/token/refresh/", json!({"refresh": newest})).await;
    assert_eq!(status, 401);

    // Delete the account with a fresh code: the profile is gone.
    let (status, _) = post(&api, "/phone/", json!({"phone": phone})).await;
    assert_eq!(status, 200);
    let sms = api_tests::moto_sms_at(&moto).await;
    let (_, text) = sms.iter().rev().find(|(to, _)| to == phone).unwrap();
    let code = api_tests::code_in(text);
    let http = reqwest::Client::new();
    let deleted = http
        .delete(format!("{api}/profile/me/"))
        .bearer_auth(access)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(format!("{api}/profile/me/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
#[ignore = "needs `make emulate`; `make test` starts it and runs this"]
async fn unknown_paths_answer_the_contract_s_404() {
    let api = env("EMULATE_API");
    for path in [
        "/",
        "/nope",
        "/profile",
        "/token",
        "/phone/extra",
        "/a/b/c/",
    ] {
        let response = reqwest::Client::new()
            .get(format!("{api}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
        assert_eq!(body["status"], 404, "{path}");
    }
}

/// What each event in `events/` answers on a fresh emulator.
const EXPECTED: &[(&str, u16)] = &[
    ("code-enter.json", 400),
    ("phone-enter.json", 200),
    ("phone-enter-base64.json", 200),
    ("phone-enter-invalid.json", 400),
    ("token-refresh.json", 401),
    ("token-revoke.json", 401),
    ("user-profile.json", 401),
    ("user-profile-method.json", 405),
    ("user-profile-delete.json", 401),
    ("well-known.json", 200),
    // Signed and let in (the event carries the IAM caller): no such user.
    ("admin.json", 404),
    // The token in the file is a placeholder.
    ("phone-change.json", 401),
    ("phone-change-verify.json", 401),
];

/// The stream's events (a deletion, a phone change): the cleanup function
/// answers which records failed.
const STREAM_EVENTS: [&str; 2] = ["account-cleanup.json", "account-cleanup-phone.json"];
/// CloudFormation's events answer a presigned S3 URL, which is not here:
/// `tests/signing_key.rs` and `tests/sms_delivery.rs` run them on moto.
/// The user events go to a bus the stack makes: `tests/user_events_stream.rs`
/// makes one on moto and runs them there.
const CUSTOM_RESOURCE_EVENTS: [&str; 3] = [
    "signing-key.json",
    "sms-delivery-logging.json",
    "user-events.json",
];
/// SNS's delivery logs: what the delivery function counted in each batch.
const DELIVERY_EVENTS: [(&str, (u64, u64)); 2] = [
    ("sms-delivery.json", (2, 0)),
    ("sms-delivery-failure.json", (0, 1)),
];

#[test]
#[ignore = "needs `make emulate`; `make test` starts it and runs this"]
fn every_event_invokes_its_function() {
    let port = env("EMULATE_API").rsplit(':').next().unwrap().to_owned();
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut files: Vec<String> = std::fs::read_dir(events)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.retain(|f| !CUSTOM_RESOURCE_EVENTS.contains(&f.as_str()));
    assert_eq!(
        files.len(),
        EXPECTED.len() + STREAM_EVENTS.len() + DELIVERY_EVENTS.len(),
        "every event has an expected answer"
    );
    for file in files {
        let function = phone_auth::http::routes::ROUTES
            .iter()
            .map(|r| r.function)
            .chain(["account-cleanup", "sms-delivery"])
            .find(|f| file.starts_with(f))
            .unwrap_or_else(|| panic!("{file} names no function"));
        let output = Command::new("cargo")
            .args(["lambda", "invoke", function, "--data-file"])
            .arg(format!("{events}/{file}"))
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port,
                "--output-format",
                "json",
            ])
            .output()
            .expect("cargo lambda runs");
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let response: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{file}: {}", String::from_utf8_lossy(&output.stdout)));
        if STREAM_EVENTS.contains(&file.as_str()) {
            assert_eq!(response, json!({"batchItemFailures": []}), "{file}");
            continue;
        }
        if let Some((_, (delivered, failed))) = DELIVERY_EVENTS.iter().find(|(f, _)| *f == file) {
            let counted = json!({"delivered": delivered, "failed": failed});
            assert_eq!(response, counted, "{file}");
            continue;
        }
        let expected = EXPECTED.iter().find(|(f, _)| *f == file).unwrap().1;
        assert_eq!(response["statusCode"], expected, "{file}: {response}");
        let cache = if file == "well-known.json" {
            "public, max-age=300"
        } else {
            "no-store"
        };
        assert_eq!(response["headers"]["cache-control"], cache, "{file}");
    }
}
