//! Signature keys and verification for the three algorithms of SPEC L5.
//!
//! Every signature is over `len(domain) || domain || msg` (see [`crate::domain`]). Verification is
//! strict for every algorithm, so that a signature has one accepted encoding and all peers agree:
//! - Ed25519: RFC 8032 with `S < L`, canonical `A` and `R`, no small-order `A` or `R`, and the
//!   cofactored equation, so that batch and single verification agree (see
//!   [`crate::verify_ed25519_raw`]);
//! - ECDSA P-256 with SHA-256: strict DER, low `S` (`s ≤ n/2`, as Fabric); the key is decoded and
//!   checked to be on the curve at every verification;
//! - RSA-2048 PKCS#1 v1.5 with SHA-256: the key must be a canonical PKCS#1 `RSAPublicKey` with a
//!   modulus of exactly 2048 bits; the signature exactly 256 bytes.
//!
//! P-256 and RSA go through `aws-lc-rs` (constant-time private-key operations; SPEC L5 rules out
//! the `rsa` crate). Randomness: Ed25519 key generation draws from the caller's RNG and Ed25519
//! signing is deterministic. P-256 and RSA key generation, and the ECDSA signing nonce, use
//! aws-lc's internal DRBG (seeded by aws-lc from the OS): aws-lc does not accept an external RNG
//! for these operations.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self as lc, KeyPair as _};
use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::ed25519::verify_ed25519_raw;
use crate::{CryptoError, ecdsa_der};

/// RSA modulus size accepted by Arcanum, in bytes (2048 bits).
const RSA_MODULUS_BYTES: usize = 256;
/// SEC1 uncompressed P-256 point: `0x04 || x || y`.
const P256_PUBLIC_KEY_LEN: usize = 65;

/// Signature algorithms selectable for peer and endorsement keys (SPEC L5).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
pub enum Algorithm {
    Ed25519 = 0,
    P256 = 1,
    Rsa2048 = 2,
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
        write!(
            f,
            "PublicKey({:?}, {})",
            self.algorithm,
            hex::encode(&self.bytes)
        )
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

/// A private signing key. Zeroized on drop (dalek's `zeroize`; aws-lc cleanses key memory when it
/// frees it); `Debug` prints only the algorithm and public key.
pub struct SigningKey(Inner);

enum Inner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(lc::EcdsaKeyPair),
    Rsa2048(aws_lc_rs::rsa::KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, <secret>)", self.public_key())
    }
}

