//! One contract, two stores: every case runs on the in-memory store and on
//! the DynamoDB store against moto, so the two cannot drift apart.

use std::sync::Arc;

use api_tests::{OTHER_PHONE, PHONE};
use phone_auth::domain::code::CodeHash;
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::{Inviter, User, UserId};
use phone_auth::ports::{
    Activation, Allowance, Charge, CodeClaim, CodeRecord, Deletion, DeletionOutcome, InviteOwner,
    Login, LoginOutcome, Referral, ReferralKey, Rotation, SaveCode, Session, SessionState, Store,
    Tally, TallyField,
};

const NOW: Timestamp = Timestamp(1_795_774_530_000);
const MAX: u32 = 5;

fn phone(s: &str) -> Phone {
    Phone::parse(s, None).unwrap()
}

fn record(phone_number: &str, hash: &str, version: u64) -> CodeRecord {
    CodeRecord {
        phone: phone(phone_number),
        hash: Some(CodeHash(hash.into())),
        expires_at: NOW.plus_secs(300),
        attempts: 0,
        stranger_attempts: 0,
        verification_id: Some("v1".into()),
        sent_at: NOW,
        recent_sends: vec![NOW],
        version,
    }
}

fn claim(phone_number: &str, hash: &str) -> CodeClaim {
    CodeClaim {
        phone: phone(phone_number),
        hash: CodeHash(hash.into()),
        allowance: Allowance::Holder,
        max_attempts: MAX,
        now: NOW,
    }
}

fn user(id: u64, phone_number: &str, invite: &str) -> User {
    let invite = InviteCode::parse(invite).unwrap();
    User::signed_up(UserId(id), phone(phone_number), invite, NOW)
}

fn session(sid: &str, user: u64, jti: &str) -> Session {
    Session {
        sid: sid.into(),
        user: UserId(user),
        current_jti: jti.into(),
        expires_at: NOW.plus_secs(86_400),
        created_at: NOW,
        user_agent: Some(format!("{sid}-agent")),
    }
}

fn owner_of(u: &User) -> InviteOwner {
    InviteOwner {
        id: u.id,
        phone: u.phone.clone(),
        date_joined: u.date_joined,
    }
}

/// Saves a live code for `phone_number` and logs a new user in with it.
async fn register(store: &dyn Store, u: &User, sid: &str) -> LoginOutcome {
    let phone_number = u.phone.as_str();
    let version = store.code(&u.phone).await.unwrap().map_or(0, |r| r.version) + 1;
    assert_eq!(
        store
            .save_code(&record(phone_number, "h", version), &[])
            .await
            .unwrap(),
        SaveCode::Saved
    );
    store
        .login(
            &claim(phone_number, "h"),
            Login::New(u),
            &session(sid, u.id.0, "j0"),
        )
        .await
        .unwrap()
}

async fn saves_and_reads_codes(store: Arc<dyn Store>) {
    assert_eq!(store.code(&phone(PHONE)).await.unwrap(), None);
    let first = record(PHONE, "h1", 1);
    assert_eq!(store.save_code(&first, &[]).await.unwrap(), SaveCode::Saved);
    assert_eq!(store.code(&phone(PHONE)).await.unwrap(), Some(first));
    assert_eq!(store.code(&phone(OTHER_PHONE)).await.unwrap(), None);
}

async fn a_send_is_a_compare_and_swap_on_the_version(store: Arc<dyn Store>) {
    assert_eq!(
        store.save_code(&record(PHONE, "h1", 1), &[]).await.unwrap(),
        SaveCode::Saved
    );
    assert_eq!(
        store.save_code(&record(PHONE, "hx", 1), &[]).await.unwrap(),
        SaveCode::Conflict
    );
    assert_eq!(
        store.save_code(&record(PHONE, "hx", 3), &[]).await.unwrap(),
        SaveCode::Conflict
    );
    assert_eq!(
        store.code(&phone(PHONE)).await.unwrap().unwrap().hash,
        Some(CodeHash("h1".into()))
    );
    assert_eq!(
        store.save_code(&record(PHONE, "h2", 2), &[]).await.unwrap(),
        SaveCode::Saved
    );
    assert_eq!(store.code(&phone(PHONE)).await.unwrap().unwrap().version, 2);
}

