//! The `signing-key` Lambda function: the stack's `SigningKey` custom
//! resource (see the library). Wiring only.

use lambda_http::lambda_runtime::{self, LambdaEvent};
use phone_auth::lambda::config_or_exit;
use phone_auth::startup;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    phone_auth::lambda::init_logging();
    let settings = phone_auth::config::Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        let client = client.clone();
        async move {
            let answer = signing_key::handle(&client, &event.payload).await;
            phone_auth::custom_resource::send_answer(&event.payload, answer).await?;
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
