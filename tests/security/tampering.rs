//! Tokens that must never be accepted: every one answers 401 on the profile
//! and on refresh, and none answers 5xx.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use api_tests::on_both_backends;
use api_tests::{Backend, PHONE, spawn_app};

/// What `api_tests::config` signs with.
const SECRET: &[u8] = b"test-signing-key-test-signing-key-0001";
const KID: &str = "test-key";

fn sign(alg: Algorithm, kid: &str, secret: &[u8], claims: &Value) -> String {
    phone_auth::domain::token::install_crypto_provider();
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Claims shaped like a real token's, for `user_id`, expiring `exp_in`
/// seconds from now.
fn claims(token_type: &str, user_id: &Value, exp_in: i64, sid: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({"token_type": token_type, "exp": now + exp_in, "iat": now, "jti": "forged", "user_id": user_id, "sid": sid})
}

/// Every forged variant of a token of type `token_type`.
fn corpus(valid: &str, token_type: &str, user_id: &Value, sid: &str) -> Vec<(String, String)> {
    let good = claims(token_type, user_id, 300, sid);
    let other_type = if token_type == "access" {
        "refresh"
    } else {
        "access"
    };
    let mut parts = valid.split('.');
    let (header, _payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut altered = good.clone();
    altered["user_id"] = json!(user_id.as_u64().unwrap() ^ 1);
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(good["iat"].as_i64().unwrap() + 600);
    let mut from_future = good.clone();
    from_future["iat"] = json!(good["iat"].as_i64().unwrap() + 3600);
    from_future["exp"] = json!(good["iat"].as_i64().unwrap() + 7200);
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut string_user = good.clone();
    string_user["user_id"] = json!(user_id.to_string());
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": KID})),
        b64(&good)
    );
    let alg_none_upper = format!(
        "{}.{}.",
        b64(&json!({"alg": "NONE", "kid": KID})),
        b64(&good)
    );
    vec![
        ("alg none".into(), alg_none),
        ("alg NONE".into(), alg_none_upper),
        (
            "HS256 with a wrong key".into(),
            sign(
                Algorithm::HS256,
                KID,
                b"another-secret-another-secret-00000",
                &good,
            ),
        ),
        (
            "HS384 with the right key".into(),
            sign(Algorithm::HS384, KID, SECRET, &good),
        ),
        (
            "HS512 with the right key".into(),
            sign(Algorithm::HS512, KID, SECRET, &good),
        ),
        (
            "altered payload".into(),
            format!("{header}.{}.{signature}", b64(&altered)),
        ),
        (
            "expired".into(),
            sign(
                Algorithm::HS256,
                KID,
                SECRET,
                &claims(token_type, user_id, -1, sid),
            ),
        ),
        (
            "not yet valid".into(),
            sign(Algorithm::HS256, KID, SECRET, &not_yet),
        ),
        (
            "issued in the future".into(),
            sign(Algorithm::HS256, KID, SECRET, &from_future),
        ),
        (
            "no exp".into(),
            sign(Algorithm::HS256, KID, SECRET, &no_exp),
        ),
        (
            "user_id as text".into(),
            sign(Algorithm::HS256, KID, SECRET, &string_user),
        ),
        (
            "wrong token_type".into(),
            sign(
                Algorithm::HS256,
                KID,
                SECRET,
                &claims(other_type, user_id, 300, sid),
            ),
        ),
        (
            "unknown kid".into(),
            sign(Algorithm::HS256, "k-unknown", SECRET, &good),
        ),
        ("no kid".into(), {
            let header = Header::new(Algorithm::HS256);
            phone_auth::domain::token::install_crypto_provider();
            jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(SECRET)).unwrap()
        }),
        ("truncated".into(), valid[..valid.len() - 4].to_owned()),
        (
            "signature dropped".into(),
            format!("{header}.{}.", valid.split('.').nth(1).unwrap()),
        ),
        ("garbage".into(), "garbage".into()),
        ("three dots".into(), "a.b.c".into()),
        ("huge".into(), "A".repeat(3000)),
        ("unicode".into(), "🙂.🙂.🙂".into()),
    ]
}

async fn tampered_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let login = app.login(PHONE).await.body;
    let user_id = &login["user_id"];
    let access = login["access"].as_str().unwrap();
    let refresh = login["refresh"].as_str().unwrap();
    let sid = jsonwebtoken::dangerous::insecure_decode::<Value>(refresh)
        .unwrap()
        .claims["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    for (name, token) in corpus(access, "access", user_id, &sid) {
        let reply = app.get_auth("/profile/me/", &token).await;
        assert_eq!(reply.status, 401, "{name}: {:?}", reply.body);
        // A header that is not visible ASCII cannot be read as credentials.
        let expected = if token.is_ascii() {
            "token_not_valid"
        } else {
            "not_authenticated"
        };
        assert_eq!(reply.code(), expected, "{name}");
    }
    for (name, token) in corpus(refresh, "refresh", user_id, &sid) {
        let reply = app.post("/token/refresh/", json!({"refresh": token})).await;
        assert_eq!(reply.status, 401, "{name}: {:?}", reply.body);
        assert_eq!(reply.code(), "token_not_valid", "{name}");
    }

    // Wrong schemes are not credentials at all.
    for header in [
        format!("Token {access}"),
        format!("Basic {access}"),
        "Bearer".into(),
        "Bearer ".into(),
        access.to_owned(),
    ] {
        let reply = app
            .send(
                app.http
                    .get(app.url("/profile/me/"))
                    .header("authorization", header.clone()),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (401, "not_authenticated"),
            "{header:?}"
        );
    }
    // The scheme is case-insensitive (RFC 9110), and the real tokens still work.
    let lower = app
        .send(
            app.http
                .get(app.url("/profile/me/"))
                .header("authorization", format!("bearer {access}")),
        )
        .await;
    assert_eq!(lower.status, 200);
    assert_eq!(
        app.post("/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
}

/// The Django system's key opens old sessions of imported users only: a
/// refresh token in its format for a user who signed up here answers 401,
/// however old its `iat`, and mints no session.
async fn the_old_key_opens_no_account_that_signed_up_here(backend: Backend) {
    const OLD_KEY: &str = "old-django-key-old-django-key-old-django-key";
    let app = spawn_app(backend, &[("LEGACY_JWT_SIGNING_KEY", OLD_KEY)]).await;
    let user = app.login(PHONE).await;
    let id = user.body["user_id"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (jti, iat) in [("old-1", now - 86_400 * 365), ("old-2", now)] {
        // As SimpleJWT writes them: `user_id` a string, no `sid`.
        let old = json!({"token_type": "refresh", "exp": now + 86_400, "iat": iat,
                         "jti": jti, "user_id": id.to_string()});
        let token = sign(Algorithm::HS256, "", OLD_KEY.as_bytes(), &old);
        let reply = app
            .post("/token/refresh/", json!({ "refresh": token }))
            .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (401, Some("token_not_valid")),
            "{jti}: {:?}",
            reply.body
        );
    }
}

on_both_backends!(
    tampered_tokens_are_401,
    the_old_key_opens_no_account_that_signed_up_here,
);
