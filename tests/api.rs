//! The API over HTTP: the dev server with each backend, driven as a client
//! that knows only the seed document would drive it, then the error cases.

use api_tests::{
    Backend, OTHER_PHONE, PHONE, Reply, TestClock, assert_problem, config, moto_sms, spawn_app,
    spawn_app_with,
};
use serde_json::{Value, json};

/// Tests that log in more than once lift the resend cooldown.
const NO_COOLDOWN: &[(&str, &str)] = &[("RESEND_COOLDOWN_SECONDS", "0")];

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {value}"))
}

async fn seed_flow_phone_code_profile_refresh(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;

    let sent = app.post("/phone/", json!({"phone": PHONE})).await;
    assert_eq!(sent.status, 200);
    assert_eq!(sent.header("cache-control"), Some("no-store"));
    let mut body = sent.body.clone();
    let id = body["verification_id"].take();
    assert!(id.as_str().is_some_and(|id| id.len() == 32), "{id}");
    assert_eq!(
        body,
        json!({"message": "Verification code sent successfully.", "expires_in": 300, "retry_after": 0,
               "verification_id": null})
    );
    let code = app.last_code(PHONE).await;
    assert_eq!(code.len(), 6);
    if backend == Backend::Moto {
        let recorded = moto_sms().await;
        assert!(
            recorded
                .iter()
                .any(|(to, text)| to == PHONE && text.contains(&code)),
            "SNS on moto did not get the code"
        );
    }

    let login = app
        .post("/code/", json!({"phone": PHONE, "code": code}))
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let body = &login.body;
    for key in [
        "token",
        "access",
        "refresh",
        "token_type",
        "expires_in",
        "user_id",
        "created",
    ] {
        assert!(body.get(key).is_some(), "{key} missing");
    }
    assert_eq!(body["token"], body["access"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["created"], true);
    let id = body["user_id"].as_u64().unwrap();
    assert!(id < 1 << 53);

    let access = str_of(body, "token");
    let profile = app.get_auth(&format!("/profile/{id}/"), access).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    let p = &profile.body;
    for key in [
        "id",
        "inv",
        "inv_phone",
        "last_login",
        "phone",
        "invite",
        "parent_invite",
        "date_joined",
        "referrals",
        "referrals_count",
        "referrals_next",
    ] {
        assert!(p.get(key).is_some(), "{key} missing from profile");
    }
    assert!(
        p.get("password").is_none(),
        "a profile never carries a password"
    );
    assert_eq!(p["id"], id);
    assert_eq!(p["phone"], PHONE);
    assert_eq!(p["inv"], Value::Null);
    assert_eq!(p["referrals"], json!([]));
    let invite = str_of(p, "invite");
    assert_eq!(invite.len(), 6);
    assert!(
        invite
            .bytes()
            .all(|b| phone_auth::domain::invite::ALPHABET.contains(&b))
    );
    assert_eq!(app.get_auth("/profile/me", access).await.body, profile.body);

    let refreshed = app
        .post(
            "/token/refresh/",
            json!({"refresh": str_of(body, "refresh")}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let new_access = str_of(&refreshed.body, "access");
    assert_ne!(str_of(&refreshed.body, "refresh"), str_of(body, "refresh"));
    assert_eq!(app.get_auth("/profile/me/", new_access).await.status, 200);

    // A second login finds the same user.
    let again = app.login(PHONE).await;
    assert_eq!(again.body["created"], false);
    assert_eq!(again.body["user_id"], id);
}

async fn paths_work_with_and_without_the_trailing_slash(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;
    assert_eq!(
        app.post("/phone", json!({"phone": PHONE})).await.status,
        200
    );
    let code = app.last_code(PHONE).await;
    let login = app
        .post("/code", json!({"phone": PHONE, "code": code}))
        .await;
    assert_eq!(login.status, 200);
    let access = str_of(&login.body, "access");
    assert_eq!(app.get_auth("/profile/me", access).await.status, 200);
    let refresh = app
        .post(
            "/token/refresh",
            json!({"refresh": str_of(&login.body, "refresh")}),
        )
        .await;
    assert_eq!(refresh.status, 200);
    let revoke = app
        .post(
            "/token/revoke",
            json!({"refresh": str_of(&refresh.body, "refresh")}),
        )
        .await;
    assert_eq!(revoke.status, 204);
    assert_eq!(revoke.header("cache-control"), Some("no-store"));
}

async fn bad_bodies_are_problems(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    for (body, code) in [
        ("", "invalid_request"),
        ("not json", "invalid_request"),
        ("[]", "invalid_request"),
        ("\"+79123456789\"", "invalid_request"),
        (r#"{"phone": 79123456789}"#, "invalid_request"),
        (r#"{"phone": {"nested": true}}"#, "invalid_request"),
        (
            r#"{"phone": "+79123456789", "phone": "+79001112233"}"#,
            "invalid_request",
        ),
        ("{}", "invalid_phone"),
        (r#"{"phone": null}"#, "invalid_phone"),
        (r#"{"phone": "12345"}"#, "invalid_phone"),
        (r#"{"phone": "+7 912 ☃"}"#, "invalid_phone"),
    ] {
        let reply = app.post_raw("/phone/", body).await;
        assert_problem(&reply, 400, code);
    }
    let invalid = app.post("/phone/", json!({"phone": "nope"})).await;
    assert_eq!(
        invalid.body["errors"],
        json!({"phone": ["Enter a valid phone number."]})
    );
    let huge = format!(r#"{{"phone": "{}"}}"#, "1".repeat(5000));
    assert_problem(
        &app.post_raw("/phone/", huge).await,
        413,
        "payload_too_large",
    );
    assert!(app.sent_sms(PHONE).await.is_empty(), "no SMS for bad input");
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    assert_problem(
        &app.send(app.http.get(app.url("/nope"))).await,
        404,
        "not_found",
    );
    assert_problem(
        &app.send(app.http.get(app.url("/profile/abc/"))).await,
        401,
        "not_authenticated",
    );
    let get_phone = app.send(app.http.get(app.url("/phone/"))).await;
    assert_problem(&get_phone, 405, "method_not_allowed");
    assert_eq!(get_phone.header("allow"), Some("POST"));
    let put_profile = app.send(app.http.put(app.url("/profile/me/"))).await;
    assert_problem(&put_profile, 405, "method_not_allowed");
    assert_eq!(put_profile.header("allow"), Some("GET, PATCH, DELETE"));
}

async fn codes_are_checked_single_use_and_expire_on_read(backend: Backend) {
    let clock = TestClock::new();
    let app = spawn_app_with(backend, config(NO_COOLDOWN), clock.clone()).await;
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE, "code": "123456"}))
            .await,
        400,
        "code_expired",
    );

    app.post("/phone/", json!({"phone": PHONE})).await;
    let code = app.last_code(PHONE).await;
    let wrong = if code == "0000" { "1111" } else { "0000" };
    let reply = app
        .post("/code/", json!({"phone": PHONE, "code": wrong}))
        .await;
    assert_problem(&reply, 400, "invalid_code");
    assert!(!reply.body.to_string().contains(&code) && !reply.body.to_string().contains(wrong));
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE, "code": "12"}))
            .await,
        400,
        "invalid_code",
    );
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE})).await,
        400,
        "invalid_request",
    );
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE, "code": 1234}))
            .await,
        400,
        "invalid_request",
    );

    assert_eq!(
        app.post("/code/", json!({"phone": PHONE, "code": code}))
            .await
            .status,
        200
    );
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE, "code": code}))
            .await,
        400,
        "code_expired",
    );

    // The store never expires anything itself here (moto ignores TTL): the
    // service's own check on read does.
    app.post("/phone/", json!({"phone": PHONE})).await;
    let code = app.last_code(PHONE).await;
    clock.advance_secs(301);
    assert_problem(
        &app.post("/code/", json!({"phone": PHONE, "code": code}))
            .await,
        400,
        "code_expired",
    );
}

