//! `CAPTCHA_PROVIDER=turnstile`, over HTTP on both backends, against a
//! stand-in for Cloudflare's siteverify on loopback that speaks its
//! documented protocol (a JSON POST of `secret`, `response` and `remoteip`;
//! `{"success": ..., "error-codes": [...]}` back; each token good once):
//! the challenge names the provider and the site key, a good token lets
//! one send through, a bad or reused one is refused, and a provider that
//! answers 500, too slowly or not at all gives 503 and sends nothing.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_tests::{Backend, Reply, TestApp, assert_problem, config, spawn_app_with};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const SECRET: &str = "0x4AAAAAAA-test-secret";
const SITE_KEY: &str = "0x4AAAAAAA-test-site-key";

/// How the stand-in answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Protocol,
    Fails,
    Slow,
}

#[derive(Default)]
struct Seen {
    used: HashSet<String>,
    remote_ips: Vec<String>,
}

struct SiteVerify {
    url: String,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
}

impl SiteVerify {
    async fn start() -> SiteVerify {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/turnstile/v0/siteverify",
            listener.local_addr().unwrap()
        );
        let mode = Arc::new(Mutex::new(Mode::Protocol));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (m, s) = (mode.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (m, s) = (m.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(m.clone(), s.clone(), request));
                    let _closed = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SiteVerify { url, mode, seen }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn answer(
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let mode = *mode.lock().unwrap();
    let reply = |status: u16, body: Value| {
        let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        Ok(response)
    };
    if mode == Mode::Slow {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if mode == Mode::Fails {
        return reply(500, json!({}));
    }
    assert_eq!(request.method(), hyper::Method::POST);
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("siteverify takes JSON");
    if body["secret"] != SECRET {
        return reply(
            200,
            json!({"success": false, "error-codes": ["invalid-input-secret"]}),
        );
    }
    let token = body["response"].as_str().unwrap_or_default().to_owned();
    let mut seen = seen.lock().unwrap();
    if let Some(ip) = body["remoteip"].as_str() {
        seen.remote_ips.push(ip.to_owned());
    }
    if !token.starts_with("good-") {
        return reply(
            200,
            json!({"success": false, "error-codes": ["invalid-input-response"]}),
        );
    }
    if !seen.used.insert(token) {
        return reply(
            200,
            json!({"success": false, "error-codes": ["timeout-or-duplicate"]}),
        );
    }
    reply(
        200,
        json!({"success": true, "error-codes": [], "hostname": "example.com"}),
    )
}

async fn app(backend: Backend, url: &str) -> TestApp {
    let settings = config(&[
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SITE_KEY", SITE_KEY),
        ("CAPTCHA_SECRET", SECRET),
        ("CAPTCHA_VERIFY_URL", url),
        ("IP_MAX_SENDS_PER_HOUR", "1"),
    ]);
    spawn_app_with(backend, settings, Arc::new(SystemClock)).await
}

async fn send(app: &TestApp, phone: &str, token: Option<&str>) -> Reply {
    let mut body = json!({ "phone": phone });
    if let Some(token) = token {
        body["challenge"] = json!(token);
    }
    app.post("/phone/", body).await
}

async fn a_turnstile_token_lets_one_send_through(backend: Backend) {
    let siteverify = SiteVerify::start().await;
    let app = app(backend, &siteverify.url).await;
    assert_eq!(send(&app, "+79126770001", None).await.status, 200);
    let asked = send(&app, "+79126770002", None).await;
    assert_problem(&asked, 429, "challenge_required");
    assert_eq!(
        asked.body["challenge"],
        json!({"provider": "turnstile", "sitekey": SITE_KEY})
    );

    let through = send(&app, "+79126770002", Some("good-1")).await;
    assert_eq!(through.status, 200, "{:?}", through.body);
    assert_eq!(app.sent_sms("+79126770002").await.len(), 1);
    // The provider saw the caller's address.
    assert_eq!(siteverify.seen.lock().unwrap().remote_ips, ["127.0.0.1"]);
    // Reused (the provider says so), or not the provider's: refused.
    for token in ["good-1", "forged"] {
        let refused = send(&app, "+79126770003", Some(token)).await;
        assert_problem(&refused, 400, "invalid_request");
    }
    assert!(app.sent_sms("+79126770003").await.is_empty());
}

async fn a_provider_that_cannot_answer_sends_nothing(backend: Backend) {
    let siteverify = SiteVerify::start().await;
    let app = app(backend, &siteverify.url).await;
    for (mode, token) in [(Mode::Fails, "good-2"), (Mode::Slow, "good-3")] {
        siteverify.set(mode);
        let reply = send(&app, "+79126770010", Some(token)).await;
        assert_problem(&reply, 503, "service_unavailable");
        assert!(reply.header("retry-after").is_some());
    }
    assert!(app.sent_sms("+79126770010").await.is_empty());
    // Unreachable: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = self::app(backend, &url).await;
    let reply = send(&unreachable, "+79126770011", Some("good-4")).await;
    assert_problem(&reply, 503, "service_unavailable");
    assert!(unreachable.sent_sms("+79126770011").await.is_empty());
}

api_tests::on_both_backends!(
    a_turnstile_token_lets_one_send_through,
    a_provider_that_cannot_answer_sends_nothing,
);
