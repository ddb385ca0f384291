//! Proof-of-work challenges in ALTCHA's v1 format: what a send past a soft
//! limit, or to a suspect prefix, must carry solved. Signed with a key of
//! the service's own, so no third party is asked and it works offline; the
//! `altcha` widget (npm) and library (PyPI) solve them.
//!
//! A challenge is `SHA-256(salt || number)` for a secret `number` at most
//! `maxnumber`, signed `HMAC-SHA256(key, challenge)`. The salt carries its
//! expiry (`<nonce>?expires=<unix seconds>&`, the trailing `&` as ALTCHA
//! writes it, against parameter splicing) and is read back strictly.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

const ALGORITHM: &str = "SHA-256";

/// What a client is given to solve, as the widget reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub maxnumber: u64,
    pub salt: String,
    pub signature: String,
}

/// What a `challenge_required` answer offers to solve: our own ALTCHA
/// challenge, or the name of the third party's widget and its site key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Offer {
    Altcha(Challenge),
    Turnstile {
        provider: &'static str,
        sitekey: String,
    },
}

/// A solution that checked out: `key` names it for its single use, until
/// `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solved {
    pub key: String,
    pub expires_at: Timestamp,
}

/// The widget's payload: base64 of this JSON.
#[derive(Deserialize)]
struct Payload {
    algorithm: String,
    challenge: String,
    number: u64,
    salt: String,
    signature: String,
}

/// Issues and checks challenges under one key.
#[derive(Clone)]
pub struct Challenges {
    key: [u8; 32],
    max_number: u64,
    ttl_secs: u64,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenges")
            .field("max_number", &self.max_number)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The challenge a salt and a number make.
pub fn challenge_for(salt: &str, number: u64) -> String {
    hex::encode(Sha256::digest(format!("{salt}{number}")))
}

impl Challenges {
    /// The key is derived from `secret` for this use alone, so a signature
    /// here is never a code hash or a cursor elsewhere.
    pub fn new(secret: &[u8], max_number: u64, ttl_secs: u64) -> Challenges {
        Challenges {
            key: hmac(secret, b"altcha-v1 challenge key"),
            max_number,
            ttl_secs,
        }
    }

    pub fn issue(&self, now: Timestamp) -> Challenge {
        let mut rng = rand::rng();
        let nonce: [u8; 12] = rng.random();
        let expires = now.plus_secs(self.ttl_secs).secs();
        let salt = format!("{}?expires={expires}&", hex::encode(nonce));
        let number = rng.random_range(0..=self.max_number);
        let challenge = challenge_for(&salt, number);
        let signature = hex::encode(hmac(&self.key, challenge.as_bytes()));
        Challenge {
            algorithm: ALGORITHM.into(),
            challenge,
            maxnumber: self.max_number,
            salt,
            signature,
        }
    }

    /// Checks a widget's payload: ours, solved, not expired. Whether it was
    /// used before is the store's to say, by `Solved::key`.
    pub fn verify(&self, payload: &str, now: Timestamp) -> Result<Solved> {
        let bad = not_a_solution;
        let json = STANDARD.decode(payload.trim()).map_err(|_| bad())?;
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| bad())?;
        let expires = salt_expiry(&payload.salt).ok_or_else(bad)?;
        if payload.algorithm != ALGORITHM || payload.number > self.max_number {
            return Err(bad());
        }
        let challenge = challenge_for(&payload.salt, payload.number);
        let signature = hex::encode(hmac(&self.key, challenge.as_bytes()));
        let solved = bool::from(challenge.as_bytes().ct_eq(payload.challenge.as_bytes()))
            & bool::from(signature.as_bytes().ct_eq(payload.signature.as_bytes()));
        if !solved {
            return Err(bad());
        }
        if expires <= now {
            return Err(Error::InvalidRequest(
                "The challenge has expired. Ask for a new one.".into(),
            ));
        }
        Ok(Solved {
            key: challenge,
            expires_at: expires,
        })
    }
}

/// The answer to a `challenge` that does not check out.
pub fn not_a_solution() -> Error {
    Error::InvalidRequest("The field `challenge` is not a valid solution.".into())
}

/// A third party's token, once it checked out: named for its single use by
/// its hash (the token itself is never stored).
pub fn solved_token(token: &str, expires_at: Timestamp) -> Solved {
    Solved {
        key: hex::encode(Sha256::digest(token.as_bytes())),
        expires_at,
    }
}

/// The expiry a salt we issued carries, read strictly: 24 hex digits,
/// `?expires=`, seconds, `&`, nothing else.
fn salt_expiry(salt: &str) -> Option<Timestamp> {
    let (nonce, rest) = salt.split_once("?expires=")?;
    let secs = rest.strip_suffix('&')?;
    let hex_nonce = nonce.len() == 24 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !secs.is_empty() && secs.len() <= 12 && secs.bytes().all(|b| b.is_ascii_digit());
    if !(hex_nonce && digits) {
        return None;
    }
    Some(Timestamp::from_secs(secs.parse().ok()?))
}

/// Solves a challenge by trying every number, as a client does.
pub fn solve(challenge: &Challenge) -> Option<String> {
    let number = (0..=challenge.maxnumber)
        .find(|n| challenge_for(&challenge.salt, *n) == challenge.challenge)?;
    let payload = serde_json::json!({
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "number": number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    });
    Some(STANDARD.encode(payload.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenges() -> Challenges {
        Challenges::new(b"a secret of the service, 32 bytes", 500, 300)
    }

    #[test]
    fn a_solved_challenge_checks_out_until_it_expires() {
        let now = Timestamp::from_secs(1_800_000_000);
        let challenges = challenges();
        let issued = challenges.issue(now);
        assert!(
            issued
                .salt
                .ends_with(&format!("?expires={}&", now.secs() + 300))
        );
        let payload = solve(&issued).expect("a number at most maxnumber solves it");
        let solved = challenges.verify(&payload, now).unwrap();
        assert_eq!(solved.key, issued.challenge);
        assert_eq!(solved.expires_at, now.plus_secs(300));
        assert!(challenges.verify(&payload, now.plus_secs(300)).is_err());
    }

    #[test]
    fn forged_or_foreign_solutions_are_refused() {
        let now = Timestamp::from_secs(1_800_000_000);
        let ours = challenges();
        let theirs = Challenges::new(b"another service's secret, 32 byte", 500, 300);
        let foreign = solve(&theirs.issue(now)).unwrap();
        assert!(ours.verify(&foreign, now).is_err());
        // A later expiry spliced into a solved salt breaks the challenge.
        let issued = ours.issue(now);
        let payload = solve(&issued).unwrap();
        let json = String::from_utf8(STANDARD.decode(&payload).unwrap()).unwrap();
        let later = json.replace(
            &format!("expires={}", now.secs() + 300),
            &format!("expires={}", now.secs() + 9_999),
        );
        assert!(ours.verify(&STANDARD.encode(later), now).is_err());
        for junk in [
            "",
            "not base64!",
            &STANDARD.encode("{}"),
            &STANDARD.encode("[1]"),
        ] {
            assert!(ours.verify(junk, now).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn only_salts_of_our_own_shape_are_read() {
        assert_eq!(
            salt_expiry("0123456789abcdef01234567?expires=42&"),
            Some(Timestamp::from_secs(42))
        );
        for salt in [
            "0123456789abcdef01234567?expires=42",
            "0123456789abcdef01234567?expires=42&expires=99&",
            "0123456789abcdef01234567?expires=&",
            "short?expires=42&",
        ] {
            assert_eq!(salt_expiry(salt), None, "{salt}");
        }
    }
}
