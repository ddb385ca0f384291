//! `openapi.yaml` held to the code, both ways: its paths and methods are the
//! path table's; a scenario drives every documented response out of a real
//! server, and every status, body key, problem `code` and header seen must be
//! documented for that operation, while everything documented must be seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use api_tests::{
    Backend, FaultyStore, FlakySms, OTHER_PHONE, PHONE, Reply, TestApp, TestClock, code_in, config,
    spawn_server,
};
use http::Method;
use phone_auth::error::Error;
use phone_auth::http::problem;
use phone_auth::http::routes::ROUTES;
use serde_json::{Value, json};

const DOCUMENT: &str = include_str!("../openapi.yaml");
/// The response headers a client acts on; each must be documented where sent.
const WATCHED_HEADERS: [&str; 4] = ["cache-control", "retry-after", "allow", "www-authenticate"];

struct Spec(Value);

impl Spec {
    fn load() -> Spec {
        Spec(serde_norway::from_str(DOCUMENT).expect("openapi.yaml is YAML"))
    }

    /// Follows a local `$ref`, as often as it takes.
    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(target) = node["$ref"].as_str() {
            let pointer = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{target} is not a local $ref"));
            node = self
                .0
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{target} points at nothing"));
        }
        node
    }

    /// (path, method, operation) for every operation.
    fn operations(&self) -> Vec<(&str, Method, &Value)> {
        let mut operations = Vec::new();
        for (path, item) in self.0["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                operations.push((path.as_str(), method, operation));
            }
        }
        operations
    }

    /// The responses of every operation, as (where, status) with the
    /// resolved response. A 405 answers methods a path has no operation
    /// for, so it is filed under the path with the method `*`.
    fn responses(&self) -> BTreeMap<(Where, u16), &Value> {
        let mut responses = BTreeMap::new();
        for (path, method, operation) in self.operations() {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let status: u16 = status.parse().expect("a numeric status");
                let place = Where::new(path, &method, status);
                responses.insert((place, status), self.resolve(response));
            }
        }
        responses
    }

    /// The schemas that may describe a value at this node: the node, or
    /// each alternative of its `oneOf` / `anyOf`.
    fn alternatives<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        let node = self.resolve(node);
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = node[key].as_array() {
                return options.iter().flat_map(|o| self.alternatives(o)).collect();
            }
        }
        vec![node]
    }

    /// An object schema flattened through `allOf`: each property with every
    /// schema that speaks of it, and the required keys.
    fn object<'a>(&'a self, node: &'a Value, into: &mut Object<'a>) {
        let node = self.resolve(node);
        for part in node["allOf"].as_array().into_iter().flatten() {
            self.object(part, into);
        }
        for (key, schema) in node["properties"].as_object().into_iter().flatten() {
            into.properties.entry(key.clone()).or_default().push(schema);
        }
        for key in node["required"].as_array().into_iter().flatten() {
            into.required
                .insert(key.as_str().expect("required key").to_owned());
        }
    }

    fn object_of<'a>(&'a self, schemas: &[&'a Value]) -> Object<'a> {
        let mut object = Object::default();
        for schema in schemas {
            for alternative in self.alternatives(schema) {
                self.object(alternative, &mut object);
            }
        }
        object
    }

    /// Every key path an instance of this schema can have.
    fn key_paths(&self, at: &str, schemas: &[&Value], into: &mut BTreeSet<String>) {
        let object = self.object_of(schemas);
        for (key, schemas) in &object.properties {
            let path = format!("{at}.{key}");
            into.insert(path.clone());
            self.key_paths(&path, schemas, into);
        }
        let items: Vec<&Value> = schemas
            .iter()
            .flat_map(|s| self.alternatives(s))
            .filter_map(|s| s.get("items"))
            .collect();
        if !items.is_empty() {
            self.key_paths(&format!("{at}[]"), &items, into);
        }
    }

    /// The values a property is held to by the most specific `enum` or
    /// `const` that speaks of it.
    fn allowed(&self, schemas: &[&Value]) -> Option<BTreeSet<String>> {
        schemas.iter().rev().find_map(|schema| {
            let schema = self.resolve(schema);
            let values = match (&schema["enum"], &schema["const"]) {
                (Value::Array(values), _) => values.clone(),
                (_, Value::Null) => return None,
                (_, value) => vec![value.clone()],
            };
            Some(
                values
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
    }

    /// The name of the component schema a body is an instance of.
    fn schema_name(&self, node: &Value) -> String {
        let node = node.get("allOf").and_then(|all| all.get(0)).unwrap_or(node);
        node["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_else(|| panic!("response schema without a $ref: {node}"))
            .to_owned()
    }
}

#[derive(Default)]
struct Object<'a> {
    properties: BTreeMap<String, Vec<&'a Value>>,
    required: BTreeSet<String>,
}

/// An operation, or for a 405 a whole path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Where {
    path: String,
    method: String,
}

impl Where {
    fn new(path: &str, method: &Method, status: u16) -> Where {
        let method = if status == 405 { "*" } else { method.as_str() };
        Where {
            path: path.to_owned(),
            method: method.to_owned(),
        }
    }
}

impl std::fmt::Display for Where {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

#[test]
fn the_document_has_exactly_the_routes_of_the_path_table() {
    let spec = Spec::load();
    let documented: BTreeSet<(String, Method)> = spec
        .operations()
        .into_iter()
        .map(|(path, method, _)| (path.to_owned(), method))
        .collect();
    let routed: BTreeSet<(String, Method)> = ROUTES
        .iter()
        .flat_map(|route| {
            route
                .methods
                .iter()
                .map(|method| (format!("{}/", route.path), method.clone()))
        })
        .collect();
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, Method)>::new(),
        "documented but not routed"
    );
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, Method)>::new(),
        "routed but not documented"
    );
}

