//! Sealing (SPEC T4): enclave secrets at rest, encrypted under keys derived from the platform
//! sealing root and the enclave measurement, with domain separation per purpose and key version.
//!
//! # Key derivation
//!
//! ```text
//! key(purpose, v) = HKDF-SHA256(ikm  = Platform::sealing_root(),
//!                               salt = Platform::measurement(),
//!                               info = "arcanum/sealing: " || purpose || " v" || decimal(v))
//! ```
//!
//! The key version `v` is always the last ` v<digits>` of the info string, so distinct
//! `(purpose, v)` pairs give distinct info strings. A purpose is 1–128 printable ASCII bytes.
//!
//! # Container (format version 1)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 7 | magic `"ARCSEAL"` |
//! | 7 | 1 | format version `1` |
//! | 8 | 4 | key version, `u32` little-endian (≥ 1) |
//! | 12 | 24 | XChaCha20 nonce, random per blob |
//! | 36 | n + 16 | XChaCha20-Poly1305 ciphertext and tag |
//!
//! The AEAD associated data is `header (36 bytes) || caller aad`; the header has a fixed length,
//! so the concatenation is unambiguous and every header byte is authenticated.
//!
//! Unsealing checks, in order: magic ([`SealError::BadMagic`]; a blob that is a proper prefix
//! of the magic is [`SealError::Truncated`]), format version
//! ([`SealError::UnsupportedFormat`]), length ≥ 52 ([`SealError::Truncated`]), key version in the
//! accepted range ([`SealError::UnknownKeyVersion`]), then authentication ([`SealError::Decrypt`]).
//!
//! # Rotation
//!
//! A [`Sealer`] seals under its current key version and unseals any version in
//! `oldest..=current`. [`Sealer::rotate`] moves to the next version; [`Sealer::reseal`]
//! re-encrypts an old blob under the current version; [`Sealer::retire_before`] stops accepting
//! old versions once everything has been resealed.
//!
//! # Randomness
//!
//! Nonces are 24 random bytes (XChaCha20's nonce is large enough for random nonces). [`Sealer::seal`]
//! draws them from the operating system ([`rand_core::OsRng`]; inside Gramine that is the
//! enclave's RDRAND-backed `getrandom`); [`Sealer::seal_with_rng`] takes the caller's RNG.

use std::fmt;
use std::ops::RangeInclusive;

use arcanum_crypto::domain;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRngCore, OsRng};
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::kdf::hkdf32;
use crate::platform::Platform;

/// Blob magic.
pub const MAGIC: [u8; 7] = *b"ARCSEAL";
/// The container format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// XChaCha20 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Header length: magic, format version, key version, nonce.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + NONCE_LEN;
/// Smallest valid blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = HEADER_LEN + TAG_LEN;
/// Longest accepted purpose string.
pub const MAX_PURPOSE_LEN: usize = 128;

const KEY_VERSION_AT: usize = MAGIC.len() + 1;
const NONCE_AT: usize = KEY_VERSION_AT + 4;

/// Seals and unseals blobs for one enclave on one platform.
pub struct Sealer {
    root: Zeroizing<[u8; 32]>,
    measurement: Vec<u8>,
    current: u32,
    oldest: u32,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("root", &"<redacted>")
            .field("measurement_len", &self.measurement.len())
            .field("current", &self.current)
            .field("oldest", &self.oldest)
            .finish()
    }
}

struct Parsed<'a> {
    header: &'a [u8],
    key_version: u32,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn parse(blob: &[u8]) -> Result<Parsed<'_>, SealError> {
    if blob.len() < MAGIC.len() && MAGIC.starts_with(blob) {
        return Err(SealError::Truncated {
            len: blob.len(),
            min: MIN_BLOB_LEN,
        });
    }
    if blob.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(SealError::BadMagic);
    }
    let Some(&format) = blob.get(MAGIC.len()) else {
        return Err(SealError::Truncated {
            len: blob.len(),
            min: MIN_BLOB_LEN,
        });
    };
    if format != FORMAT_VERSION {
        return Err(SealError::UnsupportedFormat { version: format });
    }
    if blob.len() < MIN_BLOB_LEN {
        return Err(SealError::Truncated {
            len: blob.len(),
            min: MIN_BLOB_LEN,
        });
    }
    let (header, ciphertext) = blob.split_at(HEADER_LEN);
    let mut version = [0u8; 4];
    version.copy_from_slice(&header[KEY_VERSION_AT..NONCE_AT]);
    Ok(Parsed {
        header,
        key_version: u32::from_le_bytes(version),
        nonce: &header[NONCE_AT..],
        ciphertext,
    })
}

