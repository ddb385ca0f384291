//! Deleting accounts as the stack does it: the function's answer (the
//! deletion's transaction) and, apart from it, the finishing that
//! `account-cleanup` does on the users table's stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::config::Config;
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::service::{Service, finish_deletion};
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::{User, UserId};
use phone_auth::http::{ApiRequest, App};
use phone_auth::ports::{Clock, InviteOwner, SmsSender, Store, SystemClock};
use serde_json::json;

/// The user-profile function's app: its deletions are finished by the
/// stream's function, as in the stack, not inline as in the dev server.
pub struct StackProfile {
    app: App,
    store: Arc<DynamoStore>,
}

/// What deleting a user with many referrals took.
pub struct Timed {
    pub referrals: usize,
    pub answer: Duration,
    pub finish: Duration,
}

impl StackProfile {
    pub fn new(config: Config, store: Arc<DynamoStore>, sms: Arc<dyn SmsSender>) -> StackProfile {
        let service = Service::new(config.rules, store.clone(), sms, Arc::new(SystemClock));
        StackProfile {
            app: App::new(service),
            store,
        }
    }

    /// `DELETE /profile/me/` with this access token and code: the status.
    pub async fn delete(&self, access: &str, code: &str) -> u16 {
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {access}")).unwrap();
        headers.insert(header::AUTHORIZATION, bearer);
        let request = ApiRequest {
            method: Method::DELETE,
            path: "/profile/me/".into(),
            query: None,
            headers,
            body: Bytes::from(json!({ "code": code }).to_string()),
            source_ip: None,
            iam_caller: None,
        };
        self.app.handle(request).await.status().as_u16()
    }

    /// `referrals` users who activated `owner`'s code, written straight into
    /// the tables (as that many activations would leave them).
    pub async fn seed(&self, owner: &InviteOwner, code: &InviteCode, referrals: usize) {
        let now = SystemClock.now();
        let mut rng = rand::rng();
        let invitees: Vec<User> = (0..referrals)
            .map(|i| {
                let id = UserId::generate(&mut rng);
                let phone = Phone::from_trusted(format!("+7913{i:07}"));
                User::signed_up(id, phone, InviteCode::generate(&mut rng), now)
            })
            .collect();
        self.store
            .seed_invitees(owner, code, &invitees, Timestamp(now.0 - 1))
            .await
            .expect("seeding the referrals");
    }

    /// The deletion of a user with that many referrals: the answer, then
    /// the finishing the stream would run.
    pub async fn time(&self, id: UserId, access: &str, code: &str, referrals: usize) -> Timed {
        let started = Instant::now();
        let status = self.delete(access, code).await;
        let answer = started.elapsed();
        assert_eq!(status, 204, "the deletion answers 204");
        let started = Instant::now();
        let store: &dyn Store = self.store.as_ref();
        let released = finish_deletion(store, id)
            .await
            .expect("finishing the deletion");
        assert_eq!(released, referrals);
        Timed {
            referrals,
            answer,
            finish: started.elapsed(),
        }
    }
}

pub fn table(timed: &Timed) {
    println!(
        "\n| deleting a user with referrals, on moto | the answer (target < 3 s) | finishing it, as account-cleanup does |"
    );
    println!("| --- | --- | --- |");
    println!(
        "| {} referrals | {:.0} ms | {:.1} s |",
        timed.referrals,
        timed.answer.as_secs_f64() * 1000.0,
        timed.finish.as_secs_f64()
    );
}
