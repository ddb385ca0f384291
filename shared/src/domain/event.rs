//! What happened to a user, for the app's other systems: derived from a
//! committed change of the user's item (its image before and after), so
//! an event is never sent for a write that did not happen. The stack reads
//! the changes from the users table's stream; the dev server from its
//! store's own log of them.

use serde_json::{Value, json};

use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    UserCreated,
    UserLoggedIn,
    UserPhoneChanged,
    InviteActivated,
    UserSignedOut,
    UserDisabled,
    UserEnabled,
    UserClaimsChanged,
    UserDeleted,
}

impl EventType {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserLoggedIn => "user.logged_in",
            EventType::UserPhoneChanged => "user.phone_changed",
            EventType::InviteActivated => "invite.activated",
            EventType::UserSignedOut => "user.signed_out",
            EventType::UserDisabled => "user.disabled",
            EventType::UserEnabled => "user.enabled",
            EventType::UserClaimsChanged => "user.claims_changed",
            EventType::UserDeleted => "user.deleted",
        }
    }
}

/// One event: never a code, a token or a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unique, and the same each time the change is read again: consumers
    /// dedupe by it.
    pub id: String,
    pub kind: EventType,
    pub user_id: UserId,
    pub at: Timestamp,
    /// `user.created`, `user.phone_changed`: the (new) number.
    pub phone: Option<Phone>,
    /// `invite.activated`: whose code it was.
    pub inviter_id: Option<UserId>,
    /// An operator's action: who.
    pub by: Option<String>,
}

impl Event {
    pub fn json(&self) -> Value {
        let mut body = json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "user_id": self.user_id.0,
            "at": self.at.rfc3339(),
        });
        if let Some(phone) = &self.phone {
            body["phone"] = json!(phone.as_str());
        }
        if let Some(inviter) = self.inviter_id {
            body["inviter_id"] = json!(inviter.0);
        }
        if let Some(by) = &self.by {
            body["by"] = json!(by);
        }
        body
    }
}

