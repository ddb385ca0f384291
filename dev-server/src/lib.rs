//! The whole API in one process: the same handlers and path table as the
//! Lambda functions, over a plain HTTP/1 server, on the in-memory store with
//! SMS on the console, or on DynamoDB and SNS.
//!
//! Only here, never in a Lambda: `GET /dev/sms?phone=<e164>` lists the SMS
//! this process sent to a phone, and `GET /` is a page to try the whole flow
//! in a browser.

mod events;
pub mod import;
mod page;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use phone_auth::adapters::console::{ConsoleSms, Outbox};
use phone_auth::adapters::memory::MemoryStore;
use phone_auth::config::{Config, ConfigError, Settings, Tables, random_secret};
use phone_auth::domain::service::Service;
use phone_auth::domain::user::UserId;
use phone_auth::error::Error;
use phone_auth::http::body::MAX_BODY_BYTES;
use phone_auth::http::{AdminAccess, ApiRequest, ApiResponse, App, problem, query};
use phone_auth::ports::{Clock, Metrics, NoMetrics, SmsSender, Store, SystemClock};
use serde_json::json;
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Aws,
}

impl Backend {
    pub fn from_settings(settings: &Settings) -> Result<Backend, ConfigError> {
        match settings.get("BACKEND").as_deref() {
            None | Some("memory") => Ok(Backend::Memory),
            Some("aws") => Ok(Backend::Aws),
            Some(other) => Err(ConfigError {
                name: "BACKEND",
                problem: format!("expected memory or aws, got {other:?}"),
            }),
        }
    }
}

pub struct DevServer {
    app: App,
    outbox: Arc<Outbox>,
    /// On the memory backend: the events its store's changes make.
    events: Option<events::EventLog>,
}

/// Settings the dev server fills in when they are unset, so that `make dev`
/// needs nothing: fresh random secrets each start (tokens do not outlive the
/// process), a fresh RSA key pair under `JWT_ALGORITHM=RS256`, its own
/// address as the issuer, and local table names.
pub fn with_dev_defaults(
    mut env: HashMap<String, String>,
) -> (HashMap<String, String>, Vec<&'static str>) {
    // `None`: a fresh random secret.
    const DEFAULTS: [(&str, Option<&str>); 7] = [
        ("JWT_KEY_ID", Some("dev")),
        ("JWT_SIGNING_KEY", None),
        ("CODE_HASH_SECRET", None),
        ("USERS_TABLE", Some("phone-auth-dev-users")),
        ("CODES_TABLE", Some("phone-auth-dev-codes")),
        ("SESSIONS_TABLE", Some("phone-auth-dev-sessions")),
        ("INVITES_TABLE", Some("phone-auth-dev-invites")),
    ];
    let mut filled = Vec::new();
    for (name, default) in DEFAULTS {
        if env.get(name).is_none_or(|v| v.trim().is_empty()) {
            let value = default.map_or_else(random_secret, str::to_owned);
            env.insert(name.to_owned(), value);
            filled.push(name);
        }
    }
    let unset = |env: &HashMap<String, String>, name: &str| {
        env.get(name).is_none_or(|v| v.trim().is_empty())
    };
    if unset(&env, "JWT_ISSUER") {
        let port = env.get("PORT").map_or("3000", |p| p.trim());
        env.insert("JWT_ISSUER".into(), format!("http://127.0.0.1:{port}"));
        filled.push("JWT_ISSUER");
    }
    let rs256 = env
        .get("JWT_ALGORITHM")
        .is_some_and(|a| a.trim() == "RS256");
    if rs256 && unset(&env, "JWT_PRIVATE_KEY") {
        // A failure leaves it unset, and the configuration says so.
        if let Ok((private, _)) = phone_auth::domain::token::rsa::generate_pem() {
            env.insert("JWT_PRIVATE_KEY".into(), private);
            filled.push("JWT_PRIVATE_KEY");
        }
    }
    (env, filled)
}

