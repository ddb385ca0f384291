//! The `account-cleanup` Lambda function, on the users table's stream:
//! finishes each account deletion after its answer. Wiring only.

// One batch at a time per instance: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    phone_auth::lambda::run_account_cleanup().await
}
