//! The DynamoDB and SNS calls of each endpoint's success path, counted by
//! moto's recorder on the dev server (the code path the functions share),
//! and the table that prints them beside each function's size.

use std::collections::HashMap;
use std::sync::Arc;

use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::adapters::sns::SnsSms;
use phone_auth::config::{Settings, Tables};
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::UserId;
use phone_auth::ports::InviteOwner;
use serde_json::{Value, json};

use crate::deletion::{StackProfile, Timed};
use crate::launch::size;
use crate::setup::{Api, Calls, Recorder, settings};
use crate::targets::Targets;

pub type RoundTrips = HashMap<&'static str, Vec<(&'static str, Calls)>>;

/// Each endpoint's calls, and a deletion of a user with `referrals`
/// referrals timed as the stack runs it.
pub async fn measure(
    api: &Api,
    recorder: &Recorder,
    sdk: &aws_config::SdkConfig,
    tables: &Tables,
    referrals: usize,
) -> (RoundTrips, Timed) {
    let owner = api.login("+79123000001").await;
    let phone = "+79123000002";
    let (_, sent) = api
        .counted(recorder, "POST", "/phone/", None, json!({"phone": phone}))
        .await;
    let code = api.code(phone).await;
    let body = json!({"phone": phone, "code": code});
    let (login, logged) = api.counted(recorder, "POST", "/code/", None, body).await;
    let access = login["access"].as_str().unwrap().to_owned();
    let (_, profile) = api
        .counted(recorder, "GET", "/profile/me/", Some(&access), Value::Null)
        .await;
    let invite = api
        .call("GET", "/profile/me/", owner["access"].as_str(), None)
        .await["invite"]
        .clone();
    let body = json!({"inv": invite});
    let (_, activated) = api
        .counted(recorder, "PATCH", "/profile/me/", Some(&access), body)
        .await;
    let body = json!({"refresh": login["refresh"]});
    let (refreshed, refresh) = api
        .counted(recorder, "POST", "/token/refresh/", None, body.clone())
        .await;
    // The same token again, within its grace: answered from the refused
    // rotation, no second read.
    let (_, grace) = api
        .counted(recorder, "POST", "/token/refresh/", None, body)
        .await;
    // Logout everywhere for a user with 30 sessions: one read of the
    // session, one query, two batches of deletes.
    let mut last = Value::Null;
    for _ in 0..30 {
        last = api.login("+79123000003").await;
    }
    let body = json!({"refresh": last["refresh"], "scope": "all"});
    let (_, revoke_all) = api
        .counted(recorder, "POST", "/token/revoke/", None, body)
        .await;
    let body = json!({"refresh": refreshed["refresh"]});
    let (_, revoke) = api
        .counted(recorder, "POST", "/token/revoke/", None, body)
        .await;
    // Deleting an account as the stack does (finished on the stream, not
    // inline): a user without referrals, counted; one with many, timed.
    let stack = StackProfile::new(
        Settings::from_map(settings(tables))
            .config()
            .expect("bench settings"),
        Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            tables.clone(),
        )),
        Arc::new(SnsSms::new(
            aws_sdk_sns::Client::new(sdk),
            &Default::default(),
        )),
    );
    let leaving = "+79123000005";
    let leaving_access = api.login(leaving).await["access"]
        .as_str()
        .unwrap()
        .to_owned();
    api.call("POST", "/phone/", None, Some(json!({"phone": leaving})))
        .await;
    let code = api.code(leaving).await;
    let deleted = recorder
        .count(async { assert_eq!(stack.delete(&leaving_access, &code).await, 204) })
        .await;
    let popular = "+79123000006";
    let popular_access = api.login(popular).await["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let popular_profile = api
        .call("GET", "/profile/me/", Some(&popular_access), None)
        .await;
    let popular_owner = InviteOwner {
        id: UserId(popular_profile["id"].as_u64().unwrap()),
        phone: Phone::from_trusted(popular.into()),
        date_joined: Timestamp(0),
    };
    let invite = InviteCode::parse(popular_profile["invite"].as_str().unwrap()).unwrap();
    stack.seed(&popular_owner, &invite, referrals).await;
    api.call("POST", "/phone/", None, Some(json!({"phone": popular})))
        .await;
    let code = api.code(popular).await;
    let timed = stack
        .time(popular_owner.id, &popular_access, &code, referrals)
        .await;

    let round_trips = HashMap::from([
        ("phone-enter", vec![("POST /phone/", sent)]),
        ("code-enter", vec![("POST /code/", logged)]),
        (
            "user-profile",
            vec![
                ("GET /profile/", profile),
                ("PATCH /profile/", activated),
                ("DELETE /profile/ (no referrals)", deleted),
            ],
        ),
        (
            "token-refresh",
            vec![
                ("POST /token/refresh/", refresh),
                ("POST /token/refresh/ (within the grace)", grace),
            ],
        ),
        (
            "token-revoke",
            vec![
                ("POST /token/revoke/", revoke),
                ("POST /token/revoke/ all (30 sessions)", revoke_all),
            ],
        ),
    ]);
    (round_trips, timed)
}

/// Each function's release sizes beside the calls of its requests.
pub fn table(round_trips: &RoundTrips, targets: &mut Targets) {
    println!("\n| function | bootstrap (arm64) | zip | request | DynamoDB calls | SNS calls |");
    println!("| --- | --- | --- | --- | --- | --- |");
    // `make build`'s output: under CARGO_TARGET_DIR when it is set.
    let lambda = crate::env_or("BENCH_LAMBDA_DIR", "target/lambda");
    for function in crate::FUNCTIONS {
        let bootstrap = format!("{lambda}/{function}/bootstrap");
        let zip = format!("{lambda}/{function}/bootstrap.zip");
        targets.sizes(function, &bootstrap, &zip);
        for (path, (dynamodb, sns)) in &round_trips[function] {
            println!(
                "| {function} | {} | {} | {path} | {dynamodb} | {sns} |",
                size(&bootstrap),
                size(&zip),
            );
        }
    }
}
