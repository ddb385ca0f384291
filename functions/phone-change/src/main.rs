//! The `phone-change` Lambda function: wiring only.

use phone_auth::http::routes::function::PhoneChange;

// One request at a time per instance: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    phone_auth::lambda::run::<PhoneChange>().await
}
