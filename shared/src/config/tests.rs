use std::collections::HashMap;

use phonenumber::country::Id as Region;

use super::*;
use crate::domain::sms::SmsText;
use crate::domain::time::Timestamp;

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
    assert_eq!(config.rules.codes.length, 6);
    assert_eq!(config.rules.codes.ttl_secs, 300);
    assert_eq!(config.rules.codes.max_attempts, 5);
    assert_eq!(config.rules.limits.resend_cooldown_secs, 60);
    assert_eq!(config.rules.limits.phone_max_sends_per_hour, 5);
    assert_eq!(config.rules.limits.ip_max_sends_per_hour, 20);
    assert_eq!(config.rules.limits.sms_daily_budget, 0);
    assert_eq!(config.rules.sessions.access_ttl_secs, 300);
    assert_eq!(config.rules.sessions.refresh_ttl_secs, 30 * 86_400);
    assert!(config.rules.phones.allowed_regions.is_empty());
    assert_eq!(config.rules.phones.default_region, None);
    assert!(config.rules.secrets.jwt.hmac_previous.is_none());
    assert!(config.rules.secrets.jwt.rsa.is_none());
}

#[test]
fn reads_regions() {
    let config = Settings::from_map(settings(&[
        ("DEFAULT_REGION", "ru"),
        ("ALLOWED_COUNTRY_CODES", "RU, GB"),
    ]))
    .config()
    .unwrap();
    assert_eq!(config.rules.phones.default_region, Some(Region::RU));
    assert_eq!(
        config.rules.phones.allowed_regions,
        vec![Region::RU, Region::GB]
    );
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
        config.rules.sms_text.render_default("1234", 5),
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
        config.rules.limits.country_daily_budgets,
        vec![(Region::RU, 500), (Region::GB, 100)]
    );
    let defaults = Settings::from_map(settings(&[])).config().unwrap();
    assert_eq!(defaults.rules.sms_text, SmsText::default());
    assert_eq!(defaults.sms_sending, SmsSending::default());
    assert!(defaults.rules.limits.country_daily_budgets.is_empty());
    assert!(defaults.rules.warnings(Timestamp(0)).is_empty());
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
    let warnings = config.rules.warnings(Timestamp(0));
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("outside GSM-7"), "{warnings:?}");
}

#[test]
fn warns_once_the_test_numbers_have_lapsed_and_never_shows_their_codes() {
    let config = Settings::from_map(settings(&[
        ("TEST_PHONE_CODES", "+15555550100=424242"),
        ("TEST_PHONE_CODES_UNTIL", "2027-03-01T00:00:00Z"),
    ]))
    .config()
    .unwrap();
    let until = Timestamp::parse_rfc3339("2027-03-01T00:00:00Z").unwrap();
    assert!(config.rules.warnings(Timestamp(until.0 - 1)).is_empty());
    let warnings = config.rules.warnings(until);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("TEST_PHONE_CODES lapsed at 2027-03-01T00:00:00Z"));
    assert!(!format!("{config:?}").contains("424242"));
    let error = error_for(&[("TEST_PHONE_CODES", "+15555550100=424242")]);
    assert!(!error.to_string().contains("424242"), "{error}");
}

#[test]
fn errors_never_show_secret_values() {
    let err = error_for(&[("JWT_SIGNING_KEY", "tooshort-secret")]);
    assert!(!err.to_string().contains("tooshort-secret"));
}

#[test]
fn siteverify_is_https_or_loopback() {
    let with = |url: &str| {
        let pairs = [
            ("CAPTCHA_PROVIDER", "turnstile"),
            ("CAPTCHA_SITE_KEY", "site"),
            ("CAPTCHA_SECRET", "secret"),
            ("CAPTCHA_VERIFY_URL", url),
        ];
        Settings::from_map(settings(&pairs))
            .config()
            .map(|config| config.captcha.map(|c| c.verify_url.to_string()))
    };
    assert!(with("https://challenges.cloudflare.com/turnstile/v0/siteverify").is_ok());
    assert!(with("http://127.0.0.1:8080/siteverify").is_ok());
    for refused in [
        "http://example.com/siteverify",
        "ftp://127.0.0.1/",
        "not a url",
    ] {
        assert_eq!(
            with(refused).unwrap_err().name,
            "CAPTCHA_VERIFY_URL",
            "{refused}"
        );
    }
}

