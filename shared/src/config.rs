//! Every setting, read once at start-up from the environment, typed and
//! checked. A bad or missing one stops the process with one clear line.

use std::collections::HashMap;
use std::str::FromStr;

use phonenumber::country::Id as Region;

use crate::domain::token::SigningKey;

/// Secrets shorter than this are refused: HMAC-SHA256 keys want 256 bits.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// The contract's settings (besides keys and table names): a deployment
/// passes each one through (a test holds `template.yaml` to it).
pub const CONTRACT_SETTINGS: [&str; 11] = [
    "DEFAULT_REGION",
    "ALLOWED_COUNTRY_CODES",
    "CODE_LENGTH",
    "CODE_TTL_SECONDS",
    "MAX_CODE_ATTEMPTS",
    "RESEND_COOLDOWN_SECONDS",
    "PHONE_MAX_SENDS_PER_HOUR",
    "IP_MAX_SENDS_PER_HOUR",
    "SMS_DAILY_BUDGET",
    "ACCESS_TTL_SECONDS",
    "REFRESH_TTL_SECONDS",
];

#[derive(Clone, Debug)]
pub struct Config {
    pub default_region: Option<Region>,
    /// Empty means every region.
    pub allowed_regions: Vec<Region>,
    pub code_length: usize,
    pub code_ttl_secs: u64,
    pub max_code_attempts: u32,
    pub resend_cooldown_secs: u64,
    pub phone_max_sends_per_hour: u32,
    pub ip_max_sends_per_hour: u32,
    /// 0 means no budget.
    pub sms_daily_budget: u32,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub secrets: Secrets,
}

#[derive(Clone)]
pub struct Secrets {
    pub jwt_current: SigningKey,
    pub jwt_previous: Option<SigningKey>,
    pub code_hash_secret: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("jwt_current", &self.jwt_current)
            .field("jwt_previous", &self.jwt_previous)
            .finish_non_exhaustive()
    }
}

/// DynamoDB table names, needed only where the DynamoDB store is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub codes: String,
    pub sessions: String,
    pub invites: String,
}

