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
//! The protocol itself (KEM, key schedule, nonces, exporter) is the maintained
//! [`hpke`](::hpke) crate, version 0.12: the last release on the RustCrypto generation this
//! workspace is on (`rand_core` 0.6, `hkdf` 0.12, `x25519-dalek` 2, `chacha20poly1305` 0.10), so
//! the callers' RNGs plug straight in. (Its 0.13+ releases move to `rand_core` 0.10 and
//! `x25519-dalek` 3.) This module is a thin, bounded wrapper: fixed-size key and message types
//! with borsh and serde encodings, one run-time [`Aead`] choice over the crate's generic
//! contexts, and precise errors.
//!
//! Invariants:
//! - Nonces are never chosen by the caller: each context counts its own sequence number and
//!   refuses to wrap ([`HpkeError::MessageLimitReached`]); a failed open does not advance it.
//! - A Diffie-Hellman result of all zeros (a small-order `enc` or public key) is rejected, as
//!   RFC 9180 §7.1.4 requires, so hostile input never yields a predictable key (the crate refuses
//!   it; this module names which key was at fault).
//! - Inputs are bounded ([`MAX_PLAINTEXT_LEN`], [`MAX_INFO_LEN`], [`MAX_AAD_LEN`],
//!   [`MAX_EXPORTER_CONTEXT_LEN`], [`MAX_EXPORT_LEN`]) and checked before the crate sees them;
//!   nothing here panics on hostile input.
//! - Private keys and every derived secret are zeroized on drop: this module's key bytes and
//!   plaintext buffers, the crate's key schedule outputs (key, base nonce, exporter secret,
//!   shared secret), X25519 secrets (`x25519-dalek`'s `zeroize` feature) and the AEAD key
//!   states (`chacha20poly1305` always; the AES-GCM crates' `zeroize` features are turned on in
//!   this crate's manifest). `Debug` never prints them.
//! - Arcanum's domain separation goes into the caller's `info`; the RFC's own labels are the
//!   crate's.

use std::fmt;

use ::hpke::aead::{AeadCtxR, AeadCtxS, AeadTag, AesGcm128, AesGcm256, ChaCha20Poly1305};
use ::hpke::kdf::HkdfSha256;
use ::hpke::kem::X25519HkdfSha256;
use ::hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::CryptoRngCore;
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

/// The KEM: DHKEM(X25519, HKDF-SHA256), id 0x0020.
type Kem = X25519HkdfSha256;
type KemPublicKey = <Kem as ::hpke::Kem>::PublicKey;
type KemPrivateKey = <Kem as ::hpke::Kem>::PrivateKey;
type EncappedKey = <Kem as ::hpke::Kem>::EncappedKey;
/// The KDF: HKDF-SHA256, id 0x0001.
type Kdf = HkdfSha256;

// The RFC ids this module names are the crate's.
const _: () = {
    assert!(<Kem as ::hpke::Kem>::KEM_ID == 0x0020);
    assert!(<Kdf as ::hpke::kdf::Kdf>::KDF_ID == 0x0001);
    assert!(<AesGcm128 as ::hpke::aead::Aead>::AEAD_ID == Aead::Aes128Gcm.id());
    assert!(<AesGcm256 as ::hpke::aead::Aead>::AEAD_ID == Aead::Aes256Gcm.id());
    assert!(<ChaCha20Poly1305 as ::hpke::aead::Aead>::AEAD_ID == Aead::ChaCha20Poly1305.id());
};

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

impl HpkePublicKey {
    /// The crate's form (`DeserializePublicKey`: every 32-byte string is accepted; small-order
    /// points are refused where they are used).
    fn kem(&self) -> Result<KemPublicKey, HpkeError> {
        KemPublicKey::from_bytes(&self.0).map_err(|_| HpkeError::Backend)
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
        let (sk, _) = <Kem as ::hpke::Kem>::derive_keypair(ikm);
        let mut bytes = sk.to_bytes();
        let mut out = HpkePrivateKey { sk: [0; KEY_LEN] };
        out.sk.copy_from_slice(&bytes);
        bytes.as_mut_slice().zeroize();
        out
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
        // The crate's `sk_to_pk` is exactly this (`x25519_dalek::PublicKey::from`), but
        // infallible without a round trip through its byte parser.
        let secret = x25519_dalek::StaticSecret::from(self.sk);
        HpkePublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }

    /// The crate's form, and the matching public key. The crate's private key zeroizes itself
    /// on drop.
    fn kem(&self) -> Result<(KemPrivateKey, KemPublicKey), HpkeError> {
        let sk = KemPrivateKey::from_bytes(&self.sk).map_err(|_| HpkeError::Backend)?;
        let pk = <Kem as ::hpke::Kem>::sk_to_pk(&sk);
        Ok((sk, pk))
    }
}

