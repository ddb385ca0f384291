//! `openapi.yaml` held to the code, both ways: its paths and methods are the
//! path table's; a scenario drives every documented response out of a real
//! server, and every status, body key, problem `code` and header seen must be
//! documented for that operation, while everything documented must be seen.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use http::Method;
use phone_auth::error::Error;
use phone_auth::http::problem;
use phone_auth::http::routes::ROUTES;
use serde_json::Value;

#[path = "openapi/scenario.rs"]
mod scenario;
#[path = "openapi/spec.rs"]
mod spec;

use scenario::{Seen, scenario};
use spec::{Spec, Where};

/// The response headers a client acts on; each must be documented where sent.
const WATCHED_HEADERS: [&str; 4] = ["cache-control", "retry-after", "allow", "www-authenticate"];

/// How the document names a route: with its trailing slash, as the seed
/// does, except the `/.well-known/` documents, which RFC 8615 and OpenID
/// discovery name without one.
fn documented_path(path: &str) -> String {
    if path.starts_with("/.well-known/") {
        path.to_owned()
    } else {
        format!("{path}/")
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
                .map(|method| (documented_path(route.path), method.clone()))
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
        Error::MissingField("phone"),
        Error::MissingField("refresh"),
        Error::InvalidPhone,
        Error::PhoneWithoutCountry,
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
        Error::ChallengeRequired {
            challenge: Box::new(phone_auth::domain::challenge::Offer::Altcha(
                phone_auth::domain::challenge::Challenges::new(b"k", 1_000, 300)
                    .issue(phone_auth::domain::time::Timestamp::from_secs(0)),
            )),
            retry_after: Duration::from_secs(1),
        },
        Error::NotAuthenticated,
        Error::NotBearer,
        Error::TokenNotValid(""),
        Error::PermissionDenied,
        Error::AccountDisabled,
        Error::PhoneTaken,
        Error::NotFound,
        Error::InviteNotFound,
        Error::InviteSelf,
        Error::InviteAlreadyActivated,
        Error::InviteNotAllowed,
        Error::MethodNotAllowed { allow: "POST" },
        Error::PayloadTooLarge,
        Error::SmsUnavailable(String::new()),
        Error::SmsBudgetSpent {
            retry_after: Duration::from_secs(1),
        },
        Error::StoreUnavailable(String::new()),
        Error::CaptchaUnavailable(String::new()),
        Error::Internal(String::new()),
    ];
    for error in &errors {
        match error {
            Error::InvalidRequest(_)
            | Error::MissingField(_)
            | Error::InvalidPhone
            | Error::PhoneWithoutCountry
            | Error::PhoneNotAllowed
            | Error::MalformedCode
            | Error::InvalidCode
            | Error::CodeExpired
            | Error::TooManyAttempts { .. }
            | Error::RateLimited { .. }
            | Error::ChallengeRequired { .. }
            | Error::NotAuthenticated
            | Error::NotBearer
            | Error::TokenNotValid(_)
            | Error::PermissionDenied
            | Error::AccountDisabled
            | Error::PhoneTaken
            | Error::NotFound
            | Error::InviteNotFound
            | Error::InviteSelf
            | Error::InviteAlreadyActivated
            | Error::InviteNotAllowed
            | Error::MethodNotAllowed { .. }
            | Error::PayloadTooLarge
            | Error::SmsUnavailable(_)
            | Error::SmsBudgetSpent { .. }
            | Error::StoreUnavailable(_)
            | Error::CaptchaUnavailable(_)
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
        for code in spec.codes(schema).expect("a problem's code is listed") {
            assert_eq!(statuses[&code], status, "{code} under {status} of {place}");
        }
    }
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
        if let Some(codes) = spec.codes(schema) {
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
                // Of a `oneOf`'s objects, those whose required keys the
                // value has: a value is an instance of one alternative, not
                // of all at once.
                let fitting: Vec<&Value> = schemas
                    .iter()
                    .flat_map(|s| spec.alternatives(s))
                    .filter(|alternative| {
                        spec.object_of(&[*alternative])
                            .required
                            .iter()
                            .all(|key| map.contains_key(key))
                    })
                    .collect();
                let schemas: &[&Value] = if fitting.is_empty() {
                    schemas
                } else {
                    &fitting
                };
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
            if let Some(codes) = spec.codes(schema) {
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
