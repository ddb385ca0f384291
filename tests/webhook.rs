//! `SMS_PROVIDER=webhook`, over HTTP on both backends, against a receiver
//! that checks every post with the real Standard Webhooks library (PyPI
//! `standardwebhooks`, tests/webhook_receiver.py): a send is one signed
//! POST carrying the contract's body, in the language the request chose,
//! on the channel it asked for; a bridge that fails, stalls or cannot be
//! reached gives 503 and every unit back.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use api_tests::{Backend, Reply, TestApp, assert_problem, config, spawn_app_with};
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Receiver {
    child: Child,
    base: String,
}

impl Receiver {
    fn start() -> Receiver {
        let python = std::env::var("MOTO_PYTHON")
            .expect("MOTO_PYTHON is not set: run these tests with `make test`");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/webhook_receiver.py");
        let mut child = Command::new(python)
            .args([script, SECRET])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        Receiver {
            child,
            base: format!("http://127.0.0.1:{}", port.trim()),
        }
    }

    fn url(&self) -> String {
        format!("{}/send", self.base)
    }

    async fn set(&self, mode: &str) {
        let url = format!("{}/mode/{mode}", self.base);
        reqwest::Client::new().put(url).send().await.unwrap();
    }

    /// What the library verified, and how many posts it refused.
    async fn received(&self) -> (Vec<Value>, u64) {
        let url = format!("{}/received", self.base);
        let all: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        let verified = all["verified"].as_array().unwrap().clone();
        (verified, all["rejected"].as_u64().unwrap())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app(backend: Backend, url: &str, more: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("SMS_PROVIDER", "webhook"),
        ("SMS_WEBHOOK_URL", url),
        ("SMS_WEBHOOK_SECRET", SECRET),
        ("SMS_WEBHOOK_CHANNELS", "sms,whatsapp,voice"),
        (
            "SMS_TEMPLATES",
            r#"{"pt": "Seu código é {code}", "ru": "Ваш код: {code}"}"#,
        ),
    ];
    settings.extend_from_slice(more);
    spawn_app_with(backend, config(&settings), Arc::new(SystemClock)).await
}

async fn send(app: &TestApp, body: Value, accept_language: Option<&str>) -> Reply {
    let mut request = app.http.post(app.url("/phone/")).json(&body);
    if let Some(languages) = accept_language {
        request = request.header("accept-language", languages);
    }
    app.send(request).await
}

async fn a_send_is_one_signed_post_the_bridge_verifies(backend: Backend) {
    let receiver = Receiver::start();
    let app = app(backend, &receiver.url(), &[]).await;
    let phone = "+79126780001";
    let body = json!({"phone": phone, "channel": "whatsapp", "locale": "pt-BR"});
    let sent = send(&app, body, None).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);

