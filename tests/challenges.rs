//! A challenge instead of a wall, on both backends over HTTP: a crowd
//! behind one address gets challenges and gets through, the hard limit
//! holds, a solution works once and not after its expiry, a forged one is
//! refused; a pumped prefix needs challenges while another region's users
//! are untouched, and recovers; `CHALLENGE_MODE` `always` and `off`.

use api_tests::{Backend, Reply, TestApp, TestClock, assert_problem, config, spawn_app_with};
use phone_auth::domain::challenge::{Challenge, solve};
use phone_auth::domain::metric::{Limit, Metric};
use phone_auth::domain::phone::Region;
use serde_json::json;

async fn app(backend: Backend, settings: &[(&str, &str)]) -> (TestApp, std::sync::Arc<TestClock>) {
    let mut all = vec![("CHALLENGE_MAX_NUMBER", "1000")];
    all.extend_from_slice(settings);
    let clock = TestClock::new();
    (
        spawn_app_with(backend, config(&all), clock.clone()).await,
        clock,
    )
}

async fn send(app: &TestApp, phone: &str, challenge: Option<&str>) -> Reply {
    let mut body = json!({ "phone": phone });
    if let Some(solution) = challenge {
        body["challenge"] = json!(solution);
    }
    app.post("/phone/", body).await
}

/// The challenge a `challenge_required` answer carries.
fn challenge_of(reply: &Reply) -> Challenge {
    assert_problem(reply, 429, "challenge_required");
    assert!(reply.header("retry-after").is_some(), "{:?}", reply.body);
    serde_json::from_value(reply.body["challenge"].clone()).expect("an ALTCHA v1 challenge")
}

fn solved(reply: &Reply) -> String {
    solve(&challenge_of(reply)).expect("solvable within maxnumber")
}

fn phone(i: usize) -> String {
    format!("+7912555{i:04}")
}

async fn a_crowd_behind_one_address_solves_its_way_through(backend: Backend) {
    let settings = [
        ("IP_MAX_SENDS_PER_HOUR", "2"),
        ("IP_HARD_MAX_SENDS_PER_HOUR", "4"),
    ];
    let (app, _) = app(backend, &settings).await;
    for i in 0..2 {
        assert_eq!(send(&app, &phone(i), None).await.status, 200);
    }
    // Past the soft limit: a challenge, no SMS.
    let asked = send(&app, &phone(2), None).await;
    assert!(app.sent_sms(&phone(2)).await.is_empty());
    let solution = solved(&asked);
    let through = send(&app, &phone(2), Some(&solution)).await;
    assert_eq!(through.status, 200, "{:?}", through.body);
    assert_eq!(app.sent_sms(&phone(2)).await.len(), 1);
    // A solution works once.
    let again = send(&app, &phone(3), Some(&solution)).await;
    assert_problem(&again, 400, "invalid_request");
    // Each user of the crowd solves their own, up to the hard limit...
    let solution = solved(&send(&app, &phone(3), None).await);
    assert_eq!(send(&app, &phone(3), Some(&solution)).await.status, 200);
    // ... past which nothing goes, solved or not, with the wait.
    let hard = send(&app, &phone(4), None).await;
    assert_problem(&hard, 429, "rate_limited");
    assert!(hard.body.get("challenge").is_none());
    let wait: u64 = hard.header("retry-after").unwrap().parse().unwrap();
    // Until the rolling hour (two clock-hour counts, the older weighted by
    // what it still covers) has room for one: at most two hours.
    assert!((1..=7200).contains(&wait), "{wait}");
    assert!(app.sent_sms(&phone(4)).await.is_empty());
    let hit = |limit| {
        let recorded = app.metrics.recorded();
        recorded
            .iter()
            .filter(|m| **m == Metric::LimitHit(limit))
            .count()
    };
    assert_eq!(hit(Limit::IpHour), 2);
    assert_eq!(hit(Limit::IpHardHour), 1);
}

