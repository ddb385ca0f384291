//! Test doubles that fail on demand: an SMS sender and a store wrapper.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use phone_auth::adapters::console::ConsoleSms;
use phone_auth::domain::code::CodeHash;
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::Phone;
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::{CustomClaims, Disabled, Inviter, User, UserId};
use phone_auth::error::{Error, Result};
use phone_auth::ports::{
    AccountStore, Activation, Allowance, Charge, CodeClaim, CodeRecord, CodeStore, Deletion,
    DeletionOutcome, InviteOwner, InviteStore, Login, LoginOutcome, OtpMessage, PhoneChange,
    PhoneMove, ReferralKey, ReferralPage, Rotation, SaveCode, Session, SessionState, SessionStore,
    SmsSender, Store, Tally, TallyField, UserStore,
};

/// An SMS sender that fails while `failing` is set.
#[derive(Default)]
pub struct FlakySms {
    failing: AtomicBool,
}

impl FlakySms {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl SmsSender for FlakySms {
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::SmsUnavailable(
                "SNS Throttling for +79123456789".into(),
            ));
        }
        ConsoleSms.send(message).await
    }
}

/// A store that fails every call while `failing` holds an error to copy.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    failing: std::sync::Mutex<Option<fn() -> Error>>,
    /// Only this operation fails, when set.
    only: std::sync::Mutex<Option<&'static str>>,
    /// How many more calls fail before it heals, when set.
    times: std::sync::Mutex<Option<u32>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> FaultyStore {
        FaultyStore {
            inner,
            failing: std::sync::Mutex::new(None),
            only: std::sync::Mutex::new(None),
            times: std::sync::Mutex::new(None),
        }
    }

    fn check(&self, operation: &'static str) -> Result<()> {
        let failing = *self.failing.lock().unwrap();
        let only = *self.only.lock().unwrap();
        match failing {
            Some(error) if only.is_none_or(|o| o == operation) => {
                let mut times = self.times.lock().unwrap();
                match *times {
                    Some(0) => return Ok(()),
                    Some(left) => *times = Some(left - 1),
                    None => {}
                }
                Err(error())
            }
            _ => Ok(()),
        }
    }

    /// From now on, `error` for every call (or only for `only`); `None` heals.
    pub fn fail(&self, error: Option<fn() -> Error>, only: Option<&'static str>) {
        *self.failing.lock().unwrap() = error;
        *self.only.lock().unwrap() = only;
        *self.times.lock().unwrap() = None;
    }

    /// `error` for the next `times` calls of `only`, then it heals.
    pub fn fail_times(&self, error: fn() -> Error, only: &'static str, times: u32) {
        self.fail(Some(error), Some(only));
        *self.times.lock().unwrap() = Some(times);
    }
}

#[async_trait]
impl CodeStore for FaultyStore {
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>> {
        self.check("code")?;
        self.inner.code(phone).await
    }
    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode> {
        self.check("save_code")?;
        self.inner.save_code(record, charges).await
    }
    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()> {
        self.check("undo_save_code")?;
        self.inner.undo_save_code(previous, written, charges).await
    }
    async fn count_wrong_attempt(
        &self,
        phone: &Phone,
        hash: &CodeHash,
        allowance: Allowance,
        max: u32,
    ) -> Result<bool> {
        self.check("count_wrong_attempt")?;
        self.inner
            .count_wrong_attempt(phone, hash, allowance, max)
            .await
    }
    async fn charge(&self, charge: &Charge) -> Result<bool> {
        self.check("charge")?;
        self.inner.charge(charge).await
    }
    async fn add_to_counter(
        &self,
        key: &str,
        field: TallyField,
        expires_at: Timestamp,
    ) -> Result<()> {
        self.check("add_to_counter")?;
        self.inner.add_to_counter(key, field, expires_at).await
    }
    async fn counters(&self, keys: &[String]) -> Result<Vec<Tally>> {
        self.check("counters")?;
        self.inner.counters(keys).await
    }
}