async fn answers_do_not_tell_whether_a_phone_has_an_account(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;
    app.login(PHONE).await;
    let known = app.post("/phone/", json!({"phone": PHONE})).await;
    let unknown = app.post("/phone/", json!({"phone": OTHER_PHONE})).await;
    // Alike but for the send's own id.
    let without_id = |body: &Value| {
        let mut body = body.clone();
        body["verification_id"] = Value::Null;
        body
    };
    assert_eq!(
        (known.status, without_id(&known.body)),
        (unknown.status, without_id(&unknown.body))
    );
    let known = app
        .post("/code/", json!({"phone": PHONE, "code": "99999"}))
        .await;
    let unknown = app
        .post("/code/", json!({"phone": OTHER_PHONE, "code": "99999"}))
        .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
}

async fn profiles_need_the_owner_s_access_token(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;
    let me = app.login(PHONE).await.body;
    let other = app.login(OTHER_PHONE).await.body;
    let access = str_of(&me, "access");
    let path = format!("/profile/{}/", me["user_id"]);

    let none = app.send(app.http.get(app.url(&path))).await;
    assert_problem(&none, 401, "not_authenticated");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let basic = app
        .send(
            app.http
                .get(app.url(&path))
                .header("authorization", format!("Token {access}")),
        )
        .await;
    assert_problem(&basic, 401, "not_authenticated");
    assert_problem(
        &app.get_auth(&path, "garbage").await,
        401,
        "token_not_valid",
    );
    assert_problem(
        &app.get_auth(&path, str_of(&me, "refresh")).await,
        401,
        "token_not_valid",
    );
    let others = format!("/profile/{}/", other["user_id"]);
    assert_problem(
        &app.get_auth(&others, access).await,
        403,
        "permission_denied",
    );
    assert_problem(
        &app.get_auth("/profile/123/", access).await,
        403,
        "permission_denied",
    );
    assert_problem(
        &app.get_auth("/profile/abc/", access).await,
        404,
        "not_found",
    );
}

