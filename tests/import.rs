//! `import-django` with the Django system's own dump
//! (`tests/fixtures/django-users.json`) into moto, then the API on
//! those tables: the old users log in as themselves, their codes and
//! referrals are there, and what could not be imported is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api_tests::{
    Backend, PrivateMoto, StoreHandle, TestApp, config, fresh_tables_at, sdk_config_at,
    spawn_app_on,
};
use dev_server::import::{self, Dump, ImportError, Options, Progress, Summary};
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::config::Tables;
use phone_auth::domain::phone::Region;
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::UserId;
use phone_auth::ports::{InviteStore, SystemClock, UserStore};
use serde_json::{Value, json};

const DUMP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/django-users.json");
/// The import's moment: every imported user's joining date.
const AT: Timestamp = Timestamp(1_795_000_000_000);

fn dump() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(DUMP).unwrap()).unwrap()
}

async fn tables_on(moto: &PrivateMoto) -> (aws_sdk_dynamodb::Client, Tables) {
    fresh_tables_at(&moto.endpoint).await
}

fn options() -> Options {
    Options {
        concurrency: 4,
        dry_run: false,
        default_region: Some(Region::RU),
    }
}

async fn import_into(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables,
) -> Result<Summary, ImportError> {
    let store = DynamoStore::new(client.clone(), tables.clone());
    import::run(
        &store,
        &Dump::File(DUMP.into()),
        &options(),
        &Progress::new(false),
        AT,
    )
    .await
}

async fn api_on(client: &aws_sdk_dynamodb::Client, tables: &Tables) -> TestApp {
    let config = config(&[("DEFAULT_REGION", "RU"), ("RESEND_COOLDOWN_SECONDS", "0")]);
    let sms = Backend::Moto.sms(&config).await;
    spawn_app_on(
        Backend::Moto,
        StoreHandle::Moto(client.clone(), tables.clone()),
        sms,
        config,
        Arc::new(SystemClock),
    )
    .await
}

/// The tables' items with the tables' unique names taken out, to compare
/// two imports.
async fn contents(client: aws_sdk_dynamodb::Client, tables: Tables) -> String {
    let names = [
        (tables.users.clone(), "users"),
        (tables.codes.clone(), "codes"),
        (tables.sessions.clone(), "sessions"),
        (tables.invites.clone(), "invites"),
    ];
    let mut text = StoreHandle::Moto(client, tables).fingerprint().await;
    for (name, plain) in names {
        text = text.replace(&name, plain);
    }
    text
}

fn row(dump: &[Value], pk: u64) -> &Value {
    dump.iter().find(|r| r["pk"] == pk).unwrap()
}

