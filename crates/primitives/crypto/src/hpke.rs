//! HPKE (RFC 9180) with `DHKEM(X25519, HKDF-SHA256)` and `HKDF-SHA256`, in Base mode (mode 0)
//! and Auth mode (mode 2), with the AEADs AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305.
//!
//! This is the public-key encryption of SPEC C2/C4: clients encrypt bytecode and invocation
//! requests to the cluster key, and the enclave encrypts results back to the caller.
//!
//! The Arcanum suite is **ChaCha20-Poly1305**: the single-shot [`seal`] / [`open`] use it. The
//! multi-message contexts ([`setup_sender`], [`setup_recipient`] and their `_auth` forms) take an
//! [`Aead`] so the full RFC suite set above can be checked against the published vectors.
//!
//! Implemented here on `curve25519-dalek` (X25519), `hkdf` + `sha2` and aws-lc (AEAD) rather
//! than with the `hpke` crate: its current release (0.15) is built on the next RustCrypto
//! generation (`rand_core` 0.10, `x25519-dalek` 3, `hkdf` 0.13), which does not share traits with
//! this crate's `rand_core` 0.6 RNGs, and it does not expose the RFC key-schedule values.
//!
//! Invariants:
//! - Nonces are never chosen by the caller: each context counts its own sequence number and
//!   refuses to wrap ([`HpkeError::MessageLimitReached`]).
//! - A Diffie-Hellman result of all zeros (a small-order `enc` or public key) is rejected, as
//!   RFC 9180 §7.1.4 requires, so hostile input never yields a predictable key.
//! - Inputs are bounded ([`MAX_PLAINTEXT_LEN`], [`MAX_INFO_LEN`], [`MAX_AAD_LEN`],
//!   [`MAX_EXPORTER_CONTEXT_LEN`], [`MAX_EXPORT_LEN`]); nothing here panics on hostile input.
//! - Private keys and every derived secret are zeroized on drop; `Debug` never prints them.
//! - The RFC's own labels (`"HPKE-v1"`, `"eae_prk"`, ...) are used verbatim; Arcanum's domain
//!   separation goes into the caller's `info`.

use std::fmt;

use aws_lc_rs::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use borsh::{BorshDeserialize, BorshSerialize};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::{Hkdf, HkdfExtract};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Decrypted plaintext or exported secret: zeroized on drop.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// Length of an X25519 key and of the encapsulated key `enc` (`Nenc = Npk = Nsk = 32`).
pub const KEY_LEN: usize = 32;
/// Length of every AEAD tag of the supported suites (`Nt`).
pub const TAG_LEN: usize = 16;
/// Largest plaintext [`seal`] accepts (64 MiB; contract bytecode fits comfortably).
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024 * 1024;
/// Largest `info` accepted (64 KiB).
pub const MAX_INFO_LEN: usize = 64 * 1024;
/// Largest associated data accepted (64 KiB).
pub const MAX_AAD_LEN: usize = 64 * 1024;
/// Largest exporter context accepted (64 KiB).
pub const MAX_EXPORTER_CONTEXT_LEN: usize = 64 * 1024;
/// Largest exporter output (`255 * Nh` for HKDF-SHA256).
pub const MAX_EXPORT_LEN: usize = 255 * 32;

const KEM_ID: u16 = 0x0020;
const KDF_ID: u16 = 0x0001;
const NONCE_LEN: usize = 12;
const MODE_BASE: u8 = 0x00;
const MODE_AUTH: u8 = 0x02;

