//! The `sms-delivery` Lambda function: SNS's delivery status logs as
//! metrics, and the stack's `SmsDeliveryLogging` custom resource (see the
//! library). Wiring only.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use phone_auth::adapters::emf::EmfMetrics;
use phone_auth::config::Settings;
use phone_auth::lambda::config_or_exit;
use phone_auth::ports::SystemClock;
use phone_auth::startup;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    phone_auth::lambda::init_logging();
    let settings = Settings::from_env();
    let sdk = config_or_exit(startup::lambda_sdk_config(&settings));
    let stack = settings
        .get("METRICS_STACK")
        .unwrap_or_else(|| "phone-auth".into());
    let metrics = EmfMetrics::new(stack, Arc::new(SystemClock));
    let (sdk, metrics) = (&sdk, &metrics);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| async move {
            sms_delivery::handle(sdk, metrics, &event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