#[tokio::test]
async fn the_dump_goes_in_and_its_users_log_in_as_themselves() {
    // Every test here on a moto of its own: moto copies every table on
    // every transaction, and an import is thousands of them.
    let moto = PrivateMoto::start().await;
    let (client, tables) = tables_on(&moto).await;
    let summary = import_into(&client, &tables).await.unwrap();
    let dump = dump();
    // The impossible number and the second spelling of a number.
    assert_eq!(summary.reported, 2, "{summary:?}");
    assert_eq!(summary.imported, dump.len() - 2);
    let store = DynamoStore::new(client.clone(), tables.clone());
    for reported in [301, 302] {
        assert!(store.user(UserId(reported)).await.unwrap().is_none());
    }
    let impossible = dump
        .iter()
        .find(|r| r["fields"]["phone"] == "+7000")
        .unwrap();
    assert_eq!(impossible["pk"], 302);
    let everything = contents(client.clone(), tables.clone()).await;
    assert!(dump.iter().any(|r| r["fields"]["password"] != ""));
    assert!(!everything.contains("pbkdf2") && !everything.contains("password"));

    // Referral counts: every owner's, as the dump has them among the
    // imported users.
    let imported: BTreeSet<u64> = dump
        .iter()
        .map(|r| r["pk"].as_u64().unwrap())
        .filter(|pk| ![301, 302].contains(pk))
        .collect();
    let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &dump {
        let invitee = r["pk"].as_u64().unwrap();
        if let Some(owner) = r["fields"]["parent_invite"].as_u64()
            && imported.contains(&owner)
            && imported.contains(&invitee)
        {
            *expected.entry(owner).or_default() += 1;
        }
    }
    assert_eq!(summary.referrals as u64, expected.values().sum::<u64>());
    for pk in &imported {
        let user = store.user(UserId(*pk)).await.unwrap().unwrap();
        let listed = store.referrals(UserId(*pk), 1, None).await.unwrap();
        assert_eq!(
            listed.total,
            expected.get(pk).copied().unwrap_or(0),
            "id {pk}"
        );
        let fields = &row(&dump, *pk)["fields"];
        assert_eq!(
            user.invite.as_str(),
            fields["invite"].as_str().unwrap().to_ascii_uppercase()
        );
        let last_login = fields["last_login"]
            .as_str()
            .map(|t| Timestamp::parse_rfc3339(t).unwrap());
        assert_eq!(user.last_login, last_login, "id {pk}");
        let inv = fields["inv"].as_str().unwrap();
        match (&user.activated, fields["parent_invite"].as_u64()) {
            (None, _) => assert_eq!(inv, "", "id {pk}"),
            (Some(a), Some(owner)) if imported.contains(&owner) => {
                assert_eq!(a.code.as_str(), inv.to_ascii_uppercase());
                assert_eq!(a.owner.as_ref().unwrap().id, UserId(owner));
            }
            // Its owner was deleted in the old system: the code alone.
            (Some(a), _) => {
                assert_eq!(a.code.as_str(), inv.to_ascii_uppercase());
                assert!(a.owner.is_none(), "id {pk}");
            }
        }
    }

    // Through the API: an old user logs in as its old id.
    let api = api_on(&client, &tables).await;
    let first = api.login("+79260181590").await.body;
    assert_eq!(
        (first["user_id"].as_u64(), &first["created"]),
        (Some(1), &json!(false))
    );
    let access = first["access"].as_str().unwrap();
    let profile = api.get_auth("/profile/1/", access).await.body;
    assert_eq!(profile["invite"], row(&dump, 1)["fields"]["invite"]);
    assert_eq!(profile["referrals_count"], expected[&1]);
    // One typed with the trunk prefix in the dump, and one in the drama
    // range libphonenumber holds possible but not valid.
    for pk in [6, drama_range(&dump)] {
        let phone = store.user(UserId(pk)).await.unwrap().unwrap().phone;
        let login = api.login(phone.as_str()).await.body;
        assert_eq!(login["user_id"].as_u64(), Some(pk), "{phone}");
    }

    // A new user activates an old code with 0, O, 1 or I, typed in
    // lower case.
    let odd = dump
        .iter()
        .map(|r| r["fields"]["invite"].as_str().unwrap())
        .find(|code| code.contains(['0', 'O', '1', 'I']) && code.chars().all(|c| !c.is_lowercase()))
        .unwrap();
    let owner = dump.iter().find(|r| r["fields"]["invite"] == odd).unwrap()["pk"]
        .as_u64()
        .unwrap();
    let newcomer = api.login("+79005550001").await.body;
    assert_eq!(newcomer["created"], true);
    let activated = api
        .send(
            api.http
                .patch(api.url("/profile/me/"))
                .bearer_auth(newcomer["access"].as_str().unwrap())
                .json(&json!({"inv": odd.to_ascii_lowercase()})),
        )
        .await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    assert_eq!(activated.body["parent_invite"], owner);
    let listed = store.referrals(UserId(owner), 1, None).await.unwrap();
    assert_eq!(listed.total, expected.get(&owner).copied().unwrap_or(0) + 1);
    // The dump's lower-case code, typed in upper case.
    let lower = dump
        .iter()
        .map(|r| r["fields"]["invite"].as_str().unwrap())
        .find(|code| code.chars().any(char::is_lowercase))
        .unwrap();
    let second = api.login("+79005550002").await.body;
    let activated = api
        .send(
            api.http
                .patch(api.url("/profile/me/"))
                .bearer_auth(second["access"].as_str().unwrap())
                .json(&json!({"inv": lower.to_ascii_uppercase()})),
        )
        .await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
}

