//! Sessions as a mobile app meets them, on both backends over HTTP: the
//! refresh grace (a lost answer, racing refreshes), theft detection
//! outside it, and logging out everywhere, alone and racing refreshes.

use std::sync::Arc;

use api_tests::{Backend, Reply, TestApp, TestClock, assert_problem, config, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const PHONE: &str = "+79123456789";
const OTHER_PHONE: &str = "+79001112233";

async fn app(backend: Backend, grace: &str) -> (TestApp, Arc<TestClock>) {
    let clock = TestClock::new();
    let settings = config(&[
        ("RESEND_COOLDOWN_SECONDS", "0"),
        ("PHONE_MAX_SENDS_PER_HOUR", "100"),
        ("REFRESH_REUSE_GRACE_SECONDS", grace),
    ]);
    (
        spawn_app_with(backend, settings, clock.clone()).await,
        clock,
    )
}

fn refresh_of(reply: &Reply) -> String {
    reply.body["refresh"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// A token's `jti`, read without checking it (the server checks).
fn jti(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post("/token/refresh/", json!({ "refresh": token }))
        .await
}

async fn revoke_all(app: &TestApp, token: &str) -> Reply {
    app.post(
        "/token/revoke/",
        json!({ "refresh": token, "scope": "all" }),
    )
    .await
}

/// A refresh whose answer was lost: the same token again, within the
/// grace, answers the token the lost answer carried, and the session goes on.
async fn a_lost_answer_is_answered_again_within_the_grace(backend: Backend) {
    let (app, clock) = app(backend, "10").await;
    let first = refresh_of(&app.login(PHONE).await);
    let lost = refresh(&app, &first).await;
    assert_eq!(lost.status, 200);
    let lost = refresh_of(&lost);

    clock.advance_secs(9);
    let again = refresh(&app, &first).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert!(again.body["access"].is_string());
    let again = refresh_of(&again);
    assert_eq!(jti(&again), jti(&lost), "the session's current token");
    // Either copy of the current token carries the session on.
    let next = refresh(&app, &again).await;
    assert_eq!(next.status, 200);
    assert_eq!(refresh(&app, &refresh_of(&next)).await.status, 200);
}

/// Outside the grace, or for any older token, a retired token still
/// revokes the whole session.
async fn theft_is_caught_outside_the_grace(backend: Backend) {
    let (app, clock) = app(backend, "10").await;
    // The retired token after the grace.
    let first = refresh_of(&app.login(PHONE).await);
    let current = refresh_of(&refresh(&app, &first).await);
    clock.advance_secs(10);
    assert_problem(&refresh(&app, &first).await, 401, "token_not_valid");
    assert_problem(&refresh(&app, &current).await, 401, "token_not_valid");

    // A token two rotations old, within the grace of the last one.
    let first = refresh_of(&app.login(PHONE).await);
    let second = refresh_of(&refresh(&app, &first).await);
    let third = refresh_of(&refresh(&app, &second).await);
    assert_problem(&refresh(&app, &first).await, 401, "token_not_valid");
    assert_problem(&refresh(&app, &third).await, 401, "token_not_valid");
    // A revoked session's retired token gets no grace either.
    assert_problem(&refresh(&app, &second).await, 401, "token_not_valid");

    // Logged out: the grace does not bring the session back.
    let first = refresh_of(&app.login(PHONE).await);
    let _current = refresh_of(&refresh(&app, &first).await);
    let out = app
        .post("/token/revoke/", json!({ "refresh": first }))
        .await;
    assert_eq!(out.status, 204);
    assert_problem(&refresh(&app, &first).await, 401, "token_not_valid");
}

/// No grace: the seed's strict rotation.
async fn a_grace_of_zero_revokes_at_once(backend: Backend) {
    let (app, _) = app(backend, "0").await;
    let first = refresh_of(&app.login(PHONE).await);
    let current = refresh_of(&refresh(&app, &first).await);
    assert_problem(&refresh(&app, &first).await, 401, "token_not_valid");
    assert_problem(&refresh(&app, &current).await, 401, "token_not_valid");
}

/// An app refreshing from 16 places at once with one token: every one is
/// answered, all with refresh tokens of one `jti`, and the session lives.
async fn concurrent_refreshes_with_one_token_all_succeed(backend: Backend) {
    let (app, _) = app(backend, "10").await;
    let app = Arc::new(app);
    let first = refresh_of(&app.login(PHONE).await);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, first) = (Arc::clone(&app), first.clone());
            tokio::spawn(async move { refresh(&app, &first).await })
        })
        .collect();
    let mut jtis = std::collections::BTreeSet::new();
    let mut last = String::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        last = refresh_of(&reply);
        jtis.insert(jti(&last));
    }
    assert_eq!(jtis.len(), 1, "{jtis:?}");
    assert_eq!(refresh(&app, &last).await.status, 200);
}

