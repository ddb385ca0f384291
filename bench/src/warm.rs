//! Warm cost: CPU time per request of each handler on the memory backend,
//! in this process, excluding all I/O (there is none on that backend).
//! Each request is timed alone by the thread's CPU clock, so the work of
//! preparing it (sending the code a login needs, say) is not counted.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use phone_auth::adapters::console::Outbox;
use phone_auth::adapters::memory::MemoryStore;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::service::Service;
use phone_auth::http::{ApiRequest, App};
use phone_auth::ports::{OtpMessage, SmsSender, SystemClock};
use serde_json::{Value, json};

/// Sends nothing: the warm numbers are the service's own cost.
pub struct NullSms;

#[async_trait]
impl SmsSender for NullSms {
    async fn send(&self, _message: &OtpMessage<'_>) -> phone_auth::Result<()> {
        Ok(())
    }
}

/// CPU time this thread has used, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn request(method: Method, path: &str, token: Option<&str>, body: Value) -> ApiRequest {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    ApiRequest {
        method,
        path: path.to_owned(),
        query: None,
        headers,
        body: Bytes::from(body.to_string()),
        source_ip: Some("198.51.100.7".into()),
        iam_caller: None,
    }
}

pub struct Warm {
    pub endpoint: String,
    pub micros_per_request: f64,
}

struct Bench {
    app: App,
    outbox: Arc<Outbox>,
}

impl Bench {
    async fn call(&self, request: ApiRequest) -> Value {
        let response = self.app.handle(request).await;
        assert!(response.status().is_success(), "{:?}", response.body());
        serde_json::from_slice(response.body()).unwrap_or(Value::Null)
    }

    async fn login(&self, phone: &str) -> Value {
        self.call(request(
            Method::POST,
            "/phone/",
            None,
            json!({"phone": phone}),
        ))
        .await;
        let code = self.code(phone);
        self.call(request(
            Method::POST,
            "/code/",
            None,
            json!({"phone": phone, "code": code}),
        ))
        .await
    }

    fn code(&self, phone: &str) -> String {
        let sent = self.outbox.sent_to(&Phone::parse(phone, None).unwrap());
        let text = &sent.last().unwrap().text;
        text.split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() >= 4)
            .unwrap()
            .to_owned()
    }

    /// Times `timed` alone, `n` times, after `prepare` made its request.
    async fn measure(&self, n: usize, mut prepare: impl AsyncFnMut(usize) -> ApiRequest) -> f64 {
        let mut total = 0;
        for i in 0..n {
            let request = prepare(i).await;
            let start = thread_cpu_ns();
            let response = self.app.handle(request).await;
            total += thread_cpu_ns() - start;
            assert!(response.status().is_success(), "{:?}", response.body());
        }
        total as f64 / n as f64 / 1000.0
    }
}

/// Every handler's warm cost with HS256 access tokens, then the two that
/// sign (and the profile, which verifies) with RS256.
pub async fn warm(n: usize) -> Vec<Warm> {
    let mut rows = warm_with(n, crate::bench_config(), "HS256").await;
    let rs256 = warm_with(n, crate::rs256_config(), "RS256").await;
    rows.extend(
        rs256
            .into_iter()
            .filter(|row| !row.endpoint.starts_with("POST /phone/")),
    );
    rows
}

async fn warm_with(n: usize, config: phone_auth::config::Config, algorithm: &str) -> Vec<Warm> {
    let clock = Arc::new(SystemClock);
    let outbox = Arc::new(Outbox::new(Arc::new(NullSms), clock.clone()));
    let service = Service::new(
        config.rules,
        Arc::new(MemoryStore::new()),
        outbox.clone(),
        clock,
    );
    let bench = Bench {
        app: App::new(service),
        outbox,
    };
    let phone = |i: usize| format!("+7912{:07}", 2_000_000 + i);

    let sends = bench
        .measure(n, async |i| {
            request(Method::POST, "/phone/", None, json!({"phone": phone(i)}))
        })
        .await;
    let logins = bench
        .measure(n, async |i| {
            let code = bench.code(&phone(i));
            request(
                Method::POST,
                "/code/",
                None,
                json!({"phone": phone(i), "code": code}),
            )
        })
        .await;
    let owner = bench.login("+79120000001").await;
    let access = owner["access"].as_str().unwrap().to_owned();
    let profiles = bench
        .measure(n, async |_| {
            request(Method::GET, "/profile/me/", Some(&access), Value::Null)
        })
        .await;
    let mut refresh = owner["refresh"].as_str().unwrap().to_owned();
    let mut refreshes = 0.0;
    for _ in 0..n {
        let start = thread_cpu_ns();
        let response = bench
            .app
            .handle(request(
                Method::POST,
                "/token/refresh/",
                None,
                json!({"refresh": refresh}),
            ))
            .await;
        refreshes += (thread_cpu_ns() - start) as f64;
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        refresh = body["refresh"]
            .as_str()
            .expect("a rotated token")
            .to_owned();
    }
    vec![
        Warm {
            endpoint: format!("{}, {algorithm}", "POST /phone/"),
            micros_per_request: sends,
        },
        Warm {
            endpoint: format!("{}, {algorithm}", "POST /code/ (first login)"),
            micros_per_request: logins,
        },
        Warm {
            endpoint: format!("{}, {algorithm}", "GET /profile/me/"),
            micros_per_request: profiles,
        },
        Warm {
            endpoint: format!("{}, {algorithm}", "POST /token/refresh/"),
            micros_per_request: refreshes / n as f64 / 1000.0,
        },
    ]
}

pub async fn table(requests: usize) {
    println!("\n| warm handler, memory backend | CPU per request |");
    println!("| --- | --- |");
    for row in warm(requests).await {
        println!("| {} | {:.1} us |", row.endpoint, row.micros_per_request);
    }
    println!("\n{requests} requests each, in-process, timed by the thread's CPU clock.");
}
