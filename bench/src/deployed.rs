//! As deployed: the stack passes secret ARNs, and each cold start reads
//! the keys from Secrets Manager before its first request.

use std::collections::HashMap;

use serde_json::json;

use crate::launch::{ColdStart, Starts, ms};
use crate::setup::{HASH_KEY, JWT_KEY};

pub async fn table(
    starts: &mut Starts,
    sdk: &aws_config::SdkConfig,
    env: &HashMap<String, String>,
    prefix: &str,
) {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let mut deployed = env.clone();
    for key in ["JWT_KEY_ID", "JWT_SIGNING_KEY", "CODE_HASH_SECRET"] {
        deployed.remove(key);
    }
    let jwt_keys = json!({"kid": "bench", "key": JWT_KEY}).to_string();
    for (setting, name, value) in [
        ("JWT_SECRET_ARN", "jwt", jwt_keys.as_str()),
        ("CODE_HASH_SECRET_ARN", "code-hash", HASH_KEY),
    ] {
        let created = secrets
            .create_secret()
            .name(format!("{prefix}-{name}"))
            .secret_string(value)
            .send()
            .await
            .expect("a bench secret");
        deployed.insert(setting.into(), created.arn.expect("a secret ARN"));
    }
    println!(
        "\n| function | as deployed (keys from Secrets Manager), full CPU | at its share | CPU used |"
    );
    println!("| --- | --- | --- | --- |");
    for function in crate::FUNCTIONS {
        let launch = starts.launch(function, &deployed);
        let full = starts.full(&launch, true).await;
        let share = starts.share(&launch, true).await;
        println!(
            "| {function} | {} | {} | {:.2} ms |",
            full.times(),
            share
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), ColdStart::times),
            ms(share.as_ref().map_or(full.cpu, |s| s.cpu)),
        );
    }
    println!(
        "\nThe success path again, after the two GetSecretValue calls (in parallel) of a deployed cold start. \
         Here one TLS endpoint serves both services; on AWS, Secrets Manager and DynamoDB are two hosts, so two handshakes."
    );
}