/// With no grace, a retired token presented again revokes at once
/// (tests/sessions.rs has the grace).
async fn refresh_tokens_rotate_and_reuse_revokes_the_session(backend: Backend) {
    let settings = [NO_COOLDOWN, &[("REFRESH_REUSE_GRACE_SECONDS", "0")]].concat();
    let app = spawn_app(backend, &settings).await;
    let login = app.login(PHONE).await.body;
    let first = str_of(&login, "refresh").to_owned();

    assert_problem(
        &app.post(
            "/token/refresh/",
            json!({"refresh": str_of(&login, "access")}),
        )
        .await,
        401,
        "token_not_valid",
    );
    assert_problem(
        &app.post("/token/refresh/", json!({"refresh": "x.y.z"}))
            .await,
        401,
        "token_not_valid",
    );
    assert_problem(
        &app.post("/token/refresh/", json!({})).await,
        400,
        "invalid_request",
    );
    assert_problem(
        &app.post("/token/refresh/", json!({"refresh": 5})).await,
        400,
        "invalid_request",
    );

    let second = app.post("/token/refresh/", json!({"refresh": first})).await;
    assert_eq!(second.status, 200);
    let second = str_of(&second.body, "refresh").to_owned();
    assert_problem(
        &app.post("/token/refresh/", json!({"refresh": first})).await,
        401,
        "token_not_valid",
    );
    // The reuse revoked the whole session, including the newest token.
    assert_problem(
        &app.post("/token/refresh/", json!({"refresh": second}))
            .await,
        401,
        "token_not_valid",
    );

    // Revoking another session works at once.
    let other = app.login(PHONE).await.body;
    let refresh = str_of(&other, "refresh");
    assert_eq!(
        app.post("/token/revoke/", json!({"refresh": refresh}))
            .await
            .status,
        204
    );
    assert_problem(
        &app.post("/token/refresh/", json!({"refresh": refresh}))
            .await,
        401,
        "token_not_valid",
    );
}

async fn patch_invite(app: &api_tests::TestApp, user: &Value, code: &str) -> Reply {
    let path = format!("/profile/{}/", user["user_id"]);
    let request = app
        .http
        .patch(app.url(&path))
        .bearer_auth(str_of(user, "access"));
    app.send(request.json(&json!({ "inv": code }))).await
}

async fn invite_code_of(app: &api_tests::TestApp, user: &Value) -> String {
    let profile = app.get_auth("/profile/me/", str_of(user, "access")).await;
    str_of(&profile.body, "invite").to_owned()
}