    let (verified, rejected) = receiver.received().await;
    assert_eq!((verified.len(), rejected), (1, 0));
    let post = &verified[0];
    let data = &post["body"]["data"];
    let code = data["code"].as_str().unwrap().to_owned();
    assert_eq!(post["body"]["type"], "otp.send");
    assert!(post["body"]["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(data["to"], phone);
    assert_eq!(data["channel"], "whatsapp");
    assert_eq!(data["locale"], "pt");
    assert_eq!(data["text"], format!("Seu código é {code}"));
    assert_eq!(data["expires_in"], 300);
    assert_eq!(data["verification_id"], sent.body["verification_id"]);
    let id = format!("msg_{}", sent.body["verification_id"].as_str().unwrap());
    assert_eq!(post["headers"]["webhook-id"], id.as_str());
    assert_eq!(app.sent_sms(phone).await, [format!("Seu código é {code}")]);

    // The code the bridge delivered logs in.
    let login = app
        .post("/code/", json!({"phone": phone, "code": code}))
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
}

async fn the_language_comes_from_the_locale_the_header_the_region(backend: Backend) {
    let receiver = Receiver::start();
    let app = app(backend, &receiver.url(), &[]).await;
    let cases = [
        // The request's locale, before the header.
        ("+12015550101", Some("ru"), Some("pt"), "ru"),
        // The header's first language with a template.
        ("+12015550102", None, Some("de-DE, pt-PT;q=0.8"), "pt"),
        // The number's region: Brazil reads Portuguese.
        ("+5511961234567", Some("de"), Some("fr"), "pt"),
        // None of them has a template: SMS_TEMPLATE, in English.
        ("+12015550103", Some("de"), Some("fr"), "en"),
    ];
    for (phone, locale, header, expected) in cases {
        let mut body = json!({"phone": phone});
        if let Some(locale) = locale {
            body["locale"] = json!(locale);
        }
        let sent = send(&app, body, header).await;
        assert_eq!(sent.status, 200, "{phone}: {:?}", sent.body);
        let (verified, _) = receiver.received().await;
        let data = &verified.last().unwrap()["body"]["data"];
        assert_eq!(
            (data["to"].as_str(), data["locale"].as_str()),
            (Some(phone), Some(expected))
        );
    }
    assert!(
        receiver.received().await.0[3]["body"]["data"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Your verification code is ")
    );
}

async fn channels_and_locales_are_checked(backend: Backend) {
    let receiver = Receiver::start();
    let app = app(backend, &receiver.url(), &[]).await;
    for body in [
        json!({"phone": "+79126780010", "channel": "telegram"}),
        json!({"phone": "+79126780010", "channel": 5}),
        json!({"phone": "+79126780010", "locale": "not a tag"}),
        json!({"phone": "+79126780010", "locale": ["ru"]}),
    ] {
        let refused = send(&app, body.clone(), None).await;
        assert_problem(&refused, 400, "invalid_request");
    }
    assert!(receiver.received().await.0.is_empty());
    // Each declared channel is taken.
    for (i, channel) in ["sms", "voice"].iter().enumerate() {
        let phone = format!("+7912678002{i}");
        let sent = send(&app, json!({"phone": phone, "channel": channel}), None).await;
        assert_eq!(sent.status, 200, "{channel}: {:?}", sent.body);
    }
    // SNS offers SMS alone.
    let sns = api_tests::spawn_app(backend, &[]).await;
    let refused = send(
        &sns,
        json!({"phone": "+79126780030", "channel": "whatsapp"}),
        None,
    )
    .await;
    assert_problem(&refused, 400, "invalid_request");
    assert!(refused.body["detail"].as_str().unwrap().contains("sms"));
    let sent = send(
        &sns,
        json!({"phone": "+79126780030", "channel": "sms"}),
        None,
    )
    .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
}

/// A failed send must not keep its units: a second try at once (no
/// cooldown), within the phone's hour (1) and the day's budget (1), goes
/// through once the bridge is back.
async fn a_bridge_that_fails_gives_the_units_back(backend: Backend) {
    let receiver = Receiver::start();
    let tight = [("PHONE_MAX_SENDS_PER_HOUR", "1"), ("SMS_DAILY_BUDGET", "1")];
    let app = app(backend, &receiver.url(), &tight).await;
    let phone = "+79126780040";
    for mode in ["fail", "slow"] {
        receiver.set(mode).await;
        let failed = send(&app, json!({"phone": phone}), None).await;
        assert_problem(&failed, 503, "sms_unavailable");
        // Nothing about the bridge or the number in the answer.
        let detail = failed.body["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("127.0.0.1") && !detail.contains("9126780040"),
            "{detail}"
        );
    }
    assert!(app.sent_sms(phone).await.is_empty());
    receiver.set("ok").await;
    let sent = send(&app, json!({"phone": phone}), None).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(receiver.received().await.0.len(), 3);

    // Unreachable: nothing listens there any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/send", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = self::app(backend, &url, &tight).await;
    for _ in 0..2 {
        let failed = send(&unreachable, json!({"phone": phone}), None).await;
        assert_problem(&failed, 503, "sms_unavailable");
    }
}

api_tests::on_both_backends!(
    a_send_is_one_signed_post_the_bridge_verifies,
    the_language_comes_from_the_locale_the_header_the_region,
    channels_and_locales_are_checked,
    a_bridge_that_fails_gives_the_units_back,
);
