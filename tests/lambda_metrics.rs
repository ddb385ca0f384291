//! The functions as Lambda runs them: each binary started against a local
//! runtime API (`api_tests::runtime`, as the bench starts them), fed the
//! events of `events/` on moto, and the embedded-metric-format lines it
//! writes to standard output read as CloudWatch Logs would read them; and
//! what a start-up as deployed does before its first event.
//!
//! Needs the debug function binaries: `make test` builds them and runs this
//! with `FUNCTION_BIN_DIR` set (`--ignored`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use api_tests::receiver::{Answer, Receiver};
use api_tests::runtime::RuntimeApi;
use api_tests::{code_in, create_secret, fresh_tables, moto_endpoint, moto_sms, sdk_config};
use phone_auth::domain::metric::NAMES;
use phone_auth::ports::{Clock, SystemClock};
use serde_json::{Value, json};

/// One function process and everything it writes to standard output.
struct Function {
    runtime: RuntimeApi,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: JoinHandle<()>,
}

impl Function {
    async fn start(name: &str, env: &BTreeMap<&str, String>) -> Function {
        let dir = std::env::var("FUNCTION_BIN_DIR")
            .expect("FUNCTION_BIN_DIR is not set: run this with `make test`");
        let runtime = RuntimeApi::start().await;
        let mut child = Command::new(format!("{dir}/{name}"))
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {dir}/{name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Function {
            runtime,
            child,
            lines,
            reader,
        }
    }

    /// Invokes the function with `events/<file>` carrying `body`; answers
    /// the response's status and body.
    async fn invoke(&self, file: &str, body: Value) -> (u64, Value) {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        event["body"] = Value::from(body.to_string());
        let answered = self.runtime.offer(event.to_string());
        let response = tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the function answers within 30 s")
            .expect("a response");
        let response: Value = serde_json::from_str(&response).unwrap();
        let body = response["body"].as_str().map_or(Value::Null, |b| {
            serde_json::from_str(b).unwrap_or(Value::Null)
        });
        (response["statusCode"].as_u64().unwrap(), body)
    }

    /// Stops the process; answers every line it wrote.
    fn stop(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.reader.join().unwrap();
        Arc::try_unwrap(self.lines).unwrap().into_inner().unwrap()
    }
}

/// The EMF lines among a function's output, each checked against the
/// format's rules; answers (metric, its dimensions) for each.
fn metrics_in(lines: &[String]) -> Vec<(String, BTreeMap<String, String>)> {
    let now = SystemClock.now().0;
    let mut metrics = Vec::new();
    for line in lines {
        let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(aws) = root.get("_aws") else {
            continue;
        };
        let stamp = aws["Timestamp"].as_i64().expect("Timestamp in ms");
        assert!((now - 120_000..=now).contains(&stamp), "{line}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 1, "{line}");
        let directive = &directives[0];
        assert_eq!(directive["Namespace"], "PhoneAuth", "{line}");
        let declared = directive["Metrics"].as_array().unwrap();
        assert_eq!(declared.len(), 1, "{line}");
        let name = declared[0]["Name"].as_str().unwrap().to_owned();
        assert_eq!(declared[0]["Unit"], "Count");
        assert!(NAMES.contains(&name.as_str()), "{name} is not a metric");
        assert_eq!(root[&name], 1, "{line}");
        let mut dimensions = BTreeMap::new();
        let sets = directive["Dimensions"].as_array().unwrap();
        assert_eq!(sets[0], json!(["Stack"]), "every set starts with Stack");
        for set in sets {
            let set = set.as_array().unwrap();
            assert!(set.len() <= 30, "EMF allows 30 dimensions a set");
            for key in set {
                let key = key.as_str().unwrap();
                let value = root[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} has no string value in {line}"));
                dimensions.insert(key.to_owned(), value.to_owned());
            }
        }
        // Only the metric, its dimensions and `_aws`: no request data.
        assert_eq!(root.len(), dimensions.len() + 2, "{line}");
        metrics.push((name, dimensions));
    }
    metrics
}

fn metric(name: &str, own: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
    let mut dimensions = BTreeMap::from([("Stack".to_owned(), "emf-test".to_owned())]);
    for (key, value) in own {
        dimensions.insert(key.to_string(), value.to_string());
    }
    (name.to_owned(), dimensions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the function binaries: make test runs it"]
async fn functions_write_their_metrics_as_emf_lines() {
    let (_, tables) = fresh_tables().await;
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let env = BTreeMap::from([
        ("USERS_TABLE", tables.users.clone()),
        ("CODES_TABLE", tables.codes.clone()),
        ("SESSIONS_TABLE", tables.sessions.clone()),
        ("INVITES_TABLE", tables.invites.clone()),
        ("JWT_KEY_ID", "emf".to_owned()),
        ("JWT_SIGNING_KEY", secret.clone()),
        ("JWT_ISSUER", "https://emf.example.com".to_owned()),
        ("CODE_HASH_SECRET", secret.clone()),
        ("METRICS_STACK", "emf-test".to_owned()),
        // The retired token at once: reuse, not its grace.
        ("REFRESH_REUSE_GRACE_SECONDS", "0".to_owned()),
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]);
    let phone = format!("+7912{}", 3_000_000 + SystemClock.now().0 % 1_000_000);
    let [send, enter, refresh] = ["phone-enter", "code-enter", "token-refresh"];
    let (send, enter, refresh) = (
        Function::start(send, &env).await,
        Function::start(enter, &env).await,
        Function::start(refresh, &env).await,
    );

    let to_phone = json!({ "phone": phone });
    assert_eq!(
        send.invoke("phone-enter.json", to_phone.clone()).await.0,
        200
    );
    assert_eq!(send.invoke("phone-enter.json", to_phone).await.0, 429);
    let sms = moto_sms().await;
    let (_, text) = sms.iter().rev().find(|(to, _)| *to == phone).unwrap();
    let code = code_in(text);
    // Every digit one up: never the right code.
    let wrong: String = code
        .chars()
        .map(|c| char::from_digit((c.to_digit(10).unwrap() + 1) % 10, 10).unwrap())
        .collect();
    let wrong = json!({ "phone": phone, "code": wrong });
    assert_eq!(enter.invoke("code-enter.json", wrong).await.0, 400);
    let right = json!({ "phone": phone, "code": code });
    let (status, login) = enter.invoke("code-enter.json", right).await;
    assert_eq!(status, 200);
    let token = json!({ "refresh": login["refresh"] });
    assert_eq!(
        refresh.invoke("token-refresh.json", token.clone()).await.0,
        200
    );
    assert_eq!(refresh.invoke("token-refresh.json", token).await.0, 401);

    let outputs = [send.stop(), enter.stop(), refresh.stop()];
    let seen: Vec<_> = outputs.iter().flat_map(|lines| metrics_in(lines)).collect();
    assert_eq!(
        seen,
        [
            metric("CodesSent", &[("Region", "RU")]),
            metric("LimitsHit", &[("Limit", "resend_cooldown")]),
            metric("WrongCodes", &[]),
            metric("Logins", &[("Kind", "new"), ("Region", "RU")]),
            metric("RefreshReuse", &[]),
        ]
    );
    // Nothing a request carried reaches a metric line.
    let secrets = [
        phone.trim_start_matches('+'),
        code.as_str(),
        login["refresh"].as_str().unwrap(),
        secret.as_str(),
    ];
    for line in outputs.iter().flatten().filter(|l| l.contains("\"_aws\"")) {
        for secret in secrets {
            assert!(!line.contains(secret), "{line}");
        }
    }
}

/// A stand-in for DynamoDB on loopback that answers DescribeEndpoints.
fn describe_endpoints_stand_in() -> Receiver {
    Receiver::start(Answer {
        status: "200 OK",
        body: Some((
            "application/x-amz-json-1.0",
            r#"{"Endpoints":[{"Address":"dynamodb.us-east-1.amazonaws.com","CachePeriodInMinutes":1440}]}"#,
        )),
    })
}

/// Whether the stand-in was asked for DynamoDB's endpoints.
fn asked_for_endpoints(stand_in: &Receiver) -> bool {
    stand_in.received().iter().any(|request| {
        request.header("x-amz-target") == Some("DynamoDB_20120810.DescribeEndpoints")
    })
}

/// A secret on moto holding `value`: its ARN.
async fn secret_arn(value: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    create_secret(&secrets, value).await
}

/// What a start-up test's code-enter is given: DynamoDB at `dynamodb`,
/// Secrets Manager on moto, no keys yet.
fn startup_env(dynamodb: String) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("USERS_TABLE", "users".to_owned()),
        ("CODES_TABLE", "codes".to_owned()),
        ("SESSIONS_TABLE", "sessions".to_owned()),
        ("INVITES_TABLE", "invites".to_owned()),
        ("JWT_ISSUER", "https://startup.example.com".to_owned()),
        ("AWS_ENDPOINT_URL", dynamodb),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ])
}

/// Whether code-enter, started with `env`, had called the stand-in by
/// the time it asked for its first event. That event (a malformed code)
/// is refused without any call.
async fn called_before_the_first_event(env: &BTreeMap<&str, String>, stand_in: &Receiver) -> bool {
    let function = Function::start("code-enter", env).await;
    let by_then = Arc::new(AtomicBool::new(false));
    let (stand_in, record) = (stand_in.clone(), Arc::clone(&by_then));
    function
        .runtime
        .set_hook(move || record.store(asked_for_endpoints(&stand_in), Ordering::SeqCst));
    let malformed = json!({ "phone": "+79123456789", "code": "12" });
    let (status, _) = function.invoke("code-enter.json", malformed).await;
    assert_eq!(status, 400);
    function.stop();
    by_then.load(Ordering::SeqCst)
}

/// As deployed (keys in Secrets Manager), a start-up opens its connection
/// to DynamoDB beside the secret reads, before its first event; with its
/// keys in the environment (a local run), it calls nothing before a
/// request needs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the function binaries: make test runs it"]
async fn a_start_up_as_deployed_connects_to_dynamodb_before_its_first_event() {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let stand_in = describe_endpoints_stand_in();
    let mut env = startup_env(stand_in.url.clone());
    let jwt = json!({ "kid": "k1", "key": key }).to_string();
    env.insert("JWT_SECRET_ARN", secret_arn(&jwt).await);
    env.insert("CODE_HASH_SECRET_ARN", secret_arn(&key).await);
    assert!(called_before_the_first_event(&env, &stand_in).await);

    let stand_in = describe_endpoints_stand_in();
    env.remove("JWT_SECRET_ARN");
    env.remove("CODE_HASH_SECRET_ARN");
    env.extend([
        ("JWT_KEY_ID", "k1".to_owned()),
        ("JWT_SIGNING_KEY", key.clone()),
        ("CODE_HASH_SECRET", key),
        ("AWS_ENDPOINT_URL", stand_in.url.clone()),
    ]);
    assert!(!called_before_the_first_event(&env, &stand_in).await);
    assert!(stand_in.received().is_empty(), "a refusal calls nothing");
}

/// A start-up whose DynamoDB connection fails still serves (the first
/// request connects instead), and says so in a JSON log line at the level
/// Lambda's logging settings allow; at ERROR the warning is not written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the function binaries: make test runs it"]
async fn a_failed_early_connection_is_logged_as_lambda_asks_and_start_up_goes_on() {
    let key = uuid::Uuid::new_v4().simple().to_string();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = startup_env(format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    env.extend([
        ("JWT_KEY_ID", "k1".to_owned()),
        ("JWT_SIGNING_KEY", key.clone()),
        ("CODE_HASH_SECRET_ARN", secret_arn(&key).await),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN".to_owned()),
    ]);
    let malformed = json!({ "phone": "+79123456789", "code": "12" });
    let warnings = |lines: &[String]| -> Vec<Value> {
        lines
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|log| log["level"] == "WARN")
            .collect()
    };

    let function = Function::start("code-enter", &env).await;
    assert_eq!(
        function
            .invoke("code-enter.json", malformed.clone())
            .await
            .0,
        400
    );
    let logged = warnings(&function.stop());
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(
        logged[0]["fields"]["message"],
        "connecting to DynamoDB at start-up failed"
    );

    env.insert("AWS_LAMBDA_LOG_LEVEL", "ERROR".to_owned());
    let function = Function::start("code-enter", &env).await;
    assert_eq!(function.invoke("code-enter.json", malformed).await.0, 400);
    assert_eq!(warnings(&function.stop()), Vec::<Value>::new());
}
