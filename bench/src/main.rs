//! `make bench`: for every function, the cold start (spawn to first
//! response through the Lambda runtime API, SDK clients built and settings
//! read as in production, moto as the AWS endpoint), its peak memory, the
//! size of its release bootstrap and zip, and the DynamoDB and SNS calls of
//! its success path, counted by moto's request recorder. Prints one table.
//!
//! Environment: MOTO_ENDPOINT (a moto started with MOTO_ENABLE_RECORDING),
//! BENCH_SPAWNS (cold starts per function, default 20), BENCH_WARM_REQUESTS
//! (requests per warm measurement, default 2000), BENCH_WRK_SECONDS (per
//! wrk run, default 10), BENCH_BIN_DIR (the host release binaries, default
//! target/release).

mod cgroup;
mod deletion;
mod load;
mod targets;
mod warm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dev_server::DevServer;
use phone_auth::adapters::dynamodb::{DynamoStore, schema};
use phone_auth::adapters::sns::SnsSms;
use phone_auth::config::{Settings, Tables};
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::UserId;
use phone_auth::ports::{InviteOwner, SystemClock};
use serde_json::{Value, json};

use api_tests::runtime::RuntimeApi;
use cgroup::CpuGroup;
use targets::Targets;

const FUNCTIONS: [&str; 5] = [
    "phone-enter",
    "code-enter",
    "user-profile",
    "token-refresh",
    "token-revoke",
];
const JWT_KEY: &str = "bench-signing-key-bench-signing-key-0001";
const HASH_KEY: &str = "bench-code-hash-key-bench-code-hash-0001";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

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
fn rs256_settings() -> [(&'static str, String); 2] {
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

fn settings(tables: &Tables) -> HashMap<String, String> {
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
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(sdk: &aws_config::SdkConfig, tables: &Tables) -> Api {
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

    async fn call(
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

    async fn code(&self, phone: &str) -> String {
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
    async fn counted(
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

    async fn login(&self, phone: &str) -> Value {
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
type Calls = (usize, usize);

struct Recorder {
    moto: String,
    http: reqwest::Client,
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
    async fn count<F: std::future::Future<Output = ()>>(&self, run: F) -> Calls {
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

/// The event a cold start of `function` answers: on the success path with
/// its round trips to moto, or (`io` false) one answered without any I/O,
/// which isolates start-up itself.
fn event(function: &str, spawn: usize, tokens: &mut Tokens, io: bool) -> String {
    let file = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let template = std::fs::read_to_string(file).expect("an event per function");
    if !io {
        // Refused before any call: a malformed phone or code, or a token
        // that does not verify.
        return match function {
            "phone-enter" => template.replace("+79123456789", "12345"),
            "code-enter" => template.replace("\\\"1234\\\"", "\\\"12\\\""),
            _ => template,
        };
    }
    match function {
        "phone-enter" => template.replace("+79123456789", &format!("+7912100{spawn:04}")),
        // A code never sent: two reads, then 400, as most wrong guesses go.
        "code-enter" => template,
        "user-profile" => template.replace("REPLACE_WITH_AN_ACCESS_TOKEN", &tokens.access),
        "token-refresh" => template.replace("REPLACE_WITH_A_REFRESH_TOKEN", &tokens.next_refresh()),
        _ => template.replace("REPLACE_WITH_A_REFRESH_TOKEN", &tokens.revocable()),
    }
}

struct Tokens {
    access: String,
    /// Fresh refresh tokens, one per refresh cold start.
    refresh: Vec<String>,
    revoke: Vec<String>,
}

impl Tokens {
    fn next_refresh(&mut self) -> String {
        self.refresh.pop().expect("a fresh refresh token")
    }

    fn revocable(&mut self) -> String {
        self.revoke.pop().expect("a session to revoke")
    }
}

/// Where a cold start runs: on the whole machine, or inside a cgroup whose
/// CPU quota is the function's Lambda share.
#[derive(Clone, Copy)]
enum Cpu<'a> {
    Full,
    Share(&'a CpuGroup),
}

struct ColdStart {
    median: Duration,
    max: Duration,
    /// CPU the process used from exec to its first response (median).
    cpu: Duration,
    peak_rss_kib: u64,
}

impl ColdStart {
    fn times(&self) -> String {
        format!("{:.1} / {:.1} ms", ms(self.median), ms(self.max))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The high-water mark of a process's resident memory.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()))
        })
        .unwrap_or(0)
}

/// One way of starting a function: its binary, environment and Lambda
/// memory size.
struct Launch<'a> {
    function: &'a str,
    binary: PathBuf,
    env: &'a HashMap<String, String>,
    memory_mb: u32,
}

async fn cold_starts(
    launch: &Launch<'_>,
    spawns: usize,
    tokens: &mut Tokens,
    io: bool,
    cpu: Cpu<'_>,
) -> ColdStart {
    let function = launch.function;
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut peak = 0;
    for spawn in 0..spawns {
        let runtime = RuntimeApi::start().await;
        let answered = runtime.offer(event(function, spawn, tokens, io));
        let mut command = Command::new(&launch.binary);
        command
            .envs(launch.env)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                launch.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Cpu::Share(group) = cpu {
            group.refill().expect("the group's quota is writable");
            group.confine(&mut command);
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("the function starts");
        let response = tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the function answers within 30 s")
            .expect("a response");
        times.push(started.elapsed());
        cpu_times.push(Duration::from_nanos(cgroup::process_cpu_ns(child.id())));
        peak = peak.max(peak_rss_kib(child.id()));
        child.kill().expect("stopping the function");
        child.wait().expect("reaping the function");
        let status =
            serde_json::from_str::<Value>(&response).unwrap_or(Value::Null)["statusCode"].clone();
        assert!(
            status.as_u64().is_some_and(|s| s < 500),
            "{function}: {response}"
        );
    }
    times.sort();
    cpu_times.sort();
    ColdStart {
        median: times[times.len() / 2],
        max: *times.last().unwrap(),
        cpu: cpu_times[cpu_times.len() / 2],
        peak_rss_kib: peak,
    }
}

fn size(path: &str) -> String {
    std::fs::metadata(path).map_or("n/a (make build)".into(), |m| {
        format!("{:.2} MiB", m.len() as f64 / 1048576.0)
    })
}

#[tokio::main]
async fn main() {
    let moto = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT: run `make bench`");
    let spawns: usize = env_or("BENCH_SPAWNS", "20")
        .parse()
        .expect("BENCH_SPAWNS is a number");
    let bin_dir = env_or("BENCH_BIN_DIR", "target/release");

    let sdk = phone_auth::startup::moto_sdk_config(&moto).await;
    // Tables of this run's own: a moto may serve several runs.
    let prefix = format!("bench{}", std::process::id());
    let tables = Tables {
        users: format!("{prefix}-users"),
        codes: format!("{prefix}-codes"),
        sessions: format!("{prefix}-sessions"),
        invites: format!("{prefix}-invites"),
    };
    schema::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables)
        .await
        .expect("bench tables");
    let api = Api::start(&sdk, &tables).await;
    let recorder = Recorder {
        moto: moto.clone(),
        http: reqwest::Client::new(),
    };

    // Round trips of each endpoint's success path.
    let owner = api.login("+79123000001").await;
    let mut round_trips: HashMap<&str, Vec<(&str, Calls)>> = HashMap::new();
    let phone = "+79123000002";
    let (_, sent) = api
        .counted(&recorder, "POST", "/phone/", None, json!({"phone": phone}))
        .await;
    let code = api.code(phone).await;
    let body = json!({"phone": phone, "code": code});
    let (login, logged) = api.counted(&recorder, "POST", "/code/", None, body).await;
    let access = login["access"].as_str().unwrap().to_owned();
    let (_, profile) = api
        .counted(&recorder, "GET", "/profile/me/", Some(&access), Value::Null)
        .await;
    let invite = api
        .call("GET", "/profile/me/", owner["access"].as_str(), None)
        .await["invite"]
        .clone();
    let body = json!({"inv": invite});
    let (_, activated) = api
        .counted(&recorder, "PATCH", "/profile/me/", Some(&access), body)
        .await;
    let body = json!({"refresh": login["refresh"]});
    let (refreshed, refresh) = api
        .counted(&recorder, "POST", "/token/refresh/", None, body.clone())
        .await;
    // The same token again, within its grace: answered from the refused
    // rotation, no second read.
    let (_, grace) = api
        .counted(&recorder, "POST", "/token/refresh/", None, body)
        .await;
    // Logout everywhere for a user with 30 sessions: one read of the
    // session, one query, two batches of deletes.
    let mut last = Value::Null;
    for _ in 0..30 {
        last = api.login("+79123000003").await;
    }
    let body = json!({"refresh": last["refresh"], "scope": "all"});
    let (_, revoke_all) = api
        .counted(&recorder, "POST", "/token/revoke/", None, body)
        .await;
    let body = json!({"refresh": refreshed["refresh"]});
    let (_, revoke) = api
        .counted(&recorder, "POST", "/token/revoke/", None, body)
        .await;
    // Deleting an account as the stack does (finished on the stream, not
    // inline): a user without referrals, counted; one with
    // BENCH_REFERRALS of them, timed.
    let stack = deletion::StackProfile::new(
        Settings::from_map(settings(&tables))
            .config()
            .expect("bench settings"),
        Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            tables.clone(),
        )),
        Arc::new(SnsSms::new(
            aws_sdk_sns::Client::new(&sdk),
            &Default::default(),
        )),
    );
    let leaving = "+79123000005";
    let leaving_access = api.login(leaving).await["access"]
        .as_str()
        .unwrap()
        .to_owned();
    api.call("POST", "/phone/", None, Some(json!({"phone": leaving})))
        .await;
    let code = api.code(leaving).await;
    let deleted = recorder
        .count(async { assert_eq!(stack.delete(&leaving_access, &code).await, 204) })
        .await;
    let referrals: usize = env_or("BENCH_REFERRALS", "10000")
        .parse()
        .expect("BENCH_REFERRALS is a number");
    let popular = "+79123000006";
    let popular_access = api.login(popular).await["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let popular_profile = api
        .call("GET", "/profile/me/", Some(&popular_access), None)
        .await;
    let popular_owner = InviteOwner {
        id: UserId(popular_profile["id"].as_u64().unwrap()),
        phone: Phone::from_trusted(popular.into()),
        date_joined: Timestamp(0),
    };
    let invite = InviteCode::parse(popular_profile["invite"].as_str().unwrap()).unwrap();
    stack.seed(&popular_owner, &invite, referrals).await;
    api.call("POST", "/phone/", None, Some(json!({"phone": popular})))
        .await;
    let code = api.code(popular).await;
    let timed = stack
        .time(popular_owner.id, &popular_access, &code, referrals)
        .await;

    round_trips.insert("phone-enter", vec![("POST /phone/", sent)]);
    round_trips.insert("code-enter", vec![("POST /code/", logged)]);
    round_trips.insert(
        "user-profile",
        vec![
            ("GET /profile/", profile),
            ("PATCH /profile/", activated),
            ("DELETE /profile/ (no referrals)", deleted),
        ],
    );
    round_trips.insert(
        "token-refresh",
        vec![
            ("POST /token/refresh/", refresh),
            ("POST /token/refresh/ (within the grace)", grace),
        ],
    );
    round_trips.insert(
        "token-revoke",
        vec![
            ("POST /token/revoke/", revoke),
            ("POST /token/revoke/ all (30 sessions)", revoke_all),
        ],
    );

    // Tokens for the cold starts that need them.
    let mut tokens = Tokens {
        access: owner["access"].as_str().unwrap().to_owned(),
        refresh: Vec::new(),
        revoke: Vec::new(),
    };
    // Success-path starts, at full CPU and at the share, with the keys
    // given and read from Secrets Manager, each use a token.
    for i in 0..6 * spawns {
        let user = api.login(&format!("+79123001{i:03}")).await;
        tokens
            .refresh
            .push(user["refresh"].as_str().unwrap().to_owned());
        let other = api.login(&format!("+79123002{i:03}")).await;
        tokens
            .revoke
            .push(other["refresh"].as_str().unwrap().to_owned());
    }

    // The functions reach moto over TLS when a terminator runs in front of
    // it (`make bench`), trusting its authority through SSL_CERT_FILE, so
    // loading the roots and the handshake are in the success-path figures.
    let tls = std::env::var("MOTO_TLS_ENDPOINT")
        .ok()
        .zip(std::env::var("BENCH_CA_BUNDLE").ok());
    let mut env = settings(&tables);
    let endpoint = tls.as_ref().map_or(moto.as_str(), |(url, _)| url.as_str());
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        env.insert(k.into(), v.into());
    }
    if let Some((_, bundle)) = &tls {
        env.insert("SSL_CERT_FILE".into(), bundle.clone());
    }

    let memory: HashMap<String, u32> = schema::function_memory_sizes(schema::TEMPLATE)
        .expect("template.yaml names each function's MemorySize")
        .into_iter()
        .collect();
    let mut groups = HashMap::new();
    let mut no_group = None;
    for mb in memory.values() {
        if groups.contains_key(mb) {
            continue;
        }
        match CpuGroup::create(&format!("phone-auth-bench-{mb}mb"), *mb) {
            Ok(group) => drop(groups.insert(*mb, group)),
            Err(why) => no_group = Some(why),
        }
    }
    if let Some(why) = &no_group {
        println!("No cgroup for Lambda's CPU share ({why}): full-CPU columns only.\n");
    }

    println!(
        "| function | MemorySize: CPU quota | no I/O, full CPU | no I/O, at its share | no I/O, CPU used | success over {}, full CPU | success, at its share | success, CPU used | peak RSS |",
        if tls.is_some() { "TLS" } else { "plain HTTP" }
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let launch = |function, env| Launch {
        function,
        binary: Path::new(&bin_dir).join(function),
        env,
        memory_mb: memory[function],
    };
    let mut targets = Targets::default();
    for function in FUNCTIONS {
        let launch = launch(function, &env);
        let memory_mb = launch.memory_mb;
        let group = groups.get(&memory_mb);
        let bare = cold_starts(&launch, spawns, &mut tokens, false, Cpu::Full).await;
        let cold = cold_starts(&launch, spawns, &mut tokens, true, Cpu::Full).await;
        let mut shared = None;
        if let Some(group) = group {
            let throttled = group.throttled_periods();
            let bare = cold_starts(&launch, spawns, &mut tokens, false, Cpu::Share(group)).await;
            let cold = cold_starts(&launch, spawns, &mut tokens, true, Cpu::Share(group)).await;
            let throttled = group.throttled_periods() - throttled;
            shared = Some((bare, cold, throttled));
        }
        let na = || "n/a".to_owned();
        let peak = [Some(&bare), Some(&cold)]
            .into_iter()
            .chain(shared.iter().flat_map(|(b, c, _)| [Some(b), Some(c)]))
            .flatten()
            .map(|c| c.peak_rss_kib)
            .max()
            .unwrap_or(0);
        println!(
            "| {function} | {memory_mb} MB: {} | {} | {} | {:.2} ms | {} | {} | {:.2} ms | {:.1} MiB |",
            group.map_or_else(na, |g| format!("{:.1}%", g.quota_us as f64 / 1000.0)),
            bare.times(),
            shared.as_ref().map_or_else(na, |(b, _, _)| b.times()),
            ms(shared.as_ref().map_or(bare.cpu, |(b, _, _)| b.cpu)),
            cold.times(),
            shared.as_ref().map_or_else(na, |(_, c, _)| c.times()),
            ms(shared.as_ref().map_or(cold.cpu, |(_, c, _)| c.cpu)),
            peak as f64 / 1024.0,
        );
        targets.add(
            function,
            &bare,
            shared.as_ref().map(|(b, c, _)| (b, c)),
            peak,
        );
        if let Some((_, _, throttled)) = shared
            && throttled > 0
        {
            targets.throttled.push(format!("{function}: {throttled}"));
        }
    }
    println!(
        "\n{spawns} cold starts per function and column (median / max); binaries from {bin_dir}; moto at {endpoint}. \
         A CPU quota is per 100 ms period (Lambda: MemorySize / {} MB of one vCPU); CPU used is the process's own, from exec to its first response, at its share.",
        cgroup::MB_PER_VCPU
    );

    // As deployed: the stack passes secret ARNs, and each cold start reads
    // the keys from Secrets Manager before its first request.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut deployed = env.clone();
    for key in ["JWT_KEY_ID", "JWT_SIGNING_KEY", "CODE_HASH_SECRET"] {
        deployed.remove(key);
    }
    let jwt_keys = json!({"kid": "bench", "key": JWT_KEY}).to_string();
    for (setting, name, value) in [
        ("JWT_SECRET_ARN", "jwt", jwt_keys.as_str()),
        ("CODE_HASH_SECRET_ARN", "code-hash", HASH_KEY),
    ] {
        let created = secrets
            .create_secret()
            .name(format!("{prefix}-{name}"))
            .secret_string(value)
            .send()
            .await
            .expect("a bench secret");
        deployed.insert(setting.into(), created.arn.expect("a secret ARN"));
    }
    println!(
        "\n| function | as deployed (keys from Secrets Manager), full CPU | at its share | CPU used |"
    );
    println!("| --- | --- | --- | --- |");
    for function in FUNCTIONS {
        let launch = launch(function, &deployed);
        let full = cold_starts(&launch, spawns, &mut tokens, true, Cpu::Full).await;
        let mut share = None;
        if let Some(group) = groups.get(&launch.memory_mb) {
            share = Some(cold_starts(&launch, spawns, &mut tokens, true, Cpu::Share(group)).await);
        }
        println!(
            "| {function} | {} | {} | {:.2} ms |",
            full.times(),
            share
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), ColdStart::times),
            ms(share.as_ref().map_or(full.cpu, |s| s.cpu)),
        );
    }
    println!(
        "\nThe success path again, after the two GetSecretValue calls (in parallel) of a deployed cold start. \
         Here one TLS endpoint serves both services; on AWS, Secrets Manager and DynamoDB are two hosts, so two handshakes."
    );

    // RS256: the functions that sign parse the key pair at start-up, and a
    // refresh signs one access token; the JWKS function reads no table.
    let mut rs256 = env.clone();
    rs256.extend(rs256_settings().map(|(k, v)| (k.to_owned(), v)));
    println!(
        "\n| function, RS256 | no I/O, at its share | no I/O, CPU used | success, full CPU | success, at its share | success, CPU used | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for function in ["code-enter", "token-refresh", "well-known"] {
        let launch = launch(function, &rs256);
        let na = || "n/a".to_owned();
        let bare = cold_starts(&launch, spawns, &mut tokens, false, Cpu::Full).await;
        let full = cold_starts(&launch, spawns, &mut tokens, true, Cpu::Full).await;
        let mut shared = None;
        if let Some(group) = groups.get(&launch.memory_mb) {
            shared = Some((
                cold_starts(&launch, spawns, &mut tokens, false, Cpu::Share(group)).await,
                cold_starts(&launch, spawns, &mut tokens, true, Cpu::Share(group)).await,
            ));
        }
        let peak = [&bare, &full]
            .into_iter()
            .chain(shared.iter().flat_map(|(b, c)| [b, c]))
            .map(|c| c.peak_rss_kib)
            .max()
            .unwrap_or(0);
        println!(
            "| {function} | {} | {} | {} | {} | {:.2} ms | {:.1} MiB |",
            shared.as_ref().map_or_else(na, |(b, _)| b.times()),
            shared
                .as_ref()
                .map_or_else(na, |(b, _)| format!("{:.2} ms", ms(b.cpu))),
            full.times(),
            shared.as_ref().map_or_else(na, |(_, c)| c.times()),
            ms(shared.as_ref().map_or(full.cpu, |(_, c)| c.cpu)),
            peak as f64 / 1024.0,
        );
        targets.add(
            &format!("{function} (RS256)"),
            &bare,
            shared.as_ref().map(|(b, c)| (b, c)),
            peak,
        );
    }
    println!(
        "\nThe success path with JWT_ALGORITHM=RS256 (keys in the environment): code-enter answers a wrong code, \
         so the difference is the key's parse at start-up; token-refresh also signs one RS256 access token. \
         well-known answers the JWKS."
    );

    println!("\n| function | bootstrap (arm64) | zip | request | DynamoDB calls | SNS calls |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for function in FUNCTIONS {
        let bootstrap = format!("target/lambda/{function}/bootstrap");
        let zip = format!("target/lambda/{function}/bootstrap.zip");
        targets.sizes(function, &bootstrap, &zip);
        for (path, (dynamodb, sns)) in &round_trips[function] {
            println!(
                "| {function} | {} | {} | {path} | {dynamodb} | {sns} |",
                size(&bootstrap),
                size(&zip),
            );
        }
    }
    targets.print();
    println!(
        "\n| deleting a user with referrals, on moto | the answer (target < 3 s) | finishing it, as account-cleanup does |"
    );
    println!("| --- | --- | --- |");
    println!(
        "| {} referrals | {:.0} ms | {:.1} s |",
        timed.referrals,
        timed.answer.as_secs_f64() * 1000.0,
        timed.finish.as_secs_f64()
    );

    let requests: usize = env_or("BENCH_WARM_REQUESTS", "2000")
        .parse()
        .expect("BENCH_WARM_REQUESTS is a number");
    println!("\n| warm handler, memory backend | CPU per request |");
    println!("| --- | --- |");
    for row in warm::warm(requests).await {
        println!("| {} | {:.1} us |", row.endpoint, row.micros_per_request);
    }
    println!("\n{requests} requests each, in-process, timed by the thread's CPU clock.");

    let seconds: u32 = env_or("BENCH_WRK_SECONDS", "10")
        .parse()
        .expect("BENCH_WRK_SECONDS is a number");
    if let Some(rows) = load::load(seconds).await {
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
}
