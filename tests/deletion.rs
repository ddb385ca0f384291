//! Deleting an account (`DELETE /profile/{id}/`), on both backends over
//! HTTP: everything the contract lists at once, no item left naming the
//! phone or the id, races with a login and with activations of the deleted
//! user's code, and a fault midway that a retry finishes.

use std::sync::Arc;

use api_tests::{
    Backend, FaultyStore, FlakySms, Reply, SignedUp, TestApp, assert_problem, code_in, config,
    spawn_app, spawn_server,
};
use phone_auth::Error;
use phone_auth::ports::SystemClock;
use serde_json::{Value, json};

/// Sends and logins are not held back by the per-phone limits here.
const OPEN: [(&str, &str); 2] = [
    ("RESEND_COOLDOWN_SECONDS", "0"),
    ("PHONE_MAX_SENDS_PER_HOUR", "100"),
];

async fn delete(app: &TestApp, access: &str, body: Value) -> Reply {
    let request = app
        .http
        .delete(app.url("/profile/me/"))
        .bearer_auth(access)
        .json(&body);
    app.send(request).await
}

/// A fresh code to the phone, as a deletion needs.
async fn code_for(app: &TestApp, phone: &str) -> String {
    let sent = app.post("/phone/", json!({ "phone": phone })).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    code_in(app.sent_sms(phone).await.last().unwrap())
}

async fn refresh(app: &TestApp, token: &str) -> u16 {
    app.post("/token/refresh/", json!({ "refresh": token }))
        .await
        .status
}

/// No item of any table holds the phone's digits or the id.
async fn nothing_names(app: &TestApp, user: &SignedUp) {
    let everything = app.store.fingerprint().await;
    let digits = user.phone.trim_start_matches('+');
    for line in everything.lines() {
        assert!(!line.contains(digits), "the phone is still in: {line}");
        assert!(
            !line.contains(&user.id.to_string()),
            "the id is still in: {line}"
        );
    }
}