/// Every variant, so that a new one cannot be left out of the document: the
/// match below stops compiling until it is listed here.
fn every_error() -> Vec<Error> {
    let errors = vec![
        Error::InvalidRequest(String::new()),
        Error::InvalidPhone,
        Error::PhoneNotAllowed,
        Error::MalformedCode,
        Error::InvalidCode,
        Error::CodeExpired,
        Error::TooManyAttempts {
            retry_after: Duration::from_secs(1),
        },
        Error::RateLimited {
            retry_after: Duration::from_secs(1),
        },
        Error::NotAuthenticated,
        Error::TokenNotValid(""),
        Error::PermissionDenied,
        Error::NotFound,
        Error::InviteNotFound,
        Error::InviteSelf,
        Error::InviteAlreadyActivated,
        Error::InviteNotAllowed,
        Error::MethodNotAllowed { allow: "POST" },
        Error::PayloadTooLarge,
        Error::SmsUnavailable(String::new()),
        Error::StoreUnavailable(String::new()),
        Error::Internal(String::new()),
    ];
    for error in &errors {
        match error {
            Error::InvalidRequest(_)
            | Error::InvalidPhone
            | Error::PhoneNotAllowed
            | Error::MalformedCode
            | Error::InvalidCode
            | Error::CodeExpired
            | Error::TooManyAttempts { .. }
            | Error::RateLimited { .. }
            | Error::NotAuthenticated
            | Error::TokenNotValid(_)
            | Error::PermissionDenied
            | Error::NotFound
            | Error::InviteNotFound
            | Error::InviteSelf
            | Error::InviteAlreadyActivated
            | Error::InviteNotAllowed
            | Error::MethodNotAllowed { .. }
            | Error::PayloadTooLarge
            | Error::SmsUnavailable(_)
            | Error::StoreUnavailable(_)
            | Error::Internal(_) => {}
        }
    }
    errors
}

#[test]
fn the_document_lists_exactly_the_problem_codes_and_statuses_of_the_mapper() {
    let spec = Spec::load();
    let problem_schema = &spec.0["components"]["schemas"]["Problem"];
    let documented = spec
        .allowed(&[&problem_schema["properties"]["code"]])
        .expect("Problem.code is an enum");
    let mut answered = BTreeSet::new();
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    for error in every_error() {
        let response = problem::response(&error);
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        let code = body["code"].as_str().unwrap().to_owned();
        statuses.insert(code.clone(), response.status().as_u16());
        answered.insert(code);
    }
    assert_eq!(documented, answered);

    // Each code sits under the status the mapper answers it with, wherever
    // the document allows it.
    for ((place, status), response) in spec.responses() {
        let Some(schema) = response["content"]["application/problem+json"].get("schema") else {
            continue;
        };
        let object = spec.object_of(&[schema]);
        let codes = spec.allowed(&object.properties["code"]).unwrap();
        for code in codes {
            assert_eq!(statuses[&code], status, "{code} under {status} of {place}");
        }
    }
}

/// What one request answered, and where in the document it belongs.
struct Seen {
    place: Where,
    status: u16,
    reply: Reply,
}

/// Sends requests and keeps every answer, under its documented path.
struct Recorder<'a> {
    app: &'a TestApp,
    seen: Vec<Seen>,
}

