//! The `user-events` Lambda function: the users table's stream as events
//! on the bus named by `EVENT_BUS_NAME` (see the library). Wiring only.

use lambda_http::lambda_runtime::{self, LambdaEvent};
use phone_auth::config::{ConfigError, Settings};
use phone_auth::lambda::config_or_exit;
use phone_auth::startup;
use serde_json::Value;
use user_events::Bus;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    phone_auth::lambda::init_logging();
    let settings = Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let name = config_or_exit(settings.get("EVENT_BUS_NAME").ok_or(ConfigError {
        name: "EVENT_BUS_NAME",
        problem: "is required and not set (the stack sets it)".into(),
    }));
    let bus = Bus {
        client: aws_sdk_eventbridge::Client::new(&sdk),
        name,
    };
    let bus = &bus;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| async move {
            Ok::<_, std::convert::Infallible>(user_events::handle(bus, &event.payload).await)
        },
    ))
    .await
}
