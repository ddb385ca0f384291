//! Every setting, read once at start-up from the environment, typed and
//! checked. A bad or missing one stops the process with one clear line.

use std::collections::HashMap;
use std::str::FromStr;

use phonenumber::country::Id as Region;

use crate::domain::sms::{DEFAULT_TEMPLATE, SmsTemplate, SmsText};
use crate::domain::test_phones::TestPhones;
use crate::domain::time::Timestamp;
use crate::domain::token::rsa::{RsaPublicKey, RsaSigningKey};
use crate::domain::token::{RsaKeys, SigningKey, TokenKeys};

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
pub const CONTRACT_SETTINGS: [&str; 23] = [
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
    "REFRESH_REUSE_GRACE_SECONDS",
    "JWT_ALGORITHM",
    "SMS_TEMPLATE",
    "SMS_APP_NAME",
    "WEBOTP_DOMAIN",
    "ANDROID_APP_HASH",
    "SMS_SENDER_ID",
    "SMS_ORIGINATION_NUMBER",
    "SMS_MAX_PRICE_USD",
    "SMS_COUNTRY_DAILY_BUDGET",
    "TEST_PHONE_CODES",
    "TEST_PHONE_CODES_UNTIL",
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
    /// SMS per region per UTC day, for the regions that have a cap.
    pub country_daily_budgets: Vec<(Region, u32)>,
    pub sms_text: SmsText,
    pub sms_sending: SmsSending,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// How long the token a refresh retired still answers the session's
    /// current one (0: never).
    pub refresh_reuse_grace_secs: u64,
    /// Numbers for app-store review, with their fixed codes.
    pub test_phones: TestPhones,
    pub secrets: Secrets,
}

/// How SMS are sent, as SNS message attributes; unset adds none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmsSending {
    /// `SMS_SENDER_ID`: 1 to 11 letters and digits.
    pub sender_id: Option<String>,
    /// `SMS_ORIGINATION_NUMBER`: E.164.
    pub origination_number: Option<String>,
    /// `SMS_MAX_PRICE_USD`: a positive price, as SNS reads it.
    pub max_price_usd: Option<String>,
}

#[derive(Clone)]
pub struct Secrets {
    /// The token keys, issuer and audience (their Debug shows no key).
    pub jwt: TokenKeys,
    pub code_hash_secret: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("jwt", &self.jwt)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// What is allowed but worth a line in the log at start-up.
    pub fn warnings(&self, now: Timestamp) -> Vec<String> {
        let minutes = self.code_ttl_secs.div_ceil(60);
        let mut warnings: Vec<String> = self
            .sms_text
            .fit_warning(self.code_length, minutes)
            .into_iter()
            .collect();
        if let Some(lapsed) = self.test_phones.lapsed_at(now) {
            warnings.push(format!(
                "TEST_PHONE_CODES lapsed at {}: the listed numbers are ordinary numbers again",
                lapsed.rfc3339()
            ));
        }
        warnings
    }
}

