//! JWTs as SimpleJWT writes them (`token_type`, `exp`, `iat`, `jti`,
//! `user_id`), so a Django service can verify them, plus `iss`, `aud` and a
//! `kid` header so keys can rotate. Access tokens are signed HS256 with the
//! shared key, or RS256 so that anyone can verify them with the published
//! public key; refresh tokens, which only this service reads, always HS256.

mod crypto;
pub mod rsa;

/// For code that signs tokens with jsonwebtoken directly (tests forging
/// them): the provider `Tokens` installs.
pub use crypto::install as install_crypto_provider;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::Error;
use rsa::{RsaPublicKey, RsaSigningKey};

/// Tokens issued a little in the future (clock skew between instances) are
/// still accepted; more than this is a forgery or a broken clock.
const MAX_IAT_SKEW_SECS: i64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: TokenType,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub user_id: UserId,
    /// The login session a refresh token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// One HMAC key and the id it is published under.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ kid: {:?}, secret: .. }}", self.kid)
    }
}

/// RS256 access tokens: the key they are signed with, and the previous
/// key's public half, which still verifies during a rotation.
#[derive(Clone, Debug)]
pub struct RsaKeys {
    pub current: RsaSigningKey,
    pub previous: Option<RsaPublicKey>,
}

/// Everything tokens are signed and checked with.
#[derive(Clone, Debug)]
pub struct TokenKeys {
    /// Refresh tokens always, access tokens unless `rsa` is set.
    pub hmac_current: SigningKey,
    pub hmac_previous: Option<SigningKey>,
    /// Set: access tokens are RS256.
    pub rsa: Option<RsaKeys>,
    /// `iss`, issued and required: the API's base URL.
    pub issuer: String,
    /// `aud`, issued and required when set.
    pub audience: Option<String>,
    /// The Django system's SimpleJWT key: its refresh tokens are exchanged
    /// once each for a session here (`LEGACY_JWT_SIGNING_KEY`).
    pub legacy: Option<Vec<u8>>,
}

/// A refresh token of the Django system, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyRefresh {
    pub user: UserId,
    pub jti: String,
    pub exp: Timestamp,
}

#[derive(Clone)]
pub struct Tokens {
    hmac_kid: String,
    hmac_encoding: EncodingKey,
    /// Each key that verifies, the current one first, with its algorithm.
    decoding: Vec<(Algorithm, String, DecodingKey)>,
    rsa: Option<RsaKeys>,
    issuer: String,
    audience: Option<String>,
    legacy: Option<DecodingKey>,
    access_ttl: u64,
    refresh_ttl: u64,
}

pub struct Issued {
    pub token: String,
    pub jti: String,
    pub exp: Timestamp,
}

