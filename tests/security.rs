//! Abuse resistance and session security over HTTP, on both backends:
//! send limits, attempt limits, races, token tampering, bad input, key
//! rotation, and faults in DynamoDB and SNS.

use std::sync::Arc;

use api_tests::{
    Backend, PHONE, Reply, TestApp, TestClock, assert_problem, config, spawn_app, spawn_app_with,
    spawn_on_store, wrong_code,
};
use phone_auth::domain::service::SendRequest;
use serde_json::{Value, json};

#[path = "security/faults.rs"]
mod faults;
#[path = "security/tampering.rs"]
mod tampering;

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After on {:?}", reply.body))
}

fn phone(i: usize) -> String {
    format!("+7912{i:07}")
}

async fn send_limits_per_phone(backend: Backend) {
    let clock = TestClock::new();
    let app = spawn_app_with(
        backend,
        config(&[("PHONE_MAX_SENDS_PER_HOUR", "3")]),
        clock.clone(),
    )
    .await;
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    clock.advance_secs(30);
    let early = app.post("/phone/", json!({"phone": PHONE})).await;
    assert_problem(&early, 429, "rate_limited");
    assert_eq!(retry_after(&early), 30);
    assert_eq!(
        app.sent_sms(PHONE).await.len(),
        1,
        "no SMS for a refused send"
    );

    clock.advance_secs(30);
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    clock.advance_secs(60);
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    clock.advance_secs(60);
    let hourly = app.post("/phone/", json!({"phone": PHONE})).await;
    assert_problem(&hourly, 429, "rate_limited");
    assert_eq!(retry_after(&hourly), 3600 - 180);
    assert_eq!(app.sent_sms(PHONE).await.len(), 3);

    clock.advance_secs(3600 - 180);
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
}

/// The phone's hour rolls: three sends late in one hour leave no fresh
/// three at the next hour's start, only one more as each slides out.
async fn a_phone_s_hour_is_rolling(backend: Backend) {
    let clock = TestClock::new();
    let settings = config(&[("PHONE_MAX_SENDS_PER_HOUR", "3")]);
    let app = spawn_app_with(backend, settings, clock.clone()).await;
    let send = async || app.post("/phone/", json!({"phone": PHONE})).await;
    for wait in [0, 3000, 60, 540] {
        clock.advance_secs(wait);
        assert_eq!(send().await.status, 200, "after {wait} s");
    }
    // At 3660: the sends of 3000, 3060 and 3600 are in the last hour.
    clock.advance_secs(60);
    let refused = send().await;
    assert_problem(&refused, 429, "rate_limited");
    assert_eq!(retry_after(&refused), 3000 + 3600 - 3660);
    clock.advance_secs(3000 + 3600 - 3660);
    assert_eq!(send().await.status, 200);
}

