//! Passphrase-protected key files for hosted signing keys: the PKCS#8 private key, encrypted at
//! rest under a key derived by Argon2id from a passphrase, sealed with XChaCha20-Poly1305.
//!
//! # Container (version 1), borsh-encoded
//!
//! | field | type | notes |
//! |---|---|---|
//! | magic | `[u8; 6]` | `"ARCKEY"` |
//! | version | `u8` | `1` |
//! | algorithm | [`Algorithm`] (`u8`) | algorithm of the sealed key |
//! | kdf | [`KdfParams`] (3 × `u32` LE) | Argon2id v1.3 memory (KiB), passes, lanes |
//! | salt | `[u8; 16]` | random per file |
//! | nonce | `[u8; 24]` | random per file (XChaCha20 nonce: random is safe) |
//! | ciphertext | `Vec<u8>` (`u32` LE length + bytes) | PKCS#8 DER + 16-byte Poly1305 tag |
//!
//! The AEAD's associated data is the borsh encoding of every field before the ciphertext
//! (magic, version, algorithm, KDF parameters, salt, nonce), so changing any header byte makes
//! decryption fail. The 32-byte encryption key is
//! `Argon2id(password = passphrase, salt = domain::KEYFILE || salt)`; the domain prefix
//! ([`crate::domain::KEYFILE`]) binds the derived key to this purpose.
//!
//! Reading checks, in order: magic ([`KeyFileError::BadMagic`]), version
//! ([`KeyFileError::UnsupportedVersion`]), container decoding ([`KeyFileError::Truncated`],
//! [`KeyFileError::Malformed`]), KDF limits ([`KeyFileError::KdfParamsOutOfRange`]), then AEAD
//! authentication ([`KeyFileError::Decrypt`]: wrong passphrase and tampering cannot be told apart).
//!
//! The derived key and every plaintext buffer are zeroized after use.

use argon2::Argon2;
use borsh::{BorshDeserialize, BorshSerialize};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::{Algorithm, CryptoError, KeyFileError, SigningKey};

/// File magic.
pub const MAGIC: [u8; 6] = *b"ARCKEY";
/// The container version this build writes (and the only one it reads).
pub const VERSION: u8 = 1;

/// Largest ciphertext accepted: an RSA-2048 PKCS#8 key is about 1.2 KiB.
const MAX_CIPHERTEXT_LEN: usize = 8 * 1024;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
/// Encoded size of [`Header`]: magic, version, algorithm, three `u32`, salt, nonce.
const HEADER_LEN: usize = 6 + 1 + 1 + 12 + SALT_LEN + NONCE_LEN;

/// Argon2id (v1.3) cost parameters stored in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl KdfParams {
    /// Upper limit on memory accepted when reading (1 GiB), so a crafted file cannot exhaust memory.
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// Upper limit on passes accepted when reading.
    pub const MAX_T_COST: u32 = 16;
    /// Upper limit on lanes accepted when reading.
    pub const MAX_P_COST: u32 = 16;

    /// The parameters [`seal_key`] uses: RFC 9106 §4 second recommended option, Argon2id with
    /// 64 MiB of memory, 3 passes and 4 lanes (about 0.1–0.3 s on a current server core).
    pub const fn recommended() -> KdfParams {
        KdfParams {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 4,
        }
    }

    /// Very cheap parameters (64 KiB, 1 pass, 1 lane) for tests only: they give **no**
    /// protection against passphrase guessing.
    pub const fn insecure_for_tests() -> KdfParams {
        KdfParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn to_argon2(self) -> Result<argon2::Params, KeyFileError> {
        if self.m_cost_kib > Self::MAX_M_COST_KIB
            || self.t_cost > Self::MAX_T_COST
            || self.p_cost > Self::MAX_P_COST
        {
            return Err(KeyFileError::KdfParamsOutOfRange);
        }
        // Lower bounds (m ≥ 8·p, t ≥ 1, p ≥ 1) are enforced by argon2 itself.
        argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|_| KeyFileError::KdfParamsOutOfRange)
    }
}

/// Everything before the ciphertext; its borsh encoding is the AEAD associated data.
#[derive(BorshSerialize, BorshDeserialize)]
struct Header {
    magic: [u8; 6],
    version: u8,
    algorithm: Algorithm,
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
}

#[derive(BorshSerialize, BorshDeserialize)]
struct KeyFile {
    header: Header,
    ciphertext: Vec<u8>,
}