impl Tokens {
    pub fn new(keys: &TokenKeys, access_ttl: u64, refresh_ttl: u64) -> Tokens {
        crypto::install();
        let hmac = std::iter::once(&keys.hmac_current)
            .chain(&keys.hmac_previous)
            .map(|key| {
                (
                    Algorithm::HS256,
                    key.kid.clone(),
                    DecodingKey::from_secret(&key.secret),
                )
            });
        let rsa = keys.rsa.iter().flat_map(|rsa| {
            std::iter::once(rsa.current.public())
                .chain(&rsa.previous)
                .map(|key| {
                    (
                        Algorithm::RS256,
                        key.kid.clone(),
                        DecodingKey::from_rsa_raw_components(key.modulus(), key.exponent()),
                    )
                })
        });
        Tokens {
            hmac_kid: keys.hmac_current.kid.clone(),
            hmac_encoding: EncodingKey::from_secret(&keys.hmac_current.secret),
            decoding: hmac.chain(rsa).collect(),
            rsa: keys.rsa.clone(),
            issuer: keys.issuer.clone(),
            audience: keys.audience.clone(),
            legacy: keys.legacy.as_deref().map(DecodingKey::from_secret),
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn access_ttl(&self) -> u64 {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> u64 {
        self.refresh_ttl
    }

    /// The algorithm access tokens are signed with.
    pub fn access_algorithm(&self) -> Algorithm {
        if self.rsa.is_some() {
            Algorithm::RS256
        } else {
            Algorithm::HS256
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `/.well-known/jwks.json`: the public keys that verify access tokens,
    /// current first. None under HS256, whose key is a secret.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .rsa
            .iter()
            .flat_map(|rsa| std::iter::once(rsa.current.public()).chain(&rsa.previous))
            .map(RsaPublicKey::jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// Parses the RS256 key pair now (a function that signs, at start-up),
    /// so that a bad key stops it there rather than at its first login.
    pub fn check_signing_key(&self) -> Result<(), String> {
        self.rsa.as_ref().map_or(Ok(()), |rsa| rsa.current.check())
    }

    pub fn issue_access(&self, user: UserId, now: Timestamp) -> Result<Issued, Error> {
        self.issue(TokenType::Access, user, None, now, self.access_ttl)
    }

    pub fn issue_refresh(&self, user: UserId, sid: &str, now: Timestamp) -> Result<Issued, Error> {
        self.issue(TokenType::Refresh, user, Some(sid), now, self.refresh_ttl)
    }

    /// A refresh token that already exists, signed again: the same `jti`
    /// and expiry, so the session sees one token (the grace answer).
    pub fn reissue_refresh(
        &self,
        user: UserId,
        sid: &str,
        jti: &str,
        exp: Timestamp,
        now: Timestamp,
    ) -> Result<Issued, Error> {
        self.sign(
            TokenType::Refresh,
            user,
            Some(sid),
            jti.to_owned(),
            now,
            exp,
        )
    }

    fn issue(
        &self,
        token_type: TokenType,
        user_id: UserId,
        sid: Option<&str>,
        now: Timestamp,
        ttl: u64,
    ) -> Result<Issued, Error> {
        let jti = uuid::Uuid::new_v4().simple().to_string();
        self.sign(token_type, user_id, sid, jti, now, now.plus_secs(ttl))
    }

    fn sign(
        &self,
        token_type: TokenType,
        user_id: UserId,
        sid: Option<&str>,
        jti: String,
        now: Timestamp,
        exp: Timestamp,
    ) -> Result<Issued, Error> {
        let claims = Claims {
            token_type,
            exp: exp.secs(),
            iat: now.secs(),
            jti: jti.clone(),
            user_id,
            sid: sid.map(str::to_owned),
            iss: Some(self.issuer.clone()),
            aud: self.audience.clone(),
        };
        let failed =
            |e: &dyn std::fmt::Display| Error::Internal(format!("signing a token failed: {e}"));
        let token = match (&self.rsa, token_type) {
            (Some(rsa), TokenType::Access) => {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(rsa.current.public().kid.clone());
                let header = serde_json::to_vec(&header).map_err(|e| failed(&e))?;
                let body = serde_json::to_vec(&claims).map_err(|e| failed(&e))?;
                let message = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header),
                    URL_SAFE_NO_PAD.encode(body)
                );
                let signature = rsa
                    .current
                    .sign(message.as_bytes())
                    .map_err(|e| failed(&e))?;
                format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
            }
            _ => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(self.hmac_kid.clone());
                jsonwebtoken::encode(&header, &claims, &self.hmac_encoding)
                    .map_err(|e| failed(&e))?
            }
        };
        Ok(Issued { token, jti, exp })
    }

    /// Checks the signature (one algorithm per token type, the key chosen
    /// by `kid`), expiry, type, issuer and audience. Expiry is checked
    /// against `now` rather than the system clock so that the service's
    /// clock is the only one.
    pub fn verify(
        &self,
        token: &str,
        expected: TokenType,
        now: Timestamp,
    ) -> Result<Claims, Error> {
        let algorithm = match expected {
            TokenType::Access => self.access_algorithm(),
            TokenType::Refresh => Algorithm::HS256,
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token"))?;
        if header.alg != algorithm {
            return Err(invalid("unexpected algorithm"));
        }
        let kid = header.kid.ok_or(invalid("token has no key id"))?;
        let key = self
            .decoding
            .iter()
            .find(|(alg, known, _)| *alg == algorithm && *known == kid)
            .map(|(_, _, key)| key)
            .ok_or(invalid("unknown key id"))?;

        let claims = signed_claims(token, key, algorithm)?;
        if let Some(nbf) = claims.get("nbf") {
            match nbf.as_i64() {
                Some(nbf) if nbf <= now.secs() => {}
                _ => return Err(invalid("token not yet valid")),
            }
        }
        let claims: Claims =
            serde_json::from_value(claims).map_err(|_| invalid("unexpected claims"))?;
        if claims.exp <= now.secs() {
            return Err(invalid("token expired"));
        }
        if claims.iat > now.secs() + MAX_IAT_SKEW_SECS {
            return Err(invalid("token issued in the future"));
        }
        if claims.token_type != expected {
            return Err(invalid("wrong token type"));
        }
        // An access token must name us. A refresh token is ours by its
        // signature alone, and one issued before `JWT_ISSUER` was set
        // carries no `iss`: it stays valid, or setting it logs everyone out.
        let required = expected == TokenType::Access;
        if !claim_matches(claims.iss.as_deref(), Some(&self.issuer), required) {
            return Err(invalid("wrong or missing issuer"));
        }
        if !claim_matches(claims.aud.as_deref(), self.audience.as_deref(), required) {
            return Err(invalid("wrong or missing audience"));
        }
        if expected == TokenType::Refresh && claims.sid.is_none() {
            return Err(invalid("refresh token without a session"));
        }
        Ok(claims)
    }
}

impl Tokens {
    /// A refresh token the Django system issued with SimpleJWT: HS256 under
    /// `LEGACY_JWT_SIGNING_KEY`, `token_type` `refresh`, `user_id` the old
    /// id (SimpleJWT writes it as a string), a `jti`, no `sid`. Not one when
    /// no legacy key is set.
    pub fn verify_legacy_refresh(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<LegacyRefresh, Error> {
        let key = self.legacy.as_ref().ok_or(invalid("no legacy key"))?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token"))?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid("unexpected algorithm"));
        }
        let claims = signed_claims(token, key, Algorithm::HS256)?;
        if claims["token_type"] != "refresh" || claims.get("sid").is_some() {
            return Err(invalid("not a legacy refresh token"));
        }
        let user = match &claims["user_id"] {
            Value::String(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                id.parse().ok()
            }
            Value::Number(id) => id.as_u64(),
            _ => None,
        }
        .ok_or(invalid("no user id"))?;
        let exp = claims["exp"].as_i64().ok_or(invalid("no expiry"))?;
        if exp <= now.secs() {
            return Err(invalid("token expired"));
        }
        if claims["iat"]
            .as_i64()
            .is_some_and(|iat| iat > now.secs() + MAX_IAT_SKEW_SECS)
        {
            return Err(invalid("token issued in the future"));
        }
        let jti = claims["jti"]
            .as_str()
            .filter(|jti| !jti.is_empty())
            .ok_or(invalid("no jti"))?;
        Ok(LegacyRefresh {
            user: UserId(user),
            jti: jti.to_owned(),
            exp: Timestamp::from_secs(exp),
        })
    }
}

/// The claims of a token whose signature `key` verifies under `algorithm`,
/// with an `exp`; the times, issuer and audience are the caller's to check
/// (against the service's clock, not the system's).
fn signed_claims(token: &str, key: &DecodingKey, algorithm: Algorithm) -> Result<Value, Error> {
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<Value>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|_| invalid("bad signature or claims"))
}

/// Whether a token's `iss` or `aud` is acceptable: anything when none is
/// configured, else the configured value (or, when not `required`, none).
fn claim_matches(given: Option<&str>, configured: Option<&str>, required: bool) -> bool {
    match (configured, given) {
        (None, _) => true,
        (Some(want), Some(got)) => want == got,
        (Some(_), None) => !required,
    }
}

fn invalid(why: &'static str) -> Error {
    Error::TokenNotValid(why)
}

#[cfg(test)]
mod tests {
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
        let access = t.issue_access(UserId(42), NOW).unwrap();
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
}