impl DevServer {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
    ) -> DevServer {
        DevServer::with_metrics(config, store, sms, clock, Arc::new(NoMetrics))
    }

    /// A server whose service counts into `metrics` (tests read them).
    pub fn with_metrics(
        config: Config,
        store: Arc<dyn Store>,
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn Metrics>,
    ) -> DevServer {
        let outbox = Arc::new(Outbox::new(sms, Arc::clone(&clock)));
        let captcha = phone_auth::startup::captcha(config.captcha.as_ref()).unwrap_or_else(|e| {
            tracing::error!("{e}");
            None
        });
        let service = Service::new(
            config.rules,
            store,
            Arc::clone(&outbox) as Arc<dyn SmsSender>,
            clock,
        )
        .with_metrics(metrics)
        .with_captcha(captcha)
        // No stream here: a deletion is finished before its answer.
        .finishing_inline();
        DevServer {
            app: App::new(service).with_admin(AdminAccess::Off),
            outbox,
            events: None,
        }
    }

    /// Builds the server the environment asks for.
    pub async fn from_settings(settings: &Settings) -> Result<DevServer, ConfigError> {
        let config = settings.config()?;
        for warning in config.rules.warnings(SystemClock.now()) {
            tracing::warn!("configuration: {warning}");
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut memory = None;
        let (store, sms): (Arc<dyn Store>, Arc<dyn SmsSender>) =
            match Backend::from_settings(settings)? {
                // The console, unless a webhook bridge is named.
                Backend::Memory => {
                    let sms = phone_auth::startup::webhook_sms(&config, clock.clone())?
                        .unwrap_or_else(|| Arc::new(ConsoleSms));
                    let store = Arc::new(MemoryStore::new());
                    memory = Some(store.clone());
                    (store, sms)
                }
                Backend::Aws => {
                    let tables: Tables = settings.tables()?;
                    let sdk = phone_auth::startup::aws_sdk_config().await;
                    let sms = phone_auth::startup::sms_sender(&sdk, &config, clock.clone())?;
                    (phone_auth::startup::aws_store(&sdk, tables), sms)
                }
            };
        let admin = admin_access(settings)?;
        let server = DevServer::new(config, store, sms, clock.clone()).with_admin(admin);
        Ok(match memory {
            Some(store) => server.with_events(store, clock),
            None => server,
        })
    }

    /// Events from the changes `store` commits (the memory backend's).
    pub fn with_events(mut self, store: Arc<MemoryStore>, clock: Arc<dyn Clock>) -> DevServer {
        self.events = Some(events::EventLog::new(store, clock));
        self
    }

    /// Who may call the `/admin/` routes (by default no one: they are not
    /// found).
    pub fn with_admin(mut self, admin: AdminAccess) -> DevServer {
        self.app = self.app.with_admin(admin);
        self
    }

    pub async fn respond(&self, request: http::Request<Incoming>, peer: SocketAddr) -> ApiResponse {
        let (parts, body) = request.into_parts();
        // One byte over the limit is enough to know the body is too large.
        let body = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return problem::response(&Error::PayloadTooLarge),
        };
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().map(str::to_owned);
        if path.trim_end_matches('/') == "/dev/sms" {
            return self.dev_sms(&parts.method, query.as_deref());
        }
        if path.trim_end_matches('/') == "/dev/events" {
            return self.dev_events(&parts.method, query.as_deref());
        }
        if let Some(response) = page::respond(&parts.method, &path) {
            return response;
        }
        let request = ApiRequest {
            method: parts.method,
            path,
            query,
            headers: parts.headers,
            body,
            source_ip: Some(peer.ip().to_string()),
            iam_caller: None,
        };
        let response = self.app.handle(request).await;
        if let Some(events) = &self.events {
            events.collect();
        }
        response
    }

    /// `GET /dev/events` (`?user_id=`): the events so far, oldest first.
    fn dev_events(&self, method: &Method, query: Option<&str>) -> ApiResponse {
        if method != Method::GET {
            return problem::response(&Error::MethodNotAllowed { allow: "GET" });
        }
        let user = match query::param(query, "user_id").map(|id| id.parse::<u64>()) {
            None => None,
            Some(Ok(id)) => Some(UserId(id)),
            Some(Err(_)) => {
                let error = Error::InvalidRequest("user_id must be a user's id.".into());
                return problem::response(&error);
            }
        };
        let events: Vec<_> = self
            .events
            .as_ref()
            .map(|log| log.list(user))
            .unwrap_or_default()
            .iter()
            .map(|event| event.json())
            .collect();
        json_ok(&json!({ "events": events }))
    }

    fn dev_sms(&self, method: &Method, query: Option<&str>) -> ApiResponse {
        if method != Method::GET {
            return problem::response(&Error::MethodNotAllowed { allow: "GET" });
        }
        let phone = query::param(query, "phone")
            .ok_or(Error::InvalidPhone)
            .and_then(|raw| self.app.service().parse_phone(&raw));
        let phone = match phone {
            Ok(phone) => phone,
            Err(error) => return problem::response(&error),
        };
        let messages: Vec<_> = self
            .outbox
            .sent_to(&phone)
            .into_iter()
            .map(|m| {
                json!({
                    "phone": m.phone.as_str(),
                    "channel": m.channel,
                    "locale": m.locale,
                    "text": m.text,
                    "code": code_in(&m.text),
                    "at": m.at.rfc3339(),
                })
            })
            .collect();
        json_ok(&json!({ "messages": messages }))
    }
}

/// A 200 with a JSON body, not to be cached: the dev server's own routes.
fn json_ok(body: &serde_json::Value) -> ApiResponse {
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("static header"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    response
}

/// The shortest `ADMIN_TOKEN` taken: it opens every account.
const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// `ADMIN_TOKEN` opens the admin API as `Authorization: Bearer <it>`;
/// unset, its routes are not found.
fn admin_access(settings: &Settings) -> Result<AdminAccess, ConfigError> {
    match settings.get("ADMIN_TOKEN") {
        None => Ok(AdminAccess::Off),
        Some(token) if token.trim().chars().count() >= MIN_ADMIN_TOKEN_CHARS => {
            Ok(AdminAccess::Token(token.trim().to_owned()))
        }
        Some(_) => Err(ConfigError {
            name: "ADMIN_TOKEN",
            problem: format!("must be at least {MIN_ADMIN_TOKEN_CHARS} characters"),
        }),
    }
}

/// The code in an SMS's text: its first run of four digits or more (the
/// minutes and the app's name have fewer), so a script can read it
/// without parsing the template.
fn code_in(text: &str) -> Option<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() >= 4)
}

/// Serves until the listener fails; one task per connection.
pub async fn serve(listener: TcpListener, server: Arc<DevServer>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = Arc::clone(&server);
                async move {
                    let response = server.respond(request, peer).await;
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}