impl Recorder<'_> {
    /// `path` is the request's; `template` the document's path it matches.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        template: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> &Reply {
        let app = self.app;
        let mut request = app.http.request(method.clone(), app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let reply = app.send(request).await;
        let status = reply.status;
        self.seen.push(Seen {
            place: Where::new(template, &method, status),
            status,
            reply,
        });
        &self.seen.last().unwrap().reply
    }

    async fn post(&mut self, template: &str, body: Value) -> &Reply {
        self.send(
            Method::POST,
            template,
            template,
            None,
            Some(json_bytes(&body)),
        )
        .await
    }

    async fn profile(&mut self, method: Method, id: &str, token: &str, body: Value) -> &Reply {
        let body = (method == Method::PATCH).then(|| json_bytes(&body));
        self.send(
            method,
            &format!("/profile/{id}/"),
            "/profile/{id}/",
            Some(token),
            body,
        )
        .await
    }

    /// A whole login; the tokens and the profile's id and invite code.
    async fn login(&mut self, phone: &str) -> Login {
        assert_eq!(
            self.post("/phone/", json!({"phone": phone})).await.status,
            200
        );
        let code = self.app.last_code(phone).await;
        let reply = self
            .post("/code/", json!({"phone": phone, "code": code}))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let access = reply.body["access"].as_str().unwrap().to_owned();
        let refresh = reply.body["refresh"].as_str().unwrap().to_owned();
        let profile = &self
            .profile(Method::GET, "me", &access, Value::Null)
            .await
            .body;
        Login {
            id: profile["id"].to_string(),
            invite: profile["invite"].as_str().unwrap().to_owned(),
            access,
            refresh,
        }
    }
}

struct Login {
    access: String,
    refresh: String,
    id: String,
    invite: String,
}

fn json_bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap()
}

