//! The admin API on both backends over HTTP (the dev server's
//! `ADMIN_TOKEN`): looking users up, disabling and enabling, signing out
//! everywhere, deleting without a code, claims in the tokens, and the
//! races the contract names.

use std::sync::Arc;

use api_tests::{
    ADMIN_TOKEN, Backend, Reply, TestApp, TestClock, assert_problem, config, spawn_app_with,
    wrong_code,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const PHONE: &str = "+79123456789";
const OTHER_PHONE: &str = "+79001112233";
/// Racing requests per race.
const RACERS: usize = 16;

async fn app(backend: Backend) -> (TestApp, Arc<TestClock>) {
    let clock = TestClock::new();
    let settings = config(&[
        ("RESEND_COOLDOWN_SECONDS", "0"),
        ("PHONE_MAX_SENDS_PER_HOUR", "100"),
    ]);
    (
        spawn_app_with(backend, settings, clock.clone()).await,
        clock,
    )
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = app
        .http
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

async fn admin_get(app: &TestApp, path: &str) -> Reply {
    admin(app, reqwest::Method::GET, path, None).await
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> Reply {
    admin(app, reqwest::Method::POST, path, Some(body)).await
}

async fn set_claims(app: &TestApp, id: u64, claims: Value) -> Reply {
    let path = format!("/admin/users/{id}/claims/");
    admin(
        app,
        reqwest::Method::PUT,
        &path,
        Some(json!({ "claims": claims })),
    )
    .await
}

fn user_id(login: &Reply) -> u64 {
    login.body["user_id"].as_u64().expect("a user id")
}

fn token(reply: &Reply, name: &str) -> String {
    reply.body[name].as_str().expect("a token").to_owned()
}

/// A token's claims, read without checking it (the server checks).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post("/token/refresh/", json!({ "refresh": token }))
        .await
}

/// A code sent to `phone` and tried there.
async fn code_try(app: &TestApp, phone: &str, right: bool) -> Reply {
    let sent = app.post("/phone/", json!({ "phone": phone })).await;
    assert_eq!(
        sent.status, 200,
        "/phone/ answers a disabled account's number as any"
    );
    let code = app.last_code(phone).await;
    let code = if right { code } else { wrong_code(&code) };
    app.post("/code/", json!({ "phone": phone, "code": code }))
        .await
}

/// Only the admin token opens the routes; a user's own access token never.
async fn only_operators_get_in(backend: Backend) {
    let (app, _) = app(backend).await;
    let login = app.login(PHONE).await;
    let id = user_id(&login);
    let path = format!("/admin/users/{id}/");
    let anonymous = app.send(app.http.get(app.url(&path))).await;
    assert_problem(&anonymous, 401, "not_authenticated");
    let as_user = app.get_auth(&path, &token(&login, "access")).await;
    assert_problem(&as_user, 403, "permission_denied");
    let guessed = app.get_auth(&path, "test-admin-token-012345678").await;
    assert_problem(&guessed, 403, "permission_denied");
    let put = admin(&app, reqwest::Method::PUT, &path, None).await;
    assert_problem(&put, 405, "method_not_allowed");
    assert_eq!(put.header("allow"), Some("GET, DELETE"));
}

/// By id and by phone (as typed), the profile plus what only operators see.
async fn a_user_is_looked_up_by_id_and_by_phone(backend: Backend) {
    let (app, _) = app(backend).await;
    let login = app.login(PHONE).await;
    app.login(OTHER_PHONE).await;
    let id = user_id(&login);
    let mine = app.get_auth("/profile/me/", &token(&login, "access")).await;
    let seen = admin_get(&app, &format!("/admin/users/{id}")).await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    for key in [
        "id",
        "phone",
        "invite",
        "inv",
        "date_joined",
        "referrals_count",
    ] {
        assert_eq!(seen.body[key], mine.body[key], "{key}");
    }
    assert_eq!(seen.body["disabled"], false);
    assert_eq!(seen.body["disabled_until"], Value::Null);
    assert_eq!(seen.body["disabled_reason"], Value::Null);
    assert_eq!(seen.body["claims"], json!({}));
    assert_eq!(seen.body["sessions"], 1);

    let typed = admin_get(&app, "/admin/users/?phone=%2B7%20912%20345-67-89").await;
    assert_eq!(typed.status, 200, "{:?}", typed.body);
    let users = typed.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["id"], id);
    let nobody = admin_get(&app, "/admin/users/?phone=%2B79005556677").await;
    assert_eq!(nobody.body, json!({"users": []}));
    assert_problem(
        &admin_get(&app, "/admin/users/?phone=12").await,
        400,
        "invalid_phone",
    );
    assert_problem(
        &admin_get(&app, "/admin/users/").await,
        400,
        "invalid_phone",
    );
    assert_problem(
        &admin_get(&app, "/admin/users/4242/").await,
        404,
        "not_found",
    );
    assert_problem(&admin_get(&app, "/admin/users/me/").await, 404, "not_found");
}

/// A disabled account: its sessions end, its access tokens open nothing,
/// its right code answers `account_disabled` (a wrong one as usual); an
/// end date lifts it by itself, and enabling at once.
async fn a_disabled_account_can_do_nothing_until_enabled(backend: Backend) {
    let (app, clock) = app(backend).await;
    let login = app.login(PHONE).await;
    let id = user_id(&login);
    let access = token(&login, "access");
    let until = "2999-01-01T00:00:00Z";
    let path = format!("/admin/users/{id}/disable/");
    for bad in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x", "until": "tomorrow"}),
        json!({"reason": "x", "until": "2001-01-01T00:00:00Z"}),
        json!({"reason": 5}),
    ] {
        assert_problem(
            &admin_post(&app, &path, bad.clone()).await,
            400,
            "invalid_request",
        );
    }
    assert_eq!(
        admin_get(&app, &format!("/admin/users/{id}")).await.body["disabled"],
        false
    );
    let disabled = admin_post(&app, &path, json!({"reason": "chargeback", "until": until})).await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(disabled.body["disabled_reason"], "chargeback");
    assert_eq!(disabled.body["disabled_until"], until);
    assert_eq!(disabled.body["sessions"], 0, "every session ended");

    assert_problem(
        &refresh(&app, &token(&login, "refresh")).await,
        401,
        "token_not_valid",
    );
    for path in ["/profile/me/", "/sessions/"] {
        assert_problem(&app.get_auth(path, &access).await, 403, "account_disabled");
    }
    assert_problem(&code_try(&app, PHONE, false).await, 400, "invalid_code");
    assert_problem(&code_try(&app, PHONE, true).await, 403, "account_disabled");

    let enabled = admin_post(&app, &format!("/admin/users/{id}/enable/"), json!({})).await;
    assert_eq!(enabled.status, 200);
    assert_eq!(enabled.body["disabled"], false);
    assert_eq!(enabled.body["disabled_reason"], Value::Null);
    let again = code_try(&app, PHONE, true).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["user_id"], id, "the same account");
    assert_eq!(app.get_auth("/profile/me/", &access).await.status, 200);

    // For an hour: over when the hour is.
    let in_an_hour = clock_rfc3339(&clock, 3600);
    let path = format!("/admin/users/{id}/disable/");
    let disabled = admin_post(
        &app,
        &path,
        json!({"reason": "cool off", "until": in_an_hour}),
    )
    .await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_problem(&code_try(&app, PHONE, true).await, 403, "account_disabled");
    clock.advance_secs(3601);
    assert_eq!(code_try(&app, PHONE, true).await.status, 200);
    assert_eq!(
        admin_get(&app, &format!("/admin/users/{id}")).await.body["disabled"],
        false
    );

    let unknown = admin_post(&app, "/admin/users/4242/disable/", json!({"reason": "x"})).await;
    assert_problem(&unknown, 404, "not_found");
    assert_problem(
        &admin_post(&app, "/admin/users/4242/enable/", json!({})).await,
        404,
        "not_found",
    );
}

