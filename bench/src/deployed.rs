//! As deployed: the stack passes secret ARNs, and each cold start reads
//! the keys from Secrets Manager before its first request. At the share
//! under two models: the whole process throttled (what the bench always
//! assumed), and init at full CPU until the process asks for its first
//! event, throttled after (what others measured on Lambda, which AWS does
//! not document).

use std::collections::HashMap;

use serde_json::json;

use crate::launch::{ColdStart, Starts, ms};
use crate::setup::{HASH_KEY, JWT_KEY};
use crate::targets::Targets;

pub async fn table(
    starts: &mut Starts,
    sdk: &aws_config::SdkConfig,
    env: &HashMap<String, String>,
    prefix: &str,
    targets: &mut Targets,
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
    // On AWS, Secrets Manager and DynamoDB are two hosts: two connections
    // and two handshakes. The terminator's certificate names localhost
    // and 127.0.0.1, so the secrets go to the other name.
    if let Some(url) = env
        .get("AWS_ENDPOINT_URL")
        .filter(|url| url.contains("://localhost:"))
    {
        deployed.insert(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
            url.replace("://localhost:", "://127.0.0.1:"),
        );
    }
    println!(
        "\n| function | as deployed (keys from Secrets Manager), full CPU | at its share, whole process | at its share, init at full CPU | CPU used |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let shown = |start: &Option<ColdStart>| {
        start
            .as_ref()
            .map_or_else(|| "n/a".to_owned(), ColdStart::times)
    };
    for function in crate::FUNCTIONS {
        let launch = starts.launch(function, &deployed);
        let full = starts.full(&launch, true).await;
        let share = starts.share(&launch, true).await;
        let init_full = starts.init_full(&launch, true).await;
        println!(
            "| {function} | {} | {} | {} | {:.2} ms |",
            full.times(),
            shown(&share),
            shown(&init_full),
            ms(share.as_ref().map_or(full.cpu, |s| s.cpu)),
        );
        if let (Some(share), Some(init_full)) = (&share, &init_full) {
            targets.deployed(function, share, init_full);
        }
    }
    println!(
        "\nThe success path again, after the two GetSecretValue calls (in parallel) of a deployed cold start. \
         Secrets Manager and DynamoDB are two hosts, as on AWS (two names of one TLS terminator): two handshakes, \
         the one to DynamoDB made during start-up, beside the secret reads. \
         \"Init at full CPU\": the process runs unthrottled until it asks the runtime API for its first event, and is moved into its group there."
    );
}
