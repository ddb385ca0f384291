//! Changing the phone (`POST /profile/me/phone/` and `.../phone/verify/`),
//! on both backends over HTTP: the account moves whole, the old number is
//! free at once, a taken number is refused only after its code, and the
//! races the contract names: two accounts for one number, a change against
//! a login of the old number.

use api_tests::{Backend, Reply, SignedUp, TestApp, assert_problem, spawn_app, wrong_code};
use serde_json::{Value, json};

/// Sends and logins are not held back by the per-phone limits here.
const OPEN: [(&str, &str); 4] = [
    ("RESEND_COOLDOWN_SECONDS", "0"),
    ("PHONE_MAX_SENDS_PER_HOUR", "100"),
    ("IP_MAX_SENDS_PER_HOUR", "1000"),
    ("IP_HARD_MAX_SENDS_PER_HOUR", "1000"),
];
/// Racing requests per race.
const RACERS: usize = 16;

/// Each signs up a moment after the one before: only an earlier user can
/// invite a later one.
fn clock_step() {
    std::thread::sleep(std::time::Duration::from_millis(2));
}

async fn post_auth(app: &TestApp, path: &str, access: &str, body: Value) -> Reply {
    let request = app.http.post(app.url(path)).bearer_auth(access).json(&body);
    app.send(request).await
}

async fn send_to(app: &TestApp, user: &SignedUp, phone: &str) -> Reply {
    post_auth(
        app,
        "/profile/me/phone/",
        &user.access,
        json!({ "phone": phone }),
    )
    .await
}

async fn verify(app: &TestApp, user: &SignedUp, phone: &str, code: &str) -> Reply {
    let body = json!({ "phone": phone, "code": code });
    post_auth(app, "/profile/me/phone/verify/", &user.access, body).await
}

/// A code sent to `phone` for `user`'s change, and its digits.
async fn code_for(app: &TestApp, user: &SignedUp, phone: &str) -> String {
    let sent = send_to(app, user, phone).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert!(sent.body["verification_id"].is_string());
    app.last_code(phone).await
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post("/token/refresh/", json!({ "refresh": token }))
        .await
}

/// The account keeps everything but its number; the old number signs up
/// anew; who activated its code, and its inviter's list, show the new one.
async fn the_account_moves_whole_and_the_old_number_is_free(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    let (old, new) = ("+79001120001", "+79001120009");
    let inviter = app.sign_up("+79001120002").await;
    clock_step();
    let user = app.sign_up(old).await;
    clock_step();
    let invitee = app.sign_up("+79001120003").await;
    assert_eq!(app.activate(&user, &inviter.invite).await.status, 200);
    assert_eq!(app.activate(&invitee, &user.invite).await.status, 200);

    let code = code_for(&app, &user, new).await;
    assert_problem(
        &verify(&app, &user, new, &wrong_code(&code)).await,
        400,
        "invalid_code",
    );
    let moved = verify(&app, &user, new, &code).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["phone"], new);
    assert_eq!(moved.body["id"], user.id);
    assert_eq!(moved.body["invite"], user.invite.as_str());
    assert_eq!(moved.body["inv"], inviter.invite.as_str());
    assert_eq!(moved.body["referrals_count"], 1);
    assert_problem(
        &verify(&app, &user, new, &code).await,
        400,
        "invalid_request",
    );

    // The session goes on; the new number logs into this account.
    assert_eq!(refresh(&app, &user.refresh).await.status, 200);
    let again = app.login(new).await;
    assert_eq!(
        (
            again.body["user_id"].as_u64(),
            again.body["created"].as_bool()
        ),
        (Some(user.id), Some(false))
    );
    // The old number is nobody's: it signs up as a new account.
    let fresh = app.login(old).await;
    assert_eq!(fresh.body["created"], true);
    assert_ne!(fresh.body["user_id"], user.id);

    let seen = app.get_auth("/profile/me/", &invitee.access).await.body;
    assert_eq!(
        seen["inv_phone"], new,
        "who activated the code sees the new number"
    );
    let listed = app.get_auth("/profile/me/", &inviter.access).await.body;
    assert_eq!(
        listed["referrals"][0]["phone"], new,
        "the inviter's list shows it"
    );
    assert_eq!(listed["referrals"][0]["id"], user.id);
}

/// A number someone holds: the send answers as for any number; the code
/// decides, and only then `phone_taken`, with the code used up.
async fn a_taken_number_is_refused_after_its_code(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    let taken = "+79001130002";
    let user = app.sign_up("+79001130001").await;
    let holder = app.sign_up(taken).await;
    let free = send_to(&app, &user, "+79001130009").await;
    let sent = send_to(&app, &user, taken).await;
    let keys = |reply: &Reply| {
        let mut keys: Vec<String> = reply.body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (reply.status, keys, reply.body["expires_in"].clone())
    };
    assert_eq!(keys(&free), keys(&sent), "alike whoever holds the number");
    let code = app.last_code(taken).await;
    assert_problem(
        &verify(&app, &user, taken, &wrong_code(&code)).await,
        400,
        "invalid_code",
    );
    let refused = verify(&app, &user, taken, &code).await;
    assert_problem(&refused, 409, "phone_taken");
    assert_problem(
        &verify(&app, &user, taken, &code).await,
        400,
        "code_expired",
    );
    let holder_profile = app.get_auth("/profile/me/", &holder.access).await.body;
    assert_eq!(holder_profile["phone"], taken);
    let mine = app.get_auth("/profile/me/", &user.access).await.body;
    assert_eq!(mine["phone"], "+79001130001");
}