fn clock_rfc3339(clock: &TestClock, plus_secs: u64) -> String {
    use phone_auth::ports::Clock;
    clock.now().plus_secs(plus_secs).rfc3339()
}

/// Signing out everywhere ends every session; deleting needs no code and
/// frees the phone.
async fn sign_out_and_delete_need_no_code(backend: Backend) {
    let (app, _) = app(backend).await;
    let first = app.login(PHONE).await;
    let second = app.login(PHONE).await;
    let id = user_id(&first);
    let out = admin_post(&app, &format!("/admin/users/{id}/sign-out/"), json!({})).await;
    assert_eq!(out.status, 204, "{:?}", out.body);
    for login in [&first, &second] {
        assert_problem(
            &refresh(&app, &token(login, "refresh")).await,
            401,
            "token_not_valid",
        );
    }
    assert_eq!(
        admin_get(&app, &format!("/admin/users/{id}")).await.body["sessions"],
        0
    );
    assert_problem(
        &admin_post(&app, "/admin/users/4242/sign-out/", json!({})).await,
        404,
        "not_found",
    );

    let path = format!("/admin/users/{id}/");
    assert_eq!(
        admin(&app, reqwest::Method::DELETE, &path, None)
            .await
            .status,
        204
    );
    assert_problem(&admin_get(&app, &path).await, 404, "not_found");
    assert_problem(
        &app.get_auth("/profile/me/", &token(&first, "access")).await,
        404,
        "not_found",
    );
    assert_problem(
        &admin(&app, reqwest::Method::DELETE, &path, None).await,
        404,
        "not_found",
    );
    let anew = app.login(PHONE).await;
    assert_eq!(anew.body["created"], true);
    assert_ne!(user_id(&anew), id);
}

