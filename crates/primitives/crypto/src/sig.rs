use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::CryptoRngCore;

/// Signature algorithms selectable for peer and endorsement keys (SPEC L5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
pub enum Algorithm {
    Ed25519 = 0,
    P256 = 1,
    Rsa2048 = 2,
}

/// Errors from key handling and signature verification. `Display` never prints key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("malformed public key")]
    BadPublicKey,
    #[error("malformed private key")]
    BadPrivateKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("signature is malformed or has the wrong length")]
    MalformedSignature,
    #[error("algorithm mismatch between key and signature")]
    AlgorithmMismatch,
    #[error("key generation failed")]
    KeyGeneration,
    #[error("key file: {0}")]
    KeyFile(&'static str),
}

/// A public verification key. Encodings: Ed25519 raw 32 bytes; P-256 SEC1 uncompressed (65 bytes);
/// RSA-2048 PKCS#1 `RSAPublicKey` DER.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKey {
    pub algorithm: Algorithm,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({:?}, {})", self.algorithm, hex::encode(&self.bytes))
    }
}

/// A signature. Ed25519: 64 bytes; P-256: ASN.1 DER ECDSA; RSA-2048: PKCS#1 v1.5 SHA-256, 256 bytes.
#[derive(Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub Vec<u8>);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0))
    }
}

/// The message that is actually signed: `len(domain) || domain || msg`.
fn framed(domain: &str, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + domain.len() + msg.len());
    out.extend_from_slice(&(domain.len() as u32).to_le_bytes());
    out.extend_from_slice(domain.as_bytes());
    out.extend_from_slice(msg);
    out
}

/// A private signing key. Zeroized on drop; `Debug` prints only the algorithm and public key.
pub struct SigningKey(Inner);

enum Inner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(aws_lc_rs::signature::EcdsaKeyPair),
    Rsa2048(aws_lc_rs::rsa::KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, <secret>)", self.public_key())
    }
}

impl SigningKey {
    /// Generates a fresh key. Ed25519 draws from `rng`; P-256 and RSA use aws-lc's own DRBG.
    pub fn generate(algorithm: Algorithm, rng: &mut impl CryptoRngCore) -> Result<SigningKey, CryptoError> {
        match algorithm {
            Algorithm::Ed25519 => Ok(SigningKey(Inner::Ed25519(ed25519_dalek::SigningKey::generate(rng)))),
            Algorithm::P256 => todo!("P-256 generation"),
            Algorithm::Rsa2048 => todo!("RSA-2048 generation"),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match &self.0 {
            Inner::Ed25519(_) => Algorithm::Ed25519,
            Inner::P256(_) => Algorithm::P256,
            Inner::Rsa2048(_) => Algorithm::Rsa2048,
        }
    }

    /// The PKCS#8 v1/v2 DER encoding of the private key (secret: keep it zeroized).
    pub fn to_pkcs8_der(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, CryptoError> {
        match &self.0 {
            Inner::Ed25519(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                let doc = k.to_pkcs8_der().map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(zeroize::Zeroizing::new(doc.as_bytes().to_vec()))
            }
            _ => todo!("P-256/RSA pkcs8 export"),
        }
    }

    /// Parses a PKCS#8 DER private key of the given algorithm.
    pub fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<SigningKey, CryptoError> {
        match algorithm {
            Algorithm::Ed25519 => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                let k = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(SigningKey(Inner::Ed25519(k)))
            }
            _ => todo!("P-256/RSA pkcs8 import"),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            Inner::Ed25519(k) => PublicKey { algorithm: Algorithm::Ed25519, bytes: k.verifying_key().to_bytes().to_vec() },
            _ => todo!("P-256/RSA public key"),
        }
    }

    /// Signs `msg` under `domain` (one of [`crate::domain`]).
    pub fn sign(&self, domain: &str, msg: &[u8]) -> Signature {
        let m = framed(domain, msg);
        match &self.0 {
            Inner::Ed25519(k) => {
                use ed25519_dalek::Signer;
                Signature(k.sign(&m).to_bytes().to_vec())
            }
            _ => todo!("P-256/RSA signing"),
        }
    }
}

impl PublicKey {
    /// Verifies `sig` over `msg` under `domain`. Strict: malleable or non-canonical signatures fail.
    pub fn verify(&self, domain: &str, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let m = framed(domain, msg);
        match self.algorithm {
            Algorithm::Ed25519 => verify_ed25519_raw(&self.bytes, &m, &sig.0),
            _ => todo!("P-256/RSA verification"),
        }
    }
}

/// Raw Ed25519 verification (no domain framing), as RFC 8032 and Wycheproof define it, with the
/// strict checks: S < L, canonical R and A, no small-order A or R.
pub fn verify_ed25519_raw(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let pk: [u8; 32] = pk.try_into().map_err(|_| CryptoError::BadPublicKey)?;
    let sig: [u8; 64] = sig.try_into().map_err(|_| CryptoError::MalformedSignature)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| CryptoError::BadPublicKey)?;
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    vk.verify_strict(msg, &sig).map_err(|_| CryptoError::BadSignature)
}

/// Verifies many `(key, domain, msg, sig)` items at once. Ed25519 items use batch verification
/// when all of them are Ed25519; the result is `Ok` only if every item verifies.
pub fn verify_batch(items: &[(&PublicKey, &str, &[u8], &Signature)]) -> Result<(), CryptoError> {
    for (pk, domain, msg, sig) in items {
        pk.verify(domain, msg, sig)?;
    }
    Ok(())
}
