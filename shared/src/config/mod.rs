//! Every setting, read once at start-up from the environment, typed and
//! checked. A bad or missing one stops the process with one clear line.

use std::collections::HashMap;
use std::str::FromStr;

use phonenumber::country::Id as Region;

pub use crate::domain::settings::{
    CaptchaProvider, ChallengeMode, ChallengeRules, CodeRules, FraudRules, PhoneRules, Rules,
    Secrets, SendLimits, SessionRules,
};
use crate::domain::test_phones::TestPhones;

mod keys;
mod sms;
pub use sms::webhook_key;
#[cfg(test)]
mod tests;

/// Secrets shorter than this are refused: HMAC-SHA256 keys want 256 bits.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// The contract's settings (besides keys, table names and the review
/// numbers' codes, which are secrets): a deployment passes each one through
/// (a test holds `template.yaml` to it).
pub const CONTRACT_SETTINGS: [&str; 39] = [
    "DEFAULT_REGION",
    "ALLOWED_COUNTRY_CODES",
    "CODE_LENGTH",
    "CODE_TTL_SECONDS",
    "MAX_CODE_ATTEMPTS",
    "REQUIRE_VERIFICATION_ID",
    "IP_MAX_FAILED_CODES_PER_HOUR",
    "RESEND_COOLDOWN_SECONDS",
    "PHONE_MAX_SENDS_PER_HOUR",
    "IP_MAX_SENDS_PER_HOUR",
    "IP_HARD_MAX_SENDS_PER_HOUR",
    "CHALLENGE_MODE",
    "CHALLENGE_MAX_NUMBER",
    "CHALLENGE_TTL_SECONDS",
    "CAPTCHA_PROVIDER",
    "CAPTCHA_SITE_KEY",
    "CAPTCHA_VERIFY_URL",
    "FRAUD_MIN_SENDS",
    "FRAUD_MIN_CONVERSION",
    "FRAUD_PREFIX_HIDDEN_DIGITS",
    "SMS_DAILY_BUDGET",
    "ACCESS_TTL_SECONDS",
    "REFRESH_TTL_SECONDS",
    "REFRESH_REUSE_GRACE_SECONDS",
    "JWT_ALGORITHM",
    "SMS_TEMPLATE",
    "SMS_TEMPLATE_LOCALE",
    "SMS_TEMPLATES",
    "SMS_PROVIDER",
    "SMS_WEBHOOK_URL",
    "SMS_WEBHOOK_CHANNELS",
    "SMS_APP_NAME",
    "WEBOTP_DOMAIN",
    "ANDROID_APP_HASH",
    "SMS_SENDER_ID",
    "SMS_ORIGINATION_NUMBER",
    "SMS_MAX_PRICE_USD",
    "SMS_COUNTRY_DAILY_BUDGET",
    "TEST_PHONE_CODES_UNTIL",
];

/// Every setting a process reads: the rules the domain holds to, and what
/// the adapters need besides.
#[derive(Clone, Debug)]
pub struct Config {
    pub rules: Rules,
    pub sms_sending: SmsSending,
    /// Turnstile's siteverify, when it is the captcha provider.
    pub captcha: Option<CaptchaSettings>,
    /// The team's bridge, with `SMS_PROVIDER=webhook`.
    pub webhook: Option<WebhookSettings>,
}

/// Where and how sends are posted with `SMS_PROVIDER=webhook`.
#[derive(Clone)]
pub struct WebhookSettings {
    pub url: http::Uri,
    /// The HMAC-SHA256 key the Standard Webhooks secret holds.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
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

/// Turnstile's siteverify, as the adapter asks it.
#[derive(Clone)]
pub struct CaptchaSettings {
    pub verify_url: http::Uri,
    pub secret: String,
}

impl std::fmt::Debug for CaptchaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaSettings")
            .field("verify_url", &self.verify_url)
            .finish_non_exhaustive()
    }
}