impl SigningKey {
    /// Generates a fresh key. Ed25519 draws from `rng`; P-256 and RSA use aws-lc's own DRBG.
    pub fn generate(
        algorithm: Algorithm,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SigningKey, CryptoError> {
        match algorithm {
            Algorithm::Ed25519 => Ok(SigningKey(Inner::Ed25519(
                ed25519_dalek::SigningKey::generate(rng),
            ))),
            Algorithm::P256 => lc::EcdsaKeyPair::generate(&lc::ECDSA_P256_SHA256_ASN1_SIGNING)
                .map(|k| SigningKey(Inner::P256(k)))
                .map_err(|_| CryptoError::KeyGeneration),
            Algorithm::Rsa2048 => {
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map(|k| SigningKey(Inner::Rsa2048(k)))
                    .map_err(|_| CryptoError::KeyGeneration)
            }
        }
    }

    /// An Ed25519 key from its 32-byte RFC 8032 secret seed (used by test vectors and by callers
    /// that derive keys deterministically).
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    pub fn algorithm(&self) -> Algorithm {
        match &self.0 {
            Inner::Ed25519(_) => Algorithm::Ed25519,
            Inner::P256(_) => Algorithm::P256,
            Inner::Rsa2048(_) => Algorithm::Rsa2048,
        }
    }

    /// The PKCS#8 v1/v2 DER encoding of the private key (secret: keep it zeroized).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match &self.0 {
            Inner::Ed25519(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                // `SecretDocument` zeroizes its own buffer on drop.
                let doc = k.to_pkcs8_der().map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(Zeroizing::new(doc.as_bytes().to_vec()))
            }
            Inner::P256(k) => {
                // `Document` zeroizes on drop.
                let doc = k.to_pkcs8v1().map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(Zeroizing::new(doc.as_ref().to_vec()))
            }
            Inner::Rsa2048(k) => {
                // `Pkcs8V1Der` zeroizes on drop.
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                    k.as_der().map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(Zeroizing::new(der.as_ref().to_vec()))
            }
        }
    }

    /// Parses a PKCS#8 DER private key of the given algorithm. RSA keys must have a modulus of
    /// exactly 2048 bits ([`CryptoError::UnsupportedRsaKeySize`] otherwise).
    pub fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<SigningKey, CryptoError> {
        match algorithm {
            Algorithm::Ed25519 => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                let k = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                    .map_err(|_| CryptoError::BadPrivateKey)?;
                Ok(SigningKey(Inner::Ed25519(k)))
            }
            Algorithm::P256 => {
                lc::EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_ASN1_SIGNING, der)
                    .map(|k| SigningKey(Inner::P256(k)))
                    .map_err(|_| CryptoError::BadPrivateKey)
            }
            Algorithm::Rsa2048 => {
                let k = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|_| CryptoError::BadPrivateKey)?;
                check_rsa_modulus(k.public_key())?;
                Ok(SigningKey(Inner::Rsa2048(k)))
            }
        }
    }

    pub fn public_key(&self) -> PublicKey {
        let (algorithm, bytes) = match &self.0 {
            Inner::Ed25519(k) => (Algorithm::Ed25519, k.verifying_key().to_bytes().to_vec()),
            Inner::P256(k) => (Algorithm::P256, k.public_key().as_ref().to_vec()),
            Inner::Rsa2048(k) => (Algorithm::Rsa2048, k.public_key().as_ref().to_vec()),
        };
        PublicKey { algorithm, bytes }
    }

    /// Signs `msg` under `domain` (one of [`crate::domain`]).
    ///
    /// # Panics
    /// If aws-lc fails to sign with a key it has already validated (P-256/RSA), which does not
    /// happen short of memory exhaustion. Use [`SigningKey::try_sign`] to get an error instead.
    pub fn sign(&self, domain: &str, msg: &[u8]) -> Signature {
        #[allow(clippy::expect_used)]
        self.try_sign(domain, msg)
            .expect("signing with a validated key does not fail")
    }

    /// Signs `msg` under `domain`, reporting a library failure as [`CryptoError::Signing`].
    pub fn try_sign(&self, domain: &str, msg: &[u8]) -> Result<Signature, CryptoError> {
        self.sign_raw(&framed(domain, msg))
    }

    /// Raw Ed25519 signature over `msg` with no domain framing, as RFC 8032 defines it: for test
    /// vectors and interoperability only. Arcanum messages are signed with [`SigningKey::sign`].
    /// Fails with [`CryptoError::AlgorithmMismatch`] for a non-Ed25519 key.
    pub fn sign_ed25519_raw(&self, msg: &[u8]) -> Result<Signature, CryptoError> {
        match &self.0 {
            Inner::Ed25519(_) => self.sign_raw(msg),
            _ => Err(CryptoError::AlgorithmMismatch),
        }
    }

    fn sign_raw(&self, m: &[u8]) -> Result<Signature, CryptoError> {
        match &self.0 {
            Inner::Ed25519(k) => {
                use ed25519_dalek::Signer;
                Ok(Signature(k.sign(m).to_bytes().to_vec()))
            }
            Inner::P256(k) => {
                // aws-lc ignores the RNG argument and draws the nonce from its own DRBG.
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let sig = k.sign(&rng, m).map_err(|_| CryptoError::Signing)?;
                Ok(Signature(
                    ecdsa_der::normalize_low_s(sig.as_ref()).map_err(|_| CryptoError::Signing)?,
                ))
            }
            Inner::Rsa2048(k) => {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(&lc::RSA_PKCS1_SHA256, &rng, m, &mut out)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(Signature(out))
            }
        }
    }
}

