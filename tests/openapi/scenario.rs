//! Drives every documented response out of a dev server, keeping each
//! answer under the document's path it belongs to.

use std::sync::Arc;

use api_tests::{
    ADMIN_TOKEN, Backend, FaultyStore, FlakySms, OTHER_PHONE, PHONE, Reply, TestApp, TestClock,
    code_in, config, spawn_server,
};
use http::Method;
use phone_auth::error::Error;
use serde_json::{Value, json};

use super::spec::Where;

/// What one request answered, and where in the document it belongs.
pub struct Seen {
    pub place: Where,
    pub status: u16,
    pub reply: Reply,
}

/// Sends requests and keeps every answer, under its documented path.
struct Recorder<'a> {
    app: &'a TestApp,
    seen: Vec<Seen>,
}

impl Recorder<'_> {
    /// `path` is the request's; `template` the document's path it matches.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        template: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> &Reply {
        let app = self.app;
        let mut request = app.http.request(method.clone(), app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let reply = app.send(request).await;
        let status = reply.status;
        self.seen.push(Seen {
            place: Where::new(template, &method, status),
            status,
            reply,
        });
        &self.seen.last().unwrap().reply
    }

    async fn post(&mut self, template: &str, body: Value) -> &Reply {
        self.send(
            Method::POST,
            template,
            template,
            None,
            Some(json_bytes(&body)),
        )
        .await
    }

    async fn profile(&mut self, method: Method, id: &str, token: &str, body: Value) -> &Reply {
        let body = (method != Method::GET).then(|| json_bytes(&body));
        self.send(
            method,
            &format!("/profile/{id}/"),
            "/profile/{id}/",
            Some(token),
            body,
        )
        .await
    }

    /// A step of a phone change, for profile `id`, with the caller's token.
    async fn change_phone(
        &mut self,
        step: PhoneStep,
        id: &str,
        token: &str,
        body: Value,
    ) -> &Reply {
        let template = step.template();
        let path = template.replace("{id}", id);
        let body = Some(json_bytes(&body));
        self.send(Method::POST, &path, template, Some(token), body)
            .await
    }

    /// A whole login; the tokens and the profile's id and invite code.
    async fn login(&mut self, phone: &str) -> Login {
        assert_eq!(
            self.post("/phone/", json!({"phone": phone})).await.status,
            200
        );
        let code = self.app.last_code(phone).await;
        let reply = self
            .post("/code/", json!({"phone": phone, "code": code}))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let access = reply.body["access"].as_str().unwrap().to_owned();
        let refresh = reply.body["refresh"].as_str().unwrap().to_owned();
        let profile = &self
            .profile(Method::GET, "me", &access, Value::Null)
            .await
            .body;
        Login {
            id: profile["id"].to_string(),
            invite: profile["invite"].as_str().unwrap().to_owned(),
            access,
            refresh,
        }
    }
}

#[derive(Clone, Copy)]
enum PhoneStep {
    Send,
    Verify,
}

impl PhoneStep {
    fn template(self) -> &'static str {
        match self {
            PhoneStep::Send => "/profile/{id}/phone/",
            PhoneStep::Verify => "/profile/{id}/phone/verify/",
        }
    }
}

struct Login {
    access: String,
    refresh: String,
    id: String,
    invite: String,
}

fn json_bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap()
}

