//! The `referrals_next` cursor: opaque to clients, and signed, so that it
//! cannot be edited, nor carried over to read another user's list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::user::UserId;
use crate::error::Error;
use crate::ports::ReferralKey;

/// 128 bits of tag: far past guessing, short enough for a URL.
const TAG_BYTES: usize = 16;

#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
}

impl CursorSigner {
    /// Derives its own key from a server secret, so that a cursor tag is
    /// never also a valid code hash.
    pub fn new(secret: &[u8]) -> CursorSigner {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"referrals-cursor-v1");
        CursorSigner {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, inviter: UserId, key: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&inviter.0.to_be_bytes());
        mac.update(key.as_bytes());
        mac
    }

    pub fn encode(&self, inviter: UserId, key: &ReferralKey) -> String {
        let tag = self.mac(inviter, &key.0).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key.0.as_bytes()),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        )
    }

    pub fn decode(&self, inviter: UserId, cursor: &str) -> Result<ReferralKey, Error> {
        let invalid = || Error::InvalidRequest("The referrals cursor is not valid.".into());
        let (key, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let key = URL_SAFE_NO_PAD.decode(key).map_err(|_| invalid())?;
        let key = String::from_utf8(key).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        if tag.len() != TAG_BYTES {
            return Err(invalid());
        }
        self.mac(inviter, &key)
            .verify_truncated_left(&tag)
            .map_err(|_| invalid())?;
        Ok(ReferralKey(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_for_its_own_inviter_only() {
        let signer = CursorSigner::new(b"a server secret of enough length!");
        let key = ReferralKey("000001795774530000#0000000000000042".into());
        let cursor = signer.encode(UserId(7), &key);
        assert_eq!(signer.decode(UserId(7), &cursor).unwrap(), key);
        assert!(signer.decode(UserId(8), &cursor).is_err());
        assert!(
            CursorSigner::new(b"another secret of enough length!!")
                .decode(UserId(7), &cursor)
                .is_err()
        );
    }

    #[test]
    fn refuses_edited_cursors() {
        let signer = CursorSigner::new(b"a server secret of enough length!");
        let cursor = signer.encode(UserId(7), &ReferralKey("k".into()));
        let (_, tag) = cursor.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("other"));
        for bad in [
            forged.as_str(),
            "",
            ".",
            "abc",
            "a.b",
            &cursor[..cursor.len() - 1],
            "!!.!!",
        ] {
            assert!(signer.decode(UserId(7), bad).is_err(), "{bad:?}");
        }
    }
}