async fn three_users_invite_one_another(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;
    // Joined in this order: a, then b, then c.
    let a = app.login("+79000000001").await.body;
    let b = app.login("+79000000002").await.body;
    let c = app.login("+79000000003").await.body;
    let (a_code, b_code, c_code) = (
        invite_code_of(&app, &a).await,
        invite_code_of(&app, &b).await,
        invite_code_of(&app, &c).await,
    );

    // b enters a's code, typed in lower case.
    let reply = patch_invite(&app, &b, &a_code.to_lowercase()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["inv"], a_code.as_str());
    assert_eq!(reply.body["inv_phone"], "+79000000001");
    assert_eq!(reply.body["parent_invite"], a["user_id"]);
    assert_eq!(reply.body["id"], b["user_id"]);

    assert_problem(
        &patch_invite(&app, &b, &c_code).await,
        409,
        "invite_already_activated",
    );
    assert_problem(&patch_invite(&app, &c, &c_code).await, 400, "invite_self");
    assert_problem(
        &patch_invite(&app, &c, "ZZZZZZ").await,
        404,
        "invite_not_found",
    );
    assert_problem(
        &patch_invite(&app, &c, "not a code").await,
        404,
        "invite_not_found",
    );
    // a joined before c: a cannot have been invited by c.
    assert_problem(
        &patch_invite(&app, &a, &c_code).await,
        409,
        "invite_not_allowed",
    );
    // Nor by b, who was invited by a: no cycles.
    assert_problem(
        &patch_invite(&app, &a, &b_code).await,
        409,
        "invite_not_allowed",
    );
    let others = app
        .send(
            app.http
                .patch(app.url(&format!("/profile/{}/", a["user_id"])))
                .bearer_auth(str_of(&c, "access"))
                .json(&json!({"inv": b_code})),
        )
        .await;
    assert_problem(&others, 403, "permission_denied");
    let missing = app
        .send(
            app.http
                .patch(app.url("/profile/me/"))
                .bearer_auth(str_of(&c, "access"))
                .json(&json!({})),
        )
        .await;
    assert_problem(&missing, 400, "invalid_request");

    assert_eq!(patch_invite(&app, &c, &b_code).await.status, 200);

    let a_profile = app
        .get_auth("/profile/me/", str_of(&a, "access"))
        .await
        .body;
    assert_eq!(a_profile["referrals_count"], 1);
    assert_eq!(a_profile["referrals"][0]["id"], b["user_id"]);
    assert_eq!(a_profile["referrals"][0]["phone"], "+79000000002");
    assert!(a_profile["referrals"][0]["date"].is_string());
    assert_eq!(a_profile["inv"], Value::Null);
    let b_profile = app
        .get_auth("/profile/me/", str_of(&b, "access"))
        .await
        .body;
    assert_eq!(
        (
            b_profile["referrals_count"].as_u64(),
            b_profile["referrals"][0]["id"].as_u64()
        ),
        (Some(1), c["user_id"].as_u64())
    );
    assert_eq!(b_profile["inv"], a_code.as_str());
    let c_profile = app
        .get_auth("/profile/me/", str_of(&c, "access"))
        .await
        .body;
    assert_eq!(
        (
            c_profile["referrals_count"].as_u64(),
            c_profile["parent_invite"].as_u64()
        ),
        (Some(0), b["user_id"].as_u64())
    );
}

