//! The token keys and the code-hash secret.

use crate::domain::settings::Secrets;
use crate::domain::token::rsa::{RsaPublicKey, RsaSigningKey};
use crate::domain::token::{RsaCurrent, RsaKeys, SigningKey, TokenKeys};

use super::{ConfigError, Settings};

impl Settings {
    pub(super) fn secrets(&self) -> Result<Secrets, ConfigError> {
        let hmac_current = SigningKey {
            kid: self.required("JWT_KEY_ID")?,
            secret: self.secret("JWT_SIGNING_KEY")?,
        };
        let previous_kid = self.get("JWT_PREVIOUS_KEY_ID");
        if previous_kid.as_ref() == Some(&hmac_current.kid) {
            return Err(ConfigError {
                name: "JWT_PREVIOUS_KEY_ID",
                problem: "must differ from JWT_KEY_ID".into(),
            });
        }
        let rsa = self.rsa_keys(&hmac_current.kid, previous_kid.as_deref())?;
        let hmac_previous = match (&previous_kid, self.get("JWT_PREVIOUS_SIGNING_KEY")) {
            (None, None) => None,
            (Some(kid), Some(_)) => Some(SigningKey {
                kid: kid.clone(),
                secret: self.secret("JWT_PREVIOUS_SIGNING_KEY")?,
            }),
            // An RS256 rotation may keep the HMAC key: a previous public
            // key alone is a previous key.
            (Some(_), None) if rsa.as_ref().is_some_and(|rsa| rsa.previous.is_some()) => None,
            _ => {
                return Err(ConfigError {
                    name: "JWT_PREVIOUS_KEY_ID",
                    problem:
                        "set both JWT_PREVIOUS_KEY_ID and JWT_PREVIOUS_SIGNING_KEY, or neither"
                            .into(),
                });
            }
        };
        let issuer = self
            .required("JWT_ISSUER")?
            .trim_end_matches('/')
            .to_owned();
        let host = issuer
            .strip_prefix("https://")
            .or_else(|| issuer.strip_prefix("http://"));
        if host.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
            return Err(ConfigError {
                name: "JWT_ISSUER",
                problem: format!(
                    "expected the API's base URL, such as https://auth.example.com, got {issuer:?}"
                ),
            });
        }
        Ok(Secrets {
            jwt: TokenKeys {
                hmac_current,
                hmac_previous,
                rsa,
                issuer,
                audience: self.get("JWT_AUDIENCE"),
                legacy: self.get("LEGACY_JWT_SIGNING_KEY").map(String::into_bytes),
            },
            code_hash_secret: self.secret("CODE_HASH_SECRET")?,
        })
    }

    /// The RS256 keys when `JWT_ALGORITHM` is `RS256`; under `HS256` the
    /// RSA settings are not read (a stack's secret holds a key either way).
    pub(super) fn rsa_keys(
        &self,
        kid: &str,
        previous_kid: Option<&str>,
    ) -> Result<Option<RsaKeys>, ConfigError> {
        match self.get("JWT_ALGORITHM").as_deref() {
            None | Some("HS256") => return Ok(None),
            Some("RS256") => {}
            Some(other) => {
                return Err(ConfigError {
                    name: "JWT_ALGORITHM",
                    problem: format!("expected HS256 or RS256, got {other:?}"),
                });
            }
        }
        // Where tokens are only published (the JWKS function), the public
        // half alone, `JWT_PUBLIC_KEY`; everywhere else the pair.
        let current = match (self.get("JWT_PRIVATE_KEY"), self.get("JWT_PUBLIC_KEY")) {
            (None, Some(pem)) => RsaCurrent::PublicOnly(
                RsaPublicKey::from_pem(kid.to_owned(), &pem).map_err(|problem| ConfigError {
                    name: "JWT_PUBLIC_KEY",
                    problem,
                })?,
            ),
            _ => RsaCurrent::Signing(
                RsaSigningKey::from_pem(kid.to_owned(), &self.required("JWT_PRIVATE_KEY")?)
                    .map_err(|problem| ConfigError {
                        name: "JWT_PRIVATE_KEY",
                        problem,
                    })?,
            ),
        };
        let previous = match (previous_kid, self.get("JWT_PREVIOUS_PUBLIC_KEY")) {
            (_, None) => None,
            (Some(kid), Some(pem)) => Some(RsaPublicKey::from_pem(kid.to_owned(), &pem).map_err(
                |problem| ConfigError {
                    name: "JWT_PREVIOUS_PUBLIC_KEY",
                    problem,
                },
            )?),
            (None, Some(_)) => {
                return Err(ConfigError {
                    name: "JWT_PREVIOUS_KEY_ID",
                    problem: "JWT_PREVIOUS_PUBLIC_KEY needs the id it was published under".into(),
                });
            }
        };
        Ok(Some(RsaKeys { current, previous }))
    }
}
