//! The stack's `SigningKey` custom resource against Secrets Manager (on
//! moto): the RSA key it adds, a rotation, a failure, and its answer to
//! CloudFormation.

use api_tests::receiver::{Answer, Receiver};
use phone_auth::adapters::secrets;
use phone_auth::config::Settings;
use serde_json::{Value, json};

/// A secret as the template's `GenerateSecretString` makes it.
async fn stack_secret(client: &aws_sdk_secretsmanager::Client) -> String {
    let value = json!({"kid": "k1", "key": "a".repeat(64)});
    api_tests::create_secret(client, &value.to_string()).await
}

/// `events/signing-key.json` as CloudFormation would send it for `kind`.
fn event(kind: &str, secret: &str, generation: u32, old: u32) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../events/signing-key.json")).unwrap();
    event["RequestType"] = json!(kind);
    event["ResourceProperties"]["SecretId"] = json!(secret);
    event["ResourceProperties"]["Generation"] = json!(generation.to_string());
    if kind != "Create" {
        event["PhysicalResourceId"] = json!(secret);
        let mut old_properties = event["ResourceProperties"].clone();
        old_properties["Generation"] = json!(old.to_string());
        event["OldResourceProperties"] = old_properties;
    }
    event
}

async fn value(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Value {
    let text = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The configuration a function would read from the secret under RS256.
async fn rs256_config(sdk: &aws_config::SdkConfig, arn: &str) -> phone_auth::config::Config {
    let mut settings = Settings::from_map(
        [
            ("JWT_SECRET_ARN", arn),
            ("CODE_HASH_SECRET", &"h".repeat(40)),
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_ISSUER", "https://auth.example.com"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    secrets::resolve(sdk, &mut settings).await.unwrap();
    settings.config().unwrap()
}

#[tokio::test]
async fn creates_the_rsa_key_then_rotates_every_key_on_a_new_generation() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let arn = stack_secret(&client).await;

    let created = signing_key::handle(&client, &event("Create", &arn, 1, 1)).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["Data"]["KeyId"], "k1");
    assert_eq!(created["Data"]["PreviousKeyId"], "");
    assert_eq!(created["PhysicalResourceId"], arn.as_str());
    assert_eq!(created["LogicalResourceId"], "SigningKey");
    let after_create = value(&client, &arn).await;
    assert_eq!(after_create["key"], "a".repeat(64), "the HMAC key stays");
    let private = after_create["private_key"].as_str().unwrap();
    assert!(
        !created
            .to_string()
            .contains(private.lines().nth(1).unwrap())
    );
    // The public half, for the JWKS function's environment.
    let public = phone_auth::domain::token::rsa::public_pem_of(private).unwrap();
    assert_eq!(created["Data"]["PublicKey"], public.as_str());
    let config = rs256_config(&sdk, &arn).await;
    assert_eq!(
        config.rules.secrets.jwt.rsa.unwrap().current.public().kid,
        "k1"
    );

    // A stack update that leaves the generation alone changes nothing.
    let same = signing_key::handle(&client, &event("Update", &arn, 1, 1)).await;
    assert_eq!(same["Status"], "SUCCESS");
    assert_eq!(value(&client, &arn).await, after_create);

    let rotated = signing_key::handle(&client, &event("Update", &arn, 2, 1)).await;
    assert_eq!(rotated["Status"], "SUCCESS", "{rotated}");
    let now = value(&client, &arn).await;
    let kid = rotated["Data"]["KeyId"].as_str().unwrap();
    assert_eq!(now["kid"], kid);
    assert_ne!(kid, "k1");
    assert_eq!(now["previous_kid"], "k1");
    assert_eq!(now["previous_key"], "a".repeat(64));
    assert_eq!(rotated["Data"]["PreviousKeyId"], "k1");
    assert_eq!(rotated["Data"]["PreviousPublicKey"], public.as_str());
    let jwt = rs256_config(&sdk, &arn).await.rules.secrets.jwt;
    let rsa = jwt.rsa.unwrap();
    assert_eq!(rsa.current.public().kid, kid);
    let previous = rsa.previous.unwrap();
    assert_eq!(previous.kid, "k1");
    let before =
        phone_auth::domain::token::rsa::RsaSigningKey::from_pem("k1".into(), private).unwrap();
    assert_eq!(
        &previous,
        before.public(),
        "the old key's public half verifies"
    );
    assert_eq!(jwt.hmac_previous.unwrap().kid, "k1");

    let deleted = signing_key::handle(&client, &event("Delete", &arn, 2, 2)).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(
        value(&client, &arn).await,
        now,
        "a delete leaves the secret"
    );
}

#[tokio::test]
async fn a_missing_secret_fails_the_resource_with_a_reason() {
    let sdk = api_tests::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    let answer = signing_key::handle(&client, &event("Create", missing, 1, 1)).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("reading the secret failed"),
        "{answer}"
    );
}

/// A receiver on loopback standing in for the presigned URL, answering
/// `status`, and that URL.
fn answer_receiver(status: &'static str) -> (Receiver, String) {
    let receiver = Receiver::start(Answer { status, body: None });
    let url = format!("{}/stack/answer?X-Amz-Signature=s", receiver.url);
    (receiver, url)
}

/// The answer goes as one PUT without a content type, which the presigned
/// URL's signature does not cover.
#[tokio::test]
async fn the_answer_is_put_to_the_response_url() {
    let (receiver, url) = answer_receiver("200 OK");
    let answer = json!({"Status": "SUCCESS", "Data": {"KeyId": "k1"}});
    signing_key::respond(&url, &answer).await.unwrap();
    let [request] = &receiver.received()[..] else {
        panic!("one request: {:?}", receiver.received())
    };
    assert_eq!(request.line, "PUT /stack/answer?X-Amz-Signature=s HTTP/1.1");
    assert_eq!(request.header("content-type"), None, "{request:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        answer
    );
}

/// An answer the URL refuses (an expired signature, say) is an error, so
/// that Lambda tries the event again.
#[tokio::test]
async fn an_answer_refused_is_an_error() {
    let (receiver, url) = answer_receiver("403 Forbidden");
    let refused = signing_key::respond(&url, &json!({"Status": "SUCCESS"})).await;
    assert_eq!(receiver.received().len(), 1);
    let error = refused.unwrap_err();
    assert!(error.contains("403"), "{error}");
    assert!(!error.contains("X-Amz-Signature"), "{error}");
}