impl fmt::Debug for HpkePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePrivateKey(public: {})", self.public_key().to_hex())
    }
}

/// Whether `u` is a small-order point, that is X25519 with it gives all zeros. A clamped scalar
/// is `8·k` with `0 < k` below the order of the prime-order subgroup (of the curve and of its
/// twist), so the all-zero result does not depend on the scalar: a fixed public one is used.
/// Only used to name the faulty key after the crate refused a decapsulation.
fn is_small_order(u: &[u8; KEY_LEN]) -> bool {
    x25519_dalek::x25519([9; KEY_LEN], *u) == [0; KEY_LEN]
}

// ---------------------------------------------------------------------------------------------
// Contexts (RFC 9180 §5)
// ---------------------------------------------------------------------------------------------

/// The crate's sender context, one variant per AEAD (the AES key schedules boxed: they are
/// several times ChaCha20-Poly1305's size).
enum SenderInner {
    Aes128Gcm(Box<AeadCtxS<AesGcm128, Kdf, Kem>>),
    Aes256Gcm(Box<AeadCtxS<AesGcm256, Kdf, Kem>>),
    ChaCha20Poly1305(AeadCtxS<ChaCha20Poly1305, Kdf, Kem>),
}

/// The crate's recipient context, one variant per AEAD (AES boxed, as for [`SenderInner`]).
enum RecipientInner {
    Aes128Gcm(Box<AeadCtxR<AesGcm128, Kdf, Kem>>),
    Aes256Gcm(Box<AeadCtxR<AesGcm256, Kdf, Kem>>),
    ChaCha20Poly1305(AeadCtxR<ChaCha20Poly1305, Kdf, Kem>),
}

/// Runs `$body` with `$ctx` bound to the crate's context, whatever its AEAD, and `$aead` to the
/// AEAD's crate type.
macro_rules! dispatch {
    ($inner:expr, $enum:ident, |$ctx:ident, $aead:ident| $body:expr) => {
        match $inner {
            $enum::Aes128Gcm($ctx) => {
                type $aead = AesGcm128;
                $body
            }
            $enum::Aes256Gcm($ctx) => {
                type $aead = AesGcm256;
                $body
            }
            $enum::ChaCha20Poly1305($ctx) => {
                type $aead = ChaCha20Poly1305;
                $body
            }
        }
    };
}

/// The sender side of an HPKE context. Nonces are derived from an internal counter.
pub struct SenderContext {
    aead: Aead,
    inner: SenderInner,
}

/// The recipient side of an HPKE context. Messages must be opened in the order they were sealed.
pub struct RecipientContext {
    aead: Aead,
    inner: RecipientInner,
}

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderContext")
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RecipientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientContext")
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

fn check_info(info: &[u8]) -> Result<(), HpkeError> {
    check_len("info", info.len(), MAX_INFO_LEN)
}

fn enc_bytes(enc: &EncappedKey) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(&enc.to_bytes());
    out
}

/// The crate's errors of a setup, named: encapsulation fails only on a small-order recipient
/// key; decapsulation on a small-order `enc` or (Auth mode) sender key.
fn encap_error(e: ::hpke::HpkeError) -> HpkeError {
    match e {
        ::hpke::HpkeError::EncapError => HpkeError::InvalidRecipientKey,
        _ => HpkeError::Backend,
    }
}

fn decap_error(e: ::hpke::HpkeError, enc: &[u8; KEY_LEN]) -> HpkeError {
    match e {
        ::hpke::HpkeError::DecapError if is_small_order(enc) => HpkeError::MalformedEnc,
        ::hpke::HpkeError::DecapError => HpkeError::InvalidSenderKey,
        _ => HpkeError::Backend,
    }
}

fn sender(
    aead: Aead,
    recipient: &HpkePublicKey,
    mode: &OpModeS<'_, Kem>,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    check_info(info)?;
    let pk = recipient.kem()?;
    let (enc, inner) = match aead {
        Aead::Aes128Gcm => ::hpke::setup_sender::<AesGcm128, Kdf, Kem, _>(mode, &pk, info, rng)
            .map(|(enc, ctx)| (enc, SenderInner::Aes128Gcm(Box::new(ctx)))),
        Aead::Aes256Gcm => ::hpke::setup_sender::<AesGcm256, Kdf, Kem, _>(mode, &pk, info, rng)
            .map(|(enc, ctx)| (enc, SenderInner::Aes256Gcm(Box::new(ctx)))),
        Aead::ChaCha20Poly1305 => {
            ::hpke::setup_sender::<ChaCha20Poly1305, Kdf, Kem, _>(mode, &pk, info, rng)
                .map(|(enc, ctx)| (enc, SenderInner::ChaCha20Poly1305(ctx)))
        }
    }
    .map_err(encap_error)?;
    Ok((enc_bytes(&enc), SenderContext { aead, inner }))
}

