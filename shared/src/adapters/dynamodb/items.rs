//! The items as DynamoDB holds them, mapped with serde_dynamo. Keys carry a
//! type prefix so that one table can hold several kinds of item.

use serde::{Deserialize, Serialize};

use crate::domain::code::CodeHash;
use crate::domain::invite::InviteCode;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{ActivatedInvite, CustomClaims, Disabled, Inviter, User, UserId};
use crate::ports::{CodeRecord, InviteOwner, Referral, ReferralKey, Session, SessionState};

/// The user item's mark of a phone change its referrals have not been
/// told of yet: the users table stream's filter passes the update that
/// sets it to the cleanup function, which removes it when done.
pub const PHONE_PENDING: &str = "phone_pending";

pub fn phone_key(phone: &Phone) -> String {
    format!("phone#{phone}")
}

pub fn user_key(id: UserId) -> String {
    format!("user#{id}")
}

pub fn invite_key(code: &InviteCode) -> String {
    format!("invite#{}", code.as_str())
}

/// Codes table: one per phone.
#[derive(Serialize, Deserialize)]
pub struct CodeItem {
    pub pk: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    pub expires_at: i64,
    pub attempts: u32,
    #[serde(default)]
    pub stranger_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_id: Option<String>,
    pub sent_at: i64,
    /// The phone's sends in the last hour, epoch milliseconds.
    #[serde(default)]
    pub recent_sends: Vec<i64>,
    /// A record written before `recent_sends`: its hour's start and sends.
    #[serde(default, skip_serializing)]
    pub window_start: Option<i64>,
    #[serde(default, skip_serializing)]
    pub window_sends: Option<u32>,
    pub version: u64,
    /// DynamoDB's TTL attribute, in epoch seconds.
    pub ttl: i64,
}

impl From<&CodeRecord> for CodeItem {
    fn from(r: &CodeRecord) -> CodeItem {
        CodeItem {
            pk: phone_key(&r.phone),
            phone: r.phone.as_str().to_owned(),
            hash: r.hash.as_ref().map(|h| h.0.clone()),
            expires_at: r.expires_at.0,
            attempts: r.attempts,
            stranger_attempts: r.stranger_attempts,
            verification_id: r.verification_id.clone(),
            sent_at: r.sent_at.0,
            recent_sends: r.recent_sends.iter().map(|t| t.0).collect(),
            window_start: None,
            window_sends: None,
            version: r.version,
            ttl: r.forget_at().secs(),
        }
    }
}

impl From<CodeItem> for CodeRecord {
    fn from(i: CodeItem) -> CodeRecord {
        CodeRecord {
            phone: Phone::from_trusted(i.phone),
            hash: i.hash.map(CodeHash),
            expires_at: Timestamp(i.expires_at),
            attempts: i.attempts,
            stranger_attempts: i.stranger_attempts,
            verification_id: i.verification_id,
            sent_at: Timestamp(i.sent_at),
            recent_sends: match (i.window_start, i.window_sends) {
                // Read as that many sends at the hour's start: never fewer
                // than it counted.
                (Some(start), Some(sends)) if i.recent_sends.is_empty() => {
                    vec![Timestamp(start); sends as usize]
                }
                _ => i.recent_sends.into_iter().map(Timestamp).collect(),
            },
            version: i.version,
        }
    }
}