/// A different code of the same length.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// Drives every documented response out of the dev server: each status,
/// each problem code, each optional key and header.
async fn scenario() -> Vec<Seen> {
    let handle = Backend::Memory.store().await;
    let store = Arc::new(FaultyStore::new(handle.store()));
    let sms = Arc::new(FlakySms::default());
    let clock = TestClock::new();
    let settings = config(&[("ALLOWED_COUNTRY_CODES", "RU"), ("MAX_CODE_ATTEMPTS", "1")]);
    let app = spawn_server(
        Backend::Memory,
        handle,
        store.clone(),
        sms.clone(),
        settings,
        clock.clone(),
    )
    .await;
    let mut r = Recorder {
        app: &app,
        seen: Vec::new(),
    };

    // Three users, each joining a minute after the one before.
    let first = r.login(OTHER_PHONE).await;
    clock.advance_secs(60);
    let caller = r.login(PHONE).await;
    clock.advance_secs(60);
    let last = r.login("+79005556677").await;

    let too_large = format!("{{\"phone\": \"{}\"}}", " ".repeat(5000)).into_bytes();
    let not_allowed = "+447911123456";
    for template in ["/phone/", "/code/", "/token/refresh/", "/token/revoke/"] {
        r.send(Method::GET, template, template, None, None).await;
        r.send(
            Method::POST,
            template,
            template,
            None,
            Some(too_large.clone()),
        )
        .await;
        r.send(Method::POST, template, template, None, Some(b"[]".to_vec()))
            .await;
    }
    for method in [Method::GET, Method::PATCH] {
        let token = Some(caller.access.as_str());
        let at = "/profile/{id}/";
        let big = Some(too_large.clone());
        r.send(method.clone(), "/profile/me/", at, token, big).await;
        let bad_limit = "/profile/me/?referrals_limit=0";
        r.send(method.clone(), bad_limit, at, token, Some(b"{}".to_vec()))
            .await;
        let bad_cursor = "/profile/me/?referrals_cursor=x";
        r.send(method.clone(), bad_cursor, at, token, Some(b"{}".to_vec()))
            .await;
        r.send(method.clone(), "/profile/me/", at, None, None).await;
        let forged = Some("not.a.token");
        r.send(method.clone(), "/profile/me/", at, forged, None)
            .await;
        r.profile(
            method.clone(),
            &first.id,
            &caller.access,
            json!({"inv": first.invite}),
        )
        .await;
        r.profile(
            method,
            "nobody",
            &caller.access,
            json!({"inv": first.invite}),
        )
        .await;
    }
    r.send(Method::DELETE, "/profile/me/", "/profile/{id}/", None, None)
        .await;

    // Sending codes.
    r.post("/phone/", json!({"phone": "12345"})).await;
    r.post("/phone/", json!({"phone": not_allowed})).await;
    // The last user was sent a code just now: the resend cooldown holds.
    r.post("/phone/", json!({"phone": "+79005556677"})).await;
    sms.set_failing(true);
    r.post("/phone/", json!({"phone": "+79005550001"})).await;
    sms.set_failing(false);

    // Entering codes.
    r.post("/code/", json!({"phone": "12345", "code": "1234"}))
        .await;
    r.post("/code/", json!({"phone": not_allowed, "code": "1234"}))
        .await;
    r.post("/code/", json!({"phone": "+79005550002", "code": "1234"}))
        .await;
    let burned = "+79005550003";
    r.post("/phone/", json!({"phone": burned})).await;
    let code = code_in(app.sent_sms(burned).await.last().unwrap());
    for _ in 0..2 {
        r.post("/code/", json!({"phone": burned, "code": wrong(&code)}))
            .await;
    }

    // Invites: the caller's own, a later user's, a code nobody has, a good
    // one, and a second one.
    let me = "me";
    let token = caller.access.as_str();
    for inv in [
        caller.invite.as_str(),
        &last.invite,
        "ZZZZZZ",
        &first.invite,
        &first.invite,
    ] {
        r.profile(Method::PATCH, me, token, json!({"inv": inv}))
            .await;
    }
    r.profile(Method::PATCH, me, token, json!({})).await;
    r.profile(Method::GET, &caller.id, token, Value::Null).await;
    // The inviter's page lists the caller, with a cursor to a next page.
    let page = "/profile/me/?referrals_limit=1";
    r.send(
        Method::GET,
        page,
        "/profile/{id}/",
        Some(&first.access),
        None,
    )
    .await;

    // Tokens.
    for template in ["/token/refresh/", "/token/revoke/"] {
        r.post(template, json!({})).await;
        r.post(template, json!({"refresh": caller.access})).await;
    }
    r.post("/token/refresh/", json!({"refresh": caller.refresh}))
        .await;
    r.post("/token/revoke/", json!({"refresh": first.refresh}))
        .await;

    // The store fails every call: each operation's 503 and 500.
    let faults: [fn() -> Error; 2] = [
        || Error::StoreUnavailable("throttled".into()),
        || Error::Internal("broken".into()),
    ];
    for fault in faults {
        store.fail(Some(fault), None);
        r.post("/phone/", json!({"phone": "+79005550004"})).await;
        r.post("/code/", json!({"phone": PHONE, "code": "1234"}))
            .await;
        for method in [Method::GET, Method::PATCH] {
            r.profile(method, me, &last.access, json!({"inv": first.invite}))
                .await;
        }
        r.post("/token/refresh/", json!({"refresh": last.refresh}))
            .await;
        r.post("/token/revoke/", json!({"refresh": last.refresh}))
            .await;
    }
    store.fail(None, None);
    r.seen
}

/// What the document promises and what the server was seen to do, by
/// (operation, status).
#[derive(Default)]
struct Tally {
    /// Problems with a response that was seen.
    mismatches: Vec<String>,
    codes: BTreeSet<(Where, u16, String)>,
    headers: BTreeSet<(Where, u16, String)>,
    /// Key paths, by the component schema they belong to.
    keys: BTreeSet<(String, String)>,
    statuses: BTreeSet<(Where, u16)>,
}

impl Tally {
    fn mismatch(&mut self, seen: &Seen, what: String) {
        let body = &seen.reply.body;
        self.mismatches.push(format!(
            "{} {}: {what}; body {body}",
            seen.place, seen.status
        ));
    }