async fn a_deletion_removes_the_account_at_once_and_entirely(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    // Each joins after the one before: only an earlier user can invite.
    let clock_step = || std::thread::sleep(std::time::Duration::from_millis(2));
    let inviter = app.sign_up("+79001110001").await;
    clock_step();
    let user = app.sign_up("+79001110002").await;
    clock_step();
    let invitees = [
        app.sign_up("+79001110003").await,
        app.sign_up("+79001110004").await,
    ];
    assert_eq!(app.activate(&user, &inviter.invite).await.status, 200);
    for invitee in &invitees {
        assert_eq!(app.activate(invitee, &user.invite).await.status, 200);
    }
    let second_session = app.login(&user.phone).await.body["refresh"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refused: no code, a malformed one, another user's profile.
    assert_problem(
        &delete(&app, &user.access, json!({})).await,
        400,
        "invalid_request",
    );
    assert_problem(
        &delete(&app, &user.access, json!({"code": 12})).await,
        400,
        "invalid_request",
    );
    assert_problem(
        &delete(&app, &user.access, json!({"code": "12"})).await,
        400,
        "invalid_code",
    );
    let theirs = app
        .http
        .delete(app.url(&format!("/profile/{}/", inviter.id)))
        .bearer_auth(&user.access)
        .json(&json!({"code": "123456"}));
    assert_problem(&app.send(theirs).await, 403, "permission_denied");
    let before = app.store.fingerprint().await;
    assert_problem(
        &delete(&app, &user.access, json!({"code": "123456"})).await,
        400,
        "code_expired",
    );
    assert_eq!(
        app.store.fingerprint().await,
        before,
        "a refusal changes nothing"
    );

    let code = code_for(&app, &user.phone).await;
    let deleted = delete(&app, &user.access, json!({ "code": code })).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert!(deleted.body.is_null());

    // At once.
    for token in [&user.refresh, &second_session] {
        assert_eq!(refresh(&app, token).await, 401);
    }
    assert_problem(
        &app.get_auth("/profile/me/", &user.access).await,
        404,
        "not_found",
    );
    let newcomer = app.sign_up("+79001110005").await;
    assert_problem(
        &app.activate(&newcomer, &user.invite).await,
        404,
        "invite_not_found",
    );
    let inviter_page = app.get_auth("/profile/me/", &inviter.access).await.body;
    assert_eq!(inviter_page["referrals_count"], 0);
    assert_eq!(inviter_page["referrals"], json!([]));
    for invitee in &invitees {
        let page = app.get_auth("/profile/me/", &invitee.access).await.body;
        assert_eq!(page["inv"], user.invite.as_str());
        assert_eq!(page["inv_phone"], Value::Null);
        assert_eq!(page["parent_invite"], Value::Null);
    }
    nothing_names(&app, &user).await;
    assert_problem(
        &delete(&app, &user.access, json!({ "code": code })).await,
        404,
        "not_found",
    );

    // The phone signs up afresh.
    let again = app.login(&user.phone).await.body;
    assert_eq!(again["created"], true);
    assert_ne!(again["user_id"], user.id);
    let page = app
        .get_auth("/profile/me/", again["access"].as_str().unwrap())
        .await
        .body;
    assert_ne!(page["invite"], user.invite.as_str());
    assert_eq!(page["inv"], Value::Null);
    assert_eq!(
        app.metrics
            .recorded()
            .iter()
            .filter(|m| m.name() == "AccountDeletions")
            .count(),
        1
    );
}

/// The wrong code counts against the code as at `/code/`, and burns it.
async fn a_deletion_code_has_the_rules_of_a_login_code(backend: Backend) {
    let settings = [&OPEN[..], &[("MAX_CODE_ATTEMPTS", "2")]].concat();
    let app = spawn_app(backend, &settings).await;
    let user = app.sign_up("+79001110011").await;
    let code = code_for(&app, &user.phone).await;
    let wrong: String = code
        .chars()
        .map(|c| char::from_digit((c.to_digit(10).unwrap() + 1) % 10, 10).unwrap())
        .collect();
    for _ in 0..2 {
        let reply = delete(&app, &user.access, json!({ "code": wrong })).await;
        assert_problem(&reply, 400, "invalid_code");
    }
    let burned = delete(&app, &user.access, json!({ "code": code })).await;
    assert_problem(&burned, 429, "too_many_attempts");
    assert!(burned.header("retry-after").is_some());
    assert_eq!(app.get_auth("/profile/me/", &user.access).await.status, 200);
}

/// One code, 8 deletions and 8 logins racing for it: one wins, and the
/// account is either whole or entirely gone.
async fn a_deletion_racing_a_login_leaves_no_user_half_there(backend: Backend) {
    let app = Arc::new(spawn_app(backend, &OPEN).await);
    let user = app.sign_up("+79001110021").await;
    let code = code_for(&app, &user.phone).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (app, code, phone, access) = (
            Arc::clone(&app),
            code.clone(),
            user.phone.clone(),
            user.access.clone(),
        );
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                (
                    "delete",
                    delete(&app, &access, json!({ "code": code })).await,
                )
            } else {
                let body = json!({ "phone": phone, "code": code });
                ("login", app.post("/code/", body).await)
            }
        }));
    }
    let mut winners = Vec::new();
    let mut late_deletes = 0;
    for task in tasks {
        let (kind, reply) = task.await.unwrap();
        if reply.status < 300 {
            winners.push(kind);
        } else if kind == "delete" && reply.code() == "not_found" {
            // Started after a deletion won.
            late_deletes += 1;
        } else {
            assert_eq!(reply.code(), "code_expired", "{kind}: {:?}", reply.body);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(late_deletes == 0 || winners[0] == "delete");
    if winners[0] == "delete" {
        nothing_names(&app, &user).await;
        assert_eq!(app.get_auth("/profile/me/", &user.access).await.status, 404);
    } else {
        let page = app.get_auth("/profile/me/", &user.access).await.body;
        assert_eq!(page["id"], user.id);
        assert_eq!(refresh(&app, &user.refresh).await, 200);
    }
}

/// 16 users activating the deleted user's code while it is deleted: each
/// either got in before (and is then detached) or was told the code is
/// gone; no referral of the deleted user survives.
async fn a_deletion_racing_activations_leaves_no_orphan_referral(backend: Backend) {
    let app = Arc::new(spawn_app(backend, &OPEN).await);
    let user = app.sign_up("+79001110031").await;
    let mut invitees = Vec::new();
    for i in 0..16 {
        std::thread::sleep(std::time::Duration::from_millis(2));
        invitees.push(Arc::new(app.sign_up(&format!("+790011101{i:02}")).await));
    }
    let code = code_for(&app, &user.phone).await;
    let mut tasks = Vec::new();
    for invitee in &invitees {
        let (app, invitee, invite) = (Arc::clone(&app), Arc::clone(invitee), user.invite.clone());
        tasks.push(tokio::spawn(async move {
            app.activate(&invitee, &invite).await
        }));
    }
    let deleted = delete(&app, &user.access, json!({ "code": code })).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    for task in tasks {
        let reply = task.await.unwrap();
        assert!(
            reply.status == 200 || reply.code() == "invite_not_found",
            "{:?}",
            reply.body
        );
    }
    for invitee in &invitees {
        let page = app.get_auth("/profile/me/", &invitee.access).await.body;
        assert_eq!(page["parent_invite"], Value::Null);
        assert_eq!(page["inv_phone"], Value::Null);
    }
    nothing_names(&app, &user).await;
}

/// A fault in the transaction leaves the account whole; a fault after it,
/// while its referrals are let go, leaves it deleted; a retry of the
/// request finishes either.
async fn a_fault_midway_leaves_the_account_whole_or_deleted(backend: Backend) {
    let clock = Arc::new(SystemClock);
    let handle = backend.store().await;
    let faulty = Arc::new(FaultyStore::new(handle.store()));
    let app = spawn_server(
        backend,
        handle,
        faulty.clone(),
        Arc::new(FlakySms::default()),
        config(&OPEN),
        clock,
    )
    .await;
    let user = app.sign_up("+79001110041").await;
    std::thread::sleep(std::time::Duration::from_millis(2));
    let invitee = app.sign_up("+79001110042").await;
    assert_eq!(app.activate(&invitee, &user.invite).await.status, 200);
    let code = code_for(&app, &user.phone).await;
    let unavailable: fn() -> Error = || Error::StoreUnavailable("throttled".into());

    faulty.fail(Some(unavailable), Some("delete_account"));
    let whole = app.store.fingerprint().await;
    assert_problem(
        &delete(&app, &user.access, json!({ "code": code })).await,
        503,
        "service_unavailable",
    );
    faulty.fail(None, None);
    assert_eq!(app.store.fingerprint().await, whole, "whole");
    assert_eq!(refresh(&app, &user.refresh).await, 200);

    faulty.fail(Some(unavailable), Some("detach_invitees"));
    let reply = delete(&app, &user.access, json!({ "code": code })).await;
    assert_problem(&reply, 503, "service_unavailable");
    faulty.fail(None, None);
    // Deleted, though not yet let go of by its invitee's item.
    assert_problem(
        &app.get_auth("/profile/me/", &user.access).await,
        404,
        "not_found",
    );
    let page = app.get_auth("/profile/me/", &invitee.access).await.body;
    assert_eq!(page["parent_invite"], Value::Null);
    // The retry finishes it, and answers that the account is gone.
    let retry = delete(&app, &user.access, json!({ "code": code })).await;
    assert_problem(&retry, 404, "not_found");
    nothing_names(&app, &user).await;
}

api_tests::on_both_backends!(
    a_deletion_removes_the_account_at_once_and_entirely,
    a_deletion_code_has_the_rules_of_a_login_code,
    a_deletion_racing_a_login_leaves_no_user_half_there,
    a_deletion_racing_activations_leaves_no_orphan_referral,
    a_fault_midway_leaves_the_account_whole_or_deleted,
);
