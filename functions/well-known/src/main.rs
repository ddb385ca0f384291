//! The `well-known` Lambda function: wiring only. It serves the JWKS and
//! the OpenID discovery document, from the keys read at cold start; it
//! never calls DynamoDB (its role may not).

use phone_auth::http::routes::function::WellKnown;

// One request at a time per instance: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    phone_auth::lambda::run::<WellKnown>().await
}