async fn send_limits_per_ip_budget_and_region(backend: Backend) {
    let app = spawn_app(
        backend,
        &[
            ("IP_MAX_SENDS_PER_HOUR", "3"),
            ("ALLOWED_COUNTRY_CODES", "RU,GB"),
            // A plain refusal past the cap (challenges have tests of their own).
            ("CHALLENGE_MODE", "off"),
        ],
    )
    .await;
    for i in 0..3 {
        assert_eq!(
            app.post("/phone/", json!({"phone": phone(i)})).await.status,
            200
        );
    }
    let refused = app.post("/phone/", json!({"phone": phone(3)})).await;
    assert_problem(&refused, 429, "rate_limited");
    // The source's rolling hour is two clock-hour counts, the older one
    // weighted as if spread over its hour: its wait is at most two hours.
    assert!((1..=7200).contains(&retry_after(&refused)));
    assert!(app.sent_sms(&phone(3)).await.is_empty());

    let app = spawn_app(
        backend,
        &[
            ("SMS_DAILY_BUDGET", "2"),
            ("ALLOWED_COUNTRY_CODES", "RU,GB"),
        ],
    )
    .await;
    let us = app.post("/phone/", json!({"phone": "+12025550123"})).await;
    assert_problem(&us, 400, "phone_not_allowed");
    assert!(app.sent_sms("+12025550123").await.is_empty());
    assert_eq!(
        app.post("/phone/", json!({"phone": "+447400123456"}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/phone/", json!({"phone": phone(0)})).await.status,
        200
    );
    let spent = app.post("/phone/", json!({"phone": phone(1)})).await;
    assert_problem(&spent, 503, "sms_unavailable");
    assert!(app.sent_sms(&phone(1)).await.is_empty());
}

/// Guesses in waves of concurrent requests: the cap holds under both.
async fn brute_force_is_held_to_the_cap(backend: Backend) {
    // One source makes every guess here: its own limit is lifted, so that
    // the per-code cap is what answers.
    let settings = [
        ("RESEND_COOLDOWN_SECONDS", "0"),
        ("IP_MAX_FAILED_CODES_PER_HOUR", "1000000"),
    ];
    let app = Arc::new(spawn_app(backend, &settings).await);
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    let code = app.last_code(PHONE).await;
    let guesses: Vec<String> = (0..10_000)
        .map(|n| format!("{n:06}"))
        .filter(|g| *g != code)
        .take(match backend {
            Backend::Memory => 3000,
            Backend::Moto => 1000,
        })
        .collect();
    let (mut wrong, mut burned) = (0, 0);
    for wave in guesses.chunks(50) {
        let tasks: Vec<_> = wave
            .iter()
            .map(|guess| {
                let app = Arc::clone(&app);
                let body = json!({"phone": PHONE, "code": guess});
                tokio::spawn(async move { app.post("/code/", body).await })
            })
            .collect();
        for task in tasks {
            let reply = task.await.unwrap();
            match reply.code() {
                "invalid_code" => wrong += 1,
                "too_many_attempts" => {
                    assert_eq!(reply.status, 429);
                    assert!(reply.header("retry-after").is_some());
                    burned += 1
                }
                other => panic!("unexpected answer {other}: {:?}", reply.body),
            }
        }
    }
    assert_eq!(
        wrong, 5,
        "exactly MAX_CODE_ATTEMPTS wrong tries are answered"
    );
    assert_eq!(wrong + burned, guesses.len());
    let right = app
        .post("/code/", json!({"phone": PHONE, "code": code}))
        .await;
    assert_problem(&right, 429, "too_many_attempts");

    // A new code after the burned one works.
    assert_eq!(
        app.post("/phone/", json!({"phone": PHONE})).await.status,
        200
    );
    let fresh = app.last_code(PHONE).await;
    assert_eq!(
        app.post("/code/", json!({"phone": PHONE, "code": fresh}))
            .await
            .status,
        200
    );
}

async fn resending_never_buys_fresh_guesses(backend: Backend) {
    let app = spawn_app(backend, &[("RESEND_COOLDOWN_SECONDS", "0")]).await;
    app.post("/phone/", json!({"phone": PHONE})).await;
    let wrong = wrong_code;
    let first = app.last_code(PHONE).await;
    for _ in 0..3 {
        let reply = app
            .post("/code/", json!({"phone": PHONE, "code": wrong(&first)}))
            .await;
        assert_problem(&reply, 400, "invalid_code");
    }
    app.post("/phone/", json!({"phone": PHONE})).await;
    let second = app.last_code(PHONE).await;
    for _ in 0..2 {
        let reply = app
            .post("/code/", json!({"phone": PHONE, "code": wrong(&second)}))
            .await;
        assert_problem(&reply, 400, "invalid_code");
    }
    let right = app
        .post("/code/", json!({"phone": PHONE, "code": second}))
        .await;
    assert_problem(&right, 429, "too_many_attempts");
}

/// Fires `n` copies of a request at once and counts the statuses.
async fn race(app: &Arc<TestApp>, n: usize, path: &str, bodies: Vec<Value>) -> Vec<Reply> {
    assert_eq!(bodies.len(), n);
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (app, barrier, path) = (Arc::clone(app), Arc::clone(&barrier), path.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                app.post(&path, body).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

async fn races_have_exactly_one_winner(backend: Backend) {
    const N: usize = 16;
    // No refresh grace: racing refreshes then have one winner too
    // (tests/sessions.rs races them within the grace).
    let app = Arc::new(spawn_app(backend, &[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await);

    // Concurrent sends to one phone within the resend cooldown: one SMS.
    let sends = race(&app, N, "/phone/", vec![json!({"phone": PHONE}); N]).await;
    assert_eq!(count(&sends, 200), 1);
    assert_eq!(count(&sends, 429), N - 1);
    assert_eq!(app.sent_sms(PHONE).await.len(), 1);

    // Concurrent first logins with the right code: one user, one 200.
    let code = app.last_code(PHONE).await;
    let logins = race(
        &app,
        N,
        "/code/",
        vec![json!({"phone": PHONE, "code": code}); N],
    )
    .await;
    assert_eq!(
        count(&logins, 200),
        1,
        "{:?}",
        logins.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    assert!(
        logins
            .iter()
            .all(|r| r.status == 200 || r.code() == "code_expired")
    );
    let winner = logins.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(winner.body["created"], true);

    // Concurrent refreshes of one token, without a grace: one new pair.
    let refresh = winner.body["refresh"].clone();
    let refreshes = race(
        &app,
        N,
        "/token/refresh/",
        vec![json!({"refresh": refresh}); N],
    )
    .await;
    assert_eq!(count(&refreshes, 200), 1);
    assert_eq!(count(&refreshes, 401), N - 1);

    // Concurrent sends from one IP to many phones: the IP cap holds.
    let capped = Arc::new(spawn_app(backend, &[("IP_MAX_SENDS_PER_HOUR", "5")]).await);
    let bodies = (0..N).map(|i| json!({"phone": phone(i)})).collect();
    let sends = race(&capped, N, "/phone/", bodies).await;
    assert_eq!(count(&sends, 200), 5);
    assert_eq!(count(&sends, 429), N - 5);
}

/// Tokens from before a key rotation keep working; tokens under a key
/// that is neither current nor previous do not.
#[tokio::test]
async fn keys_rotate_without_logging_anyone_out() {
    let store = Backend::Memory.store().await;
    let key = |kid: &str, secret: &str| {
        [
            ("JWT_KEY_ID", kid.to_owned()),
            ("JWT_SIGNING_KEY", secret.to_owned()),
        ]
    };
    let k1 = key("k1", &"1".repeat(40));
    let k2 = key("k2", &"2".repeat(40));
    let k3 = key("k3", &"3".repeat(40));
    let with = |current: &[(&str, String); 2], previous: Option<&[(&str, String); 2]>| {
        let mut pairs: Vec<(&str, String)> = current.to_vec();
        if let Some(prev) = previous {
            pairs.push(("JWT_PREVIOUS_KEY_ID", prev[0].1.clone()));
            pairs.push(("JWT_PREVIOUS_SIGNING_KEY", prev[1].1.clone()));
        }
        pairs.push(("RESEND_COOLDOWN_SECONDS", "0".into()));
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        config(&borrowed)
    };
    let spawn = |config| spawn_on_store(&store, config);
    let before = spawn(with(&k1, None)).await;
    let login = before.login(PHONE).await.body;
    let access = login["access"].as_str().unwrap();

    let rotated = spawn(with(&k2, Some(&k1))).await;
    assert_eq!(rotated.get_auth("/profile/me/", access).await.status, 200);
    let refreshed = rotated
        .post("/token/refresh/", json!({"refresh": login["refresh"]}))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let new_access = refreshed.body["access"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(new_access).unwrap();
    assert_eq!(
        header.kid.as_deref(),
        Some("k2"),
        "new tokens are signed with the current key"
    );

    let again = spawn(with(&k3, Some(&k2))).await;
    assert_eq!(again.get_auth("/profile/me/", new_access).await.status, 200);
    let stale = again.get_auth("/profile/me/", access).await;
    assert_problem(&stale, 401, "token_not_valid");
}

/// Bodies no endpoint accepts: each answered 4xx problem+json, none 5xx,
/// and the store exactly as it was.
async fn bad_input_changes_nothing(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let login = app.login(PHONE).await.body;
    let access = login["access"].as_str().unwrap().to_owned();
    let before = app.store.fingerprint().await;

    let huge = "9".repeat(3000);
    let bodies: Vec<String> = vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "[{\"phone\": \"+79123456789\"}]".into(),
        "42".into(),
        "\"+79123456789\"".into(),
        "{".into(),
        "phone=%2B79123456789&code=1234".into(),
        "\u{feff}{}".into(),
        "{\"phone\": 79123456789, \"code\": 1234, \"refresh\": 1, \"inv\": 2}".into(),
        "{\"phone\": [\"+79123456789\"], \"code\": {\"a\": 1}, \"refresh\": [], \"inv\": {}}".into(),
        "{\"phone\": true, \"code\": false, \"refresh\": true, \"inv\": true}".into(),
        "{\"phone\": \"+79123456789\", \"phone\": \"+79001112233\", \"code\": \"1\", \"code\": \"2\", \"refresh\": \"a\", \"refresh\": \"b\", \"inv\": \"A\", \"inv\": \"B\"}".into(),
        format!("{{\"phone\": \"{huge}\", \"code\": \"{huge}\", \"refresh\": \"{huge}\", \"inv\": \"{huge}\"}}"),
        "{\"phone\": \"+7 912 ☃☃☃ 🙂\", \"code\": \"１２３４\", \"refresh\": \"🙂.🙂.🙂\", \"inv\": \"КОДКОД\"}".into(),
        "{\"phone\": \"\\u0000+79123456789\", \"code\": \"12\\u00003\", \"refresh\": \"\\u0000\", \"inv\": \"\\u0000\"}".into(),
        format!("{{\"nested\": {}}}", "[".repeat(200) + &"]".repeat(200)),
        "{\"phone\": \"+7912\", \"code\": \"abcd\", \"refresh\": \"\", \"inv\": \"\"}".into(),
        format!("{{\"pad\": \"{}\"}}", "x".repeat(5000)),
    ];
    let content_types = [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ];
    let mut answered = 0;
    for (i, body) in bodies.iter().enumerate() {
        let content_type = content_types[i % content_types.len()];
        for (method, path) in [
            ("POST", "/phone/"),
            ("POST", "/code/"),
            ("POST", "/token/refresh/"),
            ("POST", "/token/revoke/"),
            ("PATCH", "/profile/me/"),
        ] {
            let request = app
                .http
                .request(method.parse().unwrap(), app.url(path))
                .header("content-type", content_type)
                .bearer_auth(&access)
                .body(body.clone());
            let reply = app.send(request).await;
            assert!(
                (400..500).contains(&reply.status),
                "{method} {path} with {body:?} answered {}: {:?}",
                reply.status,
                reply.body
            );
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
            assert!(reply.body["code"].is_string());
            answered += 1;
        }
    }
    assert_eq!(answered, bodies.len() * 5);
    assert_eq!(
        app.store.fingerprint().await,
        before,
        "bad input changed the store"
    );
}

/// The service itself on `backend`'s store, for cases that set the source
/// (over HTTP it is always the loopback), with the outbox of what it sent.
async fn service_on(
    backend: Backend,
    settings: &[(&str, &str)],
) -> (
    phone_auth::domain::service::Service,
    Arc<phone_auth::adapters::console::Outbox>,
) {
    use phone_auth::adapters::console::{ConsoleSms, Outbox};
    use phone_auth::ports::SystemClock;
    let store = api_tests::store_of(backend).await;
    let clock = Arc::new(SystemClock);
    let outbox = Arc::new(Outbox::new(Arc::new(ConsoleSms), clock.clone()));
    let service = phone_auth::domain::service::Service::new(
        config(settings).rules,
        store,
        outbox.clone(),
        clock,
    );
    (service, outbox)
}

/// The per-source limit counts an IPv6 source as its /64: two addresses of
/// one /64 share the hour, another /64 has its own.
async fn an_ipv6_source_counts_as_its_slash_64(backend: Backend) {
    // Challenges off: past the cap, a plain refusal.
    let settings = [("IP_MAX_SENDS_PER_HOUR", "1"), ("CHALLENGE_MODE", "off")];
    let (service, _) = service_on(backend, &settings).await;
    let send = async |i: usize, source: &str| {
        let phone = service.parse_phone(&phone(900 + i)).unwrap();
        let request = SendRequest {
            source: Some(source),
            ..SendRequest::default()
        };
        service.send_code(&phone, &request).await
    };
    assert!(send(1, "2001:db8:1:2::1").await.is_ok());
    let same_64 = send(2, "2001:db8:1:2:ffff:eeee:dddd:cccc").await;
    assert!(
        matches!(same_64, Err(phone_auth::Error::RateLimited { .. })),
        "{same_64:?}"
    );
    assert!(send(3, "2001:db8:1:3::1").await.is_ok(), "another /64");
    assert!(send(4, "192.0.2.1").await.is_ok());
    let same_v4 = send(5, "::ffff:192.0.2.1").await;
    assert!(
        matches!(same_v4, Err(phone_auth::Error::RateLimited { .. })),
        "{same_v4:?}"
    );
}

/// The holder of a send's `verification_id` keeps their code while
/// strangers who know only the phone race it with wrong codes: N of them
/// at once, then past their whole allowance.
async fn strangers_never_burn_the_holder_s_code(backend: Backend) {
    let app = spawn_app(backend, &[("RESEND_COOLDOWN_SECONDS", "0")]).await;
    for round in 0..2 {
        let sent = app.post("/phone/", json!({"phone": PHONE})).await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
        let id = sent.body["verification_id"].as_str().unwrap().to_owned();
        assert!((16..=64).contains(&id.len()), "{id}");
        let code = app.last_code(PHONE).await;
        let wrong = wrong_code(&code);
        let stranger = json!({"phone": PHONE, "code": wrong});
        if round == 0 {
            // The holder's right code in the middle of 16 strangers' wrong ones.
            let mut tries: Vec<_> = (0..16)
                .map(|_| app.post("/code/", stranger.clone()))
                .collect();
            let holder = json!({"phone": PHONE, "code": code, "verification_id": id});
            tries.insert(8, app.post("/code/", holder));
            let answers = futures_util::future::join_all(tries).await;
            assert_eq!(answers[8].status, 200, "{:?}", answers[8].body);
            assert!(answers.iter().all(|r| r.status < 500));
            continue;
        }
        // Past the strangers' whole allowance, then a made-up id.
        for _ in 0..5 {
            let reply = app.post("/code/", stranger.clone()).await;
            assert_problem(&reply, 400, "invalid_code");
        }
        assert_problem(
            &app.post("/code/", stranger).await,
            429,
            "too_many_attempts",
        );
        let guessed = json!({"phone": PHONE, "code": wrong, "verification_id": "0".repeat(32)});
        assert_problem(&app.post("/code/", guessed).await, 429, "too_many_attempts");
        // The holder's own wrong try counts against theirs; the right code works.
        let own = json!({"phone": PHONE, "code": wrong, "verification_id": id});
        assert_problem(&app.post("/code/", own).await, 400, "invalid_code");
        let holder = json!({"phone": PHONE, "code": code, "verification_id": id});
        let login = app.post("/code/", holder).await;
        assert_eq!(login.status, 200, "{:?}", login.body);
    }
}

/// Deployments whose clients all send it refuse a try without it.
async fn a_required_verification_id_is_required(backend: Backend) {
    let app = spawn_app(backend, &[("REQUIRE_VERIFICATION_ID", "true")]).await;
    let sent = app.post("/phone/", json!({"phone": PHONE})).await;
    let code = app.last_code(PHONE).await;
    let without = app
        .post("/code/", json!({"phone": PHONE, "code": code}))
        .await;
    assert_problem(&without, 400, "invalid_request");
    assert_eq!(
        without.body["detail"],
        "The field `verification_id` is required."
    );
    let with =
        json!({"phone": PHONE, "code": code, "verification_id": sent.body["verification_id"]});
    assert_eq!(app.post("/code/", with).await.status, 200);
}

/// Wrong codes per source, across all phones: past the cap, a source's
/// tries are refused unchecked; an IPv6 source is its /64.
async fn failed_codes_per_source_are_capped_on_the_slash_64(backend: Backend) {
    use phone_auth::domain::code::OtpCode;
    use phone_auth::domain::service::Attempt;

    let (service, outbox) = service_on(backend, &[("IP_MAX_FAILED_CODES_PER_HOUR", "3")]).await;
    // A wrong code for a fresh live code of phone `i`, from `source`.
    let guess_from = async |i: usize, source: &str| {
        let phone = service.parse_phone(&phone(800 + i)).unwrap();
        service
            .send_code(&phone, &SendRequest::default())
            .await
            .unwrap();
        let sent = outbox.sent_to(&phone).pop().unwrap();
        let wrong = wrong_code(&api_tests::code_in(&sent.text));
        let wrong = OtpCode::parse(&wrong, wrong.len()).unwrap();
        let attempt = Attempt {
            source: Some(source),
            ..Attempt::default()
        };
        service.verify_code(&phone, &wrong, &attempt).await
    };
    for i in 0..3 {
        let answer = guess_from(i, "2001:db8:7:1::1").await;
        assert!(
            matches!(answer, Err(phone_auth::Error::InvalidCode)),
            "{answer:?}"
        );
    }
    let same_64 = guess_from(3, "2001:db8:7:1:aaaa::2").await;
    assert!(
        matches!(same_64, Err(phone_auth::Error::RateLimited { .. })),
        "{same_64:?}"
    );
    let other_64 = guess_from(4, "2001:db8:7:2::1").await;
    assert!(
        matches!(other_64, Err(phone_auth::Error::InvalidCode)),
        "{other_64:?}"
    );
}

use api_tests::on_both_backends;

on_both_backends!(
    an_ipv6_source_counts_as_its_slash_64,
    a_phone_s_hour_is_rolling,
    strangers_never_burn_the_holder_s_code,
    a_required_verification_id_is_required,
    failed_codes_per_source_are_capped_on_the_slash_64,
    send_limits_per_phone,
    send_limits_per_ip_budget_and_region,
    brute_force_is_held_to_the_cap,
    resending_never_buys_fresh_guesses,
    races_have_exactly_one_winner,
    bad_input_changes_nothing,
);