/// A DNS host name: dot-separated labels of letters, digits and hyphens.
fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
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
        let code_length = self.number("CODE_LENGTH", 4, 4..=8)?;
        let test_phones = TestPhones::parse(
            &self.get("TEST_PHONE_CODES").unwrap_or_default(),
            self.get("TEST_PHONE_CODES_UNTIL").as_deref(),
            code_length,
        )
        .map_err(|problem| ConfigError {
            name: "TEST_PHONE_CODES",
            problem,
        })?;
        Ok(Config {
            default_region,
            allowed_regions,
            code_length,
            code_ttl_secs,
            max_code_attempts: self.number("MAX_CODE_ATTEMPTS", 5, 1..=20)?,
            resend_cooldown_secs: self.number("RESEND_COOLDOWN_SECONDS", 60, 0..=3600)?,
            phone_max_sends_per_hour: self.number("PHONE_MAX_SENDS_PER_HOUR", 5, 1..=100)?,
            ip_max_sends_per_hour: self.number("IP_MAX_SENDS_PER_HOUR", 20, 1..=10_000_000)?,
            sms_daily_budget: self.number("SMS_DAILY_BUDGET", 0, 0..=10_000_000)?,
            country_daily_budgets: self.country_budgets()?,
            sms_text: self.sms_text()?,
            sms_sending: self.sms_sending()?,
            access_ttl_secs: self.number("ACCESS_TTL_SECONDS", 300, 30..=86_400)?,
            refresh_ttl_secs: self.number("REFRESH_TTL_SECONDS", 2_592_000, 300..=31_536_000)?,
            refresh_reuse_grace_secs: self.number("REFRESH_REUSE_GRACE_SECONDS", 10, 0..=60)?,
            test_phones,
            secrets: self.secrets()?,
        })
    }

    fn country_budgets(&self) -> Result<Vec<(Region, u32)>, ConfigError> {
        const NAME: &str = "SMS_COUNTRY_DAILY_BUDGET";
        let mut budgets: Vec<(Region, u32)> = Vec::new();
        let raw = self.get(NAME).unwrap_or_default();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || ConfigError {
                name: NAME,
                problem: format!(
                    "expected REGION:COUNT entries such as RU:500,GB:100, got {entry:?}"
                ),
            };
            let (region, count) = entry.split_once(':').ok_or_else(bad)?;
            let region = Self::region(NAME, region.trim())?;
            let count: u32 = count.trim().parse().map_err(|_| bad())?;
            if count == 0 || count > 10_000_000 {
                return Err(bad());
            }
            if budgets.iter().any(|(r, _)| *r == region) {
                return Err(ConfigError {
                    name: NAME,
                    problem: format!("{region:?} is listed twice"),
                });
            }
            budgets.push((region, count));
        }
        Ok(budgets)
    }

    fn sms_text(&self) -> Result<SmsText, ConfigError> {
        let raw = self.values.get("SMS_TEMPLATE").map(String::as_str);
        let raw = raw
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(DEFAULT_TEMPLATE);
        let template = SmsTemplate::parse(raw).map_err(|problem| ConfigError {
            name: "SMS_TEMPLATE",
            problem,
        })?;
        let app_name = self.get("SMS_APP_NAME");
        if template.uses_app() && app_name.is_none() {
            return Err(ConfigError {
                name: "SMS_APP_NAME",
                problem: "SMS_TEMPLATE uses {app} and SMS_APP_NAME is not set".into(),
            });
        }
        let webotp_domain = self
            .get("WEBOTP_DOMAIN")
            .map(|d| d.to_ascii_lowercase())
            .map(|domain| {
                if is_host_name(&domain) {
                    Ok(domain)
                } else {
                    Err(ConfigError {
                        name: "WEBOTP_DOMAIN",
                        problem: format!("{domain:?} is not a host name such as example.com"),
                    })
                }
            })
            .transpose()?;
        let android_app_hash = self
            .get("ANDROID_APP_HASH")
            .map(|hash| {
                let base64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
                if hash.len() == 11 && hash.chars().all(base64) {
                    Ok(hash)
                } else {
                    Err(ConfigError {
                        name: "ANDROID_APP_HASH",
                        problem: "expected the app's 11-character hash (letters, digits, + and /)"
                            .into(),
                    })
                }
            })
            .transpose()?;
        Ok(SmsText {
            template,
            app_name,
            webotp_domain,
            android_app_hash,
        })
    }

    fn sms_sending(&self) -> Result<SmsSending, ConfigError> {
        let check = |name: &'static str, valid: fn(&str) -> bool, expected: &str| {
            self.get(name)
                .map(|value| {
                    if valid(&value) {
                        Ok(value)
                    } else {
                        Err(ConfigError {
                            name,
                            problem: format!("expected {expected}, got {value:?}"),
                        })
                    }
                })
                .transpose()
        };
        Ok(SmsSending {
            sender_id: check(
                "SMS_SENDER_ID",
                |v| (1..=11).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric()),
                "1 to 11 letters and digits",
            )?,
            origination_number: check(
                "SMS_ORIGINATION_NUMBER",
                |v| {
                    v.strip_prefix('+').is_some_and(|digits| {
                        (7..=15).contains(&digits.len())
                            && !digits.starts_with('0')
                            && digits.chars().all(|c| c.is_ascii_digit())
                    })
                },
                "an E.164 number such as +15555550100",
            )?,
            max_price_usd: check(
                "SMS_MAX_PRICE_USD",
                |v| {
                    !v.starts_with(['+', '-'])
                        && v.parse::<f64>().is_ok_and(|p| p.is_finite() && p > 0.0)
                },
                "a positive price in US dollars such as 0.05",
            )?,
        })
    }

    fn secrets(&self) -> Result<Secrets, ConfigError> {
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
    fn rsa_keys(
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
        let current = RsaSigningKey::from_pem(kid.to_owned(), &self.required("JWT_PRIVATE_KEY")?)
            .map_err(|problem| ConfigError {
            name: "JWT_PRIVATE_KEY",
            problem,
        })?;
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
            ("JWT_ISSUER", "https://auth.example.com"),
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
        assert!(config.secrets.jwt.hmac_previous.is_none());
        assert!(config.secrets.jwt.rsa.is_none());
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
    fn reads_the_sms_settings() {
        let config = Settings::from_map(settings(&[
            ("SMS_TEMPLATE", "{app}: {code} ({minutes} min)"),
            ("SMS_APP_NAME", "Acme"),
            ("WEBOTP_DOMAIN", "Example.com"),
            ("ANDROID_APP_HASH", "FA+9qCX9VSu"),
            ("SMS_SENDER_ID", "Acme1"),
            ("SMS_ORIGINATION_NUMBER", "+15555550100"),
            ("SMS_MAX_PRICE_USD", "0.05"),
            ("SMS_COUNTRY_DAILY_BUDGET", "ru:500, GB:100"),
        ]))
        .config()
        .unwrap();
        assert_eq!(
            config.sms_text.render("1234", 5),
            "Acme: 1234 (5 min)\n\n@example.com #1234\nFA+9qCX9VSu"
        );
        assert_eq!(
            config.sms_sending,
            SmsSending {
                sender_id: Some("Acme1".into()),
                origination_number: Some("+15555550100".into()),
                max_price_usd: Some("0.05".into()),
            }
        );
        assert_eq!(
            config.country_daily_budgets,
            vec![(Region::RU, 500), (Region::GB, 100)]
        );
        let defaults = Settings::from_map(settings(&[])).config().unwrap();
        assert_eq!(defaults.sms_text, SmsText::default());
        assert_eq!(defaults.sms_sending, SmsSending::default());
        assert!(defaults.country_daily_budgets.is_empty());
        assert!(defaults.warnings(Timestamp(0)).is_empty());
    }

    #[test]
    fn refuses_each_bad_sms_setting_in_one_line() {
        for (pairs, name) in [
            (&[("SMS_TEMPLATE", "no code")][..], "SMS_TEMPLATE"),
            (&[("SMS_TEMPLATE", "{code} {code}")][..], "SMS_TEMPLATE"),
            (&[("SMS_TEMPLATE", "{code} {user}")][..], "SMS_TEMPLATE"),
            (&[("SMS_TEMPLATE", "{app} {code}")][..], "SMS_APP_NAME"),
            (
                &[("WEBOTP_DOMAIN", "https://example.com")][..],
                "WEBOTP_DOMAIN",
            ),
            (&[("WEBOTP_DOMAIN", "localhost")][..], "WEBOTP_DOMAIN"),
            (&[("ANDROID_APP_HASH", "short")][..], "ANDROID_APP_HASH"),
            (
                &[("ANDROID_APP_HASH", "FA+9qCX9VS!")][..],
                "ANDROID_APP_HASH",
            ),
            (&[("SMS_SENDER_ID", "TwelveLetter")][..], "SMS_SENDER_ID"),
            (&[("SMS_SENDER_ID", "Acme Inc")][..], "SMS_SENDER_ID"),
            (
                &[("SMS_ORIGINATION_NUMBER", "15555550100")][..],
                "SMS_ORIGINATION_NUMBER",
            ),
            (
                &[("SMS_ORIGINATION_NUMBER", "+0123456789")][..],
                "SMS_ORIGINATION_NUMBER",
            ),
            (&[("SMS_MAX_PRICE_USD", "0")][..], "SMS_MAX_PRICE_USD"),
            (&[("SMS_MAX_PRICE_USD", "-1")][..], "SMS_MAX_PRICE_USD"),
            (&[("SMS_MAX_PRICE_USD", "cheap")][..], "SMS_MAX_PRICE_USD"),
            (
                &[("SMS_COUNTRY_DAILY_BUDGET", "RU")][..],
                "SMS_COUNTRY_DAILY_BUDGET",
            ),
            (
                &[("SMS_COUNTRY_DAILY_BUDGET", "XX:5")][..],
                "SMS_COUNTRY_DAILY_BUDGET",
            ),
            (
                &[("SMS_COUNTRY_DAILY_BUDGET", "RU:0")][..],
                "SMS_COUNTRY_DAILY_BUDGET",
            ),
            (
                &[("SMS_COUNTRY_DAILY_BUDGET", "RU:5,RU:6")][..],
                "SMS_COUNTRY_DAILY_BUDGET",
            ),
            (
                &[("TEST_PHONE_CODES", "+15555550100=4242")][..],
                "TEST_PHONE_CODES",
            ),
            (
                &[
                    ("TEST_PHONE_CODES", "+15555550100=42424"),
                    ("TEST_PHONE_CODES_UNTIL", "2027-03-01T00:00:00Z"),
                ][..],
                "TEST_PHONE_CODES",
            ),
        ] {
            let error = error_for(pairs);
            assert_eq!(error.name, name, "{pairs:?}");
            let line = error.to_string();
            assert!(!line.contains('\n'), "{line}");
            assert!(
                line.starts_with(&format!("configuration: {name}: ")),
                "{line}"
            );
        }
    }

    #[test]
    fn warns_of_a_text_longer_than_one_sms() {
        let config = Settings::from_map(settings(&[(
            "SMS_TEMPLATE",
            "Ваш код подтверждения: {code}",
        )]))
        .config()
        .unwrap();
        let warnings = config.warnings(Timestamp(0));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("outside GSM-7"), "{warnings:?}");
    }

    #[test]
    fn warns_once_the_test_numbers_have_lapsed_and_never_shows_their_codes() {
        let config = Settings::from_map(settings(&[
            ("TEST_PHONE_CODES", "+15555550100=4242"),
            ("TEST_PHONE_CODES_UNTIL", "2027-03-01T00:00:00Z"),
        ]))
        .config()
        .unwrap();
        let until = Timestamp::parse_rfc3339("2027-03-01T00:00:00Z").unwrap();
        assert!(config.warnings(Timestamp(until.0 - 1)).is_empty());
        let warnings = config.warnings(until);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("TEST_PHONE_CODES lapsed at 2027-03-01T00:00:00Z"));
        assert!(!format!("{config:?}").contains("4242"));
        let error = error_for(&[("TEST_PHONE_CODES", "+15555550100=4242")]);
        assert!(!error.to_string().contains("4242"), "{error}");
    }

    #[test]
    fn errors_never_show_secret_values() {
        let err = error_for(&[("JWT_SIGNING_KEY", "tooshort-secret")]);
        assert!(!err.to_string().contains("tooshort-secret"));
    }
}