/// Why an HPKE operation failed. `Display` carries no key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum HpkeError {
    /// The encapsulated key `enc` is a small-order point: the DH result would be all zeros.
    #[error("malformed encapsulated key (small-order point)")]
    MalformedEnc,
    /// The recipient public key is a small-order point.
    #[error("recipient public key is invalid (small-order point)")]
    InvalidRecipientKey,
    /// The sender public key (Auth mode) is a small-order point.
    #[error("sender public key is invalid (small-order point)")]
    InvalidSenderKey,
    /// The ciphertext does not authenticate under this key, `info`, `aad` and sequence number.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The ciphertext is shorter than the AEAD tag.
    #[error("ciphertext too short ({len} bytes, the tag alone is {TAG_LEN})")]
    CiphertextTooShort {
        /// Length received.
        len: usize,
    },
    /// A length bound was exceeded.
    #[error("{what} too large: {len} bytes (max {max})")]
    TooLarge {
        /// Which input (`"plaintext"`, `"ciphertext"`, `"info"`, `"aad"`, `"exporter context"`).
        what: &'static str,
        /// Length received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Exporter output length must be in `1..=MAX_EXPORT_LEN`.
    #[error("invalid exporter length {0} (must be 1..={MAX_EXPORT_LEN})")]
    InvalidExportLength(usize),
    /// The context has used every sequence number; it cannot seal or open more messages.
    #[error("HPKE context message limit reached")]
    MessageLimitReached,
    /// Bytes that should hold a key have the wrong length.
    #[error("key must be {KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    /// A serialized [`Sealed`] does not decode (truncated, trailing bytes, oversized).
    #[error("malformed sealed message")]
    MalformedSealed,
    /// The AEAD backend refused an operation on valid inputs (should not happen).
    #[error("AEAD backend failure")]
    Backend,
}

fn check_len(what: &'static str, len: usize, max: usize) -> Result<(), HpkeError> {
    if len > max {
        Err(HpkeError::TooLarge { what, len, max })
    } else {
        Ok(())
    }
}

/// The AEAD of an HPKE suite (RFC 9180 §7.3 ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Aead {
    /// AES-128-GCM, id 0x0001.
    Aes128Gcm = 1,
    /// AES-256-GCM, id 0x0002.
    Aes256Gcm = 2,
    /// ChaCha20-Poly1305, id 0x0003: the Arcanum default.
    ChaCha20Poly1305 = 3,
}

impl Aead {
    /// The RFC 9180 AEAD id.
    pub const fn id(self) -> u16 {
        self as u16
    }

    /// The AEAD for an RFC 9180 id, if supported (the export-only id 0xFFFF is not).
    pub const fn from_id(id: u16) -> Option<Aead> {
        match id {
            1 => Some(Aead::Aes128Gcm),
            2 => Some(Aead::Aes256Gcm),
            3 => Some(Aead::ChaCha20Poly1305),
            _ => None,
        }
    }

    const fn key_len(self) -> usize {
        match self {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm | Aead::ChaCha20Poly1305 => 32,
        }
    }

    fn algorithm(self) -> &'static aws_lc_rs::aead::Algorithm {
        match self {
            Aead::Aes128Gcm => &AES_128_GCM,
            Aead::Aes256Gcm => &AES_256_GCM,
            Aead::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// An X25519 public key: the recipient (or Auth-mode sender) key of HPKE.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct HpkePublicKey(pub [u8; KEY_LEN]);

impl HpkePublicKey {
    /// The key from a slice of exactly [`KEY_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HpkeError> {
        <[u8; KEY_LEN]>::try_from(bytes)
            .map(HpkePublicKey)
            .map_err(|_| HpkeError::KeyLength(bytes.len()))
    }

    /// The raw 32 bytes (`SerializePublicKey`).
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePublicKey({})", self.to_hex())
    }
}

impl fmt::Display for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for HpkePublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for HpkePublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        let mut out = [0u8; KEY_LEN];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|_| serde::de::Error::custom("expected 64 hex characters"))?;
        Ok(HpkePublicKey(out))
    }
}

/// An X25519 private key. Zeroized on drop; `Debug` shows only the public key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HpkePrivateKey {
    sk: [u8; KEY_LEN],
}