async fn charges_are_capped_and_all_or_nothing(store: Arc<dyn Store>) {
    let charges = |cap_ip| {
        vec![
            Charge {
                key: "ip#test".into(),
                cap: cap_ip,
                expires_at: NOW.plus_secs(3600),
            },
            Charge {
                key: "sms#day".into(),
                cap: 2,
                expires_at: NOW.plus_secs(86_400),
            },
        ]
    };
    assert_eq!(
        store
            .save_code(&record(PHONE, "h", 1), &charges(10))
            .await
            .unwrap(),
        SaveCode::Saved
    );
    assert_eq!(
        store
            .save_code(&record(OTHER_PHONE, "h", 1), &charges(1))
            .await
            .unwrap(),
        SaveCode::LimitReached(0)
    );
    assert_eq!(
        store.code(&phone(OTHER_PHONE)).await.unwrap(),
        None,
        "nothing written past a cap"
    );
    assert_eq!(
        store
            .save_code(&record(OTHER_PHONE, "h", 1), &charges(10))
            .await
            .unwrap(),
        SaveCode::Saved
    );
    let third = "+447400123456";
    assert_eq!(
        store
            .save_code(&record(third, "h", 1), &charges(10))
            .await
            .unwrap(),
        SaveCode::LimitReached(1)
    );
    assert_eq!(store.code(&phone(third)).await.unwrap(), None);
}

async fn undo_restores_the_previous_record_and_the_counters(store: Arc<dyn Store>) {
    let charge = vec![Charge {
        key: "sms#undo".into(),
        cap: 1,
        expires_at: NOW.plus_secs(86_400),
    }];
    let first = record(PHONE, "h1", 1);
    assert_eq!(
        store.save_code(&first, &charge).await.unwrap(),
        SaveCode::Saved
    );
    store.undo_save_code(None, &first, &charge).await.unwrap();
    assert_eq!(store.code(&phone(PHONE)).await.unwrap(), None);

    assert_eq!(
        store.save_code(&first, &charge).await.unwrap(),
        SaveCode::Saved,
        "the counter was given back"
    );
    let second = record(PHONE, "h2", 2);
    assert_eq!(
        store.save_code(&second, &[]).await.unwrap(),
        SaveCode::Saved
    );
    store
        .undo_save_code(Some(&first), &second, &[])
        .await
        .unwrap();
    // The old record is back under a new version: versions only grow, so a
    // stale compare-and-swap can never match a later write.
    let restored = CodeRecord {
        version: 3,
        ..first.clone()
    };
    assert_eq!(store.code(&phone(PHONE)).await.unwrap(), Some(restored));

    // A later send stands: undoing an older write changes nothing.
    let third = record(PHONE, "h3", 4);
    assert_eq!(store.save_code(&third, &[]).await.unwrap(), SaveCode::Saved);
    store
        .undo_save_code(Some(&first), &second, &[])
        .await
        .unwrap();
    assert_eq!(store.code(&phone(PHONE)).await.unwrap(), Some(third));
}

async fn wrong_attempts_count_up_to_the_cap(store: Arc<dyn Store>) {
    store.save_code(&record(PHONE, "h1", 1), &[]).await.unwrap();
    let p = phone(PHONE);
    assert!(
        !store
            .count_wrong_attempt(&p, &CodeHash("other".into()), Allowance::Holder, MAX)
            .await
            .unwrap()
    );
    for n in 1..=MAX {
        assert!(
            store
                .count_wrong_attempt(&p, &CodeHash("h1".into()), Allowance::Holder, MAX)
                .await
                .unwrap(),
            "try {n}"
        );
    }
    assert!(
        !store
            .count_wrong_attempt(&p, &CodeHash("h1".into()), Allowance::Holder, MAX)
            .await
            .unwrap()
    );
    assert_eq!(store.code(&p).await.unwrap().unwrap().attempts, MAX);
    assert!(
        !store
            .count_wrong_attempt(
                &phone(OTHER_PHONE),
                &CodeHash("h1".into()),
                Allowance::Holder,
                MAX
            )
            .await
            .unwrap()
    );
}

/// A code's two allowances count apart: a stranger's tries spend only
/// theirs, and a login on the holder's still holds once theirs is spent.
async fn the_two_allowances_count_apart(store: Arc<dyn Store>) {
    store.save_code(&record(PHONE, "h1", 1), &[]).await.unwrap();
    let p = phone(PHONE);
    let hash = CodeHash("h1".into());
    for n in 1..=MAX {
        assert!(
            store
                .count_wrong_attempt(&p, &hash, Allowance::Stranger, MAX)
                .await
                .unwrap(),
            "try {n}"
        );
    }
    assert!(
        !store
            .count_wrong_attempt(&p, &hash, Allowance::Stranger, MAX)
            .await
            .unwrap()
    );
    let stored = store.code(&p).await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.stranger_attempts), (0, MAX));
    assert_eq!(stored.verification_id.as_deref(), Some("v1"));
    let stranger = CodeClaim {
        allowance: Allowance::Stranger,
        ..claim(PHONE, "h1")
    };
    let u = user(4_815_162_343, PHONE, "K7QX2N");
    let refused = store
        .login(&stranger, Login::New(&u), &session("s0", u.id.0, "j0"))
        .await
        .unwrap();
    assert_eq!(refused, LoginOutcome::CodeGone);
    let holder = claim(PHONE, "h1");
    let logged = store
        .login(&holder, Login::New(&u), &session("s1", u.id.0, "j1"))
        .await
        .unwrap();
    assert_eq!(logged, LoginOutcome::LoggedIn);
}