/// The key version a blob was sealed under (after checking magic, format and length; not
/// authenticated). Useful to decide whether a blob needs [`Sealer::reseal`].
pub fn sealed_key_version(blob: &[u8]) -> Result<u32, SealError> {
    parse(blob).map(|p| p.key_version)
}

fn check_purpose(purpose: &str) -> Result<(), SealError> {
    let ok = !purpose.is_empty()
        && purpose.len() <= MAX_PURPOSE_LEN
        && purpose.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SealError::InvalidPurpose)
    }
}

impl Sealer {
    /// A sealer for `platform` at key version 1: root = [`Platform::sealing_root`], salt =
    /// [`Platform::measurement`]. Fails with [`SealError::Platform`] on platforms without a
    /// sealing key (confidential VMs).
    pub fn new(platform: &dyn Platform) -> Result<Self, SealError> {
        let root = platform.sealing_root()?;
        let measurement = platform.measurement()?;
        Ok(Self::from_root(root, &measurement))
    }

    /// A sealer from an explicit sealing root and measurement, at key version 1.
    pub fn from_root(root: Zeroizing<[u8; 32]>, measurement: &[u8]) -> Self {
        Sealer {
            root,
            measurement: measurement.to_vec(),
            current: 1,
            oldest: 1,
        }
    }

    /// Sets the current key version and the oldest version still accepted
    /// (`1 <= oldest <= current`).
    pub fn with_key_versions(mut self, oldest: u32, current: u32) -> Result<Self, SealError> {
        if oldest == 0 || oldest > current {
            return Err(SealError::InvalidKeyVersion { oldest, current });
        }
        self.oldest = oldest;
        self.current = current;
        Ok(self)
    }

    /// The key version new blobs are sealed under.
    pub fn key_version(&self) -> u32 {
        self.current
    }

    /// The key versions [`Sealer::unseal`] accepts.
    pub fn accepted_key_versions(&self) -> RangeInclusive<u32> {
        self.oldest..=self.current
    }

    /// Moves to the next key version and returns it. Older versions stay accepted until
    /// [`Sealer::retire_before`].
    pub fn rotate(&mut self) -> Result<u32, SealError> {
        self.current = self
            .current
            .checked_add(1)
            .ok_or(SealError::KeyVersionExhausted)?;
        Ok(self.current)
    }

    /// Stops accepting key versions below `oldest` (which must be in `1..=current`).
    pub fn retire_before(&mut self, oldest: u32) -> Result<(), SealError> {
        if oldest == 0 || oldest > self.current {
            return Err(SealError::InvalidKeyVersion {
                oldest,
                current: self.current,
            });
        }
        self.oldest = oldest;
        Ok(())
    }

    fn cipher(&self, purpose: &str, key_version: u32) -> XChaCha20Poly1305 {
        let version = key_version.to_string();
        let key = hkdf32(
            Some(&self.measurement),
            self.root.as_ref(),
            &[
                domain::SEALING_KEY_PREFIX.as_bytes(),
                purpose.as_bytes(),
                b" v",
                version.as_bytes(),
            ],
        );
        XChaCha20Poly1305::new(key.as_ref().into())
    }

    /// Seals `plaintext` for `purpose`, binding `aad`, under the current key version, with a
    /// nonce from the operating system RNG.
    pub fn seal(&self, purpose: &str, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        self.seal_with_rng(purpose, plaintext, aad, &mut OsRng)
    }

