//! What every table measures against: the bench's settings and keys, the
//! dev server on the bench's tables (to log users in), and moto's recorder
//! (to count round trips).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dev_server::DevServer;
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::adapters::sns::SnsSms;
use phone_auth::config::{Settings, Tables};
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};

pub const JWT_KEY: &str = "bench-signing-key-bench-signing-key-0001";
pub const HASH_KEY: &str = "bench-code-hash-key-bench-code-hash-0001";

/// The bench's keys, with the send limits lifted so that load and repeated
/// cold starts are not refused.
fn base_settings() -> HashMap<String, String> {
    [
        ("JWT_KEY_ID", "bench"),
        ("JWT_SIGNING_KEY", JWT_KEY),
        ("JWT_ISSUER", "https://bench.example.com"),
        ("CODE_HASH_SECRET", HASH_KEY),
        ("RESEND_COOLDOWN_SECONDS", "0"),
        ("PHONE_MAX_SENDS_PER_HOUR", "100"),
        ("IP_MAX_SENDS_PER_HOUR", "10000000"),
        // Load sends to random numbers that never log in: pumping, by its
        // shape, which the bench does not measure.
        ("FRAUD_MIN_SENDS", "10000000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A fresh RSA key for the RS256 measurements, made once.
fn rsa_private_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        phone_auth::domain::token::rsa::generate_pem()
            .expect("making an RSA key")
            .0
    })
}

/// The settings that switch access tokens to RS256.
pub fn rs256_settings() -> [(&'static str, String); 2] {
    [
        ("JWT_ALGORITHM", "RS256".to_owned()),
        ("JWT_PRIVATE_KEY", rsa_private_key().to_owned()),
    ]
}

/// `bench_config`, with RS256 access tokens.
pub fn rs256_config() -> phone_auth::config::Config {
    let mut settings = base_settings();
    settings.extend(rs256_settings().map(|(k, v)| (k.to_owned(), v)));
    Settings::from_map(settings)
        .config()
        .expect("the bench's RS256 configuration is valid")
}

/// The configuration of the in-process (memory backend) measurements.
pub fn bench_config() -> phone_auth::config::Config {
    Settings::from_map(base_settings())
        .config()
        .expect("bench settings")
}

pub fn settings(tables: &Tables) -> HashMap<String, String> {
    let mut settings = base_settings();
    settings.extend([
        ("USERS_TABLE".to_owned(), tables.users.clone()),
        ("CODES_TABLE".to_owned(), tables.codes.clone()),
        ("SESSIONS_TABLE".to_owned(), tables.sessions.clone()),
        ("INVITES_TABLE".to_owned(), tables.invites.clone()),
    ]);
    settings
}

/// The dev server on the same tables and keys, to log users in and to
/// count each endpoint's round trips on the code path the functions share.
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub async fn start(sdk: &aws_config::SdkConfig, tables: &Tables) -> Api {
        let config = Settings::from_map(settings(tables))
            .config()
            .expect("bench settings");
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            tables.clone(),
        ));
        let sms = Arc::new(SnsSms::new(
            aws_sdk_sns::Client::new(sdk),
            &config.sms_sending,
        ));
        let server = Arc::new(DevServer::new(config, store, sms, Arc::new(SystemClock)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(dev_server::serve(listener, server));
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the bench API answers");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    pub async fn code(&self, phone: &str) -> String {
        let outbox = self
            .call("GET", &format!("/dev/sms?phone={phone}"), None, None)
            .await;
        let text = outbox["messages"].as_array().unwrap().last().unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() >= 4)
            .unwrap()
            .to_owned()
    }

    /// One call (`Value::Null`: no body) and the DynamoDB and SNS calls it
    /// made: its answer, and the calls.
    pub async fn counted(
        &self,
        recorder: &Recorder,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (Value, Calls) {
        let body = (!body.is_null()).then_some(body);
        let mut answer = Value::Null;
        let calls = recorder
            .count(async { answer = self.call(method, path, token, body).await })
            .await;
        (answer, calls)
    }

    pub async fn login(&self, phone: &str) -> Value {
        self.call("POST", "/phone/", None, Some(json!({"phone": phone})))
            .await;
        let code = self.code(phone).await;
        self.call(
            "POST",
            "/code/",
            None,
            Some(json!({"phone": phone, "code": code})),
        )
        .await
    }
}

/// DynamoDB calls and SNS calls.
pub type Calls = (usize, usize);

pub struct Recorder {
    pub moto: String,
    pub http: reqwest::Client,
}

impl Recorder {
    async fn post(&self, what: &str) {
        let url = format!("{}/moto-api/recorder/{what}", self.moto);
        self.http
            .post(url)
            .send()
            .await
            .expect("moto's recorder answers");
    }

    /// (DynamoDB calls, SNS calls) made while `run` ran.
    pub async fn count<F: std::future::Future<Output = ()>>(&self, run: F) -> Calls {
        self.post("reset-recording").await;
        self.post("start-recording").await;
        run.await;
        self.post("stop-recording").await;
        let url = format!("{}/moto-api/recorder/download-recording", self.moto);
        let log = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (mut dynamodb, mut sns) = (0, 0);
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            let target = entry["headers"].as_object().and_then(|headers| {
                headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))
                    .and_then(|(_, value)| value.as_str())
            });
            let raw = entry["body"].as_str().unwrap_or_default();
            let body = if entry["body_encoded"] == true {
                String::from_utf8_lossy(&STANDARD.decode(raw).unwrap_or_default()).into_owned()
            } else {
                raw.to_owned()
            };
            if target.is_some_and(|t| t.starts_with("DynamoDB_20120810.")) {
                dynamodb += 1;
            } else if body.contains("Action=Publish") || target == Some("AmazonSNS.Publish") {
                sns += 1;
            }
        }
        (dynamodb, sns)
    }
}