#[async_trait]
impl UserStore for FaultyStore {
    async fn user_id_by_phone(&self, phone: &Phone) -> Result<Option<UserId>> {
        self.check("user_id_by_phone")?;
        self.inner.user_id_by_phone(phone).await
    }
    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.check("user")?;
        self.inner.user(id).await
    }
    async fn user_exists(&self, id: UserId) -> Result<bool> {
        self.check("user_exists")?;
        self.inner.user_exists(id).await
    }
    async fn login(
        &self,
        claim: &CodeClaim,
        login: Login<'_>,
        session: &Session,
    ) -> Result<LoginOutcome> {
        self.check("login")?;
        self.inner.login(claim, login, session).await
    }
    async fn set_disabled(
        &self,
        id: UserId,
        disabled: Option<&Disabled>,
        by: &str,
    ) -> Result<bool> {
        self.check("set_disabled")?;
        self.inner.set_disabled(id, disabled, by).await
    }
    async fn set_claims(&self, id: UserId, claims: &CustomClaims, by: &str) -> Result<bool> {
        self.check("set_claims")?;
        self.inner.set_claims(id, claims, by).await
    }
    async fn signed_out(&self, id: UserId, at: Timestamp, by: Option<&str>) -> Result<bool> {
        self.check("signed_out")?;
        self.inner.signed_out(id, at, by).await
    }
    async fn set_changed_by(&self, id: UserId, by: &str) -> Result<bool> {
        self.check("set_changed_by")?;
        self.inner.set_changed_by(id, by).await
    }
}

#[async_trait]
impl SessionStore for FaultyStore {
    async fn rotate_session(
        &self,
        sid: &str,
        old: &str,
        new: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Rotation> {
        self.check("rotate_session")?;
        self.inner
            .rotate_session(sid, old, new, expires_at, now)
            .await
    }
    async fn session(&self, sid: &str) -> Result<Option<SessionState>> {
        self.check("session")?;
        self.inner.session(sid).await
    }
    async fn revoke_session(&self, sid: &str) -> Result<()> {
        self.check("revoke_session")?;
        self.inner.revoke_session(sid).await
    }
    async fn start_exchanged_session(
        &self,
        legacy_jti: &str,
        legacy_expires: Timestamp,
        session: &Session,
    ) -> Result<bool> {
        self.check("start_exchanged_session")?;
        self.inner
            .start_exchanged_session(legacy_jti, legacy_expires, session)
            .await
    }
    async fn sessions_of(&self, user: UserId) -> Result<Vec<String>> {
        self.check("sessions_of")?;
        self.inner.sessions_of(user).await
    }
    async fn sessions(&self, sids: &[String]) -> Result<Vec<(String, SessionState)>> {
        self.check("sessions")?;
        self.inner.sessions(sids).await
    }
    async fn end_sessions(&self, sids: &[String]) -> Result<()> {
        self.check("end_sessions")?;
        self.inner.end_sessions(sids).await
    }
}

#[async_trait]
impl InviteStore for FaultyStore {
    async fn activation_context(
        &self,
        user: UserId,
        code: &InviteCode,
    ) -> Result<(Option<User>, Option<InviteOwner>)> {
        self.check("activation_context")?;
        self.inner.activation_context(user, code).await
    }
    async fn activate_invite(
        &self,
        user: &User,
        code: &InviteCode,
        owner: &InviteOwner,
        at: Timestamp,
    ) -> Result<Activation> {
        self.check("activate_invite")?;
        self.inner.activate_invite(user, code, owner, at).await
    }
    async fn referrals(
        &self,
        inviter: UserId,
        limit: usize,
        after: Option<&ReferralKey>,
    ) -> Result<ReferralPage> {
        self.check("referrals")?;
        self.inner.referrals(inviter, limit, after).await
    }
}

#[async_trait]
impl AccountStore for FaultyStore {
    async fn delete_account(&self, deletion: Deletion<'_>) -> Result<DeletionOutcome> {
        self.check("delete_account")?;
        self.inner.delete_account(deletion).await
    }
    async fn detach_invitees(&self, owner: UserId, invitees: &[UserId]) -> Result<()> {
        self.check("detach_invitees")?;
        self.inner.detach_invitees(owner, invitees).await
    }
    async fn delete_referrals(&self, owner: UserId, keys: &[ReferralKey]) -> Result<()> {
        self.check("delete_referrals")?;
        self.inner.delete_referrals(owner, keys).await
    }
    async fn change_phone(&self, change: PhoneChange<'_>) -> Result<PhoneMove> {
        self.check("change_phone")?;
        self.inner.change_phone(change).await
    }
    async fn use_code(&self, claim: &CodeClaim) -> Result<bool> {
        self.check("use_code")?;
        self.inner.use_code(claim).await
    }
    async fn retag_referral(&self, inviter: &Inviter, user: &User) -> Result<()> {
        self.check("retag_referral")?;
        self.inner.retag_referral(inviter, user).await
    }
    async fn retag_invitees(
        &self,
        owner: UserId,
        invitees: &[UserId],
        phone: &Phone,
    ) -> Result<()> {
        self.check("retag_invitees")?;
        self.inner.retag_invitees(owner, invitees, phone).await
    }
    async fn phone_settled(&self, id: UserId, phone: &Phone) -> Result<()> {
        self.check("phone_settled")?;
        self.inner.phone_settled(id, phone).await
    }
}
