//! Every API Gateway event in `events/` (the files `sam local invoke -e` and
//! `cargo lambda invoke --data-file` take) goes through the Lambda adapter
//! of the function it is for.

use std::collections::BTreeSet;
use std::sync::Arc;

use api_tests::{FaultyStore, OTHER_PHONE, PHONE, code_in, config};
use lambda_http::{Body, Response};
use phone_auth::adapters::console::{ConsoleSms, Outbox};
use phone_auth::adapters::memory::MemoryStore;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::service::Service;
use phone_auth::domain::user::UserId;
use phone_auth::http::App;
use phone_auth::http::routes::Function;
use phone_auth::http::routes::function::{
    Admin, CodeEnter, PhoneChange, PhoneEnter, Profile, TokenRefresh, TokenRevoke, WellKnown,
};
use phone_auth::lambda::{cleanup_batch, handle_event};
use phone_auth::ports::{Store, SystemClock, UserStore};
use serde_json::{Value, json};

const EVENTS: &[(&str, &str)] = &[
    ("code-enter.json", include_str!("../events/code-enter.json")),
    (
        "phone-enter.json",
        include_str!("../events/phone-enter.json"),
    ),
    (
        "phone-enter-base64.json",
        include_str!("../events/phone-enter-base64.json"),
    ),
    (
        "phone-enter-invalid.json",
        include_str!("../events/phone-enter-invalid.json"),
    ),
    (
        "token-refresh.json",
        include_str!("../events/token-refresh.json"),
    ),
    (
        "token-revoke.json",
        include_str!("../events/token-revoke.json"),
    ),
    (
        "user-profile.json",
        include_str!("../events/user-profile.json"),
    ),
    (
        "user-profile-method.json",
        include_str!("../events/user-profile-method.json"),
    ),
    (
        "user-profile-delete.json",
        include_str!("../events/user-profile-delete.json"),
    ),
    (
        "account-cleanup.json",
        include_str!("../events/account-cleanup.json"),
    ),
    ("well-known.json", include_str!("../events/well-known.json")),
    ("admin.json", include_str!("../events/admin.json")),
    (
        "phone-change.json",
        include_str!("../events/phone-change.json"),
    ),
    (
        "phone-change-verify.json",
        include_str!("../events/phone-change-verify.json"),
    ),
    (
        "account-cleanup-phone.json",
        include_str!("../events/account-cleanup-phone.json"),
    ),
    // The users table's stream as events: tests/user_events_stream.rs
    // sends it to a bus on moto.
    (
        "user-events.json",
        include_str!("../events/user-events.json"),
    ),
    (
        "signing-key.json",
        include_str!("../events/signing-key.json"),
    ),
    // SNS's delivery logs and the custom resource that turns them on:
    // tests/sms_delivery.rs runs them.
    (
        "sms-delivery.json",
        include_str!("../events/sms-delivery.json"),
    ),
    (
        "sms-delivery-failure.json",
        include_str!("../events/sms-delivery-failure.json"),
    ),
    (
        "sms-delivery-logging.json",
        include_str!("../events/sms-delivery-logging.json"),
    ),
];

fn event(name: &str) -> &'static str {
    EVENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)
        .expect("listed event")
}

/// A function's app as Lambda builds it: deletions are finished by the
/// stream's function, not inline.
struct Lambda {
    app: App,
    store: Arc<MemoryStore>,
    outbox: Arc<Outbox>,
}

impl Lambda {
    fn new() -> Lambda {
        let clock = Arc::new(SystemClock);
        let outbox = Arc::new(Outbox::new(Arc::new(ConsoleSms), clock.clone()));
        let store = Arc::new(MemoryStore::new());
        let service = Service::new(
            config(&[("RESEND_COOLDOWN_SECONDS", "0")]).rules,
            store.clone(),
            outbox.clone(),
            clock,
        );
        Lambda {
            app: App::new(service),
            store,
            outbox,
        }
    }