/// Rejects RSA moduli that are not exactly 2048 bits.
fn check_rsa_modulus(pk: &aws_lc_rs::rsa::PublicKey) -> Result<(), CryptoError> {
    let n = pk.modulus();
    let n = n.big_endian_without_leading_zero();
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits == RSA_MODULUS_BYTES * 8 {
        Ok(())
    } else {
        Err(CryptoError::UnsupportedRsaKeySize { bits })
    }
}

impl PublicKey {
    /// Verifies `sig` over `msg` under `domain`. Strict: malleable or non-canonical signatures fail.
    ///
    /// Errors are precise: [`CryptoError::BadPublicKey`] / [`CryptoError::WeakPublicKey`] /
    /// [`CryptoError::UnsupportedRsaKeySize`] for a key that cannot be used,
    /// [`CryptoError::MalformedSignature`] for bad lengths or DER,
    /// [`CryptoError::NonCanonicalSignature`] for malleable forms, and
    /// [`CryptoError::BadSignature`] for a well-formed signature that does not verify.
    pub fn verify(&self, domain: &str, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let m = framed(domain, msg);
        match self.algorithm {
            Algorithm::Ed25519 => verify_ed25519_raw(&self.bytes, &m, &sig.0),
            Algorithm::P256 => verify_p256(&self.bytes, &m, &sig.0),
            Algorithm::Rsa2048 => verify_rsa2048(&self.bytes, &m, &sig.0),
        }
    }
}

fn verify_p256(pk: &[u8], m: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    if pk.len() != P256_PUBLIC_KEY_LEN || pk[0] != 0x04 {
        return Err(CryptoError::BadPublicKey);
    }
    // Decodes the point and checks that it is on the curve (aws-lc `EC_POINT_oct2point`).
    let key = lc::ParsedPublicKey::new(&lc::ECDSA_P256_SHA256_ASN1, pk)
        .map_err(|_| CryptoError::BadPublicKey)?;
    let (_, s) = ecdsa_der::parse(sig)?;
    if ecdsa_der::is_high_s(&s) {
        return Err(CryptoError::NonCanonicalSignature);
    }
    key.verify_sig(m, sig)
        .map_err(|_| CryptoError::BadSignature)
}

fn verify_rsa2048(pk: &[u8], m: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let key = aws_lc_rs::rsa::PublicKey::from_der(pk).map_err(|_| CryptoError::BadPublicKey)?;
    // `from_der` also accepts an X.509 SubjectPublicKeyInfo; only canonical PKCS#1 is the
    // documented encoding, so the bytes must equal aws-lc's re-encoding.
    if key.as_ref() != pk {
        return Err(CryptoError::BadPublicKey);
    }
    check_rsa_modulus(&key)?;
    if sig.len() != RSA_MODULUS_BYTES {
        return Err(CryptoError::MalformedSignature);
    }
    lc::UnparsedPublicKey::new(&lc::RSA_PKCS1_2048_8192_SHA256, pk)
        .verify(m, sig)
        .map_err(|_| CryptoError::BadSignature)
}

/// Verifies many `(key, domain, msg, sig)` items at once: `Ok` only if every item verifies,
/// otherwise the error that verifying the items one by one, in order, gives for the first failing
/// item. Ed25519 items go through one batch equation (see [`crate::verify_batch_ed25519_raw`]),
/// whose verdict is always the single verdict, so peers that batch differently, or not at all,
/// never disagree on a block.
pub fn verify_batch(items: &[(&PublicKey, &str, &[u8], &Signature)]) -> Result<(), CryptoError> {
    let set = VerifiedSet::verify_all(items);
    items
        .iter()
        .try_for_each(|(pk, domain, msg, sig)| set.verify(pk, domain, msg, sig))
}

/// The machine's cores, read once: `available_parallelism` reads the cgroup files on every call
/// (8% of the management device's CPU when it was asked per batch).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Below this many Ed25519 items, [`VerifiedSet::verify_all`] stays on the calling thread.
const PARALLEL_MIN_ITEMS: usize = 64;

