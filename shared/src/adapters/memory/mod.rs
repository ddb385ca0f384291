//! The store in one process: every operation takes one lock, so each is as
//! atomic as the DynamoDB condition or transaction it stands in for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

mod account;
mod codes;
mod invites;
mod sessions;
mod users;

use crate::domain::invite::InviteCode;
use crate::domain::metric::Metric;
use crate::domain::phone::Phone;
use crate::domain::user::{User, UserId};
use crate::error::{Error, Result};
use crate::ports::{CodeClaim, CodeRecord, Metrics, Referral, ReferralKey, SessionState};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    codes: HashMap<Phone, CodeRecord>,
    counters: HashMap<String, u32>,
    /// Logins per pumping counter (its `count` is in `counters`).
    logins: HashMap<String, u32>,
    /// Sends taken back, by `verification_id`: each is given back once.
    undone: std::collections::HashSet<String>,
    phones: HashMap<Phone, UserId>,
    invites: HashMap<InviteCode, UserId>,
    users: HashMap<UserId, User>,
    sessions: HashMap<String, SessionState>,
    /// The Django system's refresh tokens exchanged, by `jti`.
    exchanged: std::collections::HashSet<String>,
    referrals: HashMap<UserId, BTreeMap<ReferralKey, Referral>>,
    /// Every committed change of a user since the last take, oldest
    /// first, as a table's stream holds them: what the dev server's events
    /// are made of. Kept only once someone takes them (`log_changes`), so
    /// a store nobody reads does not grow.
    changes: Option<Vec<UserChange>>,
    /// Changes ever logged: each one's number.
    changed: u64,
}

/// A user before and after one committed write (none: absent).
#[derive(Clone, Debug)]
pub struct UserChange {
    /// Its place in the log: unique and increasing.
    pub number: u64,
    pub before: Option<User>,
    pub after: Option<User>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Keeps the changes of users from now on, for `take_changes`.
    pub fn log_changes(&self) {
        if let Ok(mut state) = self.state() {
            state.changes.get_or_insert_with(Vec::new);
        }
    }

    /// The changes of users committed since the last call, oldest first
    /// (none unless `log_changes` was called).
    pub fn take_changes(&self) -> Vec<UserChange> {
        self.state()
            .ok()
            .and_then(|mut state| state.changes.as_mut().map(std::mem::take))
            .unwrap_or_default()
    }

    /// Everything stored, in a stable order: lets tests tell whether a
    /// request changed anything.
    pub fn dump(&self) -> String {
        let Ok(state) = self.state() else {
            return "poisoned".into();
        };
        let mut lines: Vec<String> = Vec::new();
        lines.extend(
            state
                .codes
                .values()
                .map(|r| format!("code {r:?} {:?}", r.hash.as_ref().map(|h| &h.0))),
        );
        lines.extend(
            state
                .counters
                .iter()
                .map(|(k, v)| format!("counter {k} {v}")),
        );
        lines.extend(state.logins.iter().map(|(k, v)| format!("logins {k} {v}")));
        lines.extend(state.phones.iter().map(|(k, v)| format!("phone {k} {v}")));
        lines.extend(
            state
                .invites
                .iter()
                .map(|(k, v)| format!("invite {} {v}", k.as_str())),
        );
        lines.extend(state.users.values().map(|u| format!("user {u:?}")));
        lines.extend(state.sessions.iter().map(|(k, v)| {
            format!(
                "session {k} {} {} {} {}",
                v.user, v.current_jti, v.expires_at.0, v.revoked
            )
        }));
        lines.extend(state.exchanged.iter().map(|jti| format!("exchanged {jti}")));
        lines.extend(state.referrals.iter().flat_map(|(owner, list)| {
            list.values()
                .map(move |r| format!("referral {owner} {r:?}"))
        }));
        lines.sort();
        lines.join("\n")
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::Internal("memory store lock poisoned".into()))
    }
}

impl State {
    /// Writes a new user, and logs the change.
    fn insert_user(&mut self, user: User) {
        let before = self.users.insert(user.id, user.clone());
        self.log_change(before, Some(user));
    }

    /// Removes a user, and logs the change.
    fn remove_user(&mut self, id: UserId) {
        if let Some(before) = self.users.remove(&id) {
            self.log_change(Some(before), None);
        }
    }

    /// Changes a user in place where `change` says it did (answers true),
    /// and logs it; false when there is no such user or nothing changed.
    fn update_user(&mut self, id: UserId, change: impl FnOnce(&mut User) -> bool) -> bool {
        let Some(user) = self.users.get_mut(&id) else {
            return false;
        };
        let before = user.clone();
        if !change(user) {
            return false;
        }
        let after = user.clone();
        self.log_change(Some(before), Some(after));
        true
    }

    fn log_change(&mut self, before: Option<User>, after: Option<User>) {
        self.changed += 1;
        let number = self.changed;
        let Some(changes) = self.changes.as_mut() else {
            return;
        };
        changes.push(UserChange {
            number,
            before,
            after,
        });
    }

    /// Consumes a claimed code, as a login does.
    fn use_claim(&mut self, claim: &CodeClaim) {
        if let Some(code) = self.codes.get_mut(&claim.phone) {
            code.hash = None;
            code.attempts = 0;
        }
    }

    fn claim_holds(&self, claim: &CodeClaim) -> bool {
        self.codes.get(&claim.phone).is_some_and(|r| {
            r.hash.as_ref() == Some(&claim.hash)
                && claim.allowance.spent(r) < claim.max_attempts
                && claim.now < r.expires_at
        })
    }
}

/// The metrics recorded, in order: for tests.
#[derive(Default)]
pub struct MemoryMetrics {
    recorded: Mutex<Vec<Metric>>,
}

impl MemoryMetrics {
    pub fn recorded(&self) -> Vec<Metric> {
        self.recorded
            .lock()
            .map(|recorded| recorded.clone())
            .unwrap_or_default()
    }
}

impl Metrics for MemoryMetrics {
    fn record(&self, metric: Metric) {
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.push(metric);
        }
    }
}