/// What is refused before any code: no token, another's profile, the
/// account's own number, a bad number.
async fn refusals(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    let user = app.sign_up("+79001140001").await;
    let other = app.sign_up("+79001140002").await;
    let anonymous = app
        .post("/profile/me/phone/", json!({ "phone": "+79001140009" }))
        .await;
    assert_problem(&anonymous, 401, "not_authenticated");
    let path = format!("/profile/{}/phone/", other.id);
    let body = json!({ "phone": "+79001140009" });
    assert_problem(
        &post_auth(&app, &path, &user.access, body).await,
        403,
        "permission_denied",
    );
    assert_problem(
        &send_to(&app, &user, "+79001140001").await,
        400,
        "invalid_request",
    );
    assert_problem(&send_to(&app, &user, "12").await, 400, "invalid_phone");
    let no_code = post_auth(
        &app,
        "/profile/me/phone/verify/",
        &user.access,
        json!({ "phone": "+79001140009" }),
    )
    .await;
    assert_eq!(no_code.status, 400, "{:?}", no_code.body);
    let never_sent = verify(&app, &user, "+79001140008", "123456").await;
    assert_problem(&never_sent, 400, "code_expired");
    let get = app.get_auth("/profile/me/phone/", &user.access).await;
    assert_problem(&get, 405, "method_not_allowed");
}

/// Two accounts that both hold the code of one free number race for it,
/// eight requests each: exactly one account gets it, once.
async fn two_accounts_racing_for_one_number_one_wins(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    let number = "+79001150009";
    let first = app.sign_up("+79001150001").await;
    let second = app.sign_up("+79001150002").await;
    let code = code_for(&app, &first, number).await;
    let racers = (0..RACERS).map(|i| {
        let who = if i % 2 == 0 { &first } else { &second };
        verify(&app, who, number, &code)
    });
    let replies = futures_util::future::join_all(racers).await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.code()))
            .collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert!(
            ["code_expired", "phone_taken", "invalid_request"].contains(&reply.code()),
            "{:?}",
            reply.body
        );
    }
    let winner = won[0].body["id"].as_u64().unwrap();
    let login = app.login(number).await;
    assert_eq!(login.body["user_id"], winner);
    let owners: Vec<Value> = [&first, &second]
        .iter()
        .map(|u| {
            let access = u.access.clone();
            let app = &app;
            async move { app.get_auth("/profile/me/", &access).await.body["phone"].clone() }
        })
        .collect::<futures_util::future::JoinAll<_>>()
        .await;
    assert_eq!(
        owners.iter().filter(|p| **p == number).count(),
        1,
        "{owners:?}"
    );
}

/// A change racing a login of the old number, 16 pairs at once: the
/// login reaches the moving account only if it came first; after it, the
/// old number signs up a new account; never both, never neither.
async fn a_change_racing_a_login_of_the_old_number(backend: Backend) {
    let app = spawn_app(backend, &OPEN).await;
    let mut pairs = Vec::new();
    for i in 0..RACERS {
        let (old, new) = (format!("+790011600{i:02}"), format!("+790011700{i:02}"));
        let user = app.sign_up(&old).await;
        let change_code = code_for(&app, &user, &new).await;
        let sent = app.post("/phone/", json!({ "phone": old })).await;
        assert_eq!(sent.status, 200);
        let login_code = app.last_code(&old).await;
        pairs.push((user, old, new, change_code, login_code));
    }
    let races = pairs
        .iter()
        .map(|(user, old, new, change_code, login_code)| {
            let app = &app;
            async move {
                let login = app.post("/code/", json!({ "phone": old, "code": login_code }));
                tokio::join!(verify(app, user, new, change_code), login)
            }
        });
    let outcomes = futures_util::future::join_all(races).await;
    for ((user, old, new, _, _), (moved, login)) in pairs.iter().zip(&outcomes) {
        assert_eq!(moved.status, 200, "{:?}", moved.body);
        assert_eq!(login.status, 200, "{:?}", login.body);
        let created = login.body["created"].as_bool().unwrap();
        let logged_into = login.body["user_id"].as_u64().unwrap();
        assert_eq!(created, logged_into != user.id, "{:?}", login.body);
        // Whoever holds the old number now is the new account, or nobody.
        let again = app.login(old).await.body;
        if created {
            assert_eq!(again["user_id"], logged_into);
        } else {
            assert_ne!(again["user_id"], user.id);
        }
        assert_eq!(app.login(new).await.body["user_id"], user.id);
    }
}

api_tests::on_both_backends!(
    the_account_moves_whole_and_the_old_number_is_free,
    a_taken_number_is_refused_after_its_code,
    refusals,
    two_accounts_racing_for_one_number_one_wins,
    a_change_racing_a_login_of_the_old_number,
);
