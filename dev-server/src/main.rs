//! `make dev`: the whole API on 127.0.0.1:$PORT (default 3000).

use std::io::IsTerminal;
use std::sync::Arc;

use dev_server::{DevServer, with_dev_defaults};
use phone_auth::config::{ConfigError, Settings};
use phone_auth::lambda::config_or_exit;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log redirected to a file stays
        // plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let (env, filled) = with_dev_defaults(std::env::vars().collect());
    if !filled.is_empty() {
        eprintln!(
            "dev-server: using development values for {}",
            filled.join(", ")
        );
    }
    let settings = Settings::from_map(env);
    let port: u16 = config_or_exit(settings.get("PORT").map_or(Ok(3000), |raw| {
        raw.parse().map_err(|_| ConfigError {
            name: "PORT",
            problem: format!("expected a port number, got {raw:?}"),
        })
    }));
    let backend = config_or_exit(dev_server::Backend::from_settings(&settings));
    let server = Arc::new(config_or_exit(DevServer::from_settings(&settings).await));

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!(
        "dev-server listening on http://{address} (backend: {backend:?}); \
         try the whole flow at http://{address}/"
    );
    dev_server::serve(listener, server).await
}
