//! Throughput of the dev server (memory backend, release build) under wrk:
//! requests per second and latency percentiles, per endpoint.

use std::process::Command;
use std::sync::Arc;

use dev_server::DevServer;
use phone_auth::adapters::memory::MemoryStore;
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};

pub struct Load {
    pub endpoint: &'static str,
    pub answer: &'static str,
    pub requests_per_sec: f64,
    pub p50: String,
    pub p99: String,
    pub non_2xx: u64,
}

/// A wrk script for one kind of request. Phones are drawn per request so
/// that sends do not run into the per-phone limits.
fn script(endpoint: &str, access: &str, refresh: &str) -> String {
    let json = r#"{["Content-Type"] = "application/json"}"#;
    match endpoint {
        "POST /phone/" => format!(
            r#"request = function()
  return wrk.format("POST", "/phone/", {json}, '{{"phone": "+7912' .. math.random(1000000, 9999999) .. '"}}')
end"#
        ),
        "POST /code/" => format!(
            r#"request = function()
  return wrk.format("POST", "/code/", {json}, '{{"phone": "+79001112233", "code": "123456"}}')
end"#
        ),
        "GET /profile/me/" => format!(
            r#"wrk.headers["Authorization"] = "Bearer {access}"
request = function() return wrk.format("GET", "/profile/me/") end"#
        ),
        _ => format!(
            r#"request = function()
  return wrk.format("POST", "/token/refresh/", {json}, '{{"refresh": "{refresh}"}}')
end"#
        ),
    }
}

fn field<'a>(output: &'a str, prefix: &str) -> Option<&'a str> {
    output
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_whitespace().last())
}

pub async fn load(seconds: u32) -> Option<Vec<Load>> {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("\nwrk is not installed (apt-get install wrk): no throughput figures.");
        return None;
    }
    // No grace: the refresh row's token is retired before wrk starts, so
    // every request it makes is the 401 the row names.
    let mut config = crate::bench_config();
    config.rules.sessions.refresh_reuse_grace_secs = 0;
    let sms = Arc::new(crate::warm::NullSms);
    let server = Arc::new(DevServer::new(
        config,
        Arc::new(MemoryStore::new()),
        sms,
        Arc::new(SystemClock),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(dev_server::serve(listener, server));

    let http = reqwest::Client::new();
    let phone = "+79120000042";
    http.post(format!("{base}/phone/"))
        .json(&json!({"phone": phone}))
        .send()
        .await
        .unwrap();
    let outbox: Value = http
        .get(format!("{base}/dev/sms?phone={phone}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = outbox["messages"][0]["text"].as_str().unwrap();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() >= 4)
        .unwrap();
    let login: Value = http
        .post(format!("{base}/code/"))
        .json(&json!({"phone": phone, "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (access, refresh) = (
        login["access"].as_str().unwrap(),
        login["refresh"].as_str().unwrap(),
    );
    let rotated = http
        .post(format!("{base}/token/refresh/"))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap();
    assert!(
        rotated.status().is_success(),
        "the refresh row's token retires"
    );

    let mut rows = Vec::new();
    for (endpoint, answer) in [
        (
            "POST /phone/",
            "200, a code sent (a rare 429: two requests drew one number)",
        ),
        ("POST /code/", "400 code_expired (no code sent)"),
        ("GET /profile/me/", "200, the profile"),
        (
            "POST /token/refresh/",
            "401 (a retired token, its session revoked)",
        ),
    ] {
        let path = std::env::temp_dir().join(format!("bench-{}.lua", std::process::id()));
        std::fs::write(&path, script(endpoint, access, refresh)).unwrap();
        let output = tokio::task::spawn_blocking({
            let (base, path) = (base.clone(), path.clone());
            move || {
                Command::new("wrk")
                    .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
                    .arg(&path)
                    .arg(&base)
                    .output()
                    .expect("wrk runs")
            }
        })
        .await
        .unwrap();
        std::fs::remove_file(&path).ok();
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        rows.push(Load {
            endpoint,
            answer,
            requests_per_sec: field(&out, "Requests/sec:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            p50: field(&out, "50%").unwrap_or("?").to_owned(),
            p99: field(&out, "99%").unwrap_or("?").to_owned(),
            non_2xx: field(&out, "Non-2xx or 3xx responses:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        });
    }
    Some(rows)
}

pub async fn table(seconds: u32) {
    let Some(rows) = load(seconds).await else {
        return;
    };
    println!(
        "\n| dev server under wrk (memory backend) | answer | requests/s | p50 | p99 | non-2xx |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} |",
            row.endpoint, row.answer, row.requests_per_sec, row.p50, row.p99, row.non_2xx
        );
    }
    println!("\nwrk -t2 -c32 -d{seconds}s --latency, on the same 2 cores as the server.");
}