impl HpkePrivateKey {
    /// A fresh key from the caller's RNG (RFC 9180 `GenerateKeyPair`: `DeriveKeyPair` of 32
    /// random bytes).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut ikm = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(ikm.as_mut());
        Self::derive(ikm.as_ref())
    }

    /// RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256). Deterministic; `ikm` must
    /// hold at least 32 bytes of entropy for the key to be secure.
    pub fn derive(ikm: &[u8]) -> Self {
        let suite = kem_suite_id();
        let (_, prk) = labeled_extract(&suite, b"", b"dkp_prk", &[ikm]);
        let mut sk = [0u8; KEY_LEN];
        labeled_expand(&prk, &suite, b"sk", &[], &mut sk);
        HpkePrivateKey { sk }
    }

    /// The key from its 32 raw bytes (`DeserializePrivateKey`; X25519 clamps, so every value is
    /// usable).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        HpkePrivateKey { sk: bytes }
    }

    /// The key from a slice of exactly [`KEY_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HpkeError> {
        let sk = <[u8; KEY_LEN]>::try_from(bytes).map_err(|_| HpkeError::KeyLength(bytes.len()))?;
        Ok(HpkePrivateKey { sk })
    }

    /// The raw 32 bytes, for sealing at rest. Handle as a secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.sk)
    }

    /// The matching public key.
    pub fn public_key(&self) -> HpkePublicKey {
        HpkePublicKey(MontgomeryPoint::mul_base_clamped(self.sk).to_bytes())
    }

    /// X25519(sk, pk); `None` if the result is all zeros (small-order `pk`).
    fn dh(&self, pk: &[u8; KEY_LEN]) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        let out = Zeroizing::new(MontgomeryPoint(*pk).mul_clamped(self.sk).to_bytes());
        // Constant-time all-zero test: OR all bytes together.
        let acc = out.iter().fold(0u8, |a, b| a | b);
        (acc != 0).then_some(out)
    }
}

impl fmt::Debug for HpkePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePrivateKey(public: {})", self.public_key().to_hex())
    }
}

// ---------------------------------------------------------------------------------------------
// Labeled HKDF (RFC 9180 §4)
// ---------------------------------------------------------------------------------------------

fn kem_suite_id() -> [u8; 5] {
    let k = KEM_ID.to_be_bytes();
    [b'K', b'E', b'M', k[0], k[1]]
}

fn hpke_suite_id(aead: Aead) -> [u8; 10] {
    let k = KEM_ID.to_be_bytes();
    let f = KDF_ID.to_be_bytes();
    let a = aead.id().to_be_bytes();
    [b'H', b'P', b'K', b'E', k[0], k[1], f[0], f[1], a[0], a[1]]
}

/// `LabeledExtract(salt, label, ikm)` with `ikm` given in parts: the PRK bytes and the HKDF
/// state keyed by them.
fn labeled_extract(
    suite: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[&[u8]],
) -> (Zeroizing<[u8; 32]>, Hkdf<Sha256>) {
    let mut ext = HkdfExtract::<Sha256>::new(Some(salt));
    ext.input_ikm(b"HPKE-v1");
    ext.input_ikm(suite);
    ext.input_ikm(label);
    for part in ikm {
        ext.input_ikm(part);
    }
    let (mut prk, hkdf) = ext.finalize();
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&prk);
    prk.as_mut_slice().zeroize();
    (bytes, hkdf)
}

/// `LabeledExpand(prk, label, info, out.len())`. `out.len()` is at most `MAX_EXPORT_LEN`
/// (checked by callers), so HKDF's length limit cannot be hit.
fn labeled_expand(prk: &Hkdf<Sha256>, suite: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    // Callers bound `out.len()` to `MAX_EXPORT_LEN` (< 65536 and = 255 * Nh), so the two-byte
    // length and HKDF's own limit both hold.
    let l = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    let r = prk.expand_multi_info(&[&l, b"HPKE-v1", suite, label, info], out);
    debug_assert!(r.is_ok(), "HKDF expand length is bounded by callers");
}

// ---------------------------------------------------------------------------------------------
// KEM (RFC 9180 §4.1)
// ---------------------------------------------------------------------------------------------

fn extract_and_expand(dh: &[&[u8]], kem_context: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let suite = kem_suite_id();
    let (_, prk) = labeled_extract(&suite, b"", b"eae_prk", dh);
    let mut ss = Zeroizing::new([0u8; 32]);
    let ctx: Vec<u8> = kem_context.concat();
    labeled_expand(&prk, &suite, b"shared_secret", &ctx, ss.as_mut());
    ss
}

