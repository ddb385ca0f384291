//! The `phone-enter` Lambda function: wiring only.

use phone_auth::http::routes::Endpoint;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_auth::lambda::run(Endpoint::PhoneEnter).await
}