    fn check(&mut self, spec: &Spec, seen: &Seen, response: &Value) {
        let key = (seen.place.clone(), seen.status);
        self.statuses.insert(key.clone());
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let name = name.to_lowercase();
            let present = seen.reply.header(&name).is_some();
            if present {
                self.headers.insert((key.0.clone(), key.1, name.clone()));
            } else if spec.resolve(header)["required"] == true {
                self.mismatch(seen, format!("required header {name} missing"));
            }
        }
        for name in WATCHED_HEADERS {
            let documented = response["headers"]
                .as_object()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(name)));
            if seen.reply.header(name).is_some() && !documented {
                self.mismatch(seen, format!("header {name} is not documented"));
            }
        }
        if seen.status == 405 {
            let served: BTreeSet<String> = spec
                .operations()
                .into_iter()
                .filter(|(path, ..)| *path == seen.place.path)
                .map(|(_, method, _)| method.to_string())
                .collect();
            let allow = seen.reply.header("allow").unwrap_or_default();
            let allowed: BTreeSet<String> = allow.split(',').map(|m| m.trim().to_owned()).collect();
            if allowed != served {
                self.mismatch(
                    seen,
                    format!("Allow: {allow} but the document has {served:?}"),
                );
            }
        }
        let content_type = seen.reply.header("content-type").unwrap_or_default();
        let Some(content) = response["content"].as_object() else {
            if !seen.reply.body.is_null() {
                self.mismatch(seen, "a body where the document has none".into());
            }
            return;
        };
        let Some(media) = content.get(content_type) else {
            self.mismatch(
                seen,
                format!("content type {content_type:?} not documented"),
            );
            return;
        };
        let schema = &media["schema"];
        let root = spec.schema_name(schema);
        self.walk(spec, seen, &root, "", &[schema], &seen.reply.body);
        let object = spec.object_of(&[schema]);
        if let Some(codes) = object.properties.get("code").and_then(|s| spec.allowed(s)) {
            let code = seen.reply.body["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if !codes.contains(&code) {
                self.mismatch(seen, format!("code {code:?} is not documented here"));
            }
            self.codes.insert((key.0, key.1, code));
        }
    }

    fn walk(
        &mut self,
        spec: &Spec,
        seen: &Seen,
        root: &str,
        at: &str,
        schemas: &[&Value],
        value: &Value,
    ) {
        match value {
            Value::Object(map) => {
                let object = spec.object_of(schemas);
                if object.properties.is_empty() {
                    // A map of field names (`errors`): its keys are data.
                    return;
                }
                for (key, value) in map {
                    let path = format!("{at}.{key}");
                    match object.properties.get(key) {
                        Some(schemas) => {
                            self.keys.insert((root.to_owned(), path.clone()));
                            self.walk(spec, seen, root, &path, schemas, value);
                        }
                        None => self.mismatch(seen, format!("key {path} is not documented")),
                    }
                }
                for key in &object.required {
                    if !map.contains_key(key) {
                        self.mismatch(seen, format!("required key {at}.{key} missing"));
                    }
                }
            }
            Value::Array(items) => {
                let item_schemas: Vec<&Value> = schemas
                    .iter()
                    .flat_map(|s| spec.alternatives(s))
                    .filter_map(|s| s.get("items"))
                    .collect();
                for item in items {
                    self.walk(spec, seen, root, &format!("{at}[]"), &item_schemas, item);
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_is_documented_and_every_documented_response_happens() {
    let spec = Spec::load();
    let documented = spec.responses();
    let mut tally = Tally::default();
    for seen in scenario().await {
        match documented.get(&(seen.place.clone(), seen.status)) {
            Some(response) => tally.check(&spec, &seen, response),
            None => tally.mismatch(&seen, "status not documented".into()),
        }
    }
    assert!(
        tally.mismatches.is_empty(),
        "the server answered what the document does not say:\n{}",
        tally.mismatches.join("\n")
    );

    let mut never = Vec::new();
    let mut keys = BTreeSet::new();
    for ((place, status), response) in &documented {
        let key = (place.clone(), *status);
        if !tally.statuses.contains(&key) {
            never.push(format!("{place} {status}"));
            continue;
        }
        for (name, _) in response["headers"].as_object().into_iter().flatten() {
            let name = name.to_lowercase();
            if !tally
                .headers
                .contains(&(place.clone(), *status, name.clone()))
            {
                never.push(format!("{place} {status}: header {name}"));
            }
        }
        for media in response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, media)| media)
        {
            let schema = &media["schema"];
            let root = spec.schema_name(schema);
            let mut paths = BTreeSet::new();
            spec.key_paths("", &[schema], &mut paths);
            keys.extend(paths.into_iter().map(|path| (root.clone(), path)));
            let object = spec.object_of(&[schema]);
            if let Some(codes) = object.properties.get("code").and_then(|s| spec.allowed(s)) {
                for code in codes {
                    if !tally
                        .codes
                        .contains(&(place.clone(), *status, code.clone()))
                    {
                        never.push(format!("{place} {status}: code {code}"));
                    }
                }
            }
        }
    }
    for (root, path) in keys.difference(&tally.keys) {
        never.push(format!("{root}: key {path}"));
    }
    assert!(
        never.is_empty(),
        "documented, but the server never answered it:\n{}",
        never.join("\n")
    );
}
