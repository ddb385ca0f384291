use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::phone::Phone;
use crate::error::Error;

/// A one-time verification code: `len` decimal digits. Its `Debug` hides the
/// digits so that it cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    /// Each digit is a uniform draw from a CSPRNG (`random_range` rejects
    /// rather than taking a biased modulo).
    pub fn generate(len: usize, rng: &mut impl rand::CryptoRng) -> OtpCode {
        let code = (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        OtpCode(code)
    }

    /// Accepts exactly `len` ASCII digits; anything else cannot be a code.
    pub fn parse(input: &str, len: usize) -> Result<OtpCode, Error> {
        if input.len() == len && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(OtpCode(input.to_owned()))
        } else {
            Err(Error::MalformedCode)
        }
    }

    /// The digits, for the SMS text only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(****)")
    }
}

/// The keyed hash under which a code is stored: HMAC-SHA256 over the phone and
/// the code, so a leaked table reveals nothing without the server secret and
/// a hash for one phone is useless for another.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeHash(pub String);

impl std::fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeHash(..)")
    }
}

#[derive(Clone)]
pub struct CodeHasher {
    key: Vec<u8>,
}

impl CodeHasher {
    pub fn new(secret: &[u8]) -> CodeHasher {
        CodeHasher {
            key: secret.to_vec(),
        }
    }

    pub fn hash(&self, phone: &Phone, code: &OtpCode) -> CodeHash {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(phone.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(code.0.as_bytes());
        CodeHash(hex::encode(mac.finalize().into_bytes()))
    }

    /// Compares a typed code with a stored hash in constant time.
    pub fn matches(&self, phone: &Phone, code: &OtpCode, stored: &CodeHash) -> bool {
        let candidate = self.hash(phone, code);
        candidate.0.as_bytes().ct_eq(stored.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> Phone {
        Phone::parse(s, None).unwrap()
    }

    #[test]
    fn generated_codes_have_the_length_and_only_digits() {
        let mut rng = rand::rng();
        for len in 4..=8 {
            let code = OtpCode::generate(len, &mut rng);
            assert_eq!(OtpCode::parse(code.expose(), len).unwrap(), code);
        }
    }

    #[test]
    fn digits_are_roughly_uniform() {
        let mut rng = rand::rng();
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            for b in OtpCode::generate(4, &mut rng).expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 40,000 draws: each digit expects 4,000 (sd about 60).
        for (digit, count) in counts.iter().enumerate() {
            assert!(
                (3600..4400).contains(count),
                "digit {digit} drawn {count} times"
            );
        }
    }

    #[test]
    fn parse_rejects_anything_but_exact_digits() {
        for bad in ["", "123", "12345", "12a4", "١٢٣٤", " 1234", "12.4"] {
            assert!(OtpCode::parse(bad, 4).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn hash_is_keyed_and_bound_to_the_phone() {
        let hasher = CodeHasher::new(b"secret-one");
        let code = OtpCode::parse("1234", 4).unwrap();
        let a = phone("+79123456789");
        let b = phone("+79001112233");
        let stored = hasher.hash(&a, &code);
        assert!(hasher.matches(&a, &code, &stored));
        assert!(!hasher.matches(&b, &code, &stored));
        assert!(!hasher.matches(&a, &OtpCode::parse("1235", 4).unwrap(), &stored));
        assert_ne!(CodeHasher::new(b"secret-two").hash(&a, &code), stored);
        assert!(!stored.0.contains("1234"));
        assert_eq!(format!("{code:?}"), "OtpCode(****)");
    }
}