/// `Encap` / `AuthEncap` with an explicit ephemeral key.
fn encap(
    sk_e: &HpkePrivateKey,
    pk_r: &HpkePublicKey,
    sender: Option<&HpkePrivateKey>,
) -> Result<([u8; KEY_LEN], Zeroizing<[u8; 32]>), HpkeError> {
    let enc = sk_e.public_key().0;
    let dh1 = sk_e.dh(&pk_r.0).ok_or(HpkeError::InvalidRecipientKey)?;
    let ss = match sender {
        None => extract_and_expand(&[dh1.as_ref()], &[&enc, &pk_r.0]),
        Some(sk_s) => {
            let dh2 = sk_s.dh(&pk_r.0).ok_or(HpkeError::InvalidRecipientKey)?;
            let pk_s = sk_s.public_key();
            extract_and_expand(&[dh1.as_ref(), dh2.as_ref()], &[&enc, &pk_r.0, &pk_s.0])
        }
    };
    Ok((enc, ss))
}

/// `Decap` / `AuthDecap`.
fn decap(
    enc: &[u8; KEY_LEN],
    sk_r: &HpkePrivateKey,
    sender: Option<&HpkePublicKey>,
) -> Result<Zeroizing<[u8; 32]>, HpkeError> {
    let pk_r = sk_r.public_key();
    let dh1 = sk_r.dh(enc).ok_or(HpkeError::MalformedEnc)?;
    Ok(match sender {
        None => extract_and_expand(&[dh1.as_ref()], &[enc, &pk_r.0]),
        Some(pk_s) => {
            let dh2 = sk_r.dh(&pk_s.0).ok_or(HpkeError::InvalidSenderKey)?;
            extract_and_expand(&[dh1.as_ref(), dh2.as_ref()], &[enc, &pk_r.0, &pk_s.0])
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Key schedule and contexts (RFC 9180 §5)
// ---------------------------------------------------------------------------------------------

/// The secret state shared by both context directions.
struct Schedule {
    aead: Aead,
    key: LessSafeKey,
    base_nonce: Zeroizing<[u8; NONCE_LEN]>,
    exporter_secret: Zeroizing<[u8; 32]>,
    /// Sequence number of the next message; `None` once exhausted.
    seq: Option<u64>,
}

/// Key-schedule outputs, kept for the RFC intermediate-value unit test.
struct ScheduleSecrets {
    key: Zeroizing<Vec<u8>>,
    base_nonce: Zeroizing<[u8; NONCE_LEN]>,
    exporter_secret: Zeroizing<[u8; 32]>,
}

fn key_schedule_secrets(
    aead: Aead,
    mode: u8,
    shared_secret: &[u8],
    info: &[u8],
) -> ScheduleSecrets {
    let suite = hpke_suite_id(aead);
    // psk = psk_id = "" in Base and Auth modes.
    let (psk_id_hash, _) = labeled_extract(&suite, b"", b"psk_id_hash", &[b""]);
    let (info_hash, _) = labeled_extract(&suite, b"", b"info_hash", &[info]);
    let mut ks_context = Vec::with_capacity(65);
    ks_context.push(mode);
    ks_context.extend_from_slice(psk_id_hash.as_ref());
    ks_context.extend_from_slice(info_hash.as_ref());
    let (_, secret) = labeled_extract(&suite, shared_secret, b"secret", &[b""]);

    let mut key = Zeroizing::new(vec![0u8; aead.key_len()]);
    labeled_expand(&secret, &suite, b"key", &ks_context, &mut key);
    let mut base_nonce = Zeroizing::new([0u8; NONCE_LEN]);
    labeled_expand(
        &secret,
        &suite,
        b"base_nonce",
        &ks_context,
        base_nonce.as_mut(),
    );
    let mut exporter_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &secret,
        &suite,
        b"exp",
        &ks_context,
        exporter_secret.as_mut(),
    );
    ScheduleSecrets {
        key,
        base_nonce,
        exporter_secret,
    }
}

impl Schedule {
    fn new(aead: Aead, mode: u8, shared_secret: &[u8], info: &[u8]) -> Result<Self, HpkeError> {
        let s = key_schedule_secrets(aead, mode, shared_secret, info);
        let unbound = UnboundKey::new(aead.algorithm(), &s.key).map_err(|_| HpkeError::Backend)?;
        Ok(Schedule {
            aead,
            key: LessSafeKey::new(unbound),
            base_nonce: s.base_nonce,
            exporter_secret: s.exporter_secret,
            seq: Some(0),
        })
    }

    /// The nonce for the current sequence number, and advance it.
    fn next_nonce(&mut self) -> Result<Nonce, HpkeError> {
        let seq = self.seq.ok_or(HpkeError::MessageLimitReached)?;
        let mut nonce = *self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        Ok(Nonce::assume_unique_for_key(nonce))
    }

    fn advance(&mut self) {
        self.seq = self.seq.and_then(|s| s.checked_add(1));
    }

    fn export(&self, exporter_context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        check_len(
            "exporter context",
            exporter_context.len(),
            MAX_EXPORTER_CONTEXT_LEN,
        )?;
        if len == 0 || len > MAX_EXPORT_LEN {
            return Err(HpkeError::InvalidExportLength(len));
        }
        let suite = hpke_suite_id(self.aead);
        let prk = Hkdf::<Sha256>::from_prk(self.exporter_secret.as_ref())
            .map_err(|_| HpkeError::Backend)?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        labeled_expand(&prk, &suite, b"sec", exporter_context, &mut out);
        Ok(out)
    }
}

/// The sender side of an HPKE context. Nonces are derived from an internal counter.
pub struct SenderContext(Schedule);

/// The recipient side of an HPKE context. Messages must be opened in the order they were sealed.
pub struct RecipientContext(Schedule);

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderContext")
            .field("aead", &self.0.aead)
            .field("seq", &self.0.seq)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RecipientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientContext")
            .field("aead", &self.0.aead)
            .field("seq", &self.0.seq)
            .finish_non_exhaustive()
    }
}

fn check_info(info: &[u8]) -> Result<(), HpkeError> {
    check_len("info", info.len(), MAX_INFO_LEN)
}

/// `SetupBaseS`: a fresh ephemeral key from `rng`; returns `enc` and the sender context.
pub fn setup_sender(
    aead: Aead,
    recipient: &HpkePublicKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    let sk_e = HpkePrivateKey::generate(rng);
    setup_sender_with_ephemeral(aead, recipient, None, info, &sk_e)
}

/// `SetupAuthS`: like [`setup_sender`], and also authenticates the sender's static key.
pub fn setup_sender_auth(
    aead: Aead,
    recipient: &HpkePublicKey,
    sender: &HpkePrivateKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    let sk_e = HpkePrivateKey::generate(rng);
    setup_sender_with_ephemeral(aead, recipient, Some(sender), info, &sk_e)
}

/// Sender setup with a given ephemeral key. Private: a reused ephemeral key reuses nonces.
fn setup_sender_with_ephemeral(
    aead: Aead,
    recipient: &HpkePublicKey,
    sender: Option<&HpkePrivateKey>,
    info: &[u8],
    sk_e: &HpkePrivateKey,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    check_info(info)?;
    let (enc, ss) = encap(sk_e, recipient, sender)?;
    let mode = if sender.is_some() {
        MODE_AUTH
    } else {
        MODE_BASE
    };
    Ok((
        enc,
        SenderContext(Schedule::new(aead, mode, ss.as_ref(), info)?),
    ))
}

/// `SetupBaseR`: the recipient context for `enc`.
pub fn setup_recipient(
    aead: Aead,
    recipient: &HpkePrivateKey,
    enc: &[u8; KEY_LEN],
    info: &[u8],
) -> Result<RecipientContext, HpkeError> {
    check_info(info)?;
    let ss = decap(enc, recipient, None)?;
    Ok(RecipientContext(Schedule::new(
        aead,
        MODE_BASE,
        ss.as_ref(),
        info,
    )?))
}

/// `SetupAuthR`: the recipient context for `enc`, authenticating the sender's static key.
pub fn setup_recipient_auth(
    aead: Aead,
    recipient: &HpkePrivateKey,
    enc: &[u8; KEY_LEN],
    sender: &HpkePublicKey,
    info: &[u8],
) -> Result<RecipientContext, HpkeError> {
    check_info(info)?;
    let ss = decap(enc, recipient, Some(sender))?;
    Ok(RecipientContext(Schedule::new(
        aead,
        MODE_AUTH,
        ss.as_ref(),
        info,
    )?))
}

impl SenderContext {
    /// Encrypt the next message (`ContextS.Seal`): ciphertext with the tag appended.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        check_len("aad", aad.len(), MAX_AAD_LEN)?;
        check_len("plaintext", plaintext.len(), MAX_PLAINTEXT_LEN)?;
        let nonce = self.0.next_nonce()?;
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        self.0
            .key
            .seal_in_place_append_tag(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| HpkeError::Backend)?;
        self.0.advance();
        Ok(buf)
    }

    /// `Context.Export(exporter_context, len)`: a secret both sides can derive.
    pub fn export(
        &self,
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        self.0.export(exporter_context, len)
    }
}

