//! The store in one process: every operation takes one lock, so each is as
//! atomic as the DynamoDB condition or transaction it stands in for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::code::CodeHash;
use crate::domain::invite::InviteCode;
use crate::domain::metric::Metric;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{ActivatedInvite, Inviter, User, UserId};
use crate::error::{Error, Result};
use crate::ports::{
    AccountStore, Activation, Charge, CodeClaim, CodeRecord, CodeStore, Deletion, DeletionOutcome,
    InviteOwner, InviteStore, Login, LoginOutcome, Metrics, Referral, ReferralKey, ReferralPage,
    Rotation, SaveCode, Session, SessionState, SessionStore, UserStore,
};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    codes: HashMap<Phone, CodeRecord>,
    counters: HashMap<String, u32>,
    phones: HashMap<Phone, UserId>,
    invites: HashMap<InviteCode, UserId>,
    users: HashMap<UserId, User>,
    sessions: HashMap<String, SessionState>,
    /// The Django system's refresh tokens exchanged, by `jti`.
    exchanged: std::collections::HashSet<String>,
    referrals: HashMap<UserId, BTreeMap<ReferralKey, Referral>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
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
    fn claim_holds(&self, claim: &CodeClaim) -> bool {
        self.codes.get(&claim.phone).is_some_and(|r| {
            r.hash.as_ref() == Some(&claim.hash)
                && r.attempts < claim.max_attempts
                && claim.now < r.expires_at
        })
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>> {
        Ok(self.state()?.codes.get(phone).cloned())
    }

    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode> {
        let mut state = self.state()?;
        let stored_version = state.codes.get(&record.phone).map_or(0, |r| r.version);
        if stored_version + 1 != record.version {
            return Ok(SaveCode::Conflict);
        }
        if let Some(index) = charges
            .iter()
            .position(|c| state.counters.get(&c.key).copied().unwrap_or(0) >= c.cap)
        {
            return Ok(SaveCode::LimitReached(index));
        }
        for charge in charges {
            *state.counters.entry(charge.key.clone()).or_default() += 1;
        }
        state.codes.insert(record.phone.clone(), record.clone());
        Ok(SaveCode::Saved)
    }

    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()> {
        let mut state = self.state()?;
        if state.codes.get(&written.phone).map(|r| r.version) == Some(written.version) {
            match previous {
                Some(prev) => state
                    .codes
                    .insert(prev.phone.clone(), prev.restored_after(written)),
                None => state.codes.remove(&written.phone),
            };
        }
        for charge in charges {
            if let Some(count) = state.counters.get_mut(&charge.key) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn count_wrong_attempt(&self, phone: &Phone, hash: &CodeHash, max: u32) -> Result<bool> {
        let mut state = self.state()?;
        match state.codes.get_mut(phone) {
            Some(r) if r.hash.as_ref() == Some(hash) && r.attempts < max => {
                r.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>> {
        Ok(self.state()?.phones.get(phone).copied())
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.state()?.users.get(&id).cloned())
    }

    async fn user_exists(&self, id: UserId) -> Result<bool> {
        Ok(self.state()?.users.contains_key(&id))
    }

    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome> {
        let mut state = self.state()?;
        if !state.claim_holds(claim) {
            return Ok(LoginOutcome::CodeGone);
        }
        match login {
            Login::Existing { user, at } => {
                let Some(stored) = state.users.get_mut(&user) else {
                    return Ok(LoginOutcome::UserGone);
                };
                stored.last_login = Some(at);
            }
            Login::New(user) => {
                if state.phones.contains_key(&user.phone) {
                    return Ok(LoginOutcome::PhoneTaken);
                }
                if state.invites.contains_key(&user.invite) {
                    return Ok(LoginOutcome::InviteTaken);
                }
                if state.users.contains_key(&user.id) {
                    return Ok(LoginOutcome::IdTaken);
                }
                state.phones.insert(user.phone.clone(), user.id);
                state.invites.insert(user.invite.clone(), user.id);
                state.users.insert(user.id, user.clone());
            }
        }
        if let Some(code) = state.codes.get_mut(&claim.phone) {
            code.hash = None;
            code.attempts = 0;
        }
        state
            .sessions
            .insert(session.sid.clone(), new_session(session));
        Ok(LoginOutcome::LoggedIn)
    }
}

fn new_session(session: &Session) -> SessionState {
    SessionState {
        user: session.user,
        current_jti: session.current_jti.clone(),
        previous_jti: None,
        rotated_at: None,
        expires_at: session.expires_at,
        revoked: false,
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn start_exchanged_session(
        &self,
        legacy_jti: &str,
        _legacy_expires: Timestamp,
        session: &Session,
    ) -> Result<bool> {
        let mut state = self.state()?;
        if !state.exchanged.insert(legacy_jti.to_owned()) {
            return Ok(false);
        }
        state
            .sessions
            .insert(session.sid.clone(), new_session(session));
        Ok(true)
    }

    async fn rotate_session(
        &self,
        sid: &str,
        old_jti: &str,
        new_jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation> {
        let mut state = self.state()?;
        let Some(session) = state.sessions.get_mut(sid) else {
            return Ok(Rotation::Refused(None));
        };
        if session.revoked || session.current_jti != old_jti {
            return Ok(Rotation::Refused(Some(session.clone())));
        }
        session.previous_jti = Some(std::mem::replace(
            &mut session.current_jti,
            new_jti.to_owned(),
        ));
        session.rotated_at = Some(now);
        session.expires_at = expires_at;
        Ok(Rotation::Rotated)
    }

    async fn session(&self, sid: &str) -> Result<Option<SessionState>> {
        Ok(self.state()?.sessions.get(sid).cloned())
    }

    async fn revoke_session(&self, sid: &str) -> Result<()> {
        if let Some(session) = self.state()?.sessions.get_mut(sid) {
            session.revoked = true;
        }
        Ok(())
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<String>> {
        let state = self.state()?;
        let sids = state.sessions.iter().filter(|(_, s)| s.user == user);
        Ok(sids.map(|(sid, _)| sid.clone()).collect())
    }

    async fn end_sessions(&self, sids: &[String]) -> Result<()> {
        let mut state = self.state()?;
        for sid in sids {
            state.sessions.remove(sid);
        }
        Ok(())
    }
}

#[async_trait]
impl InviteStore for MemoryStore {
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)> {
        let state = self.state()?;
        let owner = state
            .invites
            .get(code)
            .and_then(|id| state.users.get(id))
            .map(|owner| InviteOwner {
                id: owner.id,
                phone: owner.phone.clone(),
                date_joined: owner.date_joined,
            });
        Ok((state.users.get(&user).cloned(), owner))
    }

    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation> {
        let mut state = self.state()?;
        if state
            .users
            .get(&user.id)
            .is_none_or(|u| u.activated.is_some())
        {
            return Ok(Activation::AlreadyActivated);
        }
        let Some(inviter) = state.users.get_mut(&owner.id) else {
            return Ok(Activation::OwnerGone);
        };
        inviter.referrals_count += 1;
        let referral = Referral {
            id: user.id,
            phone: user.phone.clone(),
            date: at,
        };
        state
            .referrals
            .entry(owner.id)
            .or_default()
            .insert(ReferralKey::of(&referral), referral);
        if let Some(u) = state.users.get_mut(&user.id) {
            u.activated = Some(ActivatedInvite {
                code: code.clone(),
                owner: Some(Inviter {
                    id: owner.id,
                    phone: owner.phone.clone(),
                    at: Some(at),
                }),
            });
        }
        Ok(Activation::Activated)
    }

    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage> {
        let state = self.state()?;
        let Some(list) = state.referrals.get(&inviter) else {
            return Ok(ReferralPage {
                items: Vec::new(),
                next: None,
            });
        };
        let newest_first: Vec<(&ReferralKey, &Referral)> = match after {
            Some(after) => list.range(..after.clone()).rev().take(limit + 1).collect(),
            None => list.iter().rev().take(limit + 1).collect(),
        };
        let next = (newest_first.len() > limit).then(|| newest_first[limit - 1].0.clone());
        let items = newest_first
            .into_iter()
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect();
        Ok(ReferralPage { items, next })
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn delete_account(&self, deletion: Deletion<'_>) -> Result<DeletionOutcome> {
        let mut state = self.state()?;
        let user = deletion.user;
        if !state.claim_holds(deletion.claim) {
            return Ok(DeletionOutcome::CodeGone);
        }
        let unchanged = state
            .users
            .get(&user.id)
            .is_some_and(|stored| stored.activated == user.activated);
        let inviter = user.activated.as_ref().and_then(|a| a.owner.as_ref());
        let inviter = inviter.filter(|_| deletion.leaves_inviter);
        if !unchanged || inviter.is_some_and(|o| !state.users.contains_key(&o.id)) {
            return Ok(DeletionOutcome::Changed);
        }
        state.codes.remove(&user.phone);
        state.users.remove(&user.id);
        if state.phones.get(&user.phone) == Some(&user.id) {
            state.phones.remove(&user.phone);
        }
        if state.invites.get(&user.invite) == Some(&user.id) {
            state.invites.remove(&user.invite);
        }
        for sid in deletion.sessions {
            state.sessions.remove(sid);
        }
        if let Some(inviter) = inviter {
            if let Some(owner) = state.users.get_mut(&inviter.id) {
                owner.referrals_count = owner.referrals_count.saturating_sub(1);
            }
            if let Some(listed) = state.referrals.get_mut(&inviter.id) {
                listed.retain(|_, referral| referral.id != user.id);
            }
        }
        Ok(DeletionOutcome::Deleted)
    }

    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()> {
        let mut state = self.state()?;
        for invitee in invitees {
            let activated = state
                .users
                .get_mut(invitee)
                .and_then(|u| u.activated.as_mut());
            if let Some(activated) = activated
                && activated.owner.as_ref().is_some_and(|o| o.id == owner)
            {
                activated.owner = None;
            }
        }
        Ok(())
    }

    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()> {
        let mut state = self.state()?;
        if let Some(listed) = state.referrals.get_mut(&owner) {
            for key in keys {
                listed.remove(key);
            }
            if listed.is_empty() {
                state.referrals.remove(&owner);
            }
        }
        Ok(())
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