fn recipient_context(
    aead: Aead,
    recipient: &HpkePrivateKey,
    enc: &[u8; KEY_LEN],
    mode: &OpModeR<'_, Kem>,
    info: &[u8],
) -> Result<RecipientContext, HpkeError> {
    check_info(info)?;
    let (sk, _) = recipient.kem()?;
    let encapped = EncappedKey::from_bytes(enc).map_err(|_| HpkeError::Backend)?;
    let inner = match aead {
        Aead::Aes128Gcm => {
            ::hpke::setup_receiver::<AesGcm128, Kdf, Kem>(mode, &sk, &encapped, info)
                .map(|ctx| RecipientInner::Aes128Gcm(Box::new(ctx)))
        }
        Aead::Aes256Gcm => {
            ::hpke::setup_receiver::<AesGcm256, Kdf, Kem>(mode, &sk, &encapped, info)
                .map(|ctx| RecipientInner::Aes256Gcm(Box::new(ctx)))
        }
        Aead::ChaCha20Poly1305 => {
            ::hpke::setup_receiver::<ChaCha20Poly1305, Kdf, Kem>(mode, &sk, &encapped, info)
                .map(RecipientInner::ChaCha20Poly1305)
        }
    }
    .map_err(|e| decap_error(e, enc))?;
    Ok(RecipientContext { aead, inner })
}

/// `SetupBaseS`: a fresh ephemeral key from `rng` (`DeriveKeyPair` of 32 bytes it draws);
/// returns `enc` and the sender context.
pub fn setup_sender(
    aead: Aead,
    recipient: &HpkePublicKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    sender(aead, recipient, &OpModeS::Base, info, rng)
}

/// `SetupAuthS`: like [`setup_sender`], and also authenticates the sender's static key.
pub fn setup_sender_auth(
    aead: Aead,
    recipient: &HpkePublicKey,
    sender_key: &HpkePrivateKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; KEY_LEN], SenderContext), HpkeError> {
    let mode = OpModeS::Auth(sender_key.kem()?);
    sender(aead, recipient, &mode, info, rng)
}

/// `SetupBaseR`: the recipient context for `enc`.
pub fn setup_recipient(
    aead: Aead,
    recipient: &HpkePrivateKey,
    enc: &[u8; KEY_LEN],
    info: &[u8],
) -> Result<RecipientContext, HpkeError> {
    recipient_context(aead, recipient, enc, &OpModeR::Base, info)
}

/// `SetupAuthR`: the recipient context for `enc`, authenticating the sender's static key.
pub fn setup_recipient_auth(
    aead: Aead,
    recipient: &HpkePrivateKey,
    enc: &[u8; KEY_LEN],
    sender_key: &HpkePublicKey,
    info: &[u8],
) -> Result<RecipientContext, HpkeError> {
    let mode = OpModeR::Auth(sender_key.kem()?);
    recipient_context(aead, recipient, enc, &mode, info)
}

fn check_export(exporter_context: &[u8], len: usize) -> Result<(), HpkeError> {
    check_len(
        "exporter context",
        exporter_context.len(),
        MAX_EXPORTER_CONTEXT_LEN,
    )?;
    if len == 0 || len > MAX_EXPORT_LEN {
        return Err(HpkeError::InvalidExportLength(len));
    }
    Ok(())
}

/// The crate's errors of a message operation (the sequence number, or the AEAD).
fn message_error(e: ::hpke::HpkeError, failed: HpkeError) -> HpkeError {
    match e {
        ::hpke::HpkeError::MessageLimitReached => HpkeError::MessageLimitReached,
        ::hpke::HpkeError::OpenError | ::hpke::HpkeError::SealError => failed,
        _ => HpkeError::Backend,
    }
}

impl SenderContext {
    /// The context's AEAD.
    pub fn aead(&self) -> Aead {
        self.aead
    }

    /// Encrypt the next message (`ContextS.Seal`): ciphertext with the tag appended.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        check_len("aad", aad.len(), MAX_AAD_LEN)?;
        check_len("plaintext", plaintext.len(), MAX_PLAINTEXT_LEN)?;
        // The buffer holds plaintext until it is encrypted in place: zeroized if sealing fails.
        let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
        buf.extend_from_slice(plaintext);
        dispatch!(&mut self.inner, SenderInner, |ctx, A| {
            let tag: AeadTag<A> = ctx
                .seal_in_place_detached(buf.as_mut_slice(), aad)
                .map_err(|e| message_error(e, HpkeError::Backend))?;
            buf.extend_from_slice(&tag.to_bytes());
        });
        Ok(std::mem::take(&mut *buf))
    }

    /// `Context.Export(exporter_context, len)`: a secret both sides can derive.
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<SecretBytes, HpkeError> {
        check_export(exporter_context, len)?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        dispatch!(&self.inner, SenderInner, |ctx, _A| ctx
            .export(exporter_context, &mut out))
        .map_err(|_| HpkeError::InvalidExportLength(len))?;
        Ok(out)
    }
}