/// Signatures verified together, for checks that come later one at a time (a block's
/// transactions are validated in order, but their signatures are known up front).
///
/// [`VerifiedSet::verify`] answers exactly what [`PublicKey::verify`] answers: an item that was
/// verified in the batch is a lookup, anything else (not in the batch, failed in it, or another
/// algorithm) is verified on its own. Ed25519 items are batched, split across the machine's
/// cores when there are many; a failing batch is bisected, so a few bad signatures cost a few
/// more batches.
#[derive(Debug, Default)]
pub struct VerifiedSet {
    verified: std::collections::HashSet<[u8; 32]>,
}

impl VerifiedSet {
    /// Verifies the Ed25519 items of `items` together and remembers those that verified.
    pub fn verify_all(items: &[(&PublicKey, &str, &[u8], &Signature)]) -> VerifiedSet {
        let ed: Vec<(&PublicKey, Vec<u8>, &Signature)> = items
            .iter()
            .filter(|(pk, ..)| pk.algorithm == Algorithm::Ed25519)
            .map(|(pk, domain, msg, sig)| (*pk, framed(domain, msg), *sig))
            .collect();
        let raw: Vec<(&[u8], &[u8], &[u8])> = ed
            .iter()
            .map(|(pk, m, sig)| (pk.bytes.as_slice(), m.as_slice(), sig.0.as_slice()))
            .collect();
        let threads = cores().min(raw.len() / PARALLEL_MIN_ITEMS).max(1);
        let ok: Vec<bool> = if threads == 1 {
            crate::ed25519::verdicts(&raw)
        } else {
            let chunk = raw.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = raw
                    .chunks(chunk)
                    .map(|c| s.spawn(move || crate::ed25519::verdicts(c)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        let verified = ed
            .iter()
            .zip(ok)
            .filter(|(_, ok)| *ok)
            .map(|((pk, framed, sig), _)| digest(pk, framed, sig))
            .collect();
        VerifiedSet { verified }
    }

    /// The verdict of [`PublicKey::verify`] for this item.
    pub fn verify(
        &self,
        pk: &PublicKey,
        domain: &str,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), CryptoError> {
        if pk.algorithm == Algorithm::Ed25519
            && self
                .verified
                .contains(&digest(pk, &framed(domain, msg), sig))
        {
            return Ok(());
        }
        pk.verify(domain, msg, sig)
    }

    /// How many items verified in the batch.
    pub fn len(&self) -> usize {
        self.verified.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verified.is_empty()
    }
}

/// Identifies one `(key, framed message, signature)` item (SHA-256 over length-prefixed parts).
fn digest(pk: &PublicKey, framed: &[u8], sig: &Signature) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [pk.bytes.as_slice(), framed, sig.0.as_slice()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_binds_domain_length() {
        // "ab" + "c" and "a" + "bc" must frame differently.
        assert_ne!(framed("ab", b"c"), framed("a", b"bc"));
    }

    #[test]
    fn p256_public_key_is_uncompressed_sec1() {
        let k = SigningKey::generate(Algorithm::P256, &mut rand_core::OsRng).expect("keygen");
        let pk = k.public_key();
        assert_eq!(pk.bytes.len(), P256_PUBLIC_KEY_LEN);
        assert_eq!(pk.bytes[0], 0x04);
    }

    #[test]
    fn p256_signatures_are_low_s() {
        let k = SigningKey::generate(Algorithm::P256, &mut rand_core::OsRng).expect("keygen");
        for i in 0..32u8 {
            let sig = k.sign("d", &[i]);
            let (_, s) = ecdsa_der::parse(&sig.0).expect("DER");
            assert!(!ecdsa_der::is_high_s(&s));
        }
    }

    #[test]
    fn p256_high_s_is_rejected() {
        let k = SigningKey::generate(Algorithm::P256, &mut rand_core::OsRng).expect("keygen");
        let sig = k.sign("d", b"m");
        let (r, s) = ecdsa_der::parse(&sig.0).expect("DER");
        let high = Signature(ecdsa_der::encode(&r, &ecdsa_der::sub_from_n(&s)));
        assert_eq!(
            k.public_key().verify("d", b"m", &high),
            Err(CryptoError::NonCanonicalSignature)
        );
        assert_eq!(k.public_key().verify("d", b"m", &sig), Ok(()));
    }
}
