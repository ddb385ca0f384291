//! What the cross-crate tests share: configuration, a clock tests can move,
//! fresh tables on the moto server, and a dev server spawned per test.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use dev_server::DevServer;
use phone_auth::adapters::console::ConsoleSms;
use phone_auth::adapters::dynamodb::{DynamoStore, schema};
use phone_auth::adapters::memory::{MemoryMetrics, MemoryStore};
use phone_auth::config::{Config, Settings, Tables};
use phone_auth::domain::time::Timestamp;
use phone_auth::http::AdminAccess;
use phone_auth::ports::{Clock, SmsSender, Store, SystemClock};
use serde_json::Value;

mod faults;
pub mod receiver;
pub mod runtime;
pub use faults::{FaultyStore, FlakySms};

pub const PHONE: &str = "+79123456789";
pub const OTHER_PHONE: &str = "+79001112233";

/// The test configuration: the contract's defaults, test secrets, and any
/// overrides.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let mut map: HashMap<String, String> = [
        ("JWT_KEY_ID", "test-key"),
        ("JWT_SIGNING_KEY", "test-signing-key-test-signing-key-0001"),
        ("JWT_ISSUER", "https://auth.example.com"),
        (
            "CODE_HASH_SECRET",
            "test-code-hash-secret-test-code-hash-01",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::from_map(map)
        .config()
        .expect("test configuration is valid")
}

/// RSA key pairs as (PKCS#8 PEM, SPKI PEM), made once per test process:
/// making one takes a good part of a second.
pub fn rsa_key(index: usize) -> &'static (String, String) {
    static KEYS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    &KEYS.get_or_init(|| {
        (0..3)
            .map(|_| phone_auth::domain::token::rsa::generate_pem().expect("making an RSA key"))
            .collect()
    })[index]
}

/// A moto server of the test's own: to stop mid-test, or to keep a heavy
/// test's tables (every moto transaction copies every table) away from the
/// shared one.
pub struct PrivateMoto {
    child: Child,
    pub endpoint: String,
}

impl PrivateMoto {
    pub async fn start() -> PrivateMoto {
        let python = std::env::var("MOTO_PYTHON")
            .expect("MOTO_PYTHON is not set: run these tests with `make test`");
        let script = std::env::var("MOTO_SCRIPT")
            .expect("MOTO_SCRIPT is not set: run these tests with `make test`");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args([script, "127.0.0.1".into(), port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let moto = PrivateMoto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..150 {
            if reqwest::get(format!("{}/moto-api/", moto.endpoint))
                .await
                .is_ok()
            {
                return moto;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the private moto did not start");
    }

    pub fn stop(&mut self) {
        self.child.kill().expect("stopping moto");
        self.child.wait().expect("reaping moto");
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _already_stopped = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// A clock that stands still until a test moves it.
pub struct TestClock(AtomicI64);

impl TestClock {
    /// Five minutes into the current clock hour, whatever the time of day:
    /// limits are counted in hour buckets, and a test that moves the clock
    /// by minutes must not cross into the next bucket by the chance of when
    /// it ran (the hour is at most 55 minutes away from the real time).
    pub fn new() -> Arc<TestClock> {
        const HOUR_MS: i64 = 3_600_000;
        let now = SystemClock.now().0;
        let start = now - now.rem_euclid(HOUR_MS) + 5 * 60_000;
        Arc::new(TestClock(AtomicI64::new(start)))
    }

    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// The moto server `make test` started. Tests that need it fail, rather
/// than pass without running, when it is not there.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run these tests with `make test`")
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_at(&moto_endpoint()).await
}

/// Test credentials and region, every client aimed at `endpoint`.
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    phone_auth::startup::moto_sdk_config(endpoint).await
}

/// A new secret holding `value`, under a unique name: its ARN.
pub async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let created = client
        .create_secret()
        .name(format!("test-{}", uuid::Uuid::new_v4().simple()))
        .secret_string(value)
        .send()
        .await
        .expect("creating a secret");
    created.arn.expect("a secret's ARN")
}

/// Four new tables with a unique prefix, so every test starts empty.
pub async fn fresh_tables() -> (aws_sdk_dynamodb::Client, Tables) {
    fresh_tables_at(&moto_endpoint()).await
}

/// Four new tables on the moto at `endpoint` (a test's own, say).
pub async fn fresh_tables_at(endpoint: &str) -> (aws_sdk_dynamodb::Client, Tables) {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config_at(endpoint).await);
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let tables = Tables {
        users: format!("{prefix}-users"),
        codes: format!("{prefix}-codes"),
        sessions: format!("{prefix}-sessions"),
        invites: format!("{prefix}-invites"),
    };
    schema::create_tables(&client, &tables)
        .await
        .expect("creating tables on moto");
    (client, tables)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Moto,
}

/// A test's view into the store behind an app, to tell whether a request
/// changed anything.
#[derive(Clone)]
pub enum StoreHandle {
    Memory(Arc<MemoryStore>),
    Moto(aws_sdk_dynamodb::Client, Tables),
}

impl StoreHandle {
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            StoreHandle::Memory(store) => Arc::clone(store) as Arc<dyn Store>,
            StoreHandle::Moto(client, tables) => {
                Arc::new(DynamoStore::new(client.clone(), tables.clone()))
            }
        }
    }

    /// Everything stored, in a stable order.
    pub async fn fingerprint(&self) -> String {
        match self {
            StoreHandle::Memory(store) => store.dump(),
            StoreHandle::Moto(client, tables) => {
                let mut items = Vec::new();
                for table in [
                    &tables.users,
                    &tables.codes,
                    &tables.sessions,
                    &tables.invites,
                ] {
                    // A test may scan; the service never does.
                    let output = client
                        .scan()
                        .table_name(table)
                        .send()
                        .await
                        .expect("scanning a test table");
                    for item in output.items() {
                        let mut fields: Vec<String> =
                            item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                        fields.sort();
                        items.push(format!("{table}: {}", fields.join(", ")));
                    }
                }
                items.sort();
                items.join("\n")
            }
        }
    }
}

impl Backend {
    pub async fn store(self) -> StoreHandle {
        match self {
            Backend::Memory => StoreHandle::Memory(Arc::new(MemoryStore::new())),
            Backend::Moto => {
                let (client, tables) = fresh_tables().await;
                StoreHandle::Moto(client, tables)
            }
        }
    }

