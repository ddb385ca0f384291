//! RS256 keys: the private key access tokens are signed with (PKCS#8 PEM),
//! the public keys they are verified with (SPKI PEM, or taken from the
//! private key), and the JWKs `/.well-known/jwks.json` publishes.
//!
//! The PEM and DER are read with RustCrypto's format crates, which cost no
//! arithmetic; ring (already linked for TLS) signs and verifies. Parsing a
//! key pair for signing does modular arithmetic, so it waits for the first
//! token that needs it: a function that only verifies never does it.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs1::der::Decode;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};

/// The smallest modulus accepted: RFC 7518 asks for 2048 bits.
const MIN_MODULUS_BITS: usize = 2048;
/// The largest modulus ring signs with.
const MAX_MODULUS_BITS: usize = 4096;

/// A public key that verifies RS256 signatures, under its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    pub kid: String,
    /// Big-endian, without leading zeros.
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RsaPublicKey {{ kid: {:?}, bits: {} }}",
            self.kid,
            self.bits()
        )
    }
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let (found, der) = pkcs1::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|_| format!("expected a PEM block \"-----BEGIN {label}-----\""))?;
    if found != label {
        return Err(format!("expected \"{label}\" PEM, got \"{found}\""));
    }
    Ok(der)
}

fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

impl RsaPublicKey {
    fn new(kid: String, n: &[u8], e: &[u8]) -> Result<RsaPublicKey, String> {
        let key = RsaPublicKey {
            kid,
            n: unsigned(n),
            e: unsigned(e),
        };
        let bits = key.bits();
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(format!(
                "expected an RSA key of {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits, got {bits}"
            ));
        }
        Ok(key)
    }

    /// A `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo), as
    /// `openssl pkey -pubout` writes it.
    pub fn from_pem(kid: String, pem: &str) -> Result<RsaPublicKey, String> {
        let der = pem_body(pem, "PUBLIC KEY")?;
        let spki = pkcs8::spki::SubjectPublicKeyInfoRef::from_der(&der)
            .map_err(|_| "the public key is not a SubjectPublicKeyInfo".to_owned())?;
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err("the public key is not an RSA key".into());
        }
        let key = pkcs1::RsaPublicKey::from_der(spki.subject_public_key.raw_bytes())
            .map_err(|_| "the RSA public key does not parse".to_owned())?;
        RsaPublicKey::new(kid, key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    fn bits(&self) -> usize {
        match self.n.first() {
            Some(top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }

    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// Whether `signature` is this key's RS256 (PKCS#1 v1.5, SHA-256)
    /// signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
    }

    /// The key as a JWK (RFC 7517), for a JWKS.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }
}

/// The private key access tokens are signed with.
#[derive(Clone)]
pub struct RsaSigningKey {
    public: RsaPublicKey,
    pkcs8: Arc<[u8]>,
    pair: Arc<OnceLock<Result<RsaKeyPair, String>>>,
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaSigningKey {{ public: {:?}, .. }}", self.public)
    }
}

impl RsaSigningKey {
    /// A `-----BEGIN PRIVATE KEY-----` block (PKCS#8), as `openssl genpkey
    /// -algorithm RSA -pkeyopt rsa_keygen_bits:2048` writes it.
    pub fn from_pem(kid: String, pem: &str) -> Result<RsaSigningKey, String> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        let info = pkcs8::PrivateKeyInfo::from_der(&der)
            .map_err(|_| "the private key is not PKCS#8".to_owned())?;
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err("the private key is not an RSA key".into());
        }
        let key = pkcs1::RsaPrivateKey::from_der(info.private_key)
            .map_err(|_| "the RSA private key does not parse".to_owned())?;
        let public =
            RsaPublicKey::new(kid, key.modulus.as_bytes(), key.public_exponent.as_bytes())?;
        Ok(RsaSigningKey {
            public,
            pkcs8: der.into(),
            pair: Arc::new(OnceLock::new()),
        })
    }

    pub fn public(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Parses the key pair now rather than at the first signature.
    pub fn check(&self) -> Result<(), String> {
        self.pair().map(|_| ())
    }

    fn pair(&self) -> Result<&RsaKeyPair, String> {
        self.pair
            .get_or_init(|| {
                RsaKeyPair::from_pkcs8(&self.pkcs8)
                    .map_err(|rejected| format!("the RSA private key was refused: {rejected}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The RS256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let pair = self.pair()?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut signature,
        )
        .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(signature)
    }
}

/// A fresh RSA 2048 key pair: the private key as PKCS#8 PEM and the public
/// key as SPKI PEM.
#[cfg(feature = "keygen")]
pub fn generate_pem() -> Result<(String, String), String> {
    use ::rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    let private = ::rsa::RsaPrivateKey::new(&mut ::rsa::rand_core::OsRng, MIN_MODULUS_BITS)
        .map_err(|e| format!("generating an RSA key failed: {e}"))?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("writing the RSA key failed: {e}"))?;
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("writing the RSA key failed: {e}"))?;
    Ok((private_pem.to_string(), public_pem))
}

/// The public half of a PKCS#8 PEM private key, as SPKI PEM.
#[cfg(feature = "keygen")]
pub fn public_pem_of(private_pem: &str) -> Result<String, String> {
    use ::rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};

    ::rsa::RsaPrivateKey::from_pkcs8_pem(private_pem)
        .map_err(|_| "the private key is not PKCS#8 RSA".to_owned())?
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("writing the RSA key failed: {e}"))
}