/// Seals `key` under `passphrase` with [`KdfParams::recommended`]. `rng` supplies the salt and
/// nonce.
pub fn seal_key(
    key: &SigningKey,
    passphrase: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, CryptoError> {
    seal_key_with_params(key, passphrase, KdfParams::recommended(), rng)
}

/// Seals `key` under `passphrase` with explicit Argon2id parameters.
pub fn seal_key_with_params(
    key: &SigningKey,
    passphrase: &[u8],
    kdf: KdfParams,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, CryptoError> {
    if passphrase.is_empty() {
        return Err(KeyFileError::EmptyPassphrase.into());
    }
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let header = Header {
        magic: MAGIC,
        version: VERSION,
        algorithm: key.algorithm(),
        kdf,
        salt,
        nonce,
    };
    let aad = borsh::to_vec(&header).map_err(|_| KeyFileError::Encrypt)?;
    let cipher = cipher(passphrase, &header)?;
    let plaintext = key.to_pkcs8_der()?;
    // `encrypt` copies the plaintext into a buffer with room for the tag and encrypts in place,
    // so no plaintext copy outlives this call other than `plaintext`, zeroized on drop.
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| KeyFileError::Encrypt)?;
    Ok(borsh::to_vec(&KeyFile { header, ciphertext }).map_err(|_| KeyFileError::Encrypt)?)
}

/// Opens a key file written by [`seal_key`]. See the module documentation for the checks and the
/// error each one gives.
pub fn open_key(bytes: &[u8], passphrase: &[u8]) -> Result<SigningKey, CryptoError> {
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            KeyFileError::Truncated
        } else {
            KeyFileError::BadMagic
        }
        .into());
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(KeyFileError::BadMagic.into());
    }
    match bytes.get(MAGIC.len()) {
        None => return Err(KeyFileError::Truncated.into()),
        Some(&VERSION) => {}
        Some(&v) => return Err(KeyFileError::UnsupportedVersion(v).into()),
    }
    // Every header field has a fixed size, so truncation and trailing bytes are decided from
    // the lengths before any decoding (borsh does not report end-of-input distinctly).
    let ct_len_bytes: [u8; 4] = match bytes.get(HEADER_LEN..HEADER_LEN + 4) {
        Some(b) => b.try_into().map_err(|_| KeyFileError::Truncated)?,
        None => return Err(KeyFileError::Truncated.into()),
    };
    let ct_len = u32::from_le_bytes(ct_len_bytes) as usize;
    if ct_len > MAX_CIPHERTEXT_LEN {
        return Err(KeyFileError::Malformed.into());
    }
    let total = HEADER_LEN + 4 + ct_len;
    if bytes.len() < total {
        return Err(KeyFileError::Truncated.into());
    }
    if bytes.len() > total {
        return Err(KeyFileError::Malformed.into());
    }
    let file = KeyFile::try_from_slice(bytes).map_err(|_| KeyFileError::Malformed)?;
    let header = &file.header;
    let aad = borsh::to_vec(header).map_err(|_| KeyFileError::Malformed)?;
    let cipher = cipher(passphrase, header)?;
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&header.nonce),
                Payload {
                    msg: &file.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyFileError::Decrypt)?,
    );
    SigningKey::from_pkcs8_der(header.algorithm, &plaintext)
}

/// Derives the file key with Argon2id and builds the AEAD. The key is zeroized on return (the
/// cipher keeps its own expanded copy, which `chacha20poly1305` zeroizes on drop).
fn cipher(passphrase: &[u8], header: &Header) -> Result<XChaCha20Poly1305, KeyFileError> {
    let params = header.kdf.to_argon2()?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    let mut salt = Vec::with_capacity(crate::domain::KEYFILE.len() + SALT_LEN);
    salt.extend_from_slice(crate::domain::KEYFILE.as_bytes());
    salt.extend_from_slice(&header.salt);
    argon
        .hash_password_into(passphrase, &salt, key.as_mut())
        .map_err(|_| KeyFileError::Kdf)?;
    XChaCha20Poly1305::new_from_slice(key.as_ref()).map_err(|_| KeyFileError::Kdf)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn sealed() -> (SigningKey, Vec<u8>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let key = SigningKey::generate(Algorithm::Ed25519, &mut rng).expect("keygen");
        let file = seal_key_with_params(&key, b"pw", KdfParams::insecure_for_tests(), &mut rng)
            .expect("seal");
        (key, file)
    }

    #[test]
    fn layout_matches_documentation() {
        let (_, file) = sealed();
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            algorithm: Algorithm::Rsa2048,
            kdf: KdfParams::recommended(),
            salt: [0; SALT_LEN],
            nonce: [0; NONCE_LEN],
        };
        assert_eq!(borsh::to_vec(&header).expect("encode").len(), HEADER_LEN);
        assert_eq!(&file[..6], b"ARCKEY");
        assert_eq!(file[6], VERSION);
        assert_eq!(file[7], Algorithm::Ed25519 as u8);
        assert_eq!(
            u32::from_le_bytes(file[8..12].try_into().expect("4 bytes")),
            64
        );
        let ct_len = u32::from_le_bytes(
            file[HEADER_LEN..HEADER_LEN + 4]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        assert_eq!(file.len(), HEADER_LEN + 4 + ct_len);
    }

    #[test]
    fn oversized_kdf_params_are_refused_before_work() {
        let (_, mut file) = sealed();
        file[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            open_key(&file, b"pw").map(|_| ()),
            Err(CryptoError::KeyFile(KeyFileError::KdfParamsOutOfRange))
        );
    }

    #[test]
    fn empty_passphrase_is_refused() {
        let key = SigningKey::from_ed25519_seed(&[1; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let r = seal_key_with_params(&key, b"", KdfParams::insecure_for_tests(), &mut rng);
        assert_eq!(r, Err(CryptoError::KeyFile(KeyFileError::EmptyPassphrase)));
    }
}