/// An imported user whose number is possible and not valid.
fn drama_range(dump: &[Value]) -> u64 {
    dump.iter()
        .find(|r| {
            r["fields"]["phone"]
                .as_str()
                .unwrap()
                .starts_with("+447700")
        })
        .unwrap()["pk"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_says_so() {
    let moto = PrivateMoto::start().await;
    let (client, tables) = tables_on(&moto).await;
    import_into(&client, &tables).await.unwrap();
    let handle = StoreHandle::Moto(client.clone(), tables.clone());
    let before = handle.fingerprint().await;
    let again = import_into(&client, &tables).await.unwrap();
    assert_eq!(
        (again.imported, again.referrals, again.orphans),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.unchanged, dump().len() - 2);
    assert!(again.line(false).contains("Nothing was written"));
    assert_eq!(handle.fingerprint().await, before);

    // A dry run reports the same rows and writes nothing.
    let (client, tables) = tables_on(&moto).await;
    let store = DynamoStore::new(client.clone(), tables.clone());
    let dry = Options {
        dry_run: true,
        ..options()
    };
    let summary = import::run(
        &store,
        &Dump::File(DUMP.into()),
        &dry,
        &Progress::new(false),
        AT,
    )
    .await
    .unwrap();
    assert_eq!((summary.imported, summary.reported), (dump().len() - 2, 2));
    let empty = StoreHandle::Moto(client, tables);
    assert_eq!(empty.fingerprint().await, "");
}

/// Fails every request after the first `budget`, as a network that drops
/// in the middle of an import would.
#[derive(Debug)]
struct FailAfter(Arc<AtomicUsize>);

impl aws_sdk_dynamodb::config::Intercept for FailAfter {
    fn name(&self) -> &'static str {
        "FailAfter"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let left = self.0.load(Ordering::SeqCst);
        if left == 0 {
            return Err("injected fault".into());
        }
        self.0.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn an_import_stopped_by_a_fault_resumes_on_the_next_run() {
    let moto = PrivateMoto::start().await;
    let (client, tables) = tables_on(&moto).await;
    let failing = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk_config_at(&moto.endpoint).await)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .interceptor(FailAfter(Arc::new(AtomicUsize::new(450))))
            .build(),
    );
    let stopped = import_into(&failing, &tables).await;
    assert!(matches!(stopped, Err(ImportError::Write(_))), "{stopped:?}");
    let resumed = import_into(&client, &tables).await.unwrap();
    assert!(resumed.imported > 0 && resumed.unchanged > 0, "{resumed:?}");

    // The same tables as an import that never failed.
    let (clean_client, clean_tables) = tables_on(&moto).await;
    import_into(&clean_client, &clean_tables).await.unwrap();
    let resumed = contents(client, tables).await;
    assert_eq!(resumed, contents(clean_client, clean_tables).await);
}

/// An imported phone logging in while the import runs: one user for the
/// phone whichever comes first, and the import says so when the login won.
#[tokio::test]
async fn a_login_during_the_import_never_makes_a_second_user() {
    let moto = PrivateMoto::start().await;
    let (client, tables) = tables_on(&moto).await;
    let api = api_on(&client, &tables).await;
    let phone = "+79260181590";
    let (summary, login) = tokio::join!(import_into(&client, &tables), api.login(phone));
    let summary = summary.unwrap();
    let store = DynamoStore::new(client.clone(), tables.clone());
    let owner = store
        .user_id_by_phone(&phone_auth::domain::phone::Phone::parse(phone, None).unwrap())
        .await
        .unwrap()
        .unwrap();
    let logged_in = UserId(login.body["user_id"].as_u64().unwrap());
    let again = api.login(phone).await.body;
    assert_eq!(UserId(again["user_id"].as_u64().unwrap()), owner);
    if owner == UserId(1) {
        // The import came first: the login found the old user (or made a
        // user the import then met, and reported).
        assert_eq!(summary.reported, 2, "{summary:?}");
    } else {
        assert_eq!(logged_in, owner);
        assert_eq!(summary.reported, 3, "the old user of the phone is reported");
    }
    let users_with_phone = contents(client, tables)
        .await
        .lines()
        .filter(|line| line.contains("user#") && line.contains(phone))
        .count();
    assert_eq!(users_with_phone, 1);
}