impl RecipientContext {
    /// Decrypt the next message (`ContextR.Open`). On failure the sequence number does not
    /// advance, so a forged message cannot desynchronise the context.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        check_len("aad", aad.len(), MAX_AAD_LEN)?;
        check_len("ciphertext", ciphertext.len(), MAX_PLAINTEXT_LEN + TAG_LEN)?;
        if ciphertext.len() < TAG_LEN {
            return Err(HpkeError::CiphertextTooShort {
                len: ciphertext.len(),
            });
        }
        let nonce = self.0.next_nonce()?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let pt_len = self
            .0
            .key
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| HpkeError::DecryptionFailed)?
            .len();
        buf.truncate(pt_len);
        self.0.advance();
        Ok(buf)
    }

    /// `Context.Export(exporter_context, len)`: a secret both sides can derive.
    pub fn export(
        &self,
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        self.0.export(exporter_context, len)
    }
}

// ---------------------------------------------------------------------------------------------
// Single-shot API (Arcanum suite: ChaCha20-Poly1305, Base mode)
// ---------------------------------------------------------------------------------------------

/// A single-shot HPKE message: the encapsulated key and the AEAD ciphertext (tag appended).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Sealed {
    /// The encapsulated (ephemeral public) key.
    pub enc: [u8; KEY_LEN],
    /// Ciphertext with the 16-byte tag appended.
    pub ciphertext: Vec<u8>,
}