    /// The backend's SMS sender, sending as `config` says.
    pub async fn sms(self, config: &Config) -> Arc<dyn SmsSender> {
        if let Some(webhook) = phone_auth::startup::webhook_sms(config, Arc::new(SystemClock))
            .expect("a webhook sender")
        {
            return webhook;
        }
        match self {
            Backend::Memory => Arc::new(ConsoleSms),
            Backend::Moto => {
                let client = aws_sdk_sns::Client::new(&sdk_config().await);
                let sms = phone_auth::adapters::sns::SnsSms::new(client, &config.sms_sending);
                Arc::new(sms)
            }
        }
    }
}

/// A dev server on a free port, with the backend's store and SMS sender.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub store: StoreHandle,
    /// What the service counted.
    pub metrics: Arc<MemoryMetrics>,
}

/// A user logged in over HTTP: its phone, id, invite code and tokens.
pub struct SignedUp {
    pub phone: String,
    pub id: u64,
    pub invite: String,
    pub access: String,
    pub refresh: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// What opens a test server's admin API (`ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub async fn spawn_app(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_with(backend, config(overrides), Arc::new(SystemClock)).await
}

pub async fn spawn_app_with(backend: Backend, config: Config, clock: Arc<dyn Clock>) -> TestApp {
    let store = backend.store().await;
    let sms = backend.sms(&config).await;
    spawn_app_on(backend, store, sms, config, clock).await
}

/// A dev server on given ports: a shared store, a failing SMS sender, ...
pub async fn spawn_app_on(
    backend: Backend,
    store: StoreHandle,
    sms: Arc<dyn SmsSender>,
    config: Config,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let serving = store.store();
    spawn_server(backend, store, serving, sms, config, clock).await
}

/// A dev server on `store` (shared with other servers of a test) with
/// `config`, SMS in memory and the system clock: a deployment after a
/// configuration change, say.
pub async fn spawn_on_store(store: &StoreHandle, config: Config) -> TestApp {
    let sms = Backend::Memory.sms(&config).await;
    spawn_app_on(
        Backend::Memory,
        store.clone(),
        sms,
        config,
        Arc::new(SystemClock),
    )
    .await
}