/// `scope: all` ends every session of the user and no one else's; a bad
/// scope, or a retired token, changes nothing.
async fn logout_everywhere_ends_every_session_of_the_user(backend: Backend) {
    let (app, _) = app(backend, "10").await;
    let sessions: Vec<String> = logins(&app, PHONE, 3).await;
    let other = refresh_of(&app.login(OTHER_PHONE).await);

    let bad = app
        .post(
            "/token/revoke/",
            json!({ "refresh": sessions[0], "scope": "everything" }),
        )
        .await;
    assert_problem(&bad, 400, "invalid_request");
    let typed = app
        .post(
            "/token/revoke/",
            json!({ "refresh": sessions[0], "scope": 1 }),
        )
        .await;
    assert_problem(&typed, 400, "invalid_request");
    // A retired token (past its grace) may not log everyone out.
    let retired = sessions[2].clone();
    let current = refresh_of(&refresh(&app, &retired).await);
    let newer = refresh_of(&refresh(&app, &current).await);
    assert_problem(&revoke_all(&app, &retired).await, 401, "token_not_valid");
    assert_eq!(refresh(&app, &sessions[0]).await.status, 200);

    let sessions = logins(&app, PHONE, 2).await;
    assert_eq!(revoke_all(&app, &sessions[1]).await.status, 204);
    for token in sessions.iter().chain([&newer]) {
        assert_problem(&refresh(&app, token).await, 401, "token_not_valid");
    }
    assert_eq!(refresh(&app, &other).await.status, 200, "another user's");
    // Logging in again starts afresh.
    let again = refresh_of(&app.login(PHONE).await);
    assert_eq!(refresh(&app, &again).await.status, 200);
}

/// `n` logins of `phone`: their refresh tokens.
async fn logins(app: &TestApp, phone: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..n {
        tokens.push(refresh_of(&app.login(phone).await));
    }
    tokens
}

/// 16 refreshes racing a logout everywhere: whatever they were answered,
/// no token survives the logout.
async fn refreshes_racing_logout_everywhere_leave_nothing_alive(backend: Backend) {
    let (app, _) = app(backend, "10").await;
    let app = Arc::new(app);
    let tokens = logins(&app, PHONE, 4).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (app, token) = (Arc::clone(&app), tokens[i % 4].clone());
        tasks.push(tokio::spawn(async move { refresh(&app, &token).await }));
    }
    let logout = revoke_all(&app, &tokens[0]).await;
    let mut issued = tokens.clone();
    for task in tasks {
        let reply = task.await.unwrap();
        assert!([200, 401].contains(&reply.status), "{:?}", reply.body);
        if reply.status == 200 {
            issued.push(refresh_of(&reply));
        }
    }
    // Its token raced refreshes of itself: current, or within its grace.
    assert_eq!(logout.status, 204, "{:?}", logout.body);
    for token in &issued {
        assert_problem(&refresh(&app, token).await, 401, "token_not_valid");
    }
}