/// Counters that only count: each key adds up on its own, an absent one
/// reads 0.
async fn counters_add_up_and_read_back(store: Arc<dyn Store>) {
    let later = NOW.plus_secs(7200);
    let count = TallyField::Count;
    store
        .add_to_counter("fail#a#1", count, later)
        .await
        .unwrap();
    store
        .add_to_counter("fail#a#1", count, later)
        .await
        .unwrap();
    store
        .add_to_counter("fail#b#1", count, later)
        .await
        .unwrap();
    store
        .add_to_counter("fail#b#1", TallyField::Logins, later)
        .await
        .unwrap();
    let keys = ["fail#a#1", "fail#b#1", "fail#c#1"].map(String::from);
    let tally = |count, logins| Tally { count, logins };
    assert_eq!(
        store.counters(&keys).await.unwrap(),
        vec![tally(2, 0), tally(1, 1), tally(0, 0)]
    );
    // More keys than one batch read takes, some twice.
    let many: Vec<String> = (0..130)
        .map(|i| format!("fail#{}#1", ["a", "x"][i % 2]))
        .collect();
    let read = store.counters(&many).await.unwrap();
    assert_eq!(read.len(), 130);
    assert!(read.iter().step_by(2).all(|t| *t == tally(2, 0)));
}

/// A charge on its own stops at its cap.
async fn a_charge_stops_at_its_cap(store: Arc<dyn Store>) {
    let charge = Charge {
        key: "sms#2026-12-05#3".into(),
        cap: 2,
        expires_at: NOW.plus_secs(86_400),
    };
    assert!(store.charge(&charge).await.unwrap());
    assert!(store.charge(&charge).await.unwrap());
    assert!(!store.charge(&charge).await.unwrap());
    let read = store.counters(std::slice::from_ref(&charge.key)).await;
    assert_eq!(read.unwrap()[0].count, 2);
}

/// Taking a send back twice (a retry after a lost answer) gives its units
/// back once.
async fn a_send_is_given_back_once(store: Arc<dyn Store>) {
    let charges: Vec<Charge> = ["ip#once#1", "sms#once#0"]
        .map(|key| Charge {
            key: key.into(),
            cap: 10,
            expires_at: NOW.plus_secs(86_400),
        })
        .to_vec();
    let other = record(OTHER_PHONE, "h0", 1);
    let other = CodeRecord {
        verification_id: Some("v-other".into()),
        ..other
    };
    store.save_code(&other, &charges).await.unwrap();
    let written = record(PHONE, "h1", 1);
    store.save_code(&written, &charges).await.unwrap();
    store.charge(&charges[1]).await.unwrap();
    for _ in 0..3 {
        store
            .undo_save_code(None, &written, &charges)
            .await
            .unwrap();
    }
    let keys: Vec<String> = charges.iter().map(|c| c.key.clone()).collect();
    let counts: Vec<u32> = store
        .counters(&keys)
        .await
        .unwrap()
        .iter()
        .map(|t| t.count)
        .collect();
    assert_eq!(counts, vec![1, 2]);
}

