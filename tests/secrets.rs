//! Keys from Secrets Manager (on moto), as a deployed function reads them at
//! cold start.

use std::collections::HashMap;

use api_tests::create_secret as secret;
use phone_auth::adapters::secrets;
use phone_auth::config::Settings;

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    )
}

#[tokio::test]
async fn keys_come_from_the_secrets_the_arns_name() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let jwt = secret(
        &client,
        r#"{"kid": "k2", "key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "previous_kid": "k1", "previous_key": "pppppppppppppppppppppppppppppppppppp"}"#,
    )
    .await;
    let hash = secret(&client, "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh").await;
    let mut settings = settings(&[
        ("JWT_SECRET_ARN", &jwt),
        ("CODE_HASH_SECRET_ARN", &hash),
        ("JWT_ISSUER", "https://auth.example.com"),
    ]);
    secrets::resolve(&sdk, &mut settings).await.unwrap();
    let config = settings.config().unwrap();
    assert_eq!(config.rules.secrets.jwt.hmac_current.kid, "k2");
    assert_eq!(
        config.rules.secrets.jwt.hmac_current.secret,
        b"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    );
    let previous = config.rules.secrets.jwt.hmac_previous.unwrap();
    assert_eq!(
        (previous.kid.as_str(), previous.secret.as_slice()),
        ("k1", &b"pppppppppppppppppppppppppppppppppppp"[..])
    );
    assert_eq!(
        config.rules.secrets.code_hash_secret,
        b"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
    );
}

/// The review numbers' list comes from its own secret, never the
/// environment: their codes log in.
#[tokio::test]
async fn review_codes_come_from_their_secret() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let list = secret(&client, "+15555550100=424242").await;
    let mut settings = settings(&[
        ("TEST_PHONE_CODES_SECRET_ARN", &list),
        ("TEST_PHONE_CODES_UNTIL", "2099-01-01T00:00:00Z"),
        ("JWT_KEY_ID", "k1"),
        ("JWT_SIGNING_KEY", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"),
        (
            "CODE_HASH_SECRET",
            "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh",
        ),
        ("JWT_ISSUER", "https://auth.example.com"),
    ]);
    secrets::resolve(&sdk, &mut settings).await.unwrap();
    let config = settings.config().unwrap();
    let listed = phone_auth::domain::phone::Phone::from_trusted("+15555550100".into());
    let now = phone_auth::domain::time::Timestamp(0);
    assert_eq!(
        config.rules.test_phones.code_for(&listed, now),
        Some("424242")
    );
}

/// Under RS256 the same secret carries the RSA keys, as the stack's
/// `signing-key` function writes them.
#[tokio::test]
async fn rsa_keys_come_from_the_same_secret() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let (private, _) = api_tests::rsa_key(0);
    let (_, previous_public) = api_tests::rsa_key(1);
    let value = serde_json::json!({
        "kid": "k2", "key": "k".repeat(40), "private_key": private,
        "previous_kid": "k1", "previous_key": "p".repeat(40),
        "previous_public_key": previous_public,
    });
    let jwt = secret(&client, &value.to_string()).await;
    let hash = secret(&client, &"h".repeat(40)).await;
    let mut settings = settings(&[
        ("JWT_SECRET_ARN", &jwt),
        ("CODE_HASH_SECRET_ARN", &hash),
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_ISSUER", "https://auth.example.com"),
    ]);
    secrets::resolve(&sdk, &mut settings).await.unwrap();
    let rsa = settings.config().unwrap().rules.secrets.jwt.rsa.unwrap();
    assert_eq!(rsa.current.public().kid, "k2");
    assert_eq!(rsa.previous.unwrap().kid, "k1");
}

#[tokio::test]
async fn a_bad_or_missing_secret_names_the_setting_not_the_value() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let not_json = secret(&client, "plain-text-secret-value").await;
    let mut bad = settings(&[("JWT_SECRET_ARN", &not_json)]);
    let error = secrets::resolve(&sdk, &mut bad).await.unwrap_err();
    assert_eq!(error.name, "JWT_SECRET_ARN");
    assert!(!error.to_string().contains("plain-text-secret-value"));

    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    let mut gone = settings(&[("CODE_HASH_SECRET_ARN", missing)]);
    let error = secrets::resolve(&sdk, &mut gone).await.unwrap_err();
    assert_eq!(error.name, "CODE_HASH_SECRET_ARN");
    assert!(
        error.to_string().contains("could not read the secret"),
        "{error}"
    );
}

#[tokio::test]
async fn without_arns_the_environment_stands() {
    let sdk = api_tests::sdk_config().await;
    let mut plain = settings(&[("JWT_KEY_ID", "env")]);
    secrets::resolve(&sdk, &mut plain).await.unwrap();
    assert_eq!(plain.get("JWT_KEY_ID").as_deref(), Some("env"));
}