/// A different code of the same length.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// Drives every documented response out of the dev server: each status,
/// each problem code, each optional key and header.
pub async fn scenario() -> Vec<Seen> {
    let handle = Backend::Memory.store().await;
    let store = Arc::new(FaultyStore::new(handle.store()));
    let sms = Arc::new(FlakySms::default());
    let clock = TestClock::new();
    // RS256, so that the JWKS holds a key.
    let settings = config(&[
        ("ALLOWED_COUNTRY_CODES", "RU"),
        ("MAX_CODE_ATTEMPTS", "1"),
        // Above the failed tries this scenario makes before it asks for
        // the limit's own answer.
        ("IP_MAX_FAILED_CODES_PER_HOUR", "4"),
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PRIVATE_KEY", &api_tests::rsa_key(0).0),
    ]);
    let app = spawn_server(
        Backend::Memory,
        handle,
        store.clone(),
        sms.clone(),
        settings,
        clock.clone(),
    )
    .await;
    let mut r = Recorder {
        app: &app,
        seen: Vec::new(),
    };

    // Three users, each joining a minute after the one before.
    let first = r.login(OTHER_PHONE).await;
    clock.advance_secs(60);
    let caller = r.login(PHONE).await;
    clock.advance_secs(60);
    let last = r.login("+79005556677").await;

    for template in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        r.send(Method::GET, template, template, None, None).await;
        r.send(Method::POST, template, template, None, None).await;
    }

    let too_large = format!("{{\"phone\": \"{}\"}}", " ".repeat(5000)).into_bytes();
    let not_allowed = "+447911123456";
    for template in ["/phone/", "/code/", "/token/refresh/", "/token/revoke/"] {
        r.send(Method::GET, template, template, None, None).await;
        r.send(
            Method::POST,
            template,
            template,
            None,
            Some(too_large.clone()),
        )
        .await;
        r.send(Method::POST, template, template, None, Some(b"[]".to_vec()))
            .await;
    }
    for method in [Method::GET, Method::PATCH] {
        let token = Some(caller.access.as_str());
        let at = "/profile/{id}/";
        let big = Some(too_large.clone());
        r.send(method.clone(), "/profile/me/", at, token, big).await;
        let bad_limit = "/profile/me/?referrals_limit=0";
        r.send(method.clone(), bad_limit, at, token, Some(b"{}".to_vec()))
            .await;
        let bad_cursor = "/profile/me/?referrals_cursor=x";
        r.send(method.clone(), bad_cursor, at, token, Some(b"{}".to_vec()))
            .await;
        r.send(method.clone(), "/profile/me/", at, None, None).await;
        let forged = Some("not.a.token");
        r.send(method.clone(), "/profile/me/", at, forged, None)
            .await;
        r.profile(
            method.clone(),
            &first.id,
            &caller.access,
            json!({"inv": first.invite}),
        )
        .await;
        r.profile(
            method,
            "nobody",
            &caller.access,
            json!({"inv": first.invite}),
        )
        .await;
    }
    r.send(Method::PUT, "/profile/me/", "/profile/{id}/", None, None)
        .await;

    // Sending codes.
    r.post("/phone/", json!({"phone": "12345"})).await;
    r.post("/phone/", json!({"phone": not_allowed})).await;
    // The last user was sent a code just now: the resend cooldown holds.
    r.post("/phone/", json!({"phone": "+79005556677"})).await;
    sms.set_failing(true);
    r.post("/phone/", json!({"phone": "+79005550001"})).await;
    sms.set_failing(false);

    // Entering codes.
    r.post("/code/", json!({"phone": "12345", "code": "123456"}))
        .await;
    r.post("/code/", json!({"phone": not_allowed, "code": "123456"}))
        .await;
    r.post("/code/", json!({"phone": "+79005550002", "code": "123456"}))
        .await;
    let burned = "+79005550003";
    r.post("/phone/", json!({"phone": burned})).await;
    let code = code_in(app.sent_sms(burned).await.last().unwrap());
    for _ in 0..2 {
        r.post("/code/", json!({"phone": burned, "code": wrong(&code)}))
            .await;
    }

    // Invites: the caller's own, a later user's, a code nobody has, a good
    // one, and a second one.
    let me = "me";
    let token = caller.access.as_str();
    for inv in [
        caller.invite.as_str(),
        &last.invite,
        "ZZZZZZ",
        &first.invite,
        &first.invite,
    ] {
        r.profile(Method::PATCH, me, token, json!({"inv": inv}))
            .await;
    }
    r.profile(Method::PATCH, me, token, json!({})).await;
    r.profile(Method::GET, &caller.id, token, Value::Null).await;
    // The inviter's page lists the caller, with a cursor to a next page.
    let page = "/profile/me/?referrals_limit=1";
    r.send(
        Method::GET,
        page,
        "/profile/{id}/",
        Some(&first.access),
        None,
    )
    .await;

    // Tokens.
    for template in ["/token/refresh/", "/token/revoke/"] {
        r.post(template, json!({})).await;
        r.post(template, json!({"refresh": caller.access})).await;
    }
    r.post("/token/refresh/", json!({"refresh": caller.refresh}))
        .await;
    r.post("/token/revoke/", json!({"refresh": first.refresh}))
        .await;

    // Devices: the list, one logged out, then gone; and every refusal.
    let device = r.login("+79005550020").await;
    let (list, one) = ("/sessions/", "/sessions/{id}/");
    let token = Some(device.access.as_str());
    let listed = r.send(Method::GET, list, list, token, None).await;
    let id = listed.body["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/sessions/{id}/");
    for (method, path, template) in [(Method::GET, list, list), (Method::DELETE, &path, one)] {
        r.send(method.clone(), path, template, None, None).await;
        r.send(method.clone(), path, template, Some("not.a.token"), None)
            .await;
        r.send(
            method.clone(),
            path,
            template,
            token,
            Some(too_large.clone()),
        )
        .await;
        r.send(Method::POST, path, template, token, None).await;
    }
    r.send(Method::DELETE, &path, one, token, None).await;
    r.send(Method::DELETE, &path, one, token, None).await;

    // The admin API: every answer of every route, then a disabled
    // account's refusals everywhere.
    let subject = r.login("+79005550300").await;
    // Someone who joined later activates the subject's code: a referral.
    clock.advance_secs(1);
    let referral = r.login("+79005550302").await;
    let inv = json!({"inv": subject.invite});
    let activated = r.profile(Method::PATCH, me, &referral.access, inv).await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    admin_api(&mut r, &subject, &too_large).await;
    let disabled_phone = "+79005550301";
    let disabled = r.login(disabled_phone).await;
    let path = format!("/admin/users/{}/disable/", disabled.id);
    let body = Some(json_bytes(&json!({"reason": "scenario"})));
    let admin = Some(ADMIN_TOKEN);
    r.send(
        Method::POST,
        &path,
        "/admin/users/{id}/disable/",
        admin,
        body,
    )
    .await;
    let token = disabled.access.as_str();
    for method in [Method::GET, Method::PATCH] {
        r.profile(method, me, token, json!({"inv": first.invite}))
            .await;
    }
    r.profile(Method::DELETE, me, token, json!({"code": "123456"}))
        .await;
    r.send(Method::GET, "/sessions/", "/sessions/", Some(token), None)
        .await;
    let some = "/sessions/0123456789abcdef0123456789abcdef/";
    r.send(Method::DELETE, some, "/sessions/{id}/", Some(token), None)
        .await;
    let elsewhere = json!({"phone": "+79005550303", "code": "123456"});
    r.change_phone(PhoneStep::Send, me, token, elsewhere.clone())
        .await;
    r.change_phone(PhoneStep::Verify, me, token, elsewhere)
        .await;
    clock.advance_secs(61);
    r.post("/phone/", json!({"phone": disabled_phone})).await;
    let code = code_in(app.sent_sms(disabled_phone).await.last().unwrap());
    r.post("/code/", json!({"phone": disabled_phone, "code": code}))
        .await;

    phone_changes(&mut r, &clock, &sms, &first, &too_large).await;

    // Deleting an account: every refusal, then the deletion, then again.
    let doomed_phone = "+79005550010";
    let doomed = r.login(doomed_phone).await;
    let delete = |code: &str| json!({ "code": code });
    let at = "/profile/{id}/";
    let token = doomed.access.as_str();
    r.profile(Method::DELETE, me, token, json!({})).await;
    // The login used its code: none is live.
    r.profile(Method::DELETE, me, token, delete("123456")).await;
    r.profile(Method::DELETE, &first.id, token, delete("123456"))
        .await;
    r.send(Method::DELETE, "/profile/me/", at, None, None).await;
    let forged = Some("not.a.token");
    r.send(Method::DELETE, "/profile/me/", at, forged, None)
        .await;
    let big = Some(too_large.clone());
    r.send(Method::DELETE, "/profile/me/", at, Some(token), big)
        .await;
    clock.advance_secs(61);
    r.post("/phone/", json!({"phone": doomed_phone})).await;
    let code = code_in(app.sent_sms(doomed_phone).await.last().unwrap());
    for _ in 0..2 {
        r.profile(Method::DELETE, me, token, delete(&wrong(&code)))
            .await;
    }
    clock.advance_secs(61);
    r.post("/phone/", json!({"phone": doomed_phone})).await;
    let code = code_in(app.sent_sms(doomed_phone).await.last().unwrap());
    r.profile(Method::DELETE, me, token, delete(&code)).await;
    r.profile(Method::DELETE, me, token, delete(&code)).await;

    // Failed tries from one source, across phones, up to its limit: then
    // neither /code/ nor DELETE checks another.
    for i in 0..4 {
        let phone = format!("+7900555003{i}");
        r.post("/phone/", json!({ "phone": phone })).await;
        let code = code_in(app.sent_sms(&phone).await.last().unwrap());
        let reply = r
            .post("/code/", json!({"phone": phone, "code": wrong(&code)}))
            .await;
        if reply.status == 429 {
            break;
        }
    }
    let token = last.access.as_str();
    r.profile(Method::DELETE, me, token, json!({"code": "123456"}))
        .await;
    let unchecked = json!({"phone": "+79005550304", "code": "123456"});
    r.change_phone(PhoneStep::Verify, me, token, unchecked)
        .await;

    // Sends from one source past its soft limit: a challenge to solve,
    // then the send with its solution, and one with a forged solution.
    let mut challenge = None;
    for i in 0..40 {
        let phone = format!("+790055501{i:02}");
        let reply = r.post("/phone/", json!({ "phone": phone })).await;
        if reply.body["code"] == "challenge_required" {
            challenge = Some(serde_json::from_value(reply.body["challenge"].clone()).unwrap());
            break;
        }
    }
    let challenge = challenge.expect("the soft limit asks for a challenge");
    let solved = phone_auth::domain::challenge::solve(&challenge).unwrap();
    let phone = "+79005550200";
    r.post("/phone/", json!({ "phone": phone, "challenge": solved }))
        .await;
    r.post(
        "/phone/",
        json!({ "phone": phone, "challenge": "Zm9yZ2Vk" }),
    )
    .await;
    let busy = json!({"phone": "+79005550305"});
    r.change_phone(PhoneStep::Send, me, &last.access, busy)
        .await;

    // The store fails every call: each operation's 503 and 500.
    let faults: [fn() -> Error; 2] = [
        || Error::StoreUnavailable("throttled".into()),
        || Error::Internal("broken".into()),
    ];
    for fault in faults {
        store.fail(Some(fault), None);
        r.post("/phone/", json!({"phone": "+79005550004"})).await;
        r.post("/code/", json!({"phone": PHONE, "code": "123456"}))
            .await;
        for method in [Method::GET, Method::PATCH] {
            r.profile(method, me, &last.access, json!({"inv": first.invite}))
                .await;
        }
        r.profile(Method::DELETE, me, &last.access, json!({"code": "123456"}))
            .await;
        r.post("/token/refresh/", json!({"refresh": last.refresh}))
            .await;
        r.post("/token/revoke/", json!({"refresh": last.refresh}))
            .await;
        let token = Some(last.access.as_str());
        r.send(Method::GET, "/sessions/", "/sessions/", token, None)
            .await;
        let some = "/sessions/0123456789abcdef0123456789abcdef/";
        r.send(Method::DELETE, some, "/sessions/{id}/", token, None)
            .await;
        let elsewhere = json!({"phone": "+79005550306", "code": "123456"});
        for step in [PhoneStep::Send, PhoneStep::Verify] {
            r.change_phone(step, me, &last.access, elsewhere.clone())
                .await;
        }
        for (method, template, path, body) in admin_routes(&subject.id) {
            r.send(method, &path, template, Some(ADMIN_TOKEN), body)
                .await;
        }
    }
    store.fail(None, None);
    let mut seen = r.seen;
    seen.extend(turnstile().await);
    seen
}

