//! RS256 access tokens over HTTP: what the well-known documents publish,
//! forgeries refused, and a key rotation that logs nobody out. Verifiers
//! other people wrote (PyJWT, SimpleJWT) read the same tokens in
//! `tests/verifiers.py`.

use api_tests::{
    Backend, PHONE, StoreHandle, TestApp, assert_problem, config, rsa_key, spawn_app,
    spawn_on_store,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use phone_auth::config::Settings;
use phone_auth::domain::token::rsa::RsaSigningKey;
use phone_auth::domain::token::{RsaCurrent, RsaKeys, SigningKey, TokenKeys, Tokens};
use phone_auth::domain::user::UserId;
use phone_auth::ports::{Clock, SystemClock};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "example-app";
const HMAC_KEY: &str = "test-signing-key-test-signing-key-0001";

/// The settings of an RS256 deployment signing with key `index` as `kid`.
fn rs256(kid: &str, index: usize) -> Vec<(&'static str, String)> {
    vec![
        ("JWT_ALGORITHM", "RS256".into()),
        ("JWT_KEY_ID", kid.into()),
        ("JWT_PRIVATE_KEY", rsa_key(index).0.clone()),
        ("JWT_ISSUER", ISSUER.into()),
        ("JWT_AUDIENCE", AUDIENCE.into()),
        ("RESEND_COOLDOWN_SECONDS", "0".into()),
    ]
}

fn borrowed<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn spawn_rs256(store: &StoreHandle, pairs: &[(&'static str, String)]) -> TestApp {
    spawn_on_store(store, config(&borrowed(pairs))).await
}

async fn get(app: &TestApp, path: &str) -> api_tests::Reply {
    app.send(reqwest::Client::new().get(app.url(path))).await
}

/// The published key of `kid`, as a verifier would build it from the JWKS.
fn published_key(jwks: &Value, kid: &str) -> Option<DecodingKey> {
    let jwk = jwks["keys"].as_array()?.iter().find(|k| k["kid"] == kid)?;
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    DecodingKey::from_rsa_components(jwk["n"].as_str()?, jwk["e"].as_str()?).ok()
}

#[tokio::test]
async fn access_tokens_verify_with_the_published_key_alone() {
    let store = Backend::Memory.store().await;
    let app = spawn_rs256(&store, &rs256("k1", 0)).await;
    let login = app.login(PHONE).await.body;
    let access = login["access"].as_str().unwrap();

    let discovery = get(&app, "/.well-known/openid-configuration").await;
    assert_eq!(discovery.status, 200);
    assert_eq!(
        discovery.header("cache-control"),
        Some("public, max-age=300")
    );
    assert_eq!(discovery.body["issuer"], ISSUER);
    assert_eq!(
        discovery.body["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(
        discovery.body["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks = get(&app, "/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);

    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let key = published_key(&jwks.body, header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let claims = jsonwebtoken::decode::<Value>(access, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["user_id"], login["user_id"]);
    assert_eq!(claims["token_type"], "access");
    assert_eq!(app.get_auth("/profile/me/", access).await.status, 200);

    // Refresh tokens stay HS256, under the service's own key; a refresh
    // answers an RS256 access token.
    let refresh = login["refresh"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(refresh).unwrap().alg,
        Algorithm::HS256
    );
    let refreshed = app
        .post("/token/refresh/", json!({ "refresh": refresh }))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let renewed = refreshed.body["access"].as_str().unwrap();
    assert!(jsonwebtoken::decode::<Value>(renewed, &key, &validation).is_ok());
}

#[tokio::test]
async fn under_hs256_the_jwks_is_empty() {
    let app = spawn_app(Backend::Memory, &[]).await;
    let jwks = get(&app, "/.well-known/jwks.json").await;
    assert_eq!(jwks.body, json!({"keys": []}));
    let discovery = get(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        discovery.body["id_token_signing_alg_values_supported"],
        json!(["HS256"])
    );

    let posted = app.post("/.well-known/jwks.json", json!({})).await;
    assert_problem(&posted, 405, "method_not_allowed");
    assert_eq!(posted.header("allow"), Some("GET"));
}

fn hmac(kid: &str) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        secret: HMAC_KEY.as_bytes().to_vec(),
    }
}

/// Tokens signed as another deployment would: the same `kid`, any key.
fn minter(key: usize, issuer: &str, audience: Option<&str>) -> Tokens {
    Tokens::new(
        &TokenKeys {
            hmac_current: hmac("k1"),
            hmac_previous: None,
            rsa: Some(RsaKeys {
                current: RsaCurrent::Signing(
                    RsaSigningKey::from_pem("k1".into(), &rsa_key(key).0).unwrap(),
                ),
                previous: None,
            }),
            issuer: issuer.into(),
            audience: audience.map(str::to_owned),
            legacy: None,
        },
        300,
        3600,
    )
}

fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// `claims` signed with our own RSA key under our kid.
fn rs256_signed(claims: &Value) -> String {
    let message = unsigned(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}), claims);
    let signature = RsaSigningKey::from_pem("k1".into(), &rsa_key(0).0)
        .unwrap()
        .sign(message.as_bytes())
        .unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn forged_access_tokens_are_refused() {
    let store = Backend::Memory.store().await;
    let app = spawn_rs256(&store, &rs256("k1", 0)).await;
    let login = app.login(PHONE).await.body;
    let user = UserId(login["user_id"].as_u64().unwrap());
    let now = SystemClock.now();
    let access = login["access"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();

    // The same minter with our key is accepted: what follows fails for
    // the one thing each changes.
    let genuine = minter(0, ISSUER, Some(AUDIENCE));
    let token = genuine.issue_access(user, "s1", now).unwrap().token;
    assert_eq!(app.get_auth("/profile/me/", &token).await.status, 200);

    let mut without_iss = claims.clone();
    without_iss.as_object_mut().unwrap().remove("iss");
    phone_auth::domain::token::install_crypto_provider();
    let public_pem = rsa_key(0).1.as_bytes();
    let confused = jsonwebtoken::encode(
        &{
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("k1".into());
            header
        },
        &claims,
        &EncodingKey::from_secret(public_pem),
    )
    .unwrap();
    let forgeries = [
        (
            "another RSA key under our kid",
            minter(1, ISSUER, Some(AUDIENCE))
                .issue_access(user, "s1", now)
                .unwrap()
                .token,
        ),
        ("HS256 keyed with our public key", confused),
        ("no iss", rs256_signed(&without_iss)),
        (
            "another iss",
            minter(0, "https://evil.example.com", Some(AUDIENCE))
                .issue_access(user, "s1", now)
                .unwrap()
                .token,
        ),
        (
            "another aud",
            minter(0, ISSUER, Some("other-app"))
                .issue_access(user, "s1", now)
                .unwrap()
                .token,
        ),
        (
            "no aud",
            minter(0, ISSUER, None)
                .issue_access(user, "s1", now)
                .unwrap()
                .token,
        ),
        (
            "alg none",
            format!(
                "{}.",
                unsigned(json!({"alg": "none", "typ": "JWT", "kid": "k1"}), &claims)
            ),
        ),
        (
            "RS256 with the signature cut off",
            format!("{}.", access.rsplit_once('.').unwrap().0),
        ),
    ];
    for (what, token) in forgeries {
        let reply = app.get_auth("/profile/me/", &token).await;
        assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
        assert_eq!(reply.code(), "token_not_valid", "{what}");
    }

    // An RS256-signed refresh token is not one of ours either.
    let refresh_claims = json!({"token_type": "refresh", "exp": now.secs() + 600,
        "iat": now.secs(), "jti": "j", "user_id": user.0, "sid": "s", "iss": ISSUER});
    let rs_refresh = rs256_signed(&refresh_claims);
    let reply = app
        .post("/token/refresh/", json!({ "refresh": rs_refresh }))
        .await;
    assert_problem(&reply, 401, "token_not_valid");
}

#[tokio::test]
async fn rsa_keys_rotate_without_logging_anyone_out() {
    let store = Backend::Memory.store().await;
    let before = spawn_rs256(&store, &rs256("k1", 0)).await;
    let login = before.login(PHONE).await.body;
    let old_access = login["access"].as_str().unwrap();

    // k2 signs; k1's public half (and its HMAC key) still verify.
    let mut rotated = rs256("k2", 1);
    rotated.push(("JWT_PREVIOUS_KEY_ID", "k1".into()));
    rotated.push(("JWT_PREVIOUS_PUBLIC_KEY", rsa_key(0).1.clone()));
    rotated.push(("JWT_PREVIOUS_SIGNING_KEY", HMAC_KEY.into()));
    rotated.push((
        "JWT_SIGNING_KEY",
        "rotated-hmac-key-rotated-hmac-key-0002".into(),
    ));
    let after = spawn_rs256(&store, &rotated).await;
    assert_eq!(after.get_auth("/profile/me/", old_access).await.status, 200);
    let jwks = get(&after, "/.well-known/jwks.json").await.body;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k2", "k1"], "current first");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let previous = published_key(&jwks, "k1").unwrap();
    assert!(jsonwebtoken::decode::<Value>(old_access, &previous, &validation).is_ok());

    let refreshed = after
        .post("/token/refresh/", json!({"refresh": login["refresh"]}))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let new_access = refreshed.body["access"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(new_access)
            .unwrap()
            .kid
            .as_deref(),
        Some("k2")
    );

    // The previous key dropped: its tokens stop, the current ones work.
    let mut dropped = rs256("k2", 1);
    dropped.push((
        "JWT_SIGNING_KEY",
        "rotated-hmac-key-rotated-hmac-key-0002".into(),
    ));
    let later = spawn_rs256(&store, &dropped).await;
    assert_eq!(later.get_auth("/profile/me/", new_access).await.status, 200);
    assert_problem(
        &later.get_auth("/profile/me/", old_access).await,
        401,
        "token_not_valid",
    );
    let jwks = get(&later, "/.well-known/jwks.json").await.body;
    assert!(published_key(&jwks, "k1").is_none());
}

fn config_error(pairs: &[(&str, &str)]) -> phone_auth::config::ConfigError {
    let mut map: std::collections::HashMap<String, String> = [
        ("JWT_KEY_ID", "k1"),
        ("JWT_SIGNING_KEY", HMAC_KEY),
        ("CODE_HASH_SECRET", HMAC_KEY),
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_ISSUER", ISSUER),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::from_map(map).config().unwrap_err()
}

#[test]
fn bad_rsa_settings_are_named_without_their_values() {
    let (private, public) = rsa_key(0);
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[], "JWT_PRIVATE_KEY"),
        (&[("JWT_PRIVATE_KEY", "not a key")], "JWT_PRIVATE_KEY"),
        (&[("JWT_PRIVATE_KEY", public)], "JWT_PRIVATE_KEY"),
        (
            &[("JWT_PRIVATE_KEY", private), ("JWT_ALGORITHM", "ES256")],
            "JWT_ALGORITHM",
        ),
        (
            &[("JWT_PRIVATE_KEY", private), ("JWT_ISSUER", "")],
            "JWT_ISSUER",
        ),
        (
            &[
                ("JWT_PRIVATE_KEY", private),
                ("JWT_PREVIOUS_PUBLIC_KEY", public),
            ],
            "JWT_PREVIOUS_KEY_ID",
        ),
        (
            &[
                ("JWT_PRIVATE_KEY", private),
                ("JWT_PREVIOUS_KEY_ID", "k0"),
                ("JWT_PREVIOUS_PUBLIC_KEY", private),
            ],
            "JWT_PREVIOUS_PUBLIC_KEY",
        ),
    ];
    let body = |pem: &str| pem.lines().nth(1).unwrap().to_owned();
    for (pairs, name) in cases {
        let error = config_error(pairs);
        assert_eq!(error.name, name, "{pairs:?}: {error}");
        let text = error.to_string();
        assert!(!text.contains(&body(private)) && !text.contains(&body(public)));
    }
    let ok = [
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PRIVATE_KEY", private.as_str()),
        ("JWT_ISSUER", "https://auth.example.com/"),
    ];
    let config = config(&ok);
    assert_eq!(
        config.rules.secrets.jwt.issuer.as_str(),
        ISSUER,
        "a trailing slash is dropped"
    );
    assert!(!format!("{config:?}").contains(&body(private)));
}

/// An RSA key of fewer than 2048 bits is refused.
#[test]
fn short_rsa_keys_are_refused() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let short = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let pem = short.to_pkcs8_pem(LineEnding::LF).unwrap();
    let error = config_error(&[("JWT_PRIVATE_KEY", &pem)]);
    assert_eq!(error.name, "JWT_PRIVATE_KEY");
    assert!(error.to_string().contains("2048"), "{error}");
}

/// Least privilege: each function gets only the secrets it reads, and
/// stand-ins for the rest. `/phone/` reads no token key; the JWKS function
/// publishes from the public key alone and cannot sign; a function that
/// signs still stops at start-up without its key.
#[test]
fn each_function_starts_on_the_secrets_it_reads_alone() {
    use phone_auth::http::routes::Endpoint;
    use phone_auth::lambda::stand_in_for_unused_secrets;
    let started = |endpoint: Endpoint, pairs: &[(&str, &str)]| {
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("JWT_ISSUER".into(), ISSUER.into());
        let mut settings = Settings::from_map(map);
        stand_in_for_unused_secrets(endpoint, &mut settings);
        settings.config()
    };
    let hash = (
        "CODE_HASH_SECRET",
        "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh",
    );
    let rs256 = ("JWT_ALGORITHM", "RS256");
    assert!(started(Endpoint::PhoneEnter, &[hash, rs256]).is_ok());
    let signer = started(Endpoint::CodeEnter, &[hash, rs256]).unwrap_err();
    assert_eq!(signer.name, "JWT_KEY_ID");
    let revoke = started(Endpoint::TokenRevoke, &[("JWT_KEY_ID", "k1")]).unwrap_err();
    assert_eq!(revoke.name, "JWT_SIGNING_KEY");

    let public = &rsa_key(0).1;
    let jwks = started(
        Endpoint::WellKnown,
        &[rs256, ("JWT_KEY_ID", "k1"), ("JWT_PUBLIC_KEY", public)],
    )
    .unwrap();
    let tokens = Tokens::new(&jwks.rules.secrets.jwt, 300, 3600);
    assert_eq!(tokens.jwks()["keys"][0]["kid"], "k1");
    assert!(tokens.check_signing_key().is_err(), "no private key here");
    assert!(
        tokens
            .issue_access(UserId(1), "s1", SystemClock.now())
            .is_err()
    );

    // Turnstile's secret: read by /phone/ alone, which stops without it.
    let turnstile = [
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SITE_KEY", "site"),
    ];
    let send = started(Endpoint::PhoneEnter, &[hash, turnstile[0], turnstile[1]]);
    assert_eq!(send.unwrap_err().name, "CAPTCHA_SECRET");
    let key = ("JWT_KEY_ID", "k1");
    let signing = (
        "JWT_SIGNING_KEY",
        "ssssssssssssssssssssssssssssssssssssssss",
    );
    let login = started(
        Endpoint::CodeEnter,
        &[hash, key, signing, turnstile[0], turnstile[1]],
    );
    assert!(login.is_ok(), "{:?}", login.err());
}