async fn referrals_page_with_a_signed_cursor(backend: Backend) {
    let app = spawn_app(backend, NO_COOLDOWN).await;
    let owner = app.login("+79000000010").await.body;
    let code = invite_code_of(&app, &owner).await;
    let mut invited = Vec::new();
    for i in 0..3 {
        let user = app.login(&format!("+7900000002{i}")).await.body;
        assert_eq!(patch_invite(&app, &user, &code).await.status, 200);
        invited.push(user["user_id"].clone());
    }
    let access = str_of(&owner, "access");
    let mut seen = Vec::new();
    let mut path = "/profile/me/?referrals_limit=2".to_owned();
    loop {
        let page = app.get_auth(&path, access).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(page.body["referrals_count"], 3);
        seen.extend(
            page.body["referrals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone()),
        );
        match page.body["referrals_next"].as_str() {
            Some(cursor) => {
                path = format!("/profile/me/?referrals_limit=2&referrals_cursor={cursor}")
            }
            None => break,
        }
    }
    invited.reverse();
    assert_eq!(seen, invited, "newest first, each once");

    let first = app
        .get_auth("/profile/me/?referrals_limit=1", access)
        .await
        .body;
    let cursor = str_of(&first, "referrals_next").to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "garbage", "a.b"] {
        let reply = app
            .get_auth(&format!("/profile/me/?referrals_cursor={bad}"), access)
            .await;
        assert_problem(&reply, 400, "invalid_request");
    }
    // Another user's cursor does not open this user's list, nor the reverse.
    let stranger = app.login("+79000000099").await.body;
    let reply = app
        .get_auth(
            &format!("/profile/me/?referrals_cursor={cursor}"),
            str_of(&stranger, "access"),
        )
        .await;
    assert_problem(&reply, 400, "invalid_request");
    for limit in ["0", "101", "-1", "x"] {
        let reply = app
            .get_auth(&format!("/profile/me/?referrals_limit={limit}"), access)
            .await;
        assert_problem(&reply, 400, "invalid_request");
    }
}

/// Each refusal says what is wrong: a missing field the same way for every
/// field, the `+` a national number needs, the scheme a token needs, and
/// the `code` a DELETE without a body lacks.
async fn errors_say_what_is_wrong(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    for (path, body, field, code) in [
        ("/phone/", json!({}), "phone", "invalid_phone"),
        (
            "/code/",
            json!({"code": "123456"}),
            "phone",
            "invalid_phone",
        ),
        ("/code/", json!({"phone": PHONE}), "code", "invalid_request"),
        ("/token/refresh/", json!({}), "refresh", "invalid_request"),
        (
            "/token/revoke/",
            json!({"refresh": null}),
            "refresh",
            "invalid_request",
        ),
    ] {
        let reply = app.post(path, body).await;
        assert_problem(&reply, 400, code);
        let said = format!("The field `{field}` is required.");
        assert_eq!(reply.body["detail"], said.as_str(), "{path}");
        assert_eq!(reply.body["errors"], json!({ field: [said] }), "{path}");
    }

    let national = app.post("/phone/", json!({"phone": "89123456789"})).await;
    assert_problem(&national, 400, "invalid_phone");
    let detail = str_of(&national.body, "detail");
    assert!(
        detail.contains("+") && detail.contains("DEFAULT_REGION"),
        "{detail}"
    );
    // With a region to read it in, the number is taken.
    let regional = spawn_app(backend, &[("DEFAULT_REGION", "RU")]).await;
    let sent = regional
        .post("/phone/", json!({"phone": "89123456789"}))
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    // A number with `+` that is not one says only that.
    let invalid = app.post("/phone/", json!({"phone": "+7912"})).await;
    assert_eq!(invalid.body["detail"], "Enter a valid phone number.");

    let user = app.login(PHONE).await;
    let access = str_of(&user.body, "access");
    let token_scheme = app
        .send(
            app.http
                .get(app.url("/profile/me/"))
                .header("Authorization", format!("Token {access}")),
        )
        .await;
    assert_problem(&token_scheme, 401, "not_authenticated");
    assert!(
        str_of(&token_scheme.body, "detail").contains("Bearer"),
        "{:?}",
        token_scheme.body
    );
    let none = app.send(app.http.get(app.url("/profile/me/"))).await;
    assert_eq!(
        none.body["detail"],
        "Authentication credentials were not provided."
    );

    let delete = app
        .send(app.http.delete(app.url("/profile/me/")).bearer_auth(access))
        .await;
    assert_problem(&delete, 400, "invalid_request");
    assert_eq!(delete.body["detail"], "The field `code` is required.");
    let profile = app.get_auth("/profile/me/", access).await;
    assert_eq!(profile.status, 200, "nothing was deleted");
}