/// A fresh random 256-bit secret, hex: what the dev server uses where no
/// key is given, and a function for a secret it never reads.
pub fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
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

    pub(super) fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError {
            name,
            problem: "is required and not set".into(),
        })
    }

    pub(super) fn number<T>(
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

    /// `true` or `false`; unset is `false`.
    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ConfigError {
                name,
                problem: format!("expected true or false, got {other:?}"),
            }),
        }
    }

    pub(super) fn secret(&self, name: &'static str) -> Result<Vec<u8>, ConfigError> {
        let value = self.required(name)?;
        if value.len() < MIN_SECRET_BYTES {
            return Err(ConfigError {
                name,
                problem: format!("must be at least {MIN_SECRET_BYTES} bytes long"),
            });
        }
        Ok(value.into_bytes())
    }

    pub(super) fn region(name: &'static str, raw: &str) -> Result<Region, ConfigError> {
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
        // 6 digits, as NIST SP 800-63B asks and every hosted peer sends; 4
        // stays possible.
        let code_length = self.number("CODE_LENGTH", 6, 4..=8)?;
        let test_phones = TestPhones::parse(
            &self.get("TEST_PHONE_CODES").unwrap_or_default(),
            self.get("TEST_PHONE_CODES_UNTIL").as_deref(),
        )
        .map_err(|problem| ConfigError {
            name: "TEST_PHONE_CODES",
            problem,
        })?;
        let codes = CodeRules {
            length: code_length,
            ttl_secs: code_ttl_secs,
            max_attempts: self.number("MAX_CODE_ATTEMPTS", 5, 1..=20)?,
            require_verification_id: self.flag("REQUIRE_VERIFICATION_ID")?,
            ip_max_failed_codes_per_hour: self.number(
                "IP_MAX_FAILED_CODES_PER_HOUR",
                50,
                1..=10_000_000,
            )?,
        };
        let ip_max_sends_per_hour = self.number("IP_MAX_SENDS_PER_HOUR", 20, 1..=10_000_000)?;
        let ip_hard_max_sends_per_hour = self.number(
            "IP_HARD_MAX_SENDS_PER_HOUR",
            200u32.max(ip_max_sends_per_hour),
            ip_max_sends_per_hour..=10_000_000,
        )?;
        let limits = SendLimits {
            resend_cooldown_secs: self.number("RESEND_COOLDOWN_SECONDS", 60, 0..=3600)?,
            phone_max_sends_per_hour: self.number("PHONE_MAX_SENDS_PER_HOUR", 5, 1..=100)?,
            ip_max_sends_per_hour,
            ip_hard_max_sends_per_hour,
            sms_daily_budget: self.number("SMS_DAILY_BUDGET", 0, 0..=10_000_000)?,
            country_daily_budgets: self.country_budgets()?,
        };
        let challenges = self.challenges()?;
        let captcha = self.captcha(&challenges.provider)?;
        let sessions = SessionRules {
            access_ttl_secs: self.number("ACCESS_TTL_SECONDS", 300, 30..=86_400)?,
            refresh_ttl_secs: self.number("REFRESH_TTL_SECONDS", 2_592_000, 300..=31_536_000)?,
            refresh_reuse_grace_secs: self.number("REFRESH_REUSE_GRACE_SECONDS", 10, 0..=60)?,
        };
        Ok(Config {
            rules: Rules {
                phones: PhoneRules {
                    default_region,
                    allowed_regions,
                },
                codes,
                limits,
                challenges,
                fraud: self.fraud()?,
                sessions,
                sms_text: self.sms_text()?,
                channels: self.channels()?,
                test_phones,
                secrets: self.secrets()?,
            },
            sms_sending: self.sms_sending()?,
            captcha,
            webhook: self.webhook()?,
        })
    }

    fn challenges(&self) -> Result<ChallengeRules, ConfigError> {
        let mode = match self.get("CHALLENGE_MODE").as_deref() {
            None | Some("when_risky") => ChallengeMode::WhenRisky,
            Some("always") => ChallengeMode::Always,
            Some("off") => ChallengeMode::Off,
            Some(other) => {
                return Err(ConfigError {
                    name: "CHALLENGE_MODE",
                    problem: format!("{other:?} is not when_risky, always or off"),
                });
            }
        };
        let provider = match self.get("CAPTCHA_PROVIDER").as_deref() {
            None | Some("altcha") => CaptchaProvider::Altcha,
            Some("turnstile") => CaptchaProvider::Turnstile {
                site_key: self.required("CAPTCHA_SITE_KEY")?,
            },
            Some(other) => {
                return Err(ConfigError {
                    name: "CAPTCHA_PROVIDER",
                    problem: format!("{other:?} is not altcha or turnstile"),
                });
            }
        };
        Ok(ChallengeRules {
            mode,
            provider,
            max_number: self.number("CHALLENGE_MAX_NUMBER", 100_000, 1_000..=10_000_000)?,
            ttl_secs: self.number("CHALLENGE_TTL_SECONDS", 300, 30..=3600)?,
        })
    }

    fn fraud(&self) -> Result<FraudRules, ConfigError> {
        let min_conversion = match self.get("FRAUD_MIN_CONVERSION") {
            None => 0.2,
            Some(raw) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|share| (0.0..=1.0).contains(share))
                .ok_or_else(|| ConfigError {
                    name: "FRAUD_MIN_CONVERSION",
                    problem: format!("{raw:?} is not a share between 0 and 1"),
                })?,
        };
        Ok(FraudRules {
            min_sends: self.number("FRAUD_MIN_SENDS", 20, 1..=10_000_000)?,
            min_conversion,
            prefix_hidden_digits: self.number("FRAUD_PREFIX_HIDDEN_DIGITS", 3, 1..=8)?,
        })
    }

    /// Where and how Turnstile's siteverify is asked, with
    /// `CAPTCHA_PROVIDER=turnstile`: `CAPTCHA_SECRET` (in the stack, from
    /// the secret `CAPTCHA_SECRET_ARN` names), and `CAPTCHA_VERIFY_URL`
    /// (https, or http on loopback for a stand-in).
    fn captcha(&self, provider: &CaptchaProvider) -> Result<Option<CaptchaSettings>, ConfigError> {
        if !matches!(provider, CaptchaProvider::Turnstile { .. }) {
            return Ok(None);
        }
        let name = "CAPTCHA_VERIFY_URL";
        let raw = self
            .get(name)
            .unwrap_or_else(|| crate::adapters::turnstile::SITEVERIFY_URL.into());
        Ok(Some(CaptchaSettings {
            verify_url: Self::endpoint_url(name, &raw)?,
            secret: self.required("CAPTCHA_SECRET")?,
        }))
    }

    /// A third party's URL: https, or http on loopback (a stand-in).
    fn endpoint_url(name: &'static str, raw: &str) -> Result<http::Uri, ConfigError> {
        let bad = |problem: &str| ConfigError {
            name,
            problem: format!("{raw:?} {problem}"),
        };
        let url: http::Uri = raw.parse().map_err(|_| bad("is not a URL"))?;
        let loopback = matches!(url.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme_str() {
            Some("https") => Ok(url),
            Some("http") if loopback => Ok(url),
            _ => Err(bad("must be https (http only on loopback)")),
        }
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