/// Changing the phone: every refusal of both steps, a burned code, a
/// send too soon, a failing SMS, a taken number, then the move.
async fn phone_changes(
    r: &mut Recorder<'_>,
    clock: &TestClock,
    sms: &FlakySms,
    holder: &Login,
    too_large: &[u8],
) {
    let (own, new) = ("+79005550400", "+79005550401");
    let mover = r.login(own).await;
    let token = mover.access.as_str();
    let me = "me";
    let to_new = json!({"phone": new, "code": "123456"});
    for step in [PhoneStep::Send, PhoneStep::Verify] {
        let template = step.template();
        let path = template.replace("{id}", me);
        let body = Some(json_bytes(&to_new));
        r.send(Method::POST, &path, template, None, body.clone())
            .await;
        r.change_phone(step, me, "not.a.token", to_new.clone())
            .await;
        r.change_phone(step, &holder.id, token, to_new.clone())
            .await;
        r.change_phone(step, "nobody", token, to_new.clone()).await;
        r.send(Method::GET, &path, template, Some(token), None)
            .await;
        let big = Some(too_large.to_vec());
        r.send(Method::POST, &path, template, Some(token), big)
            .await;
        for bad in [
            json!({"phone": "12", "code": "123456"}),
            json!({"phone": "+447911123456", "code": "123456"}),
            json!({"phone": own, "code": "123456"}),
        ] {
            r.change_phone(step, me, token, bad).await;
        }
    }
    // Verify: no code, and a code never sent.
    r.change_phone(PhoneStep::Verify, me, token, json!({"phone": new}))
        .await;
    r.change_phone(PhoneStep::Verify, me, token, to_new.clone())
        .await;

    // The send, one too soon, a wrong code twice (burned), a fresh code.
    let to = json!({"phone": new});
    r.change_phone(PhoneStep::Send, me, token, to.clone()).await;
    r.change_phone(PhoneStep::Send, me, token, to.clone()).await;
    let code = code_in(r.app.sent_sms(new).await.last().unwrap());
    let guess = json!({"phone": new, "code": wrong(&code)});
    for _ in 0..2 {
        r.change_phone(PhoneStep::Verify, me, token, guess.clone())
            .await;
    }
    clock.advance_secs(61);
    sms.set_failing(true);
    r.change_phone(PhoneStep::Send, me, token, to.clone()).await;
    sms.set_failing(false);

    // A number another account holds: refused after its code.
    let taken = OTHER_PHONE;
    let to_taken = json!({"phone": taken});
    r.change_phone(PhoneStep::Send, me, token, to_taken).await;
    let code = code_in(r.app.sent_sms(taken).await.last().unwrap());
    let right = json!({"phone": taken, "code": code});
    let refused = r.change_phone(PhoneStep::Verify, me, token, right).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);

    // The move.
    r.change_phone(PhoneStep::Send, me, token, to).await;
    let code = code_in(r.app.sent_sms(new).await.last().unwrap());
    let right = json!({"phone": new, "code": code});
    let moved = r.change_phone(PhoneStep::Verify, me, token, right).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
}