    /// The deletion event for the account behind `access`, with a code just
    /// sent to `phone`.
    async fn deletion(&self, phone: &str, access: &str) -> String {
        let send = event("phone-enter.json").replace(PHONE, phone);
        assert_eq!(self.invoke::<PhoneEnter>(&send).await.0, 200);
        let code = code_in(self.sms_to(phone).last().unwrap());
        event("user-profile-delete.json")
            .replace("REPLACE_WITH_AN_ACCESS_TOKEN", access)
            .replace("\\\"123456\\\"", &format!("\\\"{code}\\\""))
    }

    /// Logs `phone` in through the events; answers the login.
    async fn login(&self, phone: &str) -> Value {
        let send = event("phone-enter.json").replace(PHONE, phone);
        assert_eq!(self.invoke::<PhoneEnter>(&send).await.0, 200);
        let code = code_in(self.sms_to(phone).last().unwrap());
        let enter = event("code-enter.json")
            .replace(PHONE, phone)
            .replace("\\\"123456\\\"", &format!("\\\"{code}\\\""));
        let (status, login, _) = self.invoke::<CodeEnter>(&enter).await;
        assert_eq!(status, 200, "{login}");
        login
    }

    /// `PHONE`'s owner, and `OTHER_PHONE`'s user who joined after and
    /// activated the owner's code through the profile's function: their
    /// logins and ids.
    async fn owner_and_invitee(&self) -> (Value, UserId, UserId) {
        let owner = self.login(PHONE).await;
        std::thread::sleep(std::time::Duration::from_millis(2));
        let invitee = self.login(OTHER_PHONE).await;
        let owner_id = UserId(owner["user_id"].as_u64().unwrap());
        let invitee_id = UserId(invitee["user_id"].as_u64().unwrap());
        let invite = self.store.user(owner_id).await.unwrap().unwrap().invite;
        let mut patch: Value = serde_json::from_str(event("user-profile.json")).unwrap();
        let bearer = format!("Bearer {}", invitee["access"].as_str().unwrap());
        patch["headers"]["authorization"] = json!(bearer);
        patch["requestContext"]["http"]["method"] = json!("PATCH");
        patch["body"] = json!(json!({ "inv": invite.as_str() }).to_string());
        let (status, body, _) = self.invoke::<Profile>(&patch.to_string()).await;
        assert_eq!(status, 200, "{body}");
        (owner, owner_id, invitee_id)
    }

    async fn invoke<F: Function>(&self, json: &str) -> (u16, Value, Response<Body>) {
        let request = lambda_http::request::from_str(json).expect("a valid API Gateway event");
        let response = handle_event::<F>(&self.app, request).await;
        let body = match response.body() {
            Body::Empty => Value::Null,
            other => serde_json::from_slice(other).expect("a JSON body"),
        };
        (response.status().as_u16(), body, response)
    }

    fn sms_to(&self, phone: &str) -> Vec<String> {
        let phone = Phone::parse(phone, None).unwrap();
        self.outbox
            .sent_to(&phone)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }
}

