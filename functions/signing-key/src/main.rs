//! The `signing-key` Lambda function: the stack's `SigningKey` custom
//! resource (see the library). Wiring only.

use lambda_http::lambda_runtime::{self, LambdaEvent};
use phone_auth::lambda::config_or_exit;
use phone_auth::startup;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = phone_auth::config::Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        let client = client.clone();
        async move {
            let answer = signing_key::handle(&client, &event.payload).await;
            let url = event.payload["ResponseURL"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            // Without an answer the stack waits an hour: a failure to
            // send one is an error, and Lambda tries again.
            tokio::task::spawn_blocking(move || signing_key::respond(&url, &answer))
                .await
                .map_err(|e| e.to_string())??;
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
