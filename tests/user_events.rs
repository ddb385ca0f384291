//! Events: what each action makes, in commit order per user, none for a
//! write that failed, never a code or token. On the dev server (its store's
//! changes, at `GET /dev/events`); the stack's stream function publishes
//! the same derivation to EventBridge (tests/user_events_stream.rs).

use api_tests::{ADMIN_TOKEN, Backend, Reply, TestApp, spawn_app, wrong_code};
use serde_json::{Value, json};

const OPEN: [(&str, &str); 2] = [
    ("RESEND_COOLDOWN_SECONDS", "0"),
    ("PHONE_MAX_SENDS_PER_HOUR", "100"),
];

async fn events(app: &TestApp, user: Option<u64>) -> Vec<Value> {
    let path = match user {
        Some(id) => format!("/dev/events?user_id={id}"),
        None => "/dev/events".to_owned(),
    };
    let reply = app.send(app.http.get(app.url(&path))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["events"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Reply {
    let request = app
        .http
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body);
    app.send(request).await
}

fn token(reply: &Reply, name: &str) -> String {
    reply.body[name].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_action_is_an_event_in_commit_order() {
    let app = spawn_app(Backend::Memory, &OPEN).await;
    let inviter = app.login("+79001180001").await;
    let inviter_id = inviter.body["user_id"].as_u64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let login = app.login("+79001180002").await;
    let id = login.body["user_id"].as_u64().unwrap();
    let access = token(&login, "access");
    assert_eq!(
        types(&events(&app, Some(id)).await),
        ["user.created", "user.logged_in"]
    );

    // What fails writes nothing, and makes no event.
    app.post("/phone/", json!({"phone": "+79001180002"})).await;
    let code = app.last_code("+79001180002").await;
    let wrong = json!({"phone": "+79001180002", "code": wrong_code(&code)});
    assert_eq!(app.post("/code/", wrong).await.status, 400);
    let own = json!({"inv": "ZZZZZZ"});
    let refused = app
        .send(
            app.http
                .patch(app.url("/profile/me/"))
                .bearer_auth(&access)
                .json(&own),
        )
        .await;
    assert_eq!(refused.status, 404);
    assert_eq!(events(&app, Some(id)).await.len(), 2);

    let right = json!({"phone": "+79001180002", "code": code});
    assert_eq!(app.post("/code/", right).await.status, 200);
    let profile = app
        .get_auth("/profile/me/", &token(&inviter, "access"))
        .await;
    let invite = profile.body["invite"].as_str().unwrap();
    let activated = app
        .send(
            app.http
                .patch(app.url("/profile/me/"))
                .bearer_auth(&access)
                .json(&json!({ "inv": invite })),
        )
        .await;
    assert_eq!(activated.status, 200);
    let to = "+79001180009";
    let sent = app
        .send(
            app.http
                .post(app.url("/profile/me/phone/"))
                .bearer_auth(&access)
                .json(&json!({ "phone": to })),
        )
        .await;
    assert_eq!(sent.status, 200);
    let moved = app
        .send(
            app.http
                .post(app.url("/profile/me/phone/verify/"))
                .bearer_auth(&access)
                .json(&json!({ "phone": to, "code": app.last_code(to).await })),
        )
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    let everywhere = json!({"refresh": token(&login, "refresh"), "scope": "all"});
    assert_eq!(app.post("/token/revoke/", everywhere).await.status, 204);

    let user = format!("/admin/users/{id}");
    let post = reqwest::Method::POST;
    let disable = json!({"reason": "chargeback"});
    assert_eq!(
        admin(&app, post.clone(), &format!("{user}/disable/"), disable)
            .await
            .status,
        200
    );
    assert_eq!(
        admin(&app, post.clone(), &format!("{user}/enable/"), json!({}))
            .await
            .status,
        200
    );
    let claims = json!({"claims": {"role": "editor"}});
    let put = reqwest::Method::PUT;
    assert_eq!(
        admin(&app, put, &format!("{user}/claims/"), claims)
            .await
            .status,
        200
    );
    assert_eq!(
        admin(&app, post, &format!("{user}/sign-out/"), json!({}))
            .await
            .status,
        204
    );
    let delete = reqwest::Method::DELETE;
    assert_eq!(
        admin(&app, delete, &format!("{user}/"), json!({}))
            .await
            .status,
        204
    );

    let mine = events(&app, Some(id)).await;
    assert_eq!(
        types(&mine),
        [
            "user.created",
            "user.logged_in",
            "user.logged_in",
            "invite.activated",
            "user.phone_changed",
            "user.signed_out",
            "user.disabled",
            "user.enabled",
            "user.claims_changed",
            "user.signed_out",
            "user.deleted",
        ]
    );
    assert_eq!(mine[0]["phone"], "+79001180002");
    assert_eq!(mine[3]["inviter_id"], inviter_id);
    assert_eq!(mine[4]["phone"], to);
    assert_eq!(mine[5].get("by"), None, "the user's own logout");
    for event in &mine[6..] {
        assert_eq!(event["by"], "dev-admin", "{event}");
    }
    let ids: std::collections::BTreeSet<&str> =
        mine.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), mine.len(), "ids are unique");
    for event in &mine {
        assert_eq!(event["user_id"], id);
        assert!(event["at"].is_string());
        let text = event.to_string();
        for secret in [&code, &access, "chargeback", "editor", "eyJ"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // Every user's, oldest first: the inviter's come first.
    let all = events(&app, None).await;
    assert_eq!(all[0]["user_id"], inviter_id);
    assert!(all.len() > mine.len());
    let bad = app
        .send(app.http.get(app.url("/dev/events?user_id=x")))
        .await;
    assert_eq!(bad.status, 400);
}