/// The account oracle, as a property: any input at `/phone/` and `/code/`
/// answers the same whether or not someone has the number its digits
/// spell (the one documented exception, a possible-but-invalid number an
/// imported user has, cannot be made over the API). Two servers, one where
/// the number has an account and one where it has none, see the same
/// requests in the same order, so their limits stay in step.
async fn no_input_tells_whether_an_account_exists(backend: Backend) {
    let settings = [
        ("RESEND_COOLDOWN_SECONDS", "0"),
        ("PHONE_MAX_SENDS_PER_HOUR", "100"),
        ("IP_MAX_SENDS_PER_HOUR", "1000"),
    ];
    let with_account = spawn_app(backend, &settings).await;
    with_account.login(PHONE).await;
    let without = spawn_app(backend, &settings).await;
    // A live code for the number on both, with no tries spent.
    for app in [&with_account, &without] {
        assert_eq!(
            app.post("/phone/", json!({"phone": PHONE})).await.status,
            200
        );
    }
    let digits = PHONE.trim_start_matches('+');
    let mut inputs: Vec<String> = vec![
        format!("{PHONE}x"),
        format!("x{PHONE}"),
        format!("{PHONE}#"),
        format!("{PHONE} ext. 1"),
        format!("+{digits}\u{0}"),
        format!("+７{}", &digits[1..]),
        format!("tel:{PHONE}"),
        format!("{PHONE};"),
        format!("+{}-{}", &digits[..4], &digits[4..]),
        format!("+{} {}", &digits[..1], &digits[1..]),
        format!("({PHONE})"),
        digits.to_owned(),
        format!("00{digits}"),
        format!("8{}", &digits[1..]),
        format!("{PHONE}0"),
        PHONE[..PHONE.len() - 1].to_owned(),
    ];
    // And every input made by putting one character of a mixed alphabet
    // at every place of the number.
    for (i, extra) in "a.-x /+٣_".chars().enumerate() {
        let at = (i * 3) % PHONE.len();
        inputs.push(format!("{}{extra}{}", &PHONE[..at], &PHONE[at..]));
    }
    for input in inputs {
        for (path, body) in [
            ("/code/", json!({"phone": input, "code": "x"})),
            ("/code/", json!({"phone": input, "code": "123456"})),
            ("/phone/", json!({"phone": input})),
        ] {
            let a = with_account.post(path, body.clone()).await;
            let b = without.post(path, body).await;
            assert_eq!(
                (a.status, &a.body["code"]),
                (b.status, &b.body["code"]),
                "{path} {input:?}"
            );
        }
    }
}

api_tests::on_both_backends!(
    no_input_tells_whether_an_account_exists,
    errors_say_what_is_wrong,
    seed_flow_phone_code_profile_refresh,
    paths_work_with_and_without_the_trailing_slash,
    bad_bodies_are_problems,
    unknown_routes_and_methods_are_problems,
    codes_are_checked_single_use_and_expire_on_read,
    answers_do_not_tell_whether_a_phone_has_an_account,
    profiles_need_the_owner_s_access_token,
    refresh_tokens_rotate_and_reuse_revokes_the_session,
    three_users_invite_one_another,
    referrals_page_with_a_signed_cursor,
);

/// The try-it page is the dev server's own (the Lambda crates do not link
/// it), allowed to run only its own script and style; `tests/browser`
/// drives it in Chromium.
#[tokio::test]
async fn the_dev_server_serves_the_try_it_page() {
    let app = spawn_app(Backend::Memory, &[]).await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| page.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("cache-control"), "no-store");
    let policy = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    for (path, content_type) in [
        ("/page/app.js", "text/javascript; charset=utf-8"),
        ("/page/app.css", "text/css; charset=utf-8"),
    ] {
        assert!(
            html.contains(&format!("\"{path}\"")),
            "the page links {path}"
        );
        let file = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{path}");
        assert_eq!(file.headers()["content-type"], content_type);
        assert!(!file.text().await.unwrap().is_empty());
    }

    let head = app.http.head(app.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        html.len().to_string().as_str()
    );
    assert!(head.bytes().await.unwrap().is_empty());
    let post = app.send(app.http.post(app.url("/"))).await;
    assert_problem(&post, 405, "method_not_allowed");
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let missing = app.send(app.http.get(app.url("/page/missing.js"))).await;
    assert_problem(&missing, 404, "not_found");
}
