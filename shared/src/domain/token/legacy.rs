//! Refresh tokens of the Django system, read under its SimpleJWT key.

use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::Error;

use super::{LegacyRefresh, MAX_IAT_SKEW_SECS, Tokens, invalid, signed_claims};

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
        // SimpleJWT always writes `iat`; the exchange needs it to tell a
        // token issued before the user's import from one minted after.
        let iat = claims["iat"].as_i64().ok_or(invalid("no iat"))?;
        if iat > now.secs() + MAX_IAT_SKEW_SECS {
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
            iat: Timestamp::from_secs(iat),
        })
    }
}
