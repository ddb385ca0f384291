//! What a verifier needs to check access tokens without asking us: the
//! public keys, and where to find them from the issuer alone.

use serde_json::{Value, json};

use super::Service;

pub const JWKS_PATH: &str = "/.well-known/jwks.json";

impl Service {
    /// `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.tokens.jwks()
    }

    /// `/.well-known/openid-configuration`: enough for API Gateway's JWT
    /// authorizer and OIDC libraries.
    pub fn openid_configuration(&self) -> Value {
        let issuer = self.tokens.issuer();
        let algorithm = format!("{:?}", self.tokens.access_algorithm());
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}{JWKS_PATH}"),
            "id_token_signing_alg_values_supported": [algorithm],
            "subject_types_supported": ["public"],
            "claims_supported": ["iss", "aud", "exp", "iat", "jti", "user_id", "token_type"],
        })
    }

    /// Parses the RS256 signing key now: a function that signs calls this
    /// at start-up, so a bad key stops it there, in its init phase.
    pub fn check_signing_key(&self) -> std::result::Result<(), String> {
        self.tokens.check_signing_key()
    }
}
