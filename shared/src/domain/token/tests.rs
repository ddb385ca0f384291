use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn key(kid: &str, secret: &str) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        secret: secret.as_bytes().to_vec(),
    }
}

fn hmac_keys() -> TokenKeys {
    TokenKeys {
        hmac_current: key("k2", "current-secret-current-secret-32b"),
        hmac_previous: Some(key("k1", "previous-secret-previous-secret-3")),
        rsa: None,
        issuer: "https://auth.example.com".into(),
        audience: None,
        legacy: None,
    }
}

fn tokens() -> Tokens {
    Tokens::new(&hmac_keys(), 300, 86400)
}

const NOW: Timestamp = Timestamp(1_795_774_530_000);

fn sign(kid: &str, secret: &str, claims: serde_json::Value) -> String {
    crypto::install();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims(token_type: &str, exp: i64) -> serde_json::Value {
    serde_json::json!({"token_type": token_type, "exp": exp, "iat": NOW.secs(), "jti": "j", "user_id": 42, "sid": "s", "iss": "https://auth.example.com"})
}

#[test]
fn round_trip_carries_simplejwt_claims() {
    let t = tokens();
    let access = t.issue_access(UserId(42), "s1", NOW).unwrap();
    let claims = t.verify(&access.token, TokenType::Access, NOW).unwrap();
    assert_eq!(claims.user_id, UserId(42));
    assert_eq!(claims.exp, NOW.secs() + 300);
    assert_eq!(claims.jti, access.jti);
    let header = jsonwebtoken::decode_header(&access.token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("k2"));

    let refresh = t.issue_refresh(UserId(42), "sess", NOW).unwrap();
    let claims = t.verify(&refresh.token, TokenType::Refresh, NOW).unwrap();
    assert_eq!(claims.sid.as_deref(), Some("sess"));
}

#[test]
fn previous_key_still_verifies_unknown_kid_does_not() {
    let t = tokens();
    let old = sign(
        "k1",
        "previous-secret-previous-secret-3",
        claims("access", NOW.secs() + 60),
    );
    assert!(t.verify(&old, TokenType::Access, NOW).is_ok());
    let unknown = sign(
        "k0",
        "previous-secret-previous-secret-3",
        claims("access", NOW.secs() + 60),
    );
    assert!(t.verify(&unknown, TokenType::Access, NOW).is_err());
    let wrong_key = sign(
        "k2",
        "previous-secret-previous-secret-3",
        claims("access", NOW.secs() + 60),
    );
    assert!(t.verify(&wrong_key, TokenType::Access, NOW).is_err());
}

#[test]
fn rejects_expired_wrong_type_future_and_alg_none() {
    let t = tokens();
    let secret = "current-secret-current-secret-32b";
    let expired = sign("k2", secret, claims("access", NOW.secs()));
    assert!(t.verify(&expired, TokenType::Access, NOW).is_err());
    let refresh = sign("k2", secret, claims("refresh", NOW.secs() + 60));
    assert!(t.verify(&refresh, TokenType::Access, NOW).is_err());
    let mut nbf = claims("access", NOW.secs() + 600);
    nbf["nbf"] = serde_json::json!(NOW.secs() + 300);
    assert!(
        t.verify(&sign("k2", secret, nbf), TokenType::Access, NOW)
            .is_err()
    );

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k2"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims("access", NOW.secs() + 60).to_string());
    assert!(
        t.verify(&format!("{header}.{body}."), TokenType::Access, NOW)
            .is_err()
    );
}

#[test]
fn a_django_refresh_token_is_read_under_the_legacy_key_only() {
    let old_key = "the-django-secret-key-of-the-old-system";
    let tokens = Tokens::new(
        &TokenKeys {
            legacy: Some(old_key.as_bytes().to_vec()),
            ..hmac_keys()
        },
        300,
        86400,
    );
    let old = |key: &str, alg: Algorithm, claims: serde_json::Value| {
        crypto::install();
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let claims = |user_id: serde_json::Value| serde_json::json!({"token_type": "refresh", "exp": NOW.secs() + 60, "iat": NOW.secs(), "jti": "abc", "user_id": user_id});
    let read = tokens
        .verify_legacy_refresh(&old(old_key, Algorithm::HS256, claims("17".into())), NOW)
        .unwrap();
    assert_eq!((read.user, read.jti.as_str()), (UserId(17), "abc"));
    assert!(
        tokens
            .verify_legacy_refresh(&old(old_key, Algorithm::HS256, claims(17.into())), NOW)
            .is_ok()
    );
    let mut ours = claims("17".into());
    ours["sid"] = "s".into();
    let mut access = claims("17".into());
    access["token_type"] = "access".into();
    let mut expired = claims("17".into());
    expired["exp"] = NOW.secs().into();
    for refused in [
        old(old_key, Algorithm::HS256, claims("seventeen".into())),
        old(old_key, Algorithm::HS256, ours),
        old(old_key, Algorithm::HS256, access),
        old(old_key, Algorithm::HS256, expired),
        old(old_key, Algorithm::HS512, claims("17".into())),
        old(
            "another-key-another-key-another-key",
            Algorithm::HS256,
            claims("17".into()),
        ),
    ] {
        assert!(tokens.verify_legacy_refresh(&refused, NOW).is_err());
    }
    let without = Tokens::new(&hmac_keys(), 300, 86400);
    assert!(
        without
            .verify_legacy_refresh(&old(old_key, Algorithm::HS256, claims("17".into())), NOW)
            .is_err()
    );
}
