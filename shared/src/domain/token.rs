//! JWTs as SimpleJWT writes them (`token_type`, `exp`, `iat`, `jti`,
//! `user_id`), so a Django service can verify them, plus `iss`, `aud` and a
//! `kid` header so keys can rotate. Access tokens are signed HS256 with the
//! shared key, or RS256 so that anyone can verify them with the published
//! public key; refresh tokens, which only this service reads, always HS256.

mod crypto;
mod legacy;
pub mod rsa;
#[cfg(test)]
mod tests;

/// For code that signs tokens with jsonwebtoken directly (tests forging
/// them): the provider `Tokens` installs.
pub use crypto::install as install_crypto_provider;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::time::Timestamp;
use crate::domain::user::{CustomClaims, UserId};
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
    /// The login session the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// An operator's claims for the user (access tokens), and anything
    /// else a verified token carried.
    #[serde(flatten)]
    pub extra: CustomClaims,
}

/// Claim names the service itself writes or checks: an operator's claims
/// may not use them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "token_type",
    "exp",
    "iat",
    "nbf",
    "jti",
    "user_id",
    "sub",
    "iss",
    "aud",
    "sid",
    "kid",
    "scope",
];

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
    pub current: RsaCurrent,
    pub previous: Option<RsaPublicKey>,
}

/// The current RSA key: the pair, where access tokens are signed, or its
/// public half alone, where they are only published (the JWKS function
/// reads no private key).
#[derive(Clone, Debug)]
pub enum RsaCurrent {
    Signing(RsaSigningKey),
    PublicOnly(RsaPublicKey),
}

impl RsaCurrent {
    pub fn public(&self) -> &RsaPublicKey {
        match self {
            RsaCurrent::Signing(key) => key.public(),
            RsaCurrent::PublicOnly(key) => key,
        }
    }

    /// Whether the key can sign: parsed, and the private half here.
    pub fn check(&self) -> Result<(), String> {
        match self {
            RsaCurrent::Signing(key) => key.check(),
            RsaCurrent::PublicOnly(_) => Err("no private key: this function cannot sign".into()),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            RsaCurrent::Signing(key) => key.sign(message),
            RsaCurrent::PublicOnly(_) => Err("no private key: this function cannot sign".into()),
        }
    }
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
    /// When the old system issued it.
    pub iat: Timestamp,
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

    /// An access token of session `sid` (which the user's device list
    /// marks as the caller's own).
    pub fn issue_access(&self, user: UserId, sid: &str, now: Timestamp) -> Result<Issued, Error> {
        self.issue_access_with(user, sid, &CustomClaims::new(), now)
    }

    /// An access token carrying the user's own claims at its top level.
    pub fn issue_access_with(
        &self,
        user: UserId,
        sid: &str,
        extra: &CustomClaims,
        now: Timestamp,
    ) -> Result<Issued, Error> {
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let exp = now.plus_secs(self.access_ttl);
        let claims = Claims {
            extra: extra.clone(),
            ..self.claims(TokenType::Access, user, sid, jti, now, exp)
        };
        self.sign(claims, exp)
    }

    pub fn issue_refresh(&self, user: UserId, sid: &str, now: Timestamp) -> Result<Issued, Error> {
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let exp = now.plus_secs(self.refresh_ttl);
        self.sign(
            self.claims(TokenType::Refresh, user, sid, jti, now, exp),
            exp,
        )
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
        let claims = self.claims(TokenType::Refresh, user, sid, jti.to_owned(), now, exp);
        self.sign(claims, exp)
    }

    /// The service's own claims of a token of session `sid`.
    fn claims(
        &self,
        token_type: TokenType,
        user_id: UserId,
        sid: &str,
        jti: String,
        now: Timestamp,
        exp: Timestamp,
    ) -> Claims {
        Claims {
            token_type,
            exp: exp.secs(),
            iat: now.secs(),
            jti,
            user_id,
            sid: Some(sid.to_owned()),
            iss: Some(self.issuer.clone()),
            aud: self.audience.clone(),
            extra: CustomClaims::new(),
        }
    }

    /// Signs `claims`: access tokens with the access key, refresh tokens
    /// with the HMAC key. `exp` is the claims' expiry, to the millisecond.
    fn sign(&self, claims: Claims, exp: Timestamp) -> Result<Issued, Error> {
        let (token_type, jti) = (claims.token_type, claims.jti.clone());
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
