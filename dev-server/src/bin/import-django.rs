//! `import-django [--concurrency N] [--dry-run] FILE`: the Django system's
//! users (its `manage.py dumpdata` of the user model; `-` reads standard
//! input) into the tables named by `USERS_TABLE` and the rest, on the AWS
//! endpoint of the environment. See `dev_server::import` and README, "Moving
//! from the Django app". Exit status 0 when it ran to the end, reported rows
//! or not; 1 when it could not read the dump or write the tables; 2 on a
//! bad command line.

use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

use dev_server::import::{self, Dump, Options, Progress};
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::config::{ConfigError, Settings};
use phone_auth::domain::phone::Region;
use phone_auth::lambda::config_or_exit;
use phone_auth::ports::{Clock, SystemClock};

const USAGE: &str =
    "usage: import-django [--concurrency N] [--dry-run] FILE (- reads standard input)";

fn arguments() -> Result<(Options, String), String> {
    let mut concurrency = 16;
    let mut dry_run = false;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--concurrency" => {
                concurrency = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or("--concurrency takes a number from 1 to 1000")?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other if file.is_none() && (other == "-" || !other.starts_with('-')) => {
                file = Some(other.to_owned());
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let file = file.ok_or(USAGE)?;
    let options = Options {
        concurrency,
        dry_run,
        default_region: None,
    };
    Ok((options, file))
}

/// The dump: the named file, or (`-`) standard input read into memory. The
/// import reads it once per pass, and it is never written anywhere: it
/// holds the old system's password hashes.
fn dump(file: &str) -> std::io::Result<Dump> {
    if file != "-" {
        return Ok(Dump::File(PathBuf::from(file)));
    }
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes)?;
    Ok(Dump::InMemory(bytes.into()))
}

#[tokio::main]
async fn main() {
    let (mut options, file) = arguments().unwrap_or_else(|message| {
        eprintln!("{message}");
        std::process::exit(2)
    });
    let settings = Settings::from_env();
    options.default_region = config_or_exit(
        settings
            .get("DEFAULT_REGION")
            .map(|raw| {
                Region::from_str(&raw.to_ascii_uppercase()).map_err(|_| ConfigError {
                    name: "DEFAULT_REGION",
                    problem: format!("{raw:?} is not an ISO 3166-1 alpha-2 region"),
                })
            })
            .transpose(),
    );
    let tables = config_or_exit(settings.tables());
    let dump = dump(&file).unwrap_or_else(|error| {
        eprintln!("import-django: reading standard input: {error}");
        std::process::exit(1)
    });
    let sdk = phone_auth::startup::import_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let progress = Progress::for_stdout();
    match import::run(&store, &dump, &options, &progress, SystemClock.now()).await {
        Ok(summary) => println!("import-django: {}", summary.line(options.dry_run)),
        Err(error) => {
            eprintln!("import-django: {error}; nothing is lost: run it again to resume");
            std::process::exit(1)
        }
    }
}