/// A login from a device that says what it is.
async fn login_as(app: &TestApp, phone: &str, agent: &str) -> Reply {
    let sent = app.post("/phone/", json!({ "phone": phone })).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let code = app.last_code(phone).await;
    let body = json!({ "phone": phone, "code": code });
    let request = app.http.post(app.url("/code/")).json(&body);
    let reply = app.send(request.header("user-agent", agent)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply
}

async fn devices(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get_auth("/sessions/", access).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["sessions"].as_array().unwrap().clone()
}

async fn log_out_device(app: &TestApp, access: &str, id: &str) -> Reply {
    let url = app.url(&format!("/sessions/{id}/"));
    app.send(app.http.delete(url).bearer_auth(access)).await
}

fn access_of(reply: &Reply) -> String {
    reply.body["access"].as_str().unwrap().to_owned()
}

/// My devices: each live session, newest first, with the login's user
/// agent (cut to 200 characters), when it started and was last refreshed,
/// and which one is asking; one logged out by its id, and no one else's.
async fn my_devices_are_listed_and_logged_out_one_by_one(backend: Backend) {
    let (app, clock) = app(backend, "10").await;
    let phone = login_as(&app, PHONE, "MyApp/2.1 (iPhone)").await;
    clock.advance_secs(60);
    let long_agent = format!("Mozilla/5.0 {}", "x".repeat(300));
    let browser = login_as(&app, PHONE, &long_agent).await;
    clock.advance_secs(60);
    let stranger = login_as(&app, OTHER_PHONE, "Other/1.0").await;
    // A refresh of the phone's session: its last use moves, its start not.
    clock.advance_secs(60);
    let refreshed = refresh(&app, &refresh_of(&phone)).await;
    assert_eq!(refreshed.status, 200);

    let listed = devices(&app, &access_of(&browser)).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (newest, oldest) = (&listed[0], &listed[1]);
    assert_eq!(newest["user_agent"].as_str().unwrap().chars().count(), 200);
    assert!(long_agent.starts_with(newest["user_agent"].as_str().unwrap()));
    assert_eq!(
        (newest["current"].as_bool(), oldest["current"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(oldest["user_agent"], "MyApp/2.1 (iPhone)");
    assert_eq!(newest["created"], newest["last_used"]);
    assert!(oldest["created"].as_str() < newest["created"].as_str());
    assert!(oldest["last_used"].as_str() > newest["created"].as_str());
    // The refreshed session's new access token is its own.
    let mine = devices(&app, &access_of(&refreshed)).await;
    assert_eq!(mine[1]["current"], true);

    // Someone else's session, a made-up one, or none: not found, and
    // nothing changes.
    let theirs = devices(&app, &access_of(&stranger)).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [
        theirs.as_str(),
        "0123456789abcdef0123456789abcdef",
        &"x".repeat(100),
    ] {
        let refused = log_out_device(&app, &access_of(&browser), id).await;
        assert_problem(&refused, 404, "not_found");
    }
    assert_eq!(devices(&app, &access_of(&stranger)).await.len(), 1);
    let anonymous = app.send(app.http.get(app.url("/sessions/"))).await;
    assert_eq!(anonymous.status, 401);

    // The phone logs out from the browser: its refresh token stops at once.
    let phone_id = oldest["id"].as_str().unwrap();
    let out = log_out_device(&app, &access_of(&browser), phone_id).await;
    assert_eq!((out.status, &out.body), (204, &Value::Null));
    let after = refresh(&app, &refresh_of(&refreshed)).await;
    assert_problem(&after, 401, "token_not_valid");
    let left = devices(&app, &access_of(&browser)).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    // Twice: no longer live.
    assert_problem(
        &log_out_device(&app, &access_of(&browser), phone_id).await,
        404,
        "not_found",
    );
    // A session logged out with its token is not listed either.
    let logout = json!({ "refresh": refresh_of(&browser) });
    assert_eq!(app.post("/token/revoke/", logout).await.status, 204);
    assert!(devices(&app, &access_of(&browser)).await.is_empty());
}

api_tests::on_both_backends!(
    a_lost_answer_is_answered_again_within_the_grace,
    theft_is_caught_outside_the_grace,
    a_grace_of_zero_revokes_at_once,
    concurrent_refreshes_with_one_token_all_succeed,
    logout_everywhere_ends_every_session_of_the_user,
    refreshes_racing_logout_everywhere_leave_nothing_alive,
    my_devices_are_listed_and_logged_out_one_by_one,
);