#[test]
fn the_webhook_provider_needs_its_url_and_a_standard_webhooks_secret() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let webhook = |more: &[(&str, &str)]| {
        let mut pairs = vec![
            ("SMS_PROVIDER", "webhook"),
            ("SMS_WEBHOOK_URL", "https://sms.example.com/send"),
            ("SMS_WEBHOOK_SECRET", SECRET),
        ];
        pairs.extend_from_slice(more);
        Settings::from_map(settings(&pairs)).config()
    };
    let config = webhook(&[]).unwrap();
    assert_eq!(config.webhook.unwrap().key.len(), 24);
    assert_eq!(config.rules.channels, ["sms"]);
    // Without the prefix, as Standard Webhooks libraries also take it.
    assert!(webhook(&[("SMS_WEBHOOK_SECRET", &SECRET[6..])]).is_ok());
    let channels = webhook(&[("SMS_WEBHOOK_CHANNELS", "whatsapp, sms,voice")]).unwrap();
    assert_eq!(channels.rules.channels, ["sms", "whatsapp", "voice"]);
    for (setting, bad) in [
        ("SMS_WEBHOOK_URL", "http://sms.example.com/send"),
        ("SMS_WEBHOOK_URL", ""),
        ("SMS_WEBHOOK_SECRET", "whsec_!!!not-base64!!!"),
        ("SMS_WEBHOOK_SECRET", "whsec_c2hvcnQ="),
        ("SMS_WEBHOOK_SECRET", ""),
        ("SMS_WEBHOOK_CHANNELS", "WhatsApp"),
    ] {
        let error = webhook(&[(setting, bad)]).unwrap_err();
        assert_eq!(error.name, setting, "{bad:?}");
        if setting == "SMS_WEBHOOK_SECRET" && !bad.is_empty() {
            assert!(!error.to_string().contains(&bad[6..]), "{error}");
        }
    }
    // SNS sends SMS alone; an unknown provider is refused.
    assert_eq!(
        error_for(&[("SMS_WEBHOOK_CHANNELS", "whatsapp")]).name,
        "SMS_WEBHOOK_CHANNELS"
    );
    assert_eq!(
        error_for(&[("SMS_PROVIDER", "twilio")]).name,
        "SMS_PROVIDER"
    );
    assert!(
        Settings::from_map(settings(&[]))
            .config()
            .unwrap()
            .webhook
            .is_none()
    );
}

#[test]
fn templates_per_language_are_checked_as_the_default_is() {
    let config = Settings::from_map(settings(&[
        (
            "SMS_TEMPLATES",
            r#"{"ru": "Ваш код: {code}", "pt-BR": "Seu código é {code}"}"#,
        ),
        ("SMS_TEMPLATE_LOCALE", "en-GB"),
    ]))
    .config()
    .unwrap();
    let tags: Vec<&str> = config
        .rules
        .sms_text
        .templates
        .iter()
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(tags, ["pt-BR", "ru"]);
    assert_eq!(config.rules.sms_text.locale, "en-GB");
    // The Cyrillic template is warned of, by its tag.
    let warnings = config.rules.warnings(Timestamp(0));
    assert!(
        warnings.iter().any(|w| w.starts_with("the ru template:")),
        "{warnings:?}"
    );
    for (bad, why) in [
        (r#"["Ваш код {code}"]"#, "JSON object"),
        (r#"{"russian": "{code}"}"#, "not a language tag"),
        (r#"{"ru": "no code"}"#, "has no {code}"),
        (r#"{"ru": 5}"#, "not a string"),
        (r#"{"ru": "{code}", "RU": "{code}"}"#, "listed twice"),
    ] {
        let error = error_for(&[("SMS_TEMPLATES", bad)]);
        assert_eq!(error.name, "SMS_TEMPLATES");
        assert!(error.problem.contains(why), "{bad}: {}", error.problem);
    }
    let error = error_for(&[("SMS_TEMPLATES", r#"{"de": "{app}: {code}"}"#)]);
    assert_eq!(error.name, "SMS_APP_NAME");
    assert_eq!(
        error_for(&[("SMS_TEMPLATE_LOCALE", "english")]).name,
        "SMS_TEMPLATE_LOCALE"
    );
}