impl Sealed {
    /// Strict decoding of the borsh bytes (`borsh::to_vec(&sealed)`): no trailing bytes, ciphertext within bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HpkeError> {
        // enc (32) + u32 length + at most MAX_PLAINTEXT_LEN + TAG_LEN.
        if bytes.len() > KEY_LEN + 4 + MAX_PLAINTEXT_LEN + TAG_LEN {
            return Err(HpkeError::MalformedSealed);
        }
        borsh::from_slice(bytes).map_err(|_| HpkeError::MalformedSealed)
    }
}

/// Encrypt `plaintext` to `recipient` (Base mode, ChaCha20-Poly1305). `info` binds the purpose
/// (use a domain string), `aad` is authenticated but not encrypted.
pub fn seal(
    recipient: &HpkePublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, HpkeError> {
    let (enc, mut ctx) = setup_sender(Aead::ChaCha20Poly1305, recipient, info, rng)?;
    let ciphertext = ctx.seal(aad, plaintext)?;
    Ok(Sealed { enc, ciphertext })
}

/// Decrypt a [`Sealed`] message made by [`seal`] with the same `info` and `aad`.
pub fn open(
    recipient: &HpkePrivateKey,
    info: &[u8],
    aad: &[u8],
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
    let mut ctx = setup_recipient(Aead::ChaCha20Poly1305, recipient, &sealed.enc, info)?;
    ctx.open(aad, &sealed.ciphertext)
}

/// Like [`seal`], and also returns `Export(exporter_context, export_len)` of the same context:
/// a secret the recipient gets from [`open_with_export`], e.g. a key for the reply.
pub fn seal_with_export(
    recipient: &HpkePublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    exporter_context: &[u8],
    export_len: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<(Sealed, Zeroizing<Vec<u8>>), HpkeError> {
    let (enc, mut ctx) = setup_sender(Aead::ChaCha20Poly1305, recipient, info, rng)?;
    let exported = ctx.export(exporter_context, export_len)?;
    let ciphertext = ctx.seal(aad, plaintext)?;
    Ok((Sealed { enc, ciphertext }, exported))
}

/// Like [`open`], and also returns `Export(exporter_context, export_len)`; the export is
/// returned only if the message authenticates.
pub fn open_with_export(
    recipient: &HpkePrivateKey,
    info: &[u8],
    aad: &[u8],
    sealed: &Sealed,
    exporter_context: &[u8],
    export_len: usize,
) -> Result<(SecretBytes, SecretBytes), HpkeError> {
    let mut ctx = setup_recipient(Aead::ChaCha20Poly1305, recipient, &sealed.enc, info)?;
    let exported = ctx.export(exporter_context, export_len)?;
    let pt = ctx.open(aad, &sealed.ciphertext)?;
    Ok((pt, exported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
    }

    fn k32(s: &str) -> [u8; 32] {
        <[u8; 32]>::try_from(h(s).as_slice()).unwrap_or_else(|_| panic!("not 32 bytes: {s}"))
    }

    /// RFC 9180 A.1.1 (DHKEM(X25519), HKDF-SHA256, AES-128-GCM, Base): key derivation and the
    /// key-schedule intermediate values.
    #[test]
    fn rfc9180_a11_intermediates() {
        let sk_r = HpkePrivateKey::derive(&h(
            "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
        ));
        assert_eq!(
            *sk_r.to_bytes(),
            k32("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8")
        );
        let sk_e = HpkePrivateKey::derive(&h(
            "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
        ));
        assert_eq!(
            *sk_e.to_bytes(),
            k32("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736")
        );
        let pk_r = sk_r.public_key();
        assert_eq!(
            pk_r.0,
            k32("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d")
        );
        let (enc, ss) = encap(&sk_e, &pk_r, None).expect("encap");
        assert_eq!(
            enc,
            k32("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431")
        );
        assert_eq!(
            *ss,
            k32("fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc")
        );
        assert_eq!(*decap(&enc, &sk_r, None).expect("decap"), *ss);
        let info = h("4f6465206f6e2061204772656369616e2055726e");
        let s = key_schedule_secrets(Aead::Aes128Gcm, MODE_BASE, ss.as_ref(), &info);
        assert_eq!(*s.key, h("4531685d41d65f03dc48f6b8302c05b0"));
        assert_eq!(s.base_nonce.to_vec(), h("56d890e5accaaf011cff4b7d"));
        assert_eq!(
            *s.exporter_secret,
            k32("45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8")
        );
    }

    /// Sender side of every block of the shared RFC 9180 vectors: with the vector's ephemeral
    /// key, `enc` and all 257 ciphertexts are reproduced byte for byte, and the exports match.
    /// (The public API never takes an ephemeral key; the integration tests cover the recipient.)
    #[test]
    fn vectors_reproduce_enc_and_ciphertexts() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../../shared/testdata/external/crypto_vectors/hpke/boringssl_hpke_test_vectors.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("missing HPKE vectors at {}: {e}", path.display()));
        let mut blocks = 0;
        let mut cts = 0;
        for block in text.split("\n\n").filter(|b| b.contains("mode = ")) {
            let fields: Vec<(&str, &str)> = block
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(" = "))
                .collect();
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| *v)
                    .unwrap_or_else(|| panic!("no {k}"))
            };
            let aead =
                Aead::from_id(get("aead_id").parse().expect("aead_id")).expect("supported aead");
            let sk_e = HpkePrivateKey::from_bytes(k32(get("skEm")));
            let pk_r = HpkePublicKey(k32(get("pkRm")));
            let sender = match get("mode") {
                "0" => None,
                "2" => Some(HpkePrivateKey::from_bytes(k32(get("skSm")))),
                m => panic!("unexpected mode {m}"),
            };
            let info = h(get("info"));
            let (enc, mut ctx) =
                setup_sender_with_ephemeral(aead, &pk_r, sender.as_ref(), &info, &sk_e)
                    .expect("setup");
            assert_eq!(enc, k32(get("pkEm")));
            let aads: Vec<_> = fields.iter().filter(|(n, _)| *n == "aad").collect();
            let ctexts: Vec<_> = fields.iter().filter(|(n, _)| *n == "ct").collect();
            let pts: Vec<_> = fields.iter().filter(|(n, _)| *n == "pt").collect();
            assert_eq!(aads.len(), 257);
            assert_eq!(ctexts.len(), 257);
            assert_eq!(pts.len(), 257);
            for ((aad, ct), pt) in aads.iter().zip(&ctexts).zip(&pts) {
                assert_eq!(ctx.seal(&h(aad.1), &h(pt.1)).expect("seal"), h(ct.1));
                cts += 1;
            }
            let ectx: Vec<_> = fields
                .iter()
                .filter(|(n, _)| *n == "exporter_context")
                .collect();
            let lens: Vec<_> = fields.iter().filter(|(n, _)| *n == "L").collect();
            let vals: Vec<_> = fields
                .iter()
                .filter(|(n, _)| *n == "exported_value")
                .collect();
            assert_eq!(ectx.len(), 3);
            for ((c, l), v) in ectx.iter().zip(&lens).zip(&vals) {
                let out = ctx
                    .export(&h(c.1), l.1.parse().expect("L"))
                    .expect("export");
                assert_eq!(*out, h(v.1));
            }
            blocks += 1;
        }
        assert_eq!((blocks, cts), (6, 6 * 257));
    }

    #[test]
    fn small_order_points_are_rejected() {
        let sk = HpkePrivateKey::from_bytes([7u8; 32]);
        // 0 and 1 are small-order u-coordinates: X25519 with them is all zeros.
        for bad in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert_eq!(
                setup_recipient(Aead::ChaCha20Poly1305, &sk, &bad, b"").err(),
                Some(HpkeError::MalformedEnc)
            );
            let mut rng = rand_core::OsRng;
            assert_eq!(
                seal(&HpkePublicKey(bad), b"", b"", b"x", &mut rng).err(),
                Some(HpkeError::InvalidRecipientKey)
            );
            let enc = HpkePrivateKey::from_bytes([9u8; 32]).public_key().0;
            assert_eq!(
                setup_recipient_auth(Aead::ChaCha20Poly1305, &sk, &enc, &HpkePublicKey(bad), b"")
                    .err(),
                Some(HpkeError::InvalidSenderKey)
            );
        }
    }

    #[test]
    fn sequence_number_exhaustion_is_an_error() {
        let sk = HpkePrivateKey::from_bytes([3u8; 32]);
        let (_, mut ctx) = setup_sender(
            Aead::ChaCha20Poly1305,
            &sk.public_key(),
            b"",
            &mut rand_core::OsRng,
        )
        .expect("setup");
        ctx.0.seq = Some(u64::MAX);
        assert!(ctx.seal(b"", b"last").is_ok());
        assert_eq!(
            ctx.seal(b"", b"one more").err(),
            Some(HpkeError::MessageLimitReached)
        );
    }

    #[test]
    fn debug_does_not_print_secrets() {
        let sk = HpkePrivateKey::from_bytes([0xab; 32]);
        let dbg = format!("{sk:?}");
        assert!(!dbg.contains(&"ab".repeat(32)), "{dbg}");
        assert!(dbg.contains(&sk.public_key().to_hex()));
    }
}