/// The admin function takes the caller API Gateway's IAM authorization
/// verified, and nothing else: the same request without it is refused,
/// and so is one whose `Authorization` header is a user's access token.
#[tokio::test]
async fn the_admin_function_takes_iam_callers_only() {
    let lambda = Lambda::new();
    let login = lambda.login(PHONE).await;
    let id = login["user_id"].as_u64().unwrap().to_string();
    let signed = event("admin.json").replace("4815162342", &id);
    let (status, body, _) = lambda.invoke::<Admin>(&signed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"], PHONE);
    assert_eq!(body["sessions"], 1);
    let (status, body, _) = lambda.invoke::<Admin>(event("admin.json")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    let mut unsigned: Value = serde_json::from_str(&signed).unwrap();
    unsigned["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    unsigned["headers"]["authorization"] =
        json!(format!("Bearer {}", login["access"].as_str().unwrap()));
    let (status, body, _) = lambda.invoke::<Admin>(&unsigned.to_string()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("permission_denied"))
    );
    // Only the admin routes: the function serves no other path.
    let profile = event("user-profile.json");
    let (status, _, _) = lambda.invoke::<Admin>(profile).await;
    assert_eq!(status, 404);
}

#[test]
fn every_event_file_is_exercised() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("events/ exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = EVENTS.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(on_disk, listed);
}

#[tokio::test]
async fn events_run_through_their_functions() {
    let lambda = Lambda::new();

    // Before any SMS there is no code to enter.
    let (status, body, _) = lambda.invoke::<CodeEnter>(event("code-enter.json")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("code_expired")));

    let (status, body, response) = lambda.invoke::<PhoneEnter>(event("phone-enter.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(lambda.sms_to(PHONE).len(), 1);

    let (status, _, _) = lambda
        .invoke::<PhoneEnter>(event("phone-enter-base64.json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        lambda.sms_to(OTHER_PHONE).len(),
        1,
        "the base64 body was decoded"
    );

    let (status, body, response) = lambda
        .invoke::<PhoneEnter>(event("phone-enter-invalid.json"))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_phone"))
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    // The code event with the code the SMS carried logs in.
    let code = code_in(&lambda.sms_to(PHONE)[0]);
    let with_code = event("code-enter.json").replace("\\\"123456\\\"", &format!("\\\"{code}\\\""));
    let (status, login, _) = lambda.invoke::<CodeEnter>(&with_code).await;
    assert_eq!(status, 200, "{login}");
    let access = login["access"].as_str().unwrap();
    let refresh = login["refresh"].as_str().unwrap();

    let (status, body, _) = lambda.invoke::<Profile>(event("user-profile.json")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_not_valid"))
    );
    let with_token = event("user-profile.json").replace("REPLACE_WITH_AN_ACCESS_TOKEN", access);
    let (status, profile, _) = lambda.invoke::<Profile>(&with_token).await;
    assert_eq!(status, 200);
    assert_eq!(profile["phone"], PHONE);

    let (status, _, response) = lambda
        .invoke::<Profile>(event("user-profile-method.json"))
        .await;
    assert_eq!(status, 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH, DELETE");

    let (status, _, _) = lambda
        .invoke::<TokenRefresh>(event("token-refresh.json"))
        .await;
    assert_eq!(status, 401);
    let refresh_event =
        event("token-refresh.json").replace("REPLACE_WITH_A_REFRESH_TOKEN", refresh);
    let (status, rotated, _) = lambda.invoke::<TokenRefresh>(&refresh_event).await;
    assert_eq!(status, 200);
    let newest = rotated["refresh"].as_str().unwrap();

    let (status, _, _) = lambda
        .invoke::<TokenRevoke>(event("token-revoke.json"))
        .await;
    assert_eq!(status, 401);
    let revoke_event = event("token-revoke.json").replace("REPLACE_WITH_A_REFRESH_TOKEN", newest);
    let (status, body, _) = lambda.invoke::<TokenRevoke>(&revoke_event).await;
    assert_eq!((status, body), (204, Value::Null));

    // The deletion event, with the token and a fresh code.
    let (status, _, _) = lambda
        .invoke::<Profile>(event("user-profile-delete.json"))
        .await;
    assert_eq!(status, 401);
    let delete_event = lambda.deletion(PHONE, access).await;
    let (status, body, _) = lambda.invoke::<Profile>(&delete_event).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _, _) = lambda.invoke::<Profile>(&with_token).await;
    assert_eq!(status, 404);

    let (status, body, response) = lambda.invoke::<WellKnown>(event("well-known.json")).await;
    assert_eq!(
        (status, body),
        (200, json!({"keys": []})),
        "HS256 publishes no key"
    );
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
}

/// The custom resource's event is CloudFormation's Create, which adds the
/// RSA key (`tests/signing_key.rs` runs it against Secrets Manager).
#[test]
fn the_signing_key_event_asks_for_the_key() {
    let fixture: Value = serde_json::from_str(event("signing-key.json")).unwrap();
    assert_eq!(
        signing_key::change_for(&fixture),
        Some(signing_key::Change::Complete)
    );
    for field in ["ResponseURL", "StackId", "RequestId", "LogicalResourceId"] {
        assert!(fixture[field].is_string(), "{field}");
    }
}

/// A deletion's answer leaves its referrals; the stream's record of the
/// user's removal, through the cleanup function's handler, lets them go.
#[tokio::test]
async fn the_stream_event_finishes_a_deletion() {
    let lambda = Lambda::new();
    let (owner, owner_id, invitee_id) = lambda.owner_and_invitee().await;

    let delete_event = lambda
        .deletion(PHONE, owner["access"].as_str().unwrap())
        .await;
    assert_eq!(lambda.invoke::<Profile>(&delete_event).await.0, 204);
    // Not finished yet: the invitee's item still names the owner.
    let activated = |store: &MemoryStore| {
        let dump = store.dump();
        dump.lines()
            .filter(|l| l.starts_with("user ") || l.starts_with("referral "))
            .any(|l| l.contains(&owner_id.to_string()))
    };
    assert!(activated(&lambda.store));

    // The fixture's user never existed: nothing to do, nothing failed.
    let fixture: Value = serde_json::from_str(event("account-cleanup.json")).unwrap();
    let store: &dyn Store = lambda.store.as_ref();
    assert_eq!(
        cleanup_batch(store, &fixture).await,
        json!({"batchItemFailures": []})
    );
    let mut removed = fixture.clone();
    removed["Records"][0]["dynamodb"]["Keys"]["pk"]["S"] = json!(format!("user#{owner_id}"));
    assert_eq!(
        cleanup_batch(store, &removed).await,
        json!({"batchItemFailures": []})
    );
    assert!(!activated(&lambda.store));
    let detached = lambda.store.user(invitee_id).await.unwrap().unwrap();
    assert_eq!(detached.activated.unwrap().owner, None);

    // A failure reports its record, for Lambda to retry from there.
    let faulty = FaultyStore::new(lambda.store.clone());
    faulty.fail(
        Some(|| phone_auth::Error::StoreUnavailable("throttled".into())),
        None,
    );
    assert_eq!(
        cleanup_batch(&faulty, &removed).await,
        json!({"batchItemFailures": [{"itemIdentifier": "111100000000000000000001"}]})
    );
}

/// A phone change's answer leaves the users who activated the account's
/// code on the old number; the stream's record of the marked update,
/// through the cleanup function's handler, tells them the new one.
#[tokio::test]
async fn the_stream_event_finishes_a_phone_change() {
    let lambda = Lambda::new();
    let (owner, owner_id, invitee_id) = lambda.owner_and_invitee().await;

    // The change, through the function's own events.
    let new = "+79001112299";
    let bearer = format!("Bearer {}", owner["access"].as_str().unwrap());
    let send = event("phone-change.json").replace(
        "REPLACE_WITH_AN_ACCESS_TOKEN",
        owner["access"].as_str().unwrap(),
    );
    let (status, body, _) = lambda.invoke::<PhoneChange>(&send).await;
    assert_eq!(status, 200, "{body}");
    let code = code_in(lambda.sms_to(new).last().unwrap());
    let verify = event("phone-change-verify.json")
        .replace("Bearer REPLACE_WITH_AN_ACCESS_TOKEN", &bearer)
        .replace("\\\"123456\\\"", &format!("\\\"{code}\\\""));
    let (status, body, _) = lambda.invoke::<PhoneChange>(&verify).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"], new);
    let inv_phone = || async {
        let user = lambda.store.user(invitee_id).await.unwrap().unwrap();
        user.activated
            .unwrap()
            .owner
            .unwrap()
            .phone
            .as_str()
            .to_owned()
    };
    assert_eq!(inv_phone().await, PHONE, "not told before the stream");

    let mut changed: Value = serde_json::from_str(event("account-cleanup-phone.json")).unwrap();
    changed["Records"][0]["dynamodb"]["Keys"]["pk"]["S"] = json!(format!("user#{owner_id}"));
    let store: &dyn Store = lambda.store.as_ref();
    assert_eq!(
        cleanup_batch(store, &changed).await,
        json!({"batchItemFailures": []})
    );
    assert_eq!(inv_phone().await, new);
    // The fixture as it is names a user that never existed: nothing to do.
    let fixture: Value = serde_json::from_str(event("account-cleanup-phone.json")).unwrap();
    assert_eq!(
        cleanup_batch(store, &fixture).await,
        json!({"batchItemFailures": []})
    );
}

#[tokio::test]
async fn a_function_serves_only_its_own_routes() {
    let lambda = Lambda::new();
    let (status, body, _) = lambda.invoke::<CodeEnter>(event("phone-enter.json")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert!(lambda.sms_to(PHONE).is_empty());
}
