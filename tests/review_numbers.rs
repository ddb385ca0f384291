//! Numbers for app-store review (`TEST_PHONE_CODES`), on both backends over
//! HTTP: their fixed codes, no SMS and no shared budget spent, every rule of
//! `/code/` kept, wrong tries adding up across sends, the per-source limit
//! held, and ordinary numbers again once the date has passed, at `/code/`
//! too.

use api_tests::{
    Backend, TestApp, TestClock, assert_problem, config, moto_sms, spawn_app_on, spawn_app_with,
};
use phone_auth::domain::metric::{Limit, Metric};
use phone_auth::domain::time::Timestamp;
use phone_auth::ports::Clock;
use serde_json::json;

/// One number the phone parser refuses (the 555 range), one it takes.
const REVIEW: &str = "+15555550100";
const REVIEW_GB: &str = "+447911123456";
const LIST: &str = "+15555550100=424242, +447911123456=135790";

async fn app(backend: Backend) -> (TestApp, std::sync::Arc<TestClock>) {
    let clock = TestClock::new();
    let until = Timestamp(clock.now().0 + 86_400_000).rfc3339();
    let settings = config(&[
        ("TEST_PHONE_CODES", LIST),
        ("TEST_PHONE_CODES_UNTIL", &until),
        // Only Russia and one SMS a day: a test number's send must fit past
        // both. Three sends per source an hour: it counts against that.
        ("ALLOWED_COUNTRY_CODES", "RU"),
        ("SMS_DAILY_BUDGET", "1"),
        ("IP_MAX_SENDS_PER_HOUR", "3"),
        ("MAX_CODE_ATTEMPTS", "2"),
    ]);
    (
        spawn_app_with(backend, settings, clock.clone()).await,
        clock,
    )
}

async fn send(app: &TestApp, phone: &str) -> api_tests::Reply {
    app.post("/phone/", json!({ "phone": phone })).await
}

async fn enter(app: &TestApp, phone: &str, code: &str) -> api_tests::Reply {
    app.post("/code/", json!({ "phone": phone, "code": code }))
        .await
}

async fn a_review_number_logs_in_with_its_code_and_no_sms(backend: Backend) {
    let (app, clock) = app(backend).await;
    // Typed as a reviewer might; answered as any number is.
    let sent = send(&app, "+1 555-555-0100").await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let ordinary = send(&app, "+79123456789").await;
    assert_eq!(ordinary.status, 200, "the budgets were not spent");
    let keys = |body: &serde_json::Value| {
        let mut body = body.clone();
        body["verification_id"] = serde_json::Value::Null;
        body
    };
    assert_eq!(keys(&sent.body), keys(&ordinary.body));
    assert!(app.sent_sms(REVIEW).await.is_empty());
    if backend == Backend::Moto {
        assert!(moto_sms().await.iter().all(|(to, _)| to != REVIEW));
    }
    // Its own cooldown holds.
    assert_problem(&send(&app, REVIEW).await, 429, "rate_limited");

    // Every rule of /code/: a wrong code counts, the right one works once.
    assert_problem(&enter(&app, REVIEW, "000000").await, 400, "invalid_code");
    let login = enter(&app, REVIEW, "424242").await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(login.body["created"], true);
    assert_problem(&enter(&app, REVIEW, "424242").await, 400, "code_expired");
    let access = login.body["access"].as_str().unwrap();
    let profile = app.get_auth("/profile/me/", access).await;
    assert_eq!(profile.body["phone"], REVIEW);

    // The other listed number, outside the allowed regions: allowed.
    assert_eq!(send(&app, REVIEW_GB).await.status, 200);
    // Burned by MAX_CODE_ATTEMPTS wrong tries, as any code is.
    for _ in 0..2 {
        let wrong = enter(&app, REVIEW_GB, "111111").await;
        assert_problem(&wrong, 400, "invalid_code");
    }
    let right = enter(&app, REVIEW_GB, "135790").await;
    assert_problem(&right, 429, "too_many_attempts");
    // Three sends from this source this hour: a fourth needs a challenge,
    // a review number's as anyone's.
    clock.advance_secs(61);
    assert_problem(&send(&app, REVIEW).await, 429, "challenge_required");

    let recorded = app.metrics.recorded();
    let test_sends = recorded
        .iter()
        .filter(|m| **m == Metric::TestNumberSent)
        .count();
    assert_eq!(test_sends, 2);
    assert_eq!(
        recorded
            .iter()
            .filter(|m| matches!(m, Metric::CodeSent { .. }))
            .count(),
        1
    );
    assert_eq!(recorded.last(), Some(&Metric::LimitHit(Limit::IpHour)));
}

/// A listed code never changes: its wrong tries add up across sends, to
/// 4 x MAX_CODE_ATTEMPTS, after which even the right code is refused until
/// the list changes.
async fn a_review_number_s_wrong_tries_add_up_across_sends(backend: Backend) {
    let clock = TestClock::new();
    let until = Timestamp(clock.now().0 + 86_400_000).rfc3339();
    let settings = |list: &str| {
        config(&[
            ("TEST_PHONE_CODES", list),
            ("TEST_PHONE_CODES_UNTIL", &until),
            ("MAX_CODE_ATTEMPTS", "2"),
            ("RESEND_COOLDOWN_SECONDS", "0"),
            ("PHONE_MAX_SENDS_PER_HOUR", "100"),
        ])
    };
    let store = backend.store().await;
    let spawn = async |list: &str| {
        let config = settings(list);
        let sms = backend.sms(&config).await;
        spawn_app_on(backend, store.clone(), sms, config, clock.clone()).await
    };
    let app = spawn(LIST).await;
    // Four sends of two wrong tries each: eight in all, each one counted.
    for _ in 0..4 {
        assert_eq!(send(&app, REVIEW_GB).await.status, 200);
        for _ in 0..2 {
            assert_problem(&enter(&app, REVIEW_GB, "111111").await, 400, "invalid_code");
        }
    }
    assert_eq!(send(&app, REVIEW_GB).await.status, 200);
    let locked = enter(&app, REVIEW_GB, "135790").await;
    assert_problem(&locked, 429, "too_many_attempts");
    // A new code on the list starts a fresh count.
    let changed = spawn("+447911123456=246801").await;
    assert_eq!(send(&changed, REVIEW_GB).await.status, 200);
    let login = enter(&changed, REVIEW_GB, "246801").await;
    assert_eq!(login.status, 200, "{:?}", login.body);
}

/// The date is checked again at `/code/`: a code sent a second before it
/// logs no one in after it.
async fn a_review_code_sent_before_the_date_lapses_with_it(backend: Backend) {
    let (app, clock) = app(backend).await;
    clock.advance_secs(86_399);
    assert_eq!(send(&app, REVIEW_GB).await.status, 200);
    clock.advance_secs(2);
    assert_problem(&enter(&app, REVIEW_GB, "135790").await, 400, "code_expired");
}

async fn review_numbers_lapse_at_their_date(backend: Backend) {
    let (app, clock) = app(backend).await;
    clock.advance_secs(86_400);
    assert_problem(&send(&app, REVIEW).await, 400, "invalid_phone");
    assert_problem(&send(&app, REVIEW_GB).await, 400, "phone_not_allowed");
    assert_problem(&enter(&app, REVIEW, "424242").await, 400, "invalid_phone");
}

api_tests::on_both_backends!(
    a_review_number_logs_in_with_its_code_and_no_sms,
    a_review_number_s_wrong_tries_add_up_across_sends,
    a_review_code_sent_before_the_date_lapses_with_it,
    review_numbers_lapse_at_their_date,
);
