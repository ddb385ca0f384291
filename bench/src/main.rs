//! `make bench`: for every function, the cold start (spawn to first
//! response through the Lambda runtime API, SDK clients built and settings
//! read as in production, moto as the AWS endpoint), its peak memory, the
//! size of its release bootstrap and zip, and the DynamoDB and SNS calls of
//! its success path, counted by moto's request recorder; and a model of the
//! send path under concurrent load. Prints one table each.
//!
//! Environment: MOTO_ENDPOINT (a moto started with MOTO_ENABLE_RECORDING),
//! BENCH_SPAWNS (cold starts per function, default 20), BENCH_WARM_REQUESTS
//! (requests per warm measurement, default 2000), BENCH_WRK_SECONDS (per
//! wrk run, default 10), BENCH_BIN_DIR (the host release binaries, default
//! target/release), BENCH_SMOKE=1 (a smoke run: the targets are not judged).

mod cgroup;
mod cold;
mod deletion;
mod deployed;
mod launch;
mod load;
mod regions;
mod round_trips;
mod rs256;
mod send_model;
mod setup;
mod targets;
mod warm;

use std::collections::HashMap;

use phone_auth::adapters::dynamodb::schema;
use phone_auth::config::Tables;

use cgroup::CpuGroup;
use launch::{Starts, Tokens};
use setup::{Api, Recorder};
use targets::Targets;

pub use setup::{bench_config, rs256_config};

const FUNCTIONS: [&str; 5] = [
    "phone-enter",
    "code-enter",
    "user-profile",
    "token-refresh",
    "token-revoke",
];

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn env_number(name: &str, default: &str) -> usize {
    env_or(name, default)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

#[tokio::main]
async fn main() {
    let moto = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT: run `make bench`");
    let spawns = env_number("BENCH_SPAWNS", "20");
    let bin_dir = env_or("BENCH_BIN_DIR", "target/release");
    // `make test` runs the bench once to prove it works, on debug binaries
    // with tiny counts: its figures are not the targets' to judge.
    let smoke = env_or("BENCH_SMOKE", "0") == "1";
    if smoke {
        println!(
            "Smoke run (BENCH_SMOKE=1): debug binaries and tiny counts, to show the bench works; \
             the figures are not measurements. `make bench` measures.\n"
        );
    }

    let sdk = phone_auth::startup::moto_sdk_config(&moto).await;
    // Tables of this run's own: a moto may serve several runs.
    let prefix = format!("bench{}", std::process::id());
    let tables = Tables {
        users: format!("{prefix}-users"),
        codes: format!("{prefix}-codes"),
        sessions: format!("{prefix}-sessions"),
        invites: format!("{prefix}-invites"),
    };
    schema::create_tables_without_streams(&aws_sdk_dynamodb::Client::new(&sdk), &tables)
        .await
        .expect("bench tables");
    let api = Api::start(&sdk, &tables).await;
    let recorder = Recorder {
        moto: moto.clone(),
        http: reqwest::Client::new(),
    };
    let referrals = env_number("BENCH_REFERRALS", "10000");
    let (round_trips, timed) =
        round_trips::measure(&api, &recorder, &sdk, &tables, referrals).await;

    // Tokens for the cold starts that need them: success-path starts, at
    // full CPU and at the share, with the keys given and read from Secrets
    // Manager, each use a token.
    let owner = api.login("+79123000001").await;
    let mut tokens = Tokens {
        access: owner["access"].as_str().unwrap().to_owned(),
        refresh: Vec::new(),
        revoke: Vec::new(),
    };
    // A token per success start that uses one up: the cold table's two,
    // the deployed table's three (init at full CPU too), RS256's two.
    for i in 0..8 * spawns {
        let user = api.login(&format!("+79123001{i:03}")).await;
        tokens
            .refresh
            .push(user["refresh"].as_str().unwrap().to_owned());
        let other = api.login(&format!("+79123002{i:03}")).await;
        tokens
            .revoke
            .push(other["refresh"].as_str().unwrap().to_owned());
    }

    // The functions reach moto over TLS when a terminator runs in front of
    // it (`make bench`), trusting its authority through SSL_CERT_FILE, so
    // loading the roots and the handshake are in the success-path figures.
    let tls = std::env::var("MOTO_TLS_ENDPOINT")
        .ok()
        .zip(std::env::var("BENCH_CA_BUNDLE").ok());
    let mut env = setup::settings(&tables);
    let endpoint = tls.as_ref().map_or(moto.as_str(), |(url, _)| url.as_str());
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        env.insert(k.into(), v.into());
    }
    if let Some((_, bundle)) = &tls {
        env.insert("SSL_CERT_FILE".into(), bundle.clone());
    }

    let memory: HashMap<String, u32> = schema::function_memory_sizes(schema::TEMPLATE)
        .expect("template.yaml names each function's MemorySize")
        .into_iter()
        .collect();
    let mut groups = HashMap::new();
    let mut no_group = None;
    for mb in memory.values() {
        if groups.contains_key(mb) {
            continue;
        }
        match CpuGroup::create(&format!("phone-auth-bench-{mb}mb"), *mb) {
            Ok(group) => drop(groups.insert(*mb, group)),
            Err(why) => no_group = Some(why),
        }
    }
    if let Some(why) = &no_group {
        println!("No cgroup for Lambda's CPU share ({why}): full-CPU columns only.\n");
    }
    let mut starts = Starts {
        bin_dir,
        spawns,
        memory,
        groups,
        tokens,
    };
    let mut targets = Targets::default();
    cold::table(&mut starts, &env, tls.is_some(), endpoint, &mut targets).await;
    deployed::table(&mut starts, &sdk, &env, &prefix, &mut targets).await;
    rs256::table(&mut starts, &env, &mut targets).await;
    regions::table(&mut starts, &env, &mut targets).await;
    round_trips::table(&round_trips, &mut targets);
    targets.print(smoke);
    deletion::table(&timed);
    warm::table(env_number("BENCH_WARM_REQUESTS", "2000")).await;
    regions::warm_parse_table(env_number("BENCH_WARM_REQUESTS", "2000"));
    load::table(env_number("BENCH_WRK_SECONDS", "10") as u32).await;
    send_model::table();
}