/// Users table: the user itself.
#[derive(Serialize, Deserialize)]
pub struct UserItem {
    pub pk: String,
    pub id: u64,
    pub phone: String,
    pub invite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inv_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_invite: Option<u64>,
    /// When `inv` was activated (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inv_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<i64>,
    pub date_joined: i64,
    #[serde(default)]
    pub referrals_count: u64,
    /// When `import-django` wrote the user (ms); absent for a sign-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<i64>,
    /// An operator disabled the account, why; `disabled_until` (ms) when
    /// it ends by itself, absent until it is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<i64>,
    /// The operator's claims for its access tokens, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// When every session was last ended at once (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_out_at: Option<i64>,
    /// The operator of the last admin change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

impl From<&User> for UserItem {
    fn from(u: &User) -> UserItem {
        let owner = u.activated.as_ref().and_then(|a| a.owner.as_ref());
        UserItem {
            pk: user_key(u.id),
            id: u.id.0,
            phone: u.phone.as_str().to_owned(),
            invite: u.invite.as_str().to_owned(),
            inv: u.activated.as_ref().map(|a| a.code.as_str().to_owned()),
            inv_phone: owner.map(|o| o.phone.as_str().to_owned()),
            parent_invite: owner.map(|o| o.id.0),
            inv_date: owner.and_then(|o| o.at).map(|t| t.0),
            last_login: u.last_login.map(|t| t.0),
            date_joined: u.date_joined.0,
            referrals_count: u.referrals_count,
            imported_at: u.imported_at.map(|t| t.0),
            disabled_reason: u.disabled.as_ref().map(|d| d.reason.clone()),
            disabled_until: u.disabled.as_ref().and_then(|d| d.until).map(|t| t.0),
            claims: claims_text(&u.claims),
            signed_out_at: u.signed_out_at.map(|t| t.0),
            changed_by: u.changed_by.clone(),
        }
    }
}

impl From<UserItem> for User {
    fn from(i: UserItem) -> User {
        let owner = match (i.inv_phone, i.parent_invite) {
            (Some(phone), Some(owner)) => Some(Inviter {
                id: UserId(owner),
                phone: Phone::from_trusted(phone),
                at: i.inv_date.map(Timestamp),
            }),
            _ => None,
        };
        let activated = i.inv.map(|code| ActivatedInvite {
            code: InviteCode::from_trusted(code),
            owner,
        });
        User {
            id: UserId(i.id),
            phone: Phone::from_trusted(i.phone),
            invite: InviteCode::from_trusted(i.invite),
            activated,
            last_login: i.last_login.map(Timestamp),
            date_joined: Timestamp(i.date_joined),
            referrals_count: i.referrals_count,
            imported_at: i.imported_at.map(Timestamp),
            disabled: i.disabled_reason.map(|reason| Disabled {
                reason,
                until: i.disabled_until.map(Timestamp),
            }),
            // Written from a checked object only; unreadable text is none.
            claims: i
                .claims
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default(),
            signed_out_at: i.signed_out_at.map(Timestamp),
            changed_by: i.changed_by,
        }
    }
}

/// The claims as the `claims` attribute holds them; none when empty.
pub fn claims_text(claims: &CustomClaims) -> Option<String> {
    (!claims.is_empty()).then(|| serde_json::Value::Object(claims.clone()).to_string())
}

/// Users table: claims a phone for one user. Its existence is what makes a
/// phone unique.
#[derive(Serialize, Deserialize)]
pub struct PhoneItem {
    pub pk: String,
    pub user_id: u64,
}

/// Users table: claims an invite code for one user, with what activating it
/// needs to know about the owner.
#[derive(Serialize, Deserialize)]
pub struct InviteItem {
    pub pk: String,
    pub user_id: u64,
    pub phone: String,
    pub date_joined: i64,
}

/// Sessions table: one per login.
#[derive(Serialize, Deserialize)]
pub struct SessionItem {
    pub sid: String,
    pub user_id: u64,
    pub current_jti: String,
    /// The token the last rotation retired, and when (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<i64>,
    pub revoked: bool,
    pub expires_at: i64,
    pub ttl: i64,
    /// When the session started (ms), and the login's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl From<SessionItem> for SessionState {
    fn from(item: SessionItem) -> SessionState {
        SessionState {
            user: UserId(item.user_id),
            current_jti: item.current_jti,
            previous_jti: item.previous_jti,
            rotated_at: item.rotated_at.map(Timestamp),
            expires_at: Timestamp(item.expires_at),
            revoked: item.revoked,
            created_at: item.created_at.map(Timestamp),
            user_agent: item.user_agent,
        }
    }
}

impl From<&Session> for SessionItem {
    fn from(s: &Session) -> SessionItem {
        SessionItem {
            sid: s.sid.clone(),
            user_id: s.user.0,
            current_jti: s.current_jti.clone(),
            previous_jti: None,
            rotated_at: None,
            revoked: false,
            expires_at: s.expires_at.0,
            ttl: s.expires_at.secs(),
            created_at: Some(s.created_at.0),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// Invites table: one user who activated `inviter`'s code.
#[derive(Serialize, Deserialize)]
pub struct ReferralItem {
    pub inviter: u64,
    pub sk: String,
    pub invitee: u64,
    pub phone: String,
    pub date: i64,
}

impl ReferralItem {
    pub fn new(inviter: UserId, referral: &Referral) -> ReferralItem {
        ReferralItem {
            inviter: inviter.0,
            sk: ReferralKey::of(referral).0,
            invitee: referral.id.0,
            phone: referral.phone.as_str().to_owned(),
            date: referral.date.0,
        }
    }
}

impl From<ReferralItem> for Referral {
    fn from(i: ReferralItem) -> Referral {
        Referral {
            id: UserId(i.invitee),
            phone: Phone::from_trusted(i.phone),
            date: Timestamp(i.date),
        }
    }
}

impl From<InviteItem> for InviteOwner {
    fn from(i: InviteItem) -> InviteOwner {
        InviteOwner {
            id: UserId(i.user_id),
            phone: Phone::from_trusted(i.phone),
            date_joined: Timestamp(i.date_joined),
        }
    }
}