/// Each admin route, its path for the user `id` (the lookup by the
/// scenario's subject's phone), and a body it takes.
fn admin_routes(id: &str) -> Vec<(Method, &'static str, String, Option<Vec<u8>>)> {
    let disable = json_bytes(&json!({"reason": "scenario", "until": null}));
    let claims = json_bytes(&json!({"claims": {"role": "editor"}}));
    let routes = [
        (Method::GET, "/admin/users/", None),
        (Method::GET, "/admin/users/{id}/", None),
        (Method::POST, "/admin/users/{id}/disable/", Some(disable)),
        (Method::POST, "/admin/users/{id}/enable/", None),
        (Method::POST, "/admin/users/{id}/sign-out/", None),
        (Method::PUT, "/admin/users/{id}/claims/", Some(claims)),
        (Method::DELETE, "/admin/users/{id}/", None),
    ];
    routes
        .into_iter()
        .map(|(method, template, body)| {
            let path = match template {
                "/admin/users/" => format!("{template}?phone=%2B79005550300"),
                _ => template.replace("{id}", id),
            };
            (method, template, path, body)
        })
        .collect()
}

/// The admin API's answers: each route's refusals (no token, a user's
/// token, a body too large, a wrong method, an unknown user, a bad body),
/// then each route's success, the deletion last.
async fn admin_api(r: &mut Recorder<'_>, subject: &Login, too_large: &[u8]) {
    let admin = Some(ADMIN_TOKEN);
    for (method, template, path, body) in admin_routes(&subject.id) {
        r.send(method.clone(), &path, template, None, body.clone())
            .await;
        let user = Some(subject.access.as_str());
        r.send(method.clone(), &path, template, user, body.clone())
            .await;
        let big = Some(too_large.to_vec());
        r.send(method.clone(), &path, template, admin, big).await;
        r.send(Method::PATCH, &path, template, admin, None).await;
        if template == "/admin/users/" {
            r.send(method, "/admin/users/?phone=12", template, admin, None)
                .await;
            continue;
        }
        let missing = template.replace("{id}", "4242");
        r.send(method.clone(), &missing, template, admin, body.clone())
            .await;
        if body.is_some() {
            r.send(method, &path, template, admin, Some(b"{}".to_vec()))
                .await;
        }
    }
    for (method, template, path, body) in admin_routes(&subject.id) {
        let reply = r.send(method, &path, template, admin, body).await;
        assert!(reply.status < 300, "{template}: {:?}", reply.body);
    }
}

/// A deployment on Cloudflare Turnstile: its challenge names the provider
/// and the site key; a provider that cannot be reached is a 503.
async fn turnstile() -> Vec<Seen> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/siteverify", closed.local_addr().unwrap());
    drop(closed);
    let settings = config(&[
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SITE_KEY", "0x4AAAAAAA-site-key"),
        ("CAPTCHA_SECRET", "0x4AAAAAAA-secret"),
        ("CAPTCHA_VERIFY_URL", &url),
        ("CHALLENGE_MODE", "always"),
    ]);
    let app = api_tests::spawn_app_with(Backend::Memory, settings, TestClock::new()).await;
    let mut r = Recorder {
        app: &app,
        seen: Vec::new(),
    };
    r.post("/phone/", json!({"phone": "+79005550400"})).await;
    r.post(
        "/phone/",
        json!({"phone": "+79005550400", "challenge": "a-token"}),
    )
    .await;
    r.seen
}
