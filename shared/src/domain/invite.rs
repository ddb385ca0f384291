use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Letters and digits that cannot be mistaken for one another (no I, O, 0, 1).
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const LEN: usize = 6;

/// A user's 6-character invite code, held upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn generate(rng: &mut impl Rng) -> InviteCode {
        let code = (0..LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        InviteCode(code)
    }

    /// Reads a code as a user typed it, case-insensitively. New codes are
    /// drawn from `ALPHABET`, but codes imported from the Django system hold
    /// any of A-Z and 0-9 (`0`, `O`, `1` and `I` among them), so any six
    /// letters and digits are looked up.
    pub fn parse(input: &str) -> Result<InviteCode, Error> {
        let code = input.trim().to_ascii_uppercase();
        if code.len() == LEN && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(InviteCode(code))
        } else {
            Err(Error::InviteNotFound)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(code: String) -> InviteCode {
        InviteCode(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_use_the_alphabet() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = InviteCode::generate(&mut rng);
            assert_eq!(InviteCode::parse(code.as_str()).unwrap(), code);
        }
    }

    #[test]
    fn parse_is_case_insensitive_and_takes_the_old_codes() {
        assert_eq!(InviteCode::parse(" k7qx2m ").unwrap().as_str(), "K7QX2M");
        // The Django system's codes: outside the alphabet, one lower case.
        assert_eq!(InviteCode::parse("NCF10E").unwrap().as_str(), "NCF10E");
        assert_eq!(InviteCode::parse("hvqyqb").unwrap().as_str(), "HVQYQB");
        for bad in ["", "K7QX2", "K7QX2MM", "K7QX M", "K7QX-M", "КОДКОД"] {
            assert!(InviteCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
