//! The `dev-server` binary as `make dev` starts it: the seed flow through
//! it, reading the code where a developer would, on each backend.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};

const PHONE: &str = "+79123456789";

struct Running {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

fn start(env: &[(&str, String)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dev-server"));
    command
        .env("PORT", "0")
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("dev-server starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("dev-server prints its address");
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    Running {
        child,
        base,
        lines,
        log,
    }
}

impl Running {
    /// What the server logged so far, after a moment for the pipe to drain.
    fn log(&self) -> String {
        std::thread::sleep(Duration::from_millis(200));
        self.log.lock().unwrap().clone()
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line on the console")
    }
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn get(base: &str, path: &str, access: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(token) = access {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() >= 4)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// Phone, code, profile, refresh, as the seed document describes them.
/// Returns what must never be logged: the code and the tokens.
async fn seed_flow(base: &str, code: impl AsyncFnOnce() -> String) -> Vec<String> {
    let (status, _) = post(base, "/phone/", json!({"phone": PHONE})).await;
    assert_eq!(status, 200);
    let code = code().await;
    let (status, login) = post(base, "/code/", json!({"phone": PHONE, "code": code})).await;
    assert_eq!(status, 200, "{login}");
    let access = login["token"].as_str().unwrap();
    let (status, profile) = get(
        base,
        &format!("/profile/{}/", login["user_id"]),
        Some(access),
    )
    .await;
    assert_eq!((status, profile["phone"].as_str()), (200, Some(PHONE)));
    let (status, refreshed) = post(
        base,
        "/token/refresh/",
        json!({"refresh": login["refresh"]}),
    )
    .await;
    assert_eq!(status, 200);
    let secrets = [
        &login["access"],
        &login["refresh"],
        &refreshed["access"],
        &refreshed["refresh"],
    ];
    let mut secrets: Vec<String> = secrets
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    secrets.push(code);
    secrets
}

fn assert_not_logged(log: &str, secrets: &[String]) {
    assert!(
        log.contains("logged in"),
        "the server logs at debug level: {log}"
    );
    for secret in secrets {
        assert!(!appears(log, secret), "{secret} appears in the log");
    }
}

/// Whether `secret` is in `log` as a whole: a code inside a longer
/// number (a port, an id) is not that code.
fn appears(log: &str, secret: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    log.match_indices(secret).any(|(at, _)| {
        !digit(log[..at].chars().next_back()) && !digit(log[at + secret.len()..].chars().next())
    })
}

#[tokio::test]
async fn memory_backend_prints_the_sms_on_the_console() {
    let server = start(&[("BACKEND", "memory".into())]);
    let secrets = seed_flow(&server.base, async || {
        let line = server.next_line();
        let text = line
            .strip_prefix(&format!("SMS to {PHONE}: "))
            .unwrap_or_else(|| panic!("{line:?}"));
        code_in(text)
    })
    .await;
    let log = server.log();
    assert_not_logged(&log, &secrets);
    // Written to a pipe, as to a file: plain text, no terminal colours.
    assert!(log.contains("INFO") || log.contains("WARN"), "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
}

#[tokio::test]
async fn aws_backend_runs_on_moto() {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run these tests with `make test`");
    let prefix = format!("bin{}", std::process::id());
    let tables = phone_auth::config::Tables {
        users: format!("{prefix}-users"),
        codes: format!("{prefix}-codes"),
        sessions: format!("{prefix}-sessions"),
        invites: format!("{prefix}-invites"),
    };
    let sdk = phone_auth::startup::moto_sdk_config(&endpoint).await;
    phone_auth::adapters::dynamodb::schema::create_tables(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &tables,
    )
    .await
    .expect("tables on moto");
    let server = start(&[
        ("BACKEND", "aws".into()),
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("USERS_TABLE", tables.users.clone()),
        ("CODES_TABLE", tables.codes.clone()),
        ("SESSIONS_TABLE", tables.sessions.clone()),
        ("INVITES_TABLE", tables.invites.clone()),
    ]);
    let base = server.base.clone();
    let secrets = seed_flow(&server.base, async || {
        let (status, outbox) = get(&base, &format!("/dev/sms?phone={PHONE}"), None).await;
        assert_eq!(status, 200);
        code_in(
            outbox["messages"][0]["text"]
                .as_str()
                .expect("the dev outbox has the SMS"),
        )
    })
    .await;
    assert_not_logged(&server.log(), &secrets);
}

#[test]
fn a_bad_setting_stops_it_with_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_dev-server"))
        .env("PORT", "0")
        .env("CODE_LENGTH", "12")
        .output()
        .expect("dev-server runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CODE_LENGTH"))
        .collect();
    assert!(!errors.is_empty(), "{stderr}");
    assert!(
        errors
            .iter()
            .all(|l| l.contains("expected a whole number from 4 to 8")),
        "{stderr}"
    );
}
