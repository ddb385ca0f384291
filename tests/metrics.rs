//! What the service counts: every metric of the contract's Operations
//! section, recorded exactly once for the event it stands for, on both
//! backends, over HTTP.

use std::sync::Arc;

use api_tests::{
    Backend, FlakySms, TestApp, TestClock, assert_problem, config, spawn_app_on, spawn_app_with,
    wrong_code,
};
use phone_auth::domain::metric::{Limit, Metric};
use phone_auth::domain::phone::Region;
use serde_json::json;

/// A phone of its own per backend, so that moto's shared record of SMS
/// tells the tests apart. `country` is "7" (Russia) or "44" (the UK).
fn phone(country: &str, backend: Backend, n: u32) -> String {
    let backend = match backend {
        Backend::Memory => 1,
        Backend::Moto => 2,
    };
    match country {
        "7" => format!("+7912{backend}{n:06}"),
        _ => format!("+44740{backend}{n:06}"),
    }
}

async fn send(app: &TestApp, phone: &str) -> api_tests::Reply {
    app.post("/phone/", json!({ "phone": phone })).await
}

async fn enter(app: &TestApp, phone: &str, code: &str) -> api_tests::Reply {
    app.post("/code/", json!({ "phone": phone, "code": code }))
        .await
}

/// Each event once, in order, and what it counted.
async fn each_event_counts_once(backend: Backend) {
    let clock = TestClock::new();
    let settings = config(&[
        ("RESEND_COOLDOWN_SECONDS", "60"),
        ("PHONE_MAX_SENDS_PER_HOUR", "2"),
        ("MAX_CODE_ATTEMPTS", "1"),
        ("SMS_DAILY_BUDGET", "4"),
        ("SMS_COUNTRY_DAILY_BUDGET", "GB:1"),
    ]);
    let app = spawn_app_with(backend, settings, clock.clone()).await;
    let ru = Some(Region::RU);
    let gb = Some(Region::GB);
    let (a, b, c, d, e) = (
        phone("7", backend, 1),
        phone("44", backend, 2),
        phone("44", backend, 3),
        phone("7", backend, 4),
        phone("7", backend, 5),
    );
    let mut expected = Vec::new();

    assert_eq!(send(&app, &a).await.status, 200);
    expected.push(Metric::CodeSent { region: ru });
    assert_problem(&send(&app, &a).await, 429, "rate_limited");
    expected.push(Metric::LimitHit(Limit::ResendCooldown));
    let code = app.last_code(&a).await;
    assert_problem(
        &enter(&app, &a, &wrong_code(&code)).await,
        400,
        "invalid_code",
    );
    expected.push(Metric::WrongCode);
    let burned = enter(&app, &a, &wrong_code(&code)).await;
    assert_problem(&burned, 429, "too_many_attempts");
    expected.push(Metric::LimitHit(Limit::CodeAttempts));

    clock.advance_secs(61);
    assert_eq!(send(&app, &a).await.status, 200);
    expected.push(Metric::CodeSent { region: ru });
    let code = app.last_code(&a).await;
    let login = enter(&app, &a, &code).await;
    assert_eq!(login.status, 200);
    expected.push(Metric::LoggedIn {
        created: true,
        region: ru,
    });
    clock.advance_secs(61);
    assert_problem(&send(&app, &a).await, 429, "rate_limited");
    expected.push(Metric::LimitHit(Limit::PhoneHour));

    assert_eq!(send(&app, &b).await.status, 200);
    expected.push(Metric::CodeSent { region: gb });
    assert_problem(&send(&app, &c).await, 503, "sms_unavailable");
    expected.push(Metric::LimitHit(Limit::RegionDailyBudget));
    assert_eq!(send(&app, &d).await.status, 200);
    expected.push(Metric::CodeSent { region: ru });
    assert_problem(&send(&app, &e).await, 503, "sms_unavailable");
    expected.push(Metric::LimitHit(Limit::DailyBudget));

    // A refresh, the retired token again within its grace (not a reuse),
    // then after it.
    let first = login.body["refresh"].as_str().unwrap();
    for _ in 0..2 {
        let refreshed = app
            .post("/token/refresh/", json!({ "refresh": first }))
            .await;
        assert_eq!(refreshed.status, 200);
    }
    clock.advance_secs(11);
    let reused = app
        .post("/token/refresh/", json!({ "refresh": first }))
        .await;
    assert_problem(&reused, 401, "token_not_valid");
    expected.push(Metric::RefreshReuse);
    // Once that session is revoked, its tokens are plain 401s: no second
    // theft signal.
    let again = app
        .post("/token/refresh/", json!({ "refresh": first }))
        .await;
    assert_problem(&again, 401, "token_not_valid");

    // The next day, a returning login; nothing else counts.
    clock.advance_secs(86_400);
    let returning = app.login(&a).await;
    assert_eq!(returning.body["created"], false);
    expected.push(Metric::CodeSent { region: ru });
    expected.push(Metric::LoggedIn {
        created: false,
        region: ru,
    });
    // An ordinary logout, then the logged-out token: a 401, not a theft.
    let logged_out = json!({ "refresh": returning.body["refresh"] });
    assert_eq!(
        app.post("/token/revoke/", logged_out.clone()).await.status,
        204
    );
    let after = app.post("/token/refresh/", logged_out).await;
    assert_problem(&after, 401, "token_not_valid");
    let token = app.login(&d).await.body["access"]
        .as_str()
        .unwrap()
        .to_owned();
    expected.push(Metric::CodeSent { region: ru });
    expected.push(Metric::LoggedIn {
        created: true,
        region: ru,
    });
    assert_eq!(app.get_auth("/profile/me/", &token).await.status, 200);

    assert_eq!(app.metrics.recorded(), expected);
}

/// The per-IP hour, and an SMS that SNS refuses.
async fn ip_limits_and_sms_failures_count(backend: Backend) {
    let settings = config(&[("IP_MAX_SENDS_PER_HOUR", "1")]);
    let store = backend.store().await;
    let sms = Arc::new(FlakySms::default());
    let clock: Arc<TestClock> = TestClock::new();
    let app = spawn_app_on(backend, store, sms.clone(), settings, clock).await;
    sms.set_failing(true);
    assert_problem(
        &send(&app, &phone("7", backend, 10)).await,
        503,
        "sms_unavailable",
    );
    sms.set_failing(false);
    // The failed send gave its unit of the IP's hour back.
    assert_eq!(send(&app, &phone("44", backend, 11)).await.status, 200);
    assert_problem(
        &send(&app, &phone("7", backend, 12)).await,
        429,
        "challenge_required",
    );
    assert_eq!(
        app.metrics.recorded(),
        [
            Metric::SmsFailed {
                region: Some(Region::RU)
            },
            Metric::CodeSent {
                region: Some(Region::GB)
            },
            Metric::LimitHit(Limit::IpHour),
        ]
    );
}

api_tests::on_both_backends!(each_event_counts_once, ip_limits_and_sms_failures_count);
