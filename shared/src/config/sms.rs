//! The SMS settings: the text, its autofill lines, SNS's attributes and the
//! per-region budgets.

use phonenumber::country::Id as Region;

use crate::domain::sms::{DEFAULT_TEMPLATE, SmsTemplate, SmsText};

use super::{ConfigError, Settings, SmsSending};

impl Settings {
    pub(super) fn country_budgets(&self) -> Result<Vec<(Region, u32)>, ConfigError> {
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

    pub(super) fn sms_text(&self) -> Result<SmsText, ConfigError> {
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

    pub(super) fn sms_sending(&self) -> Result<SmsSending, ConfigError> {
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
