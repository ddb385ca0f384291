//! Creates the tables of `template.yaml` on the AWS endpoint of the
//! environment (a moto server for `make emulate`), under the names in
//! `USERS_TABLE`, `CODES_TABLE`, `SESSIONS_TABLE` and `INVITES_TABLE`.

use phone_auth::adapters::dynamodb::schema;
use phone_auth::config::Settings;
use phone_auth::lambda::config_or_exit;
use phone_auth::startup::aws_sdk_config;

#[tokio::main]
async fn main() {
    let tables = config_or_exit(Settings::from_env().tables());
    let client = aws_sdk_dynamodb::Client::new(&aws_sdk_config().await);
    if let Err(error) = schema::create_tables(&client, &tables).await {
        eprintln!("create-tables: {error}");
        std::process::exit(1);
    }
    println!("create-tables: created {tables:?}");
}