impl RecipientContext {
    /// The context's AEAD.
    pub fn aead(&self) -> Aead {
        self.aead
    }

    /// Decrypt the next message (`ContextR.Open`). On failure the sequence number does not
    /// advance, so a forged message cannot desynchronise the context.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<SecretBytes, HpkeError> {
        check_len("aad", aad.len(), MAX_AAD_LEN)?;
        check_len("ciphertext", ciphertext.len(), MAX_PLAINTEXT_LEN + TAG_LEN)?;
        let Some(body_len) = ciphertext.len().checked_sub(TAG_LEN) else {
            return Err(HpkeError::CiphertextTooShort {
                len: ciphertext.len(),
            });
        };
        let (body, tag) = ciphertext.split_at(body_len);
        let mut buf = Zeroizing::new(body.to_vec());
        dispatch!(&mut self.inner, RecipientInner, |ctx, A| {
            let tag = AeadTag::<A>::from_bytes(tag).map_err(|_| HpkeError::Backend)?;
            ctx.open_in_place_detached(buf.as_mut_slice(), aad, &tag)
                .map_err(|e| message_error(e, HpkeError::DecryptionFailed))?;
        });
        Ok(buf)
    }

    /// `Context.Export(exporter_context, len)`: a secret both sides can derive.
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<SecretBytes, HpkeError> {
        check_export(exporter_context, len)?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        dispatch!(&self.inner, RecipientInner, |ctx, _A| ctx
            .export(exporter_context, &mut out))
        .map_err(|_| HpkeError::InvalidExportLength(len))?;
        Ok(out)
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

    /// The u-coordinates of the points of small order on Curve25519 and its twist that fit in
    /// 255 bits (as in libsodium's blocklist), and their non-canonical forms `u + p`.
    fn small_order_points() -> Vec<[u8; 32]> {
        let hex = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        hex.iter()
            .map(|h| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).unwrap_or_else(|e| panic!("{h}: {e}"));
                out
            })
            .collect()
    }

    #[test]
    fn small_order_test_matches_the_blocklist() {
        for p in small_order_points() {
            assert!(is_small_order(&p), "{}", hex::encode(p));
        }
        let mut rng = rand_core::OsRng;
        for _ in 0..32 {
            let pk = HpkePrivateKey::generate(&mut rng).public_key();
            assert!(!is_small_order(&pk.0));
        }
    }

    #[test]
    fn small_order_points_are_rejected() {
        let sk = HpkePrivateKey::from_bytes([7u8; 32]);
        let mut rng = rand_core::OsRng;
        let enc = HpkePrivateKey::from_bytes([9u8; 32]).public_key().0;
        for bad in small_order_points() {
            for aead in [Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305] {
                assert_eq!(
                    setup_recipient(aead, &sk, &bad, b"").err(),
                    Some(HpkeError::MalformedEnc)
                );
                assert_eq!(
                    setup_recipient_auth(aead, &sk, &bad, &sk.public_key(), b"").err(),
                    Some(HpkeError::MalformedEnc)
                );
                assert_eq!(
                    setup_recipient_auth(aead, &sk, &enc, &HpkePublicKey(bad), b"").err(),
                    Some(HpkeError::InvalidSenderKey)
                );
                assert_eq!(
                    setup_sender(aead, &HpkePublicKey(bad), b"", &mut rng).err(),
                    Some(HpkeError::InvalidRecipientKey)
                );
                assert_eq!(
                    setup_sender_auth(aead, &HpkePublicKey(bad), &sk, b"", &mut rng).err(),
                    Some(HpkeError::InvalidRecipientKey)
                );
            }
            assert_eq!(
                seal(&HpkePublicKey(bad), b"", b"", b"x", &mut rng).err(),
                Some(HpkeError::InvalidRecipientKey)
            );
        }
    }

    #[test]
    fn debug_does_not_print_secrets() {
        let sk = HpkePrivateKey::from_bytes([0xab; 32]);
        let dbg = format!("{sk:?}");
        assert!(!dbg.contains(&"ab".repeat(32)), "{dbg}");
        assert!(dbg.contains(&sk.public_key().to_hex()));
        let (_, ctx) = setup_sender(
            Aead::ChaCha20Poly1305,
            &sk.public_key(),
            b"",
            &mut rand_core::OsRng,
        )
        .expect("setup");
        assert_eq!(
            format!("{ctx:?}"),
            "SenderContext { aead: ChaCha20Poly1305, .. }"
        );
    }
}