    /// [`Sealer::seal`] with the caller's RNG for the nonce.
    pub fn seal_with_rng<R: CryptoRngCore + ?Sized>(
        &self,
        purpose: &str,
        plaintext: &[u8],
        aad: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, SealError> {
        check_purpose(purpose)?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.try_fill_bytes(&mut nonce).map_err(|_| SealError::Rng)?;
        let mut blob = Vec::with_capacity(MIN_BLOB_LEN + plaintext.len());
        blob.extend_from_slice(&MAGIC);
        blob.push(FORMAT_VERSION);
        blob.extend_from_slice(&self.current.to_le_bytes());
        blob.extend_from_slice(&nonce);
        let full_aad = [&blob[..], aad].concat();
        let ciphertext = self
            .cipher(purpose, self.current)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &full_aad,
                },
            )
            .map_err(|_| SealError::PlaintextTooLarge)?;
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    /// Opens a blob sealed for `purpose` with `aad`, under any accepted key version.
    pub fn unseal(
        &self,
        purpose: &str,
        blob: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        check_purpose(purpose)?;
        let p = parse(blob)?;
        if !self.accepted_key_versions().contains(&p.key_version) {
            return Err(SealError::UnknownKeyVersion {
                version: p.key_version,
            });
        }
        let full_aad = [p.header, aad].concat();
        self.cipher(purpose, p.key_version)
            .decrypt(
                XNonce::from_slice(p.nonce),
                Payload {
                    msg: p.ciphertext,
                    aad: &full_aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Decrypt)
    }

    /// Unseals `blob` (any accepted key version) and seals the plaintext again under the current
    /// key version with a fresh nonce from the operating system RNG.
    pub fn reseal(&self, purpose: &str, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        self.reseal_with_rng(purpose, blob, aad, &mut OsRng)
    }

    /// [`Sealer::reseal`] with the caller's RNG.
    pub fn reseal_with_rng<R: CryptoRngCore + ?Sized>(
        &self,
        purpose: &str,
        blob: &[u8],
        aad: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, SealError> {
        let plaintext = self.unseal(purpose, blob, aad)?;
        self.seal_with_rng(purpose, &plaintext, aad, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn sealer() -> Sealer {
        Sealer::from_root(Zeroizing::new([1u8; 32]), &[2u8; 32])
    }

    #[test]
    fn layout_constants() {
        assert_eq!(HEADER_LEN, 36);
        assert_eq!(MIN_BLOB_LEN, 52);
    }

    #[test]
    fn header_fields_are_where_documented() -> Result<(), SealError> {
        let s = sealer().with_key_versions(1, 0x0102_0304)?;
        let mut rng = StdRng::seed_from_u64(1);
        let blob = s.seal_with_rng("p", b"abc", b"", &mut rng)?;
        assert_eq!(&blob[..7], b"ARCSEAL");
        assert_eq!(blob[7], 1);
        assert_eq!(&blob[8..12], &[4, 3, 2, 1]);
        assert_eq!(blob.len(), MIN_BLOB_LEN + 3);
        assert_eq!(sealed_key_version(&blob)?, 0x0102_0304);
        Ok(())
    }

    #[test]
    fn purposes_are_validated() {
        let s = sealer();
        for bad in ["", "tab\there", "é", &"x".repeat(MAX_PURPOSE_LEN + 1)] {
            assert!(matches!(
                s.seal(bad, b"", b""),
                Err(SealError::InvalidPurpose)
            ));
        }
        assert!(s.seal(&"x".repeat(MAX_PURPOSE_LEN), b"", b"").is_ok());
    }

    #[test]
    fn purpose_and_version_are_not_confusable() -> Result<(), SealError> {
        // "a v1" at version 2 must not open as "a" at some version or vice versa.
        let s = sealer().with_key_versions(1, 2)?;
        let blob = s.seal("a v1", b"x", b"")?;
        assert!(matches!(s.unseal("a", &blob, b""), Err(SealError::Decrypt)));
        assert!(matches!(
            s.unseal("a v1 v2", &blob, b""),
            Err(SealError::Decrypt)
        ));
        Ok(())
    }

    #[test]
    fn version_configuration_is_checked() {
        assert!(matches!(
            sealer().with_key_versions(0, 1),
            Err(SealError::InvalidKeyVersion { .. })
        ));
        assert!(matches!(
            sealer().with_key_versions(3, 2),
            Err(SealError::InvalidKeyVersion { .. })
        ));
        let mut s = sealer();
        assert!(matches!(
            s.retire_before(2),
            Err(SealError::InvalidKeyVersion { .. })
        ));
        let Ok(mut top) = sealer().with_key_versions(1, u32::MAX) else {
            panic!("valid configuration rejected")
        };
        assert!(matches!(top.rotate(), Err(SealError::KeyVersionExhausted)));
        assert!(format!("{s:?}").contains("redacted"));
        assert_eq!(s.rotate().ok(), Some(2));
    }
}