async fn first_login_creates_the_user_and_consumes_the_code(store: Arc<dyn Store>) {
    let u = user(4_815_162_342, PHONE, "K7QX2M");
    assert_eq!(
        register(store.as_ref(), &u, "s1").await,
        LoginOutcome::LoggedIn
    );
    assert_eq!(store.user(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(store.user_id_by_phone(&u.phone).await.unwrap(), Some(u.id));
    let (found, owner) = store.activation_context(u.id, &u.invite).await.unwrap();
    assert_eq!(found, Some(u.clone()));
    assert_eq!(owner, Some(owner_of(&u)));
    let code = store.code(&u.phone).await.unwrap().unwrap();
    assert_eq!(code.hash, None, "a used code is gone");
    let again = store
        .login(
            &claim(PHONE, "h"),
            Login::Existing {
                user: u.id,
                at: NOW,
            },
            &session("s2", u.id.0, "j"),
        )
        .await
        .unwrap();
    assert_eq!(again, LoginOutcome::CodeGone);
}

async fn phone_invite_and_id_are_unique_and_failures_write_nothing(store: Arc<dyn Store>) {
    let first = user(1001, PHONE, "AAAAAA");
    assert_eq!(
        register(store.as_ref(), &first, "s1").await,
        LoginOutcome::LoggedIn
    );

    let same_phone = user(1002, PHONE, "BBBBBB");
    assert_eq!(
        register(store.as_ref(), &same_phone, "s2").await,
        LoginOutcome::PhoneTaken
    );
    let same_invite = user(1003, OTHER_PHONE, "AAAAAA");
    assert_eq!(
        register(store.as_ref(), &same_invite, "s3").await,
        LoginOutcome::InviteTaken
    );
    let same_id = user(1001, OTHER_PHONE, "CCCCCC");
    assert_eq!(
        register(store.as_ref(), &same_id, "s4").await,
        LoginOutcome::IdTaken
    );

    assert_eq!(store.user(UserId(1002)).await.unwrap(), None);
    assert_eq!(store.user(UserId(1003)).await.unwrap(), None);
    assert_eq!(
        store.user_id_by_phone(&phone(OTHER_PHONE)).await.unwrap(),
        None
    );
    for code in ["BBBBBB", "CCCCCC"] {
        let code = InviteCode::parse(code).unwrap();
        let (_, owner) = store.activation_context(UserId(1), &code).await.unwrap();
        assert_eq!(owner, None);
    }
    assert_eq!(store.user(UserId(1001)).await.unwrap(), Some(first));
    // The failed logins did not use up the code.
    let live = store.code(&phone(OTHER_PHONE)).await.unwrap().unwrap();
    assert!(live.hash.is_some());
    // Nor did they start a session.
    assert_eq!(store.session("s3").await.unwrap(), None);
    assert_eq!(
        store
            .rotate_session("s3", "j0", "j1", NOW, NOW)
            .await
            .unwrap(),
        Rotation::Refused(None)
    );
}

async fn a_login_needs_a_live_unburned_matching_code(store: Arc<dyn Store>) {
    let u = user(2001, PHONE, "DDDDDD");
    store.save_code(&record(PHONE, "h", 1), &[]).await.unwrap();
    let mut expired = claim(PHONE, "h");
    expired.now = NOW.plus_secs(300);
    let mut wrong = claim(PHONE, "other");
    wrong.now = NOW;
    for c in [expired, wrong] {
        let outcome = store
            .login(&c, Login::New(&u), &session("s", u.id.0, "j"))
            .await
            .unwrap();
        assert_eq!(outcome, LoginOutcome::CodeGone);
    }
    for _ in 0..MAX {
        store
            .count_wrong_attempt(&u.phone, &CodeHash("h".into()), Allowance::Holder, MAX)
            .await
            .unwrap();
    }
    let burned = store
        .login(
            &claim(PHONE, "h"),
            Login::New(&u),
            &session("s", u.id.0, "j"),
        )
        .await
        .unwrap();
    assert_eq!(burned, LoginOutcome::CodeGone);
    assert_eq!(store.user(u.id).await.unwrap(), None);
}

async fn a_returning_login_sets_last_login(store: Arc<dyn Store>) {
    let u = user(3001, PHONE, "EEEEEE");
    assert_eq!(
        register(store.as_ref(), &u, "s1").await,
        LoginOutcome::LoggedIn
    );
    store.save_code(&record(PHONE, "h2", 2), &[]).await.unwrap();
    let later = NOW.plus_secs(100);
    let outcome = store
        .login(
            &claim(PHONE, "h2"),
            Login::Existing {
                user: u.id,
                at: later,
            },
            &session("s2", u.id.0, "j"),
        )
        .await
        .unwrap();
    assert_eq!(outcome, LoginOutcome::LoggedIn);
    assert_eq!(
        store.user(u.id).await.unwrap().unwrap().last_login,
        Some(later)
    );

    store
        .save_code(&record(OTHER_PHONE, "h", 1), &[])
        .await
        .unwrap();
    let ghost = store
        .login(
            &claim(OTHER_PHONE, "h"),
            Login::Existing {
                user: UserId(9),
                at: later,
            },
            &session("s3", 9, "j"),
        )
        .await
        .unwrap();
    assert_eq!(ghost, LoginOutcome::UserGone);
    assert!(
        store
            .code(&phone(OTHER_PHONE))
            .await
            .unwrap()
            .unwrap()
            .hash
            .is_some()
    );
}

async fn sessions_rotate_and_remember_the_retired_token(store: Arc<dyn Store>) {
    let u = user(4001, PHONE, "FFFFFF");
    assert_eq!(
        register(store.as_ref(), &u, "s1").await,
        LoginOutcome::LoggedIn
    );
    let later = NOW.plus_secs(5);
    let expires = NOW.plus_secs(100_000);
    assert_eq!(
        store
            .rotate_session("s1", "j0", "j1", expires, NOW)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .rotate_session("s1", "j1", "j2", expires, later)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let state = SessionState {
        user: u.id,
        current_jti: "j2".into(),
        previous_jti: Some("j1".into()),
        rotated_at: Some(later),
        expires_at: expires,
        revoked: false,
        created_at: Some(NOW),
        user_agent: Some("s1-agent".into()),
    };
    assert_eq!(store.session("s1").await.unwrap(), Some(state.clone()));
    // A retired token is refused with the session as it stands, and
    // nothing is written: deciding is the service's.
    for retired in ["j0", "j1"] {
        assert_eq!(
            store
                .rotate_session("s1", retired, "j3", expires, later)
                .await
                .unwrap(),
            Rotation::Refused(Some(state.clone()))
        );
    }
    assert_eq!(store.session("s1").await.unwrap(), Some(state));
    assert_eq!(
        store
            .rotate_session("nope", "j0", "j1", expires, NOW)
            .await
            .unwrap(),
        Rotation::Refused(None)
    );
}

async fn revoking_ends_a_session_at_once(store: Arc<dyn Store>) {
    let u = user(5001, PHONE, "GGGGGG");
    assert_eq!(
        register(store.as_ref(), &u, "s1").await,
        LoginOutcome::LoggedIn
    );
    store.revoke_session("s1").await.unwrap();
    let Rotation::Refused(Some(state)) = store
        .rotate_session("s1", "j0", "j1", NOW, NOW)
        .await
        .unwrap()
    else {
        panic!("a revoked session rotated")
    };
    assert!(state.revoked);
    store.revoke_session("unknown").await.unwrap();
    assert_eq!(store.session("unknown").await.unwrap(), None);
}

/// A Django session's exchange happens once per old `jti`, and starts a
/// session of the service that refreshes like any other.
async fn an_old_token_is_exchanged_once(store: Arc<dyn Store>) {
    let u = user(5002, PHONE, "GGGGGH");
    let session = |sid: &str| Session {
        sid: sid.into(),
        user: u.id,
        current_jti: "j0".into(),
        expires_at: Timestamp(NOW.0 + 3_600_000),
        created_at: NOW,
        user_agent: None,
    };
    let until = Timestamp(NOW.0 + 86_400_000);
    assert!(
        store
            .start_exchanged_session("old-1", until, &session("x1"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .start_exchanged_session("old-1", until, &session("x2"))
            .await
            .unwrap()
    );
    assert!(
        store.session("x2").await.unwrap().is_none(),
        "a replay writes nothing"
    );
    assert_eq!(
        store
            .rotate_session("x1", "j0", "j1", NOW, NOW)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert!(
        store
            .start_exchanged_session("old-2", until, &session("x3"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.sessions_of(u.id).await.unwrap().len(),
        2,
        "the record is no session"
    );
}

/// Logout everywhere ends every session of the user, and only theirs,
/// past one page of the index and one batch of deletes.
async fn revoking_all_ends_every_session_of_the_user(store: Arc<dyn Store>) {
    let u = user(5101, PHONE, "GGGGGH");
    let other = user(5102, OTHER_PHONE, "GGGGGJ");
    assert_eq!(
        register(store.as_ref(), &u, "a0").await,
        LoginOutcome::LoggedIn
    );
    assert_eq!(
        register(store.as_ref(), &other, "b0").await,
        LoginOutcome::LoggedIn
    );
    for i in 1..60 {
        // Each login consumes a code: send one first.
        let version = store.code(&u.phone).await.unwrap().map_or(0, |r| r.version) + 1;
        let saved = store.save_code(&record(PHONE, "h", version), &[]).await;
        assert_eq!(saved.unwrap(), SaveCode::Saved);
        let login = Login::Existing {
            user: u.id,
            at: NOW,
        };
        let outcome = store
            .login(
                &claim(PHONE, "h"),
                login,
                &session(&format!("a{i}"), u.id.0, "j0"),
            )
            .await;
        assert_eq!(outcome.unwrap(), LoginOutcome::LoggedIn);
    }
    let mut sids = store.sessions_of(u.id).await.unwrap();
    sids.sort();
    let mut expected: Vec<String> = (0..60).map(|i| format!("a{i}")).collect();
    expected.sort();
    assert_eq!(sids, expected);
    // Read back at once, as they were started; an unknown id is left out.
    let mut asked = sids.clone();
    asked.push("nope".into());
    let mut read = store.sessions(&asked).await.unwrap();
    read.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(read.len(), 60);
    for (sid, state) in &read {
        assert_eq!(state.user, u.id, "{sid}");
        assert_eq!(state.created_at, Some(NOW), "{sid}");
        assert_eq!(state.user_agent, Some(format!("{sid}-agent")));
    }
    store.end_sessions(&sids).await.unwrap();
    assert!(store.sessions(&sids).await.unwrap().is_empty());
    for i in 0..60 {
        assert_eq!(store.session(&format!("a{i}")).await.unwrap(), None, "a{i}");
    }
    assert!(store.session("b0").await.unwrap().is_some());
    assert!(store.sessions_of(u.id).await.unwrap().is_empty());
    store.end_sessions(&sids).await.unwrap();
}

async fn concurrent_logins_with_one_code_have_one_winner(store: Arc<dyn Store>) {
    store.save_code(&record(PHONE, "h", 1), &[]).await.unwrap();
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let letter = char::from(phone_auth::domain::invite::ALPHABET[i as usize]);
                let u = user(6000 + i, PHONE, &format!("HHHHH{letter}"));
                store
                    .login(
                        &claim(PHONE, "h"),
                        Login::New(&u),
                        &session(&format!("s{i}"), u.id.0, "j"),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap() == LoginOutcome::LoggedIn {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let id = store
        .user_id_by_phone(&phone(PHONE))
        .await
        .unwrap()
        .expect("one user");
    assert!(store.user(id).await.unwrap().is_some());
}

async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
    let u = user(7001, PHONE, "JJJJJJ");
    assert_eq!(
        register(store.as_ref(), &u, "s1").await,
        LoginOutcome::LoggedIn
    );
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .rotate_session("s1", "j0", &format!("n{i}"), NOW, NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        if task.await.unwrap() == Rotation::Rotated {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
}

async fn concurrent_sends_have_one_winner(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .save_code(&record(PHONE, &format!("h{i}"), 1), &[])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut saved = 0;
    for task in tasks {
        if task.await.unwrap() == SaveCode::Saved {
            saved += 1;
        }
    }
    assert_eq!(saved, 1);
}

/// An inviter and `n` users who joined after them, all registered.
async fn inviter_and_invitees(store: &dyn Store, n: u64) -> (User, Vec<User>) {
    let inviter = user(9_000, "+447400000000", "KWMXYZ");
    assert_eq!(
        register(store, &inviter, "s-inviter").await,
        LoginOutcome::LoggedIn
    );
    let mut invitees = Vec::new();
    for i in 0..n {
        let mut u = user(9_001 + i, &format!("+4474001{i:05}"), &invite_for(i));
        u.date_joined = NOW.plus_secs(i + 1);
        assert_eq!(
            register(store, &u, &format!("s{i}")).await,
            LoginOutcome::LoggedIn
        );
        invitees.push(u);
    }
    (inviter, invitees)
}

fn invite_for(i: u64) -> String {
    let alphabet = phone_auth::domain::invite::ALPHABET;
    let digit = |d: u64| char::from(alphabet[(d % 32) as usize]);
    format!("ZZZ{}{}{}", digit(i / 1024), digit(i / 32), digit(i))
}

async fn activating_links_both_users_once(store: Arc<dyn Store>) {
    let (inviter, invitees) = inviter_and_invitees(store.as_ref(), 1).await;
    let invitee = &invitees[0];
    let owner = owner_of(&inviter);
    let at = NOW.plus_secs(50);
    assert_eq!(
        store
            .activate_invite(invitee, &inviter.invite, &owner, at)
            .await
            .unwrap(),
        Activation::Activated
    );
    let stored = store.user(invitee.id).await.unwrap().unwrap();
    let activated = stored.activated.expect("the invite is set");
    assert_eq!(activated.code, inviter.invite);
    assert_eq!(
        activated.owner,
        Some(Inviter {
            id: inviter.id,
            phone: inviter.phone.clone(),
            at: Some(at),
        })
    );
    let page = store.referrals(inviter.id, 10, None).await.unwrap();
    assert_eq!(page.total, 1, "counted from the list");
    assert_eq!(
        page.items,
        vec![Referral {
            id: invitee.id,
            phone: invitee.phone.clone(),
            date: at
        }]
    );
    assert_eq!(page.next, None);

    // Once ever: a second activation changes nothing.
    let again = store
        .activate_invite(invitee, &inviter.invite, &owner, at.plus_secs(1))
        .await
        .unwrap();
    assert_eq!(again, Activation::AlreadyActivated);
    assert_eq!(
        store
            .referrals(inviter.id, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn an_activation_for_a_missing_owner_writes_nothing(store: Arc<dyn Store>) {
    let (_, invitees) = inviter_and_invitees(store.as_ref(), 1).await;
    let ghost = InviteOwner {
        id: UserId(77),
        phone: phone(OTHER_PHONE),
        date_joined: NOW,
    };
    let code = InviteCode::parse("GHXSTS").unwrap();
    let outcome = store
        .activate_invite(&invitees[0], &code, &ghost, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, Activation::OwnerGone);
    assert_eq!(
        store.user(invitees[0].id).await.unwrap().unwrap().activated,
        None
    );
    assert!(
        store
            .referrals(UserId(77), 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn referrals_page_newest_first_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let (inviter, invitees) = inviter_and_invitees(store.as_ref(), 23).await;
    let owner = owner_of(&inviter);
    for (i, u) in invitees.iter().enumerate() {
        // Two share each activation time: the id breaks the tie.
        let at = NOW.plus_secs(100 + i as u64 / 2);
        assert_eq!(
            store
                .activate_invite(u, &inviter.invite, &owner, at)
                .await
                .unwrap(),
            Activation::Activated
        );
    }
    let mut seen: Vec<Referral> = Vec::new();
    let mut after: Option<ReferralKey> = None;
    let mut pages = 0;
    loop {
        let page = store
            .referrals(inviter.id, 5, after.as_ref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 5);
        seen.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    let mut expected: Vec<Referral> = seen.clone();
    expected.sort_by_key(|r| std::cmp::Reverse(ReferralKey::of(r)));
    assert_eq!(seen, expected, "newest first, stable");
    let ids: std::collections::BTreeSet<UserId> = seen.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 23, "no repeats");
    let first = store.referrals(inviter.id, 5, None).await.unwrap();
    assert_eq!(first.total, 23, "the whole list's count on every page");
    // Exactly one full page: no next.
    let (other, few) = (
        invitees[0].id,
        store.referrals(invitees[0].id, 5, None).await.unwrap(),
    );
    assert!(
        few.items.is_empty() && few.next.is_none(),
        "{other} has no referrals"
    );
}

async fn concurrent_activations_by_one_user_have_one_winner(store: Arc<dyn Store>) {
    let (inviter, invitees) = inviter_and_invitees(store.as_ref(), 11).await;
    // The newest user tries every older user's code at once, and the
    // inviter's too, several times over.
    let target = invitees.last().unwrap().clone();
    let mut owners: Vec<(InviteCode, InviteOwner)> = invitees[..10]
        .iter()
        .map(|u| (u.invite.clone(), owner_of(u)))
        .collect();
    owners.push((inviter.invite.clone(), owner_of(&inviter)));
    let tasks: Vec<_> = owners
        .iter()
        .cycle()
        .take(16)
        .cloned()
        .map(|(code, owner)| {
            let store = Arc::clone(&store);
            let target = target.clone();
            tokio::spawn(async move {
                store
                    .activate_invite(&target, &code, &owner, NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap() == Activation::Activated {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let chosen = store
        .user(target.id)
        .await
        .unwrap()
        .unwrap()
        .activated
        .unwrap()
        .owner
        .unwrap()
        .id;
    let mut listed = 0;
    for (_, owner) in &owners {
        let page = store.referrals(owner.id, 100, None).await.unwrap();
        assert_eq!(page.items.len() as u64, page.total);
        if owner.id == chosen {
            assert_eq!(page.items.iter().filter(|r| r.id == target.id).count(), 1);
        }
        listed += page.items.len();
    }
    assert_eq!(
        listed, 1,
        "the user is listed once, by the owner of the code that won"
    );
}

/// Two registered users, (id, invite code) each, the second having
/// activated the first's code at `at`: (owner, invitee).
async fn invited(
    store: &Arc<dyn Store>,
    (owner_id, owner_code): (u64, &str),
    (invitee_id, invitee_code): (u64, &str),
    at: Timestamp,
) -> (User, User) {
    let mut owner = user(owner_id, OTHER_PHONE, owner_code);
    owner.date_joined = Timestamp(NOW.0 - 1000);
    let invitee = user(invitee_id, PHONE, invitee_code);
    for (u, sid) in [(&owner, "o1"), (&invitee, "u1")] {
        assert_eq!(
            register(store.as_ref(), u, sid).await,
            LoginOutcome::LoggedIn
        );
    }
    let activation = store
        .activate_invite(&invitee, &owner.invite, &owner_of(&owner), at)
        .await;
    assert_eq!(activation.unwrap(), Activation::Activated);
    (owner, invitee)
}

/// A deletion: all or nothing, refused by a spent code or a user changed
/// since it was read; the owner's count and list lose the user at once.
async fn a_deletion_is_one_transaction_refused_by_any_change(store: Arc<dyn Store>) {
    let at = NOW.plus_secs(5);
    let (owner, u) = invited(&store, (8001, "KKKKKK"), (8002, "KKKKKL"), at).await;
    let read = store.user(u.id).await.unwrap().unwrap();
    let version = store.code(&u.phone).await.unwrap().map_or(0, |r| r.version) + 1;
    let saved = store.save_code(&record(PHONE, "d", version), &[]).await;
    assert_eq!(saved.unwrap(), SaveCode::Saved);
    let sessions = store.sessions_of(u.id).await.unwrap();
    assert_eq!(sessions, vec!["u1".to_owned()]);

    let deletion = |user, claim, leaves_inviter| Deletion {
        user,
        claim,
        sessions: &sessions,
        leaves_inviter,
    };
    let before = store_dump(&store).await;
    // A wrong code's claim, then a user read before the activation.
    let wrong = claim(PHONE, "x");
    assert_eq!(
        store
            .delete_account(deletion(&read, Some(&wrong), true))
            .await
            .unwrap(),
        DeletionOutcome::CodeGone
    );
    let stale = user(8002, PHONE, "KKKKKL");
    let right = claim(PHONE, "d");
    assert_eq!(
        store
            .delete_account(deletion(&stale, Some(&right), true))
            .await
            .unwrap(),
        DeletionOutcome::Changed
    );
    assert_eq!(
        store_dump(&store).await,
        before,
        "a refused deletion writes nothing"
    );

    assert_eq!(
        store
            .delete_account(deletion(&read, Some(&right), true))
            .await
            .unwrap(),
        DeletionOutcome::Deleted
    );
    assert_eq!(store.user(u.id).await.unwrap(), None);
    assert!(!store.user_exists(u.id).await.unwrap());
    assert_eq!(store.user_id_by_phone(&u.phone).await.unwrap(), None);
    assert_eq!(store.code(&u.phone).await.unwrap(), None);
    assert_eq!(store.session("u1").await.unwrap(), None);
    let (_, gone) = store.activation_context(owner.id, &u.invite).await.unwrap();
    assert_eq!(gone, None);
    let inviter = store.user(owner.id).await.unwrap().unwrap();
    assert_eq!(inviter.referrals_count, 0);
    assert!(
        store
            .referrals(owner.id, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.session("o1").await.unwrap().is_some());
}

/// Letting go of a deleted owner changes only those who still point at
/// it, once; its referral entries go by key.
async fn invitees_are_detached_once_and_referrals_deleted_by_key(store: Arc<dyn Store>) {
    let (owner, invitee) = invited(&store, (8101, "MMMMMM"), (8102, "MMMMMN"), NOW).await;
    let code = owner.invite.clone();

    let activated = async || {
        let stored = store.user(invitee.id).await.unwrap().unwrap();
        stored.activated.unwrap()
    };
    // Someone else's id, and an unknown invitee: nothing changes.
    store
        .detach_invitees(UserId(1), &[invitee.id, UserId(2)])
        .await
        .unwrap();
    assert_eq!(activated().await.owner.map(|o| o.id), Some(owner.id));
    for _ in 0..2 {
        store
            .detach_invitees(owner.id, &[invitee.id])
            .await
            .unwrap();
        let detached = activated().await;
        assert_eq!((detached.code, detached.owner), (code.clone(), None));
    }
    let page = store.referrals(owner.id, 10, None).await.unwrap();
    let keys: Vec<ReferralKey> = page.items.iter().map(ReferralKey::of).collect();
    assert_eq!(keys.len(), 1);
    store.delete_referrals(owner.id, &keys).await.unwrap();
    store.delete_referrals(owner.id, &keys).await.unwrap();
    assert!(
        store
            .referrals(owner.id, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A dump of every table, for "nothing was written".
async fn store_dump(store: &Arc<dyn Store>) -> String {
    let mut lines = Vec::new();
    for id in [8001, 8002] {
        lines.push(format!("{:?}", store.user(UserId(id)).await.unwrap()));
        lines.push(format!(
            "{:?}",
            store.referrals(UserId(id), 10, None).await.unwrap()
        ));
    }
    lines.push(format!("{:?}", store.code(&phone(PHONE)).await.unwrap()));
    lines.push(format!("{:?}", store.session("u1").await.unwrap()));
    lines.push(format!(
        "{:?}",
        store.user_id_by_phone(&phone(PHONE)).await.unwrap()
    ));
    lines.join("\n")
}

api_tests::on_both_backends!(
    with api_tests::store_of;

    saves_and_reads_codes,
    a_send_is_a_compare_and_swap_on_the_version,
    charges_are_capped_and_all_or_nothing,
    undo_restores_the_previous_record_and_the_counters,
    wrong_attempts_count_up_to_the_cap,
    the_two_allowances_count_apart,
    counters_add_up_and_read_back,
    a_charge_stops_at_its_cap,
    a_send_is_given_back_once,
    first_login_creates_the_user_and_consumes_the_code,
    phone_invite_and_id_are_unique_and_failures_write_nothing,
    a_login_needs_a_live_unburned_matching_code,
    a_returning_login_sets_last_login,
    sessions_rotate_and_remember_the_retired_token,
    revoking_ends_a_session_at_once,
    an_old_token_is_exchanged_once,
    revoking_all_ends_every_session_of_the_user,
    a_deletion_is_one_transaction_refused_by_any_change,
    invitees_are_detached_once_and_referrals_deleted_by_key,
    concurrent_logins_with_one_code_have_one_winner,
    concurrent_rotations_have_one_winner,
    concurrent_sends_have_one_winner,
    activating_links_both_users_once,
    an_activation_for_a_missing_owner_writes_nothing,
    referrals_page_newest_first_without_gaps_or_repeats,
    concurrent_activations_by_one_user_have_one_winner,
);

/// The service reads only by key: no `Scan` may creep into the store, in
/// any of its files.
#[test]
fn no_scan_anywhere() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/adapters/dynamodb");
    let mut queries = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            !source.contains(".scan()"),
            "the DynamoDB store must not scan: {}",
            path.display()
        );
        queries += source.matches(".query()").count();
    }
    assert!(queries > 0, "the check reads the right files");
}