/// The events one committed change of a user's item means, in order.
/// `change` names the change uniquely (a stream record's id); `at` is when
/// it committed. A user written by `import-django` came from the old
/// system: its arrival is no sign-up.
pub fn events_of(
    change: &str,
    before: Option<&User>,
    after: Option<&User>,
    at: Timestamp,
) -> Vec<Event> {
    let mut kinds: Vec<(EventType, &User)> = Vec::new();
    match (before, after) {
        (None, Some(new)) if new.imported_at.is_none() => {
            kinds.push((EventType::UserCreated, new));
            if new.last_login.is_some() {
                kinds.push((EventType::UserLoggedIn, new));
            }
        }
        (Some(old), None) => kinds.push((EventType::UserDeleted, old)),
        (Some(old), Some(new)) => {
            if new.phone != old.phone {
                kinds.push((EventType::UserPhoneChanged, new));
            }
            if new.activated.is_some() && old.activated.is_none() {
                kinds.push((EventType::InviteActivated, new));
            }
            if new.last_login > old.last_login {
                kinds.push((EventType::UserLoggedIn, new));
            }
            if new.signed_out_at > old.signed_out_at {
                kinds.push((EventType::UserSignedOut, new));
            }
            match (&old.disabled, &new.disabled) {
                (None, Some(_)) => kinds.push((EventType::UserDisabled, new)),
                (Some(was), Some(is)) if was != is => kinds.push((EventType::UserDisabled, new)),
                (Some(_), None) => kinds.push((EventType::UserEnabled, new)),
                _ => {}
            }
            if new.claims != old.claims {
                kinds.push((EventType::UserClaimsChanged, new));
            }
        }
        _ => {}
    }
    kinds
        .into_iter()
        .enumerate()
        .map(|(index, (kind, user))| Event {
            id: format!("{change}-{index}"),
            kind,
            user_id: user.id,
            at,
            phone: matches!(kind, EventType::UserCreated | EventType::UserPhoneChanged)
                .then(|| user.phone.clone()),
            inviter_id: match kind {
                EventType::InviteActivated => user
                    .activated
                    .as_ref()
                    .and_then(|a| a.owner.as_ref())
                    .map(|o| o.id),
                _ => None,
            },
            by: match kind {
                EventType::UserDisabled
                | EventType::UserEnabled
                | EventType::UserClaimsChanged
                | EventType::UserSignedOut
                | EventType::UserDeleted => user.changed_by.clone(),
                _ => None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invite::InviteCode;
    use crate::domain::user::{ActivatedInvite, Disabled, Inviter};

    fn user() -> User {
        let phone = Phone::from_trusted("+79123456789".into());
        let invite = InviteCode::from_trusted("K7QX2M".into());
        User::signed_up(UserId(7), phone, invite, Timestamp(1_000))
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    #[test]
    fn a_first_login_is_created_then_logged_in_and_an_import_is_neither() {
        let new = user();
        let events = events_of("c1", None, Some(&new), Timestamp(1_000));
        assert_eq!(kinds(&events), ["user.created", "user.logged_in"]);
        assert_eq!(events[0].phone, Some(new.phone.clone()));
        assert_eq!(events[0].id, "c1-0");
        assert_eq!(events[1].id, "c1-1");
        let imported = User {
            imported_at: Some(Timestamp(5)),
            ..user()
        };
        assert!(events_of("c2", None, Some(&imported), Timestamp(5)).is_empty());
    }

    #[test]
    fn each_change_is_its_event() {
        let old = user();
        let later = |change: fn(&mut User)| {
            let mut new = user();
            change(&mut new);
            kinds(&events_of("c", Some(&old), Some(&new), Timestamp(2_000)))
        };
        assert_eq!(
            later(|u| u.last_login = Some(Timestamp(2_000))),
            ["user.logged_in"]
        );
        assert_eq!(
            later(|u| u.phone = Phone::from_trusted("+79001112233".into())),
            ["user.phone_changed"]
        );
        assert_eq!(
            later(|u| {
                u.activated = Some(ActivatedInvite {
                    code: InviteCode::from_trusted("ABC234".into()),
                    owner: Some(Inviter {
                        id: UserId(3),
                        phone: Phone::from_trusted("+79001112233".into()),
                        at: Some(Timestamp(2_000)),
                    }),
                })
            }),
            ["invite.activated"]
        );
        assert_eq!(
            later(|u| u.signed_out_at = Some(Timestamp(2_000))),
            ["user.signed_out"]
        );
        assert_eq!(
            later(|u| {
                u.disabled = Some(Disabled {
                    reason: "x".into(),
                    until: None,
                })
            }),
            ["user.disabled"]
        );
        assert_eq!(
            later(|u| {
                u.claims.insert("role".into(), "editor".into());
            }),
            ["user.claims_changed"]
        );
        // What no event names: a referral's detail, the operator's mark.
        assert!(later(|u| u.changed_by = Some("ops".into())).is_empty());
        assert!(later(|u| u.referrals_count = 3).is_empty());
    }

    #[test]
    fn an_operator_is_named_and_no_secret_is_ever_in_an_event() {
        let old = user();
        let new = User {
            disabled: Some(Disabled {
                reason: "chargeback".into(),
                until: None,
            }),
            changed_by: Some("arn:aws:iam::1:role/support".into()),
            ..user()
        };
        let events = events_of("c", Some(&old), Some(&new), Timestamp(2_000));
        let body = events[0].json();
        assert_eq!(body["type"], "user.disabled");
        assert_eq!(body["by"], "arn:aws:iam::1:role/support");
        assert_eq!(body["at"], "1970-01-01T00:00:02Z");
        let text = body.to_string();
        assert!(
            !text.contains("chargeback") && !text.contains("claims"),
            "{text}"
        );
        let gone = events_of("d", Some(&new), None, Timestamp(3_000));
        assert_eq!(kinds(&gone), ["user.deleted"]);
    }
}