async fn a_solution_expires_and_a_forged_one_is_refused(backend: Backend) {
    let settings = [
        ("IP_MAX_SENDS_PER_HOUR", "1"),
        ("CHALLENGE_TTL_SECONDS", "60"),
    ];
    let (app, clock) = app(backend, &settings).await;
    assert_eq!(send(&app, &phone(10), None).await.status, 200);
    let asked = send(&app, &phone(11), None).await;
    let challenge = challenge_of(&asked);
    let solution = solve(&challenge).unwrap();

    // Another signature, a changed number, junk: each refused, nothing sent.
    let forged = Challenge {
        signature: "0".repeat(64),
        ..challenge.clone()
    };
    let forged = solve(&forged).unwrap();
    assert_problem(
        &send(&app, &phone(11), Some(&forged)).await,
        400,
        "invalid_request",
    );
    for junk in ["", "not a solution", "e30="] {
        let reply = send(&app, &phone(11), Some(junk)).await;
        assert_problem(&reply, 400, "invalid_request");
    }
    assert!(app.sent_sms(&phone(11)).await.is_empty());

    clock.advance_secs(61);
    let late = send(&app, &phone(11), Some(&solution)).await;
    assert_problem(&late, 400, "invalid_request");
    assert!(late.body["detail"].as_str().unwrap().contains("expired"));
    assert!(app.sent_sms(&phone(11)).await.is_empty());
}

/// Sends to one prefix that no login follows: past `FRAUD_MIN_SENDS` at
/// under `FRAUD_MIN_CONVERSION`, sends there need a challenge; another
/// region's numbers do not; logins bring the prefix back.
async fn a_pumped_prefix_needs_challenges_until_it_converts(backend: Backend) {
    let settings = [
        ("FRAUD_MIN_SENDS", "4"),
        ("FRAUD_MIN_CONVERSION", "0.5"),
        ("IP_MAX_SENDS_PER_HOUR", "1000"),
    ];
    let (app, clock) = app(backend, &settings).await;
    let pumped = |i: usize| format!("+7912345{i:04}");
    for i in 0..4 {
        assert_eq!(send(&app, &pumped(i), None).await.status, 200);
    }
    let asked = send(&app, &pumped(4), None).await;
    let solution = solved(&asked);
    let pumping = |app: &TestApp| {
        let recorded = app.metrics.recorded();
        let suspect = Metric::SuspectedPumping {
            region: Some(Region::RU),
        };
        recorded.iter().filter(|m| **m == suspect).count()
    };
    assert_eq!(pumping(&app), 1);
    // Another region's user: untouched.
    assert_eq!(send(&app, "+447400123456", None).await.status, 200);
    // A solved one goes through.
    assert_eq!(send(&app, &pumped(4), Some(&solution)).await.status, 200);

    // Logins with their codes: 3 of 5 sends converted, the prefix is back.
    for i in 0..3 {
        let code = app.last_code(&pumped(i)).await;
        let login = app
            .post("/code/", json!({ "phone": pumped(i), "code": code }))
            .await;
        assert_eq!(login.status, 200, "{:?}", login.body);
    }
    assert_eq!(send(&app, &pumped(5), None).await.status, 200);

    // A prefix whose hour has passed is judged afresh.
    let other = |i: usize| format!("+7912777{i:04}");
    for i in 0..6 {
        let reply = send(&app, &other(i), None).await;
        if reply.status == 429 {
            challenge_of(&reply);
        }
    }
    assert_eq!(send(&app, &other(7), None).await.status, 429);
    clock.advance_secs(2 * 3600);
    assert_eq!(send(&app, &other(7), None).await.status, 200);
}

async fn challenge_modes_always_and_off(backend: Backend) {
    let (always, _) = app(backend, &[("CHALLENGE_MODE", "always")]).await;
    let asked = send(&always, &phone(20), None).await;
    let solution = solved(&asked);
    assert_eq!(send(&always, &phone(20), Some(&solution)).await.status, 200);

    let settings = [("CHALLENGE_MODE", "off"), ("IP_MAX_SENDS_PER_HOUR", "1")];
    let (off, _) = app(backend, &settings).await;
    assert_eq!(send(&off, &phone(21), None).await.status, 200);
    let refused = send(&off, &phone(22), None).await;
    assert_problem(&refused, 429, "rate_limited");
    assert!(refused.body.get("challenge").is_none());
}

api_tests::on_both_backends!(
    a_crowd_behind_one_address_solves_its_way_through,
    a_solution_expires_and_a_forged_one_is_refused,
    a_pumped_prefix_needs_challenges_until_it_converts,
    challenge_modes_always_and_off,
);