/// Claims ride in every access token from the next login or refresh, at
/// the top level; reserved names and big objects are refused; `{}` removes.
async fn claims_ride_in_the_next_tokens(backend: Backend) {
    let (app, _) = app(backend).await;
    let login = app.login(PHONE).await;
    let id = user_id(&login);
    assert_eq!(claims_of(&token(&login, "access")).get("role"), None);
    for bad in [
        json!({"sub": "x"}),
        json!({"user_id": 1}),
        json!({"scope": "admin"}),
        json!({"blob": "x".repeat(1100)}),
    ] {
        assert_problem(&set_claims(&app, id, bad).await, 400, "invalid_request");
    }
    let path = format!("/admin/users/{id}/claims/");
    for body in [
        json!({}),
        json!({"claims": ["role"]}),
        json!({"claims": "role"}),
    ] {
        let reply = admin(&app, reqwest::Method::PUT, &path, Some(body)).await;
        assert_problem(&reply, 400, "invalid_request");
    }
    let claims = json!({"role": "editor", "org": {"id": 7}});
    let set = set_claims(&app, id, claims.clone()).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["claims"], claims);

    let refreshed = refresh(&app, &token(&login, "refresh")).await;
    assert_eq!(refreshed.status, 200);
    let carried = claims_of(&token(&refreshed, "access"));
    assert_eq!(carried["role"], "editor");
    assert_eq!(carried["org"], json!({"id": 7}));
    assert_eq!(carried["user_id"], id, "the service's own claims stay");
    // The token still opens the API, and so does a new login's.
    let access = token(&refreshed, "access");
    assert_eq!(app.get_auth("/profile/me/", &access).await.status, 200);
    let relogin = app.login(PHONE).await;
    assert_eq!(claims_of(&token(&relogin, "access"))["role"], "editor");
    assert_eq!(claims_of(&token(&relogin, "refresh")).get("role"), None);

    assert_eq!(
        set_claims(&app, id, json!({})).await.body["claims"],
        json!({})
    );
    let cleared = refresh(&app, &token(&relogin, "refresh")).await;
    assert_eq!(claims_of(&token(&cleared, "access")).get("role"), None);
    assert_problem(&set_claims(&app, 4242, claims).await, 404, "not_found");
}

/// Disable racing refreshes of every session: once the disable answered,
/// no refresh token works and no access token opens anything, whichever
/// refreshes won.
async fn no_token_survives_a_disable_racing_refreshes(backend: Backend) {
    let (app, _) = app(backend).await;
    let mut logins = Vec::new();
    for _ in 0..RACERS / 4 {
        logins.push(app.login(PHONE).await);
    }
    let id = user_id(&logins[0]);
    let path = format!("/admin/users/{id}/disable/");
    let racing: Vec<String> = (0..RACERS)
        .map(|i| token(&logins[i % logins.len()], "refresh"))
        .collect();
    let refreshes = racing.iter().map(|t| refresh(&app, t));
    let (disabled, refreshed) = tokio::join!(
        admin_post(&app, &path, json!({"reason": "race"})),
        futures_util::future::join_all(refreshes)
    );
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    let mut tokens: Vec<(String, String)> = logins
        .iter()
        .map(|l| (token(l, "access"), token(l, "refresh")))
        .collect();
    tokens.extend(
        refreshed
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| (token(r, "access"), token(r, "refresh"))),
    );
    for (access, refresh_token) in &tokens {
        assert_problem(&refresh(&app, refresh_token).await, 401, "token_not_valid");
        assert_problem(
            &app.get_auth("/sessions/", access).await,
            403,
            "account_disabled",
        );
    }
}

/// Claims set racing refreshes: every refresh answers, each token carries
/// the old claims or the new whole, and a refresh after the set carries
/// the new.
async fn claims_set_racing_refreshes(backend: Backend) {
    let (app, _) = app(backend).await;
    let login = app.login(PHONE).await;
    let id = user_id(&login);
    let chain = token(&login, "refresh");
    let mut racing = Vec::new();
    for _ in 0..RACERS {
        // Each racer on its own session: one login each.
        racing.push(token(&app.login(PHONE).await, "refresh"));
    }
    let new = json!({"role": "editor", "tier": 3});
    let refreshes = racing.iter().map(|t| refresh(&app, t));
    let (set, refreshed) = tokio::join!(
        set_claims(&app, id, new.clone()),
        futures_util::future::join_all(refreshes)
    );
    assert_eq!(set.status, 200);
    for reply in &refreshed {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let claims = claims_of(&token(reply, "access"));
        let whole_old = claims.get("role").is_none() && claims.get("tier").is_none();
        let whole_new = claims["role"] == "editor" && claims["tier"] == 3;
        assert!(whole_old || whole_new, "{claims}");
    }
    let after = refresh(&app, &chain).await;
    assert_eq!(claims_of(&token(&after, "access"))["role"], "editor");
}

api_tests::on_both_backends!(
    only_operators_get_in,
    a_user_is_looked_up_by_id_and_by_phone,
    a_disabled_account_can_do_nothing_until_enabled,
    sign_out_and_delete_need_no_code,
    claims_ride_in_the_next_tokens,
    no_token_survives_a_disable_racing_refreshes,
    claims_set_racing_refreshes,
);
