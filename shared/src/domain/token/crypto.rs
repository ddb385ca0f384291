//! jsonwebtoken's crypto provider: HMAC with the `hmac` crate and RS256
//! verification with ring, which TLS links already. The crate's own
//! backends bring ECDSA, EdDSA and a second RSA along (about 320 KiB of
//! every bootstrap) for algorithms this service never signs and refuses to
//! verify. `Tokens::verify` pins one algorithm per token type; HS384 and
//! HS512 are here for the tests that forge tokens with them. RS256 tokens
//! are signed by `rsa::RsaSigningKey` itself, which keeps its parsed key
//! pair (jsonwebtoken would ask for a signer, and so a parse, per token).

use std::sync::Once;

use ::hmac::digest::KeyInit;
use ::hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use sha2::{Sha256, Sha384, Sha512};

enum Keyed {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

fn keyed<M: KeyInit>(secret: &[u8]) -> Result<M> {
    M::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

/// The tag of `message` under `key`.
fn tag(key: &Keyed, message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + Clone>(mac: &M, message: &[u8]) -> Vec<u8> {
        let mut mac = mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    match key {
        Keyed::Hs256(mac) => run(mac, message),
        Keyed::Hs384(mac) => run(mac, message),
        Keyed::Hs512(mac) => run(mac, message),
    }
}

impl Keyed {
    fn new(algorithm: Algorithm, family: AlgorithmFamily, secret: &[u8]) -> Result<Keyed> {
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        Ok(match algorithm {
            Algorithm::HS256 => Keyed::Hs256(keyed(secret)?),
            Algorithm::HS384 => Keyed::Hs384(keyed(secret)?),
            Algorithm::HS512 => Keyed::Hs512(keyed(secret)?),
            _ => return Err(ErrorKind::InvalidAlgorithm.into()),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Keyed::Hs256(_) => Algorithm::HS256,
            Keyed::Hs384(_) => Algorithm::HS384,
            Keyed::Hs512(_) => Algorithm::HS512,
        }
    }
}

impl Signer<Vec<u8>> for Keyed {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(tag(self, message))
    }
}

impl Verifier<Vec<u8>> for Keyed {
    fn verify(&self, message: &[u8], given: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        // In constant time.
        if subtle::ConstantTimeEq::ct_eq(tag(self, message).as_slice(), given.as_slice()).into() {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtSigner for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

impl JwtVerifier for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Keyed::new(
        *algorithm,
        key.family(),
        key.as_bytes(),
    )?))
}

/// An RS256 public key, as `DecodingKey::from_rsa_raw_components` holds it.
struct Rs256 {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], given: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        ring::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, message, given)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key.kind()) {
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => Ok(Box::new(Rs256 {
            n: n.clone(),
            e: e.clone(),
        })),
        (_, DecodingKeyKind::RsaModulusExponent { .. }) => Err(ErrorKind::InvalidAlgorithm.into()),
        (_, DecodingKeyKind::SecretOrDer(secret)) => {
            Ok(Box::new(Keyed::new(*algorithm, key.family(), secret)?))
        }
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's provider, once, before any token is signed or
/// read (`Tokens::new` calls it).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        if PROVIDER.install_default().is_err() {
            // Another provider came first (a test linking a jsonwebtoken
            // backend): it signs HS256 the same way.
            tracing::debug!("a jsonwebtoken crypto provider was installed already");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_hmac_only() {
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let signed = signer(&Algorithm::HS256, &key).unwrap();
        let tag = signed.try_sign(b"message").unwrap();
        assert_eq!(tag.len(), 32);
        let check = verifier(
            &Algorithm::HS256,
            &DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(check.verify(b"message", &tag).is_ok());
        assert!(check.verify(b"massage", &tag).is_err());
        let longer = signer(&Algorithm::HS512, &key).unwrap();
        assert_eq!(longer.try_sign(b"message").unwrap().len(), 64);
        for other in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            assert!(signer(&other, &key).is_err(), "{other:?}");
        }
    }
}