/// A snapshot of the settings, taken once: from the process environment,
/// or from a map in tests.
pub struct Settings {
    values: HashMap<String, String>,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings::from_map(std::env::vars().collect())
    }

    pub fn from_map(values: HashMap<String, String>) -> Settings {
        Settings { values }
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_owned(), value);
    }

    /// The value, with surrounding spaces trimmed; empty counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError {
            name,
            problem: "is required and not set".into(),
        })
    }

    fn number<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(value) if range.contains(&value) => Ok(value),
            _ => Err(ConfigError {
                name,
                problem: format!(
                    "expected a whole number from {} to {}, got {raw:?}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    fn secret(&self, name: &'static str) -> Result<Vec<u8>, ConfigError> {
        let value = self.required(name)?;
        if value.len() < MIN_SECRET_BYTES {
            return Err(ConfigError {
                name,
                problem: format!("must be at least {MIN_SECRET_BYTES} bytes long"),
            });
        }
        Ok(value.into_bytes())
    }

    fn region(name: &'static str, raw: &str) -> Result<Region, ConfigError> {
        Region::from_str(&raw.to_ascii_uppercase()).map_err(|_| ConfigError {
            name,
            problem: format!("{raw:?} is not an ISO 3166-1 alpha-2 region"),
        })
    }

    pub fn config(&self) -> Result<Config, ConfigError> {
        let default_region = self
            .get("DEFAULT_REGION")
            .map(|raw| Self::region("DEFAULT_REGION", &raw))
            .transpose()?;
        let allowed_regions = self
            .get("ALLOWED_COUNTRY_CODES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|raw| Self::region("ALLOWED_COUNTRY_CODES", raw))
            .collect::<Result<_, _>>()?;
        let code_ttl_secs = self.number("CODE_TTL_SECONDS", 300, 30..=3600)?;
        Ok(Config {
            default_region,
            allowed_regions,
            code_length: self.number("CODE_LENGTH", 4, 4..=8)?,
            code_ttl_secs,
            max_code_attempts: self.number("MAX_CODE_ATTEMPTS", 5, 1..=20)?,
            resend_cooldown_secs: self.number("RESEND_COOLDOWN_SECONDS", 60, 0..=3600)?,
            phone_max_sends_per_hour: self.number("PHONE_MAX_SENDS_PER_HOUR", 5, 1..=100)?,
            ip_max_sends_per_hour: self.number("IP_MAX_SENDS_PER_HOUR", 20, 1..=10_000_000)?,
            sms_daily_budget: self.number("SMS_DAILY_BUDGET", 0, 0..=10_000_000)?,
            access_ttl_secs: self.number("ACCESS_TTL_SECONDS", 300, 30..=86_400)?,
            refresh_ttl_secs: self.number("REFRESH_TTL_SECONDS", 2_592_000, 300..=31_536_000)?,
            secrets: self.secrets()?,
        })
    }

    fn secrets(&self) -> Result<Secrets, ConfigError> {
        let jwt_current = SigningKey {
            kid: self.required("JWT_KEY_ID")?,
            secret: self.secret("JWT_SIGNING_KEY")?,
        };
        let jwt_previous = match (
            self.get("JWT_PREVIOUS_KEY_ID"),
            self.get("JWT_PREVIOUS_SIGNING_KEY"),
        ) {
            (None, None) => None,
            (Some(kid), Some(_)) if kid == jwt_current.kid => {
                return Err(ConfigError {
                    name: "JWT_PREVIOUS_KEY_ID",
                    problem: "must differ from JWT_KEY_ID".into(),
                });
            }
            (Some(kid), Some(_)) => Some(SigningKey {
                kid,
                secret: self.secret("JWT_PREVIOUS_SIGNING_KEY")?,
            }),
            _ => {
                return Err(ConfigError {
                    name: "JWT_PREVIOUS_KEY_ID",
                    problem:
                        "set both JWT_PREVIOUS_KEY_ID and JWT_PREVIOUS_SIGNING_KEY, or neither"
                            .into(),
                });
            }
        };
        Ok(Secrets {
            jwt_current,
            jwt_previous,
            code_hash_secret: self.secret("CODE_HASH_SECRET")?,
        })
    }

    pub fn tables(&self) -> Result<Tables, ConfigError> {
        Ok(Tables {
            users: self.required("USERS_TABLE")?,
            codes: self.required("CODES_TABLE")?,
            sessions: self.required("SESSIONS_TABLE")?,
            invites: self.required("INVITES_TABLE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            ("JWT_KEY_ID", "k1"),
            ("JWT_SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
            ("CODE_HASH_SECRET", "fedcba9876543210fedcba9876543210"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        map
    }

    fn error_for(pairs: &[(&str, &str)]) -> ConfigError {
        Settings::from_map(settings(pairs)).config().unwrap_err()
    }

    #[test]
    fn defaults_are_the_contract_s() {
        let config = Settings::from_map(settings(&[])).config().unwrap();
        assert_eq!(config.code_length, 4);
        assert_eq!(config.code_ttl_secs, 300);
        assert_eq!(config.max_code_attempts, 5);
        assert_eq!(config.resend_cooldown_secs, 60);
        assert_eq!(config.phone_max_sends_per_hour, 5);
        assert_eq!(config.ip_max_sends_per_hour, 20);
        assert_eq!(config.sms_daily_budget, 0);
        assert_eq!(config.access_ttl_secs, 300);
        assert_eq!(config.refresh_ttl_secs, 30 * 86_400);
        assert!(config.allowed_regions.is_empty());
        assert_eq!(config.default_region, None);
        assert!(config.secrets.jwt_previous.is_none());
    }

    #[test]
    fn reads_regions() {
        let config = Settings::from_map(settings(&[
            ("DEFAULT_REGION", "ru"),
            ("ALLOWED_COUNTRY_CODES", "RU, GB"),
        ]))
        .config()
        .unwrap();
        assert_eq!(config.default_region, Some(Region::RU));
        assert_eq!(config.allowed_regions, vec![Region::RU, Region::GB]);
    }

    #[test]
    fn names_the_bad_setting() {
        assert_eq!(error_for(&[("CODE_LENGTH", "12")]).name, "CODE_LENGTH");
        assert_eq!(error_for(&[("CODE_LENGTH", "four")]).name, "CODE_LENGTH");
        assert_eq!(
            error_for(&[("ALLOWED_COUNTRY_CODES", "RU,XX")]).name,
            "ALLOWED_COUNTRY_CODES"
        );
        assert_eq!(
            error_for(&[("JWT_SIGNING_KEY", "short")]).name,
            "JWT_SIGNING_KEY"
        );
        assert_eq!(
            error_for(&[("CODE_HASH_SECRET", "")]).name,
            "CODE_HASH_SECRET"
        );
        assert_eq!(
            error_for(&[("JWT_PREVIOUS_KEY_ID", "k0")]).name,
            "JWT_PREVIOUS_KEY_ID"
        );
        let err = error_for(&[("MAX_CODE_ATTEMPTS", "0")]);
        assert_eq!(
            err.to_string(),
            "configuration: MAX_CODE_ATTEMPTS: expected a whole number from 1 to 20, got \"0\""
        );
    }

    #[test]
    fn errors_never_show_secret_values() {
        let err = error_for(&[("JWT_SIGNING_KEY", "tooshort-secret")]);
        assert!(!err.to_string().contains("tooshort-secret"));
    }
}
