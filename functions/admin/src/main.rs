//! The `admin` Lambda function: wiring only. API Gateway lets in IAM
//! callers alone (`AWS_IAM` on its routes); the handler also refuses a
//! request whose context names no IAM caller.

use phone_auth::http::routes::function::Admin;

// One request at a time per instance: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    phone_auth::lambda::run::<Admin>().await
}