/// Like `spawn_app_on`, serving through `serving` (a fault-injecting
/// wrapper, say) while `store` is what the test inspects.
pub async fn spawn_server(
    backend: Backend,
    store: StoreHandle,
    serving: Arc<dyn Store>,
    sms: Arc<dyn SmsSender>,
    config: Config,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let metrics = Arc::new(MemoryMetrics::default());
    let mut server = DevServer::with_metrics(config, serving, sms, clock.clone(), metrics.clone())
        .with_admin(AdminAccess::Token(ADMIN_TOKEN.into()));
    // The memory store's changes make the dev server's events.
    if let StoreHandle::Memory(memory) = &store {
        server = server.with_events(memory.clone(), clock);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a test port");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(dev_server::serve(listener, Arc::new(server)));
    TestApp {
        base,
        http: reqwest::Client::new(),
        backend,
        store,
        metrics,
    }
}

impl TestApp {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .send()
            .await
            .expect("request reached the dev server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.http.post(self.url(path)).body(body)).await
    }

    pub async fn get_auth(&self, path: &str, access: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(access))
            .await
    }

    /// The texts of the SMS the server sent to `phone`, oldest first.
    pub async fn sent_sms(&self, phone: &str) -> Vec<String> {
        let reply = self
            .send(
                self.http
                    .get(self.url("/dev/sms"))
                    .query(&[("phone", phone)]),
            )
            .await;
        let messages = reply.body["messages"].as_array().expect("messages");
        messages
            .iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The digits of the newest SMS the server sent to `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        code_in(self.sent_sms(phone).await.last().expect("an SMS was sent"))
    }

    /// A login of `phone` (its sign-up, the first time) and its profile's
    /// id and invite code.
    pub async fn sign_up(&self, phone: &str) -> SignedUp {
        let login = self.login(phone).await.body;
        let access = login["access"].as_str().unwrap().to_owned();
        let profile = self.get_auth("/profile/me/", &access).await.body;
        SignedUp {
            phone: phone.to_owned(),
            id: profile["id"].as_u64().unwrap(),
            invite: profile["invite"].as_str().unwrap().to_owned(),
            access,
            refresh: login["refresh"].as_str().unwrap().to_owned(),
        }
    }

    /// `user` activates the invite `code` (PATCH /profile/me/).
    pub async fn activate(&self, user: &SignedUp, code: &str) -> Reply {
        let request = self
            .http
            .patch(self.url("/profile/me/"))
            .bearer_auth(&user.access)
            .json(&serde_json::json!({ "inv": code }));
        self.send(request).await
    }

    /// Phone, code, tokens: the seed's login flow. Returns the code reply.
    pub async fn login(&self, phone: &str) -> Reply {
        let sent = self
            .post("/phone/", serde_json::json!({ "phone": phone }))
            .await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
        let code = self.last_code(phone).await;
        let reply = self
            .post(
                "/code/",
                serde_json::json!({ "phone": phone, "code": code }),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply
    }
}

/// A problem+json answer with this status and code, as the contract shapes
/// every error.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.code(), code, "{:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.body["status"], status);
    assert_eq!(reply.body["type"], "about:blank");
    assert!(reply.body["title"].is_string() && reply.body["detail"].is_string());
}

/// The run of digits in an SMS text.
/// A code of the same length that is surely not `code`: each digit moved on.
pub fn wrong_code(code: &str) -> String {
    code.chars()
        .map(|c| char::from_digit((c.to_digit(10).unwrap() + 1) % 10, 10).unwrap())
        .collect()
}

pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() >= 4)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// Every SMS the test run's moto recorded, as (phone, text), oldest first.
pub async fn moto_sms() -> Vec<(String, String)> {
    moto_sms_at(&moto_endpoint()).await
}

/// Every SMS the moto at `endpoint` recorded, as (phone, text), oldest first.
pub async fn moto_sms_at(endpoint: &str) -> Vec<(String, String)> {
    let url = format!("{endpoint}/moto-api/data.json");
    let data: Value = reqwest::get(url)
        .await
        .expect("moto data")
        .json()
        .await
        .expect("moto JSON");
    data["sns"]["SMS"]
        .as_array()
        .expect("moto lists SMS")
        .iter()
        .map(|sms| {
            let field = |name: &str| sms[name].as_str().unwrap_or_default().to_owned();
            (field("phone_number"), field("message"))
        })
        .collect()
}

/// The backend itself, for cases that take one.
pub async fn backend_itself(backend: Backend) -> Backend {
    backend
}

/// A fresh store of the backend, for store contract cases.
pub async fn store_of(backend: Backend) -> Arc<dyn Store> {
    backend.store().await.store()
}

/// Runs each named case once on the memory backend and once on moto, as
/// `memory::case` and `moto::case`. Cases take a `Backend`, or what the
/// function after `with` makes of one.
#[macro_export]
macro_rules! on_both_backends {
    (with $make:path; $($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($make($crate::Backend::Memory).await).await;
                }
            )*
        }
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($make($crate::Backend::Moto).await).await;
                }
            )*
        }
    };
    ($($case:ident),* $(,)?) => {
        $crate::on_both_backends!(with $crate::backend_itself; $($case),*);
    };
}
