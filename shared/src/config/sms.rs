//! The SMS settings: the text, its autofill lines, SNS's attributes and the
//! per-region budgets.

use phonenumber::country::Id as Region;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::domain::language::is_tag;
use crate::domain::sms::{DEFAULT_LOCALE, DEFAULT_TEMPLATE, SmsTemplate, SmsText};

use super::{ConfigError, Settings, SmsSending, WebhookSettings};

/// `SMS_PROVIDER`: who carries the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    Sns,
    Webhook,
}

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
        let locale = self
            .get("SMS_TEMPLATE_LOCALE")
            .unwrap_or_else(|| DEFAULT_LOCALE.into());
        if !is_tag(&locale) {
            return Err(ConfigError {
                name: "SMS_TEMPLATE_LOCALE",
                problem: format!("{locale:?} is not a language tag such as en or pt-BR"),
            });
        }
        let templates = self.templates()?;
        let uses_app = templates.iter().find(|(_, t)| t.uses_app());
        if let (Some((tag, _)), None) = (uses_app, &app_name) {
            return Err(ConfigError {
                name: "SMS_APP_NAME",
                problem: format!("SMS_TEMPLATES[{tag:?}] uses {{app}} and SMS_APP_NAME is not set"),
            });
        }
        Ok(SmsText {
            template,
            locale,
            templates,
            app_name,
            webotp_domain,
            android_app_hash,
        })
    }

    /// `SMS_TEMPLATES`: a JSON object from a language tag to a template,
    /// each checked as `SMS_TEMPLATE` is.
    fn templates(&self) -> Result<Vec<(String, SmsTemplate)>, ConfigError> {
        const NAME: &str = "SMS_TEMPLATES";
        let Some(raw) = self.get(NAME) else {
            return Ok(Vec::new());
        };
        let bad = |problem: String| ConfigError {
            name: NAME,
            problem,
        };
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw)
            .map_err(|_| {
                bad(r#"expected a JSON object from language tag to template, such as {"ru": "Ваш код: {code}"}"#.into())
            })?;
        let mut templates: Vec<(String, SmsTemplate)> = Vec::new();
        for (tag, template) in object {
            if !is_tag(&tag) {
                return Err(bad(format!(
                    "{tag:?} is not a language tag such as ru or pt-BR"
                )));
            }
            if templates.iter().any(|(t, _)| t.eq_ignore_ascii_case(&tag)) {
                return Err(bad(format!("{tag:?} is listed twice")));
            }
            let template = template
                .as_str()
                .ok_or_else(|| bad(format!("the template of {tag:?} is not a string")))?;
            let template = SmsTemplate::parse(template)
                .map_err(|problem| bad(format!("the template of {tag:?} {problem}")))?;
            templates.push((tag, template));
        }
        Ok(templates)
    }

    fn provider(&self) -> Result<Provider, ConfigError> {
        match self.get("SMS_PROVIDER").as_deref() {
            None | Some("sns") => Ok(Provider::Sns),
            Some("webhook") => Ok(Provider::Webhook),
            Some(other) => Err(ConfigError {
                name: "SMS_PROVIDER",
                problem: format!("{other:?} is not sns or webhook"),
            }),
        }
    }

    /// The channels `/phone/` offers: `sms`, and with the webhook provider
    /// those `SMS_WEBHOOK_CHANNELS` lists.
    pub(super) fn channels(&self) -> Result<Vec<String>, ConfigError> {
        const NAME: &str = "SMS_WEBHOOK_CHANNELS";
        let mut channels = vec!["sms".to_owned()];
        let Some(raw) = self.get(NAME) else {
            return Ok(channels);
        };
        if self.provider()? != Provider::Webhook {
            return Err(ConfigError {
                name: NAME,
                problem: "is for SMS_PROVIDER=webhook; SNS sends SMS only".into(),
            });
        }
        for channel in raw.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let name_like = (1..=32).contains(&channel.len())
                && channel
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_like {
                return Err(ConfigError {
                    name: NAME,
                    problem: format!(
                        "{channel:?} is not a channel name (lower-case letters, digits and _)"
                    ),
                });
            }
            if !channels.iter().any(|c| c == channel) {
                channels.push(channel.to_owned());
            }
        }
        Ok(channels)
    }

    /// With `SMS_PROVIDER=webhook`: `SMS_WEBHOOK_URL` (https, or http on
    /// loopback) and `SMS_WEBHOOK_SECRET` (in the stack, from the secret
    /// `SMS_WEBHOOK_SECRET_ARN` names), a Standard Webhooks secret.
    pub(super) fn webhook(&self) -> Result<Option<WebhookSettings>, ConfigError> {
        if self.provider()? != Provider::Webhook {
            return Ok(None);
        }
        let url = Self::endpoint_url("SMS_WEBHOOK_URL", &self.required("SMS_WEBHOOK_URL")?)?;
        let secret = self.required("SMS_WEBHOOK_SECRET")?;
        Ok(Some(WebhookSettings {
            url,
            key: webhook_key(&secret).map_err(|problem| ConfigError {
                name: "SMS_WEBHOOK_SECRET",
                problem,
            })?,
        }))
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

/// The key of a Standard Webhooks secret: `whsec_` (optional) and the
/// key in base64, 24 to 64 bytes. The problem never quotes the secret.
pub fn webhook_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| {
            "expected whsec_ and a base64 key (as Standard Webhooks makes them)".to_owned()
        })?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "the key is {} bytes; Standard Webhooks keys are 24 to 64",
            key.len()
        ));
    }
    Ok(key)
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
