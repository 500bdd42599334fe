//! The cluster key schedule (C1, C3) and the symmetric format built on it: storage-key records
//! (code and state the hosts keep). Requests and replies are `arcanum_types::offchain::wire`.
//!
//! From the 32-byte cluster secret `S`, HKDF-SHA256 (`ikm = S`, no salt,
//! `info = CLUSTER_KEY_SCHEDULE + " " + purpose`) gives, per purpose:
//! - `"signing"`: the Ed25519 seed of the cluster identity key;
//! - `"hpke"`: the input of `HpkePrivateKey::derive`, the cluster HPKE key;
//! - `"common factor"`: `F`, the root of every contract key;
//! - `"storage"`: the XChaCha20-Poly1305 key of stored records.
//!
//! A contract key (C3) is the Ed25519 key whose seed is HKDF-SHA256(`ikm = F`, no salt,
//! `info = CLUSTER_KEY_SCHEDULE + " contract" ‖ contract_id ‖ key_version (u32 LE)`): every node
//! holding `S` derives the same key for the same `(contract, version)`.

use arcanum_crypto::hpke::HpkePrivateKey;
use arcanum_crypto::{Hash, SigningKey, domain, tagged_hash};
use arcanum_types::offchain::ClusterKeys;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Length of the cluster secret.
pub const SECRET_LEN: usize = 32;
/// Nonce length of a stored record (XChaCha20-Poly1305).
const RECORD_NONCE_LEN: usize = 24;
/// Bytes of a stored record before its ciphertext: version (u64 LE) and nonce.
const RECORD_HEADER_LEN: usize = 8 + RECORD_NONCE_LEN;

/// What a stored record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Code,
    State,
}

impl RecordKind {
    fn label(self) -> &'static [u8] {
        match self {
            RecordKind::Code => b"code",
            RecordKind::State => b"state",
        }
    }
}

/// Why a stored record was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record is shorter than its header")]
    Truncated,
    /// The AEAD check failed: another contract's, another key's or another version's record,
    /// or tampered bytes.
    #[error("the record does not authenticate for this contract, key and version")]
    NotAuthentic,
}

fn hkdf32(ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut info_bytes = Vec::new();
    for part in info {
        info_bytes.extend_from_slice(part);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 255 * 32 byte limit, so expand cannot fail.
    if Hkdf::<Sha256>::new(None, ikm)
        .expand(&info_bytes, out.as_mut())
        .is_err()
    {
        out.as_mut().fill(0);
    }
    out
}

fn schedule(secret: &[u8], purpose: &str) -> Zeroizing<[u8; 32]> {
    hkdf32(
        secret,
        &[
            domain::CLUSTER_KEY_SCHEDULE.as_bytes(),
            b" ",
            purpose.as_bytes(),
        ],
    )
}

/// The cluster secret `S`. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct ClusterSecret(Zeroizing<[u8; SECRET_LEN]>);

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(<redacted>)")
    }
}

impl ClusterSecret {
    /// A fresh random secret (genesis).
    pub fn generate(rng: &mut impl CryptoRngCore) -> ClusterSecret {
        let mut s = Zeroizing::new([0u8; SECRET_LEN]);
        rng.fill_bytes(s.as_mut());
        ClusterSecret(s)
    }

    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> ClusterSecret {
        ClusterSecret(Zeroizing::new(bytes))
    }

    /// A secret from a slice of exactly `SECRET_LEN` (32) bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<ClusterSecret> {
        <[u8; SECRET_LEN]>::try_from(bytes)
            .ok()
            .map(ClusterSecret::from_bytes)
    }

    /// The raw bytes, for sealing or sending to an attested joiner. Handle as a secret.
    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

/// Every key derived from a cluster secret.
pub struct KeySchedule {
    signing: SigningKey,
    hpke: HpkePrivateKey,
    common_factor: Zeroizing<[u8; 32]>,
    storage: Zeroizing<[u8; 32]>,
    public: ClusterKeys,
    id: Hash,
}

impl std::fmt::Debug for KeySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySchedule")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl KeySchedule {
    /// Derives the cluster keys from `S`.
    pub fn derive(secret: &ClusterSecret) -> KeySchedule {
        let s = secret.expose();
        let signing = SigningKey::from_ed25519_seed(&schedule(s, "signing"));
        let hpke = HpkePrivateKey::derive(schedule(s, "hpke").as_ref());
        let public = ClusterKeys {
            signing_key: signing.public_key(),
            hpke_key: hpke.public_key(),
        };
        let id = public.id();
        KeySchedule {
            signing,
            hpke,
            common_factor: schedule(s, "common factor"),
            storage: schedule(s, "storage"),
            public,
            id,
        }
    }

    /// The cluster's public keys.
    pub fn public(&self) -> &ClusterKeys {
        &self.public
    }

    /// [`ClusterKeys::id`] of the public keys.
    pub fn id(&self) -> Hash {
        self.id
    }

    /// The cluster identity (signing) key.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// The cluster HPKE private key.
    pub fn hpke(&self) -> &HpkePrivateKey {
        &self.hpke
    }

    /// The contract identity key of `contract_id` at `key_version` (C3).
    pub fn contract_key(&self, contract_id: &Hash, key_version: u32) -> SigningKey {
        let seed = hkdf32(
            self.common_factor.as_ref(),
            &[
                domain::CLUSTER_KEY_SCHEDULE.as_bytes(),
                b" contract",
                &contract_id.0,
                &key_version.to_le_bytes(),
            ],
        );
        SigningKey::from_ed25519_seed(&seed)
    }

    /// Encrypts a stored record: `version (u64 LE) ‖ nonce (24) ‖ XChaCha20-Poly1305(storage
    /// key, nonce, aad = record_aad(kind, contract, key, version), plaintext)`. The version is
    /// in clear so an enclave that has not seen the key yet knows which AAD to check.
    pub fn seal_record(
        &self,
        kind: RecordKind,
        contract_id: &Hash,
        key: &[u8],
        version: u64,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Vec<u8> {
        let mut nonce = [0u8; RECORD_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = record_aad(kind, contract_id, key, version);
        let cipher = XChaCha20Poly1305::new(self.storage.as_ref().into());
        // XChaCha20-Poly1305 encryption fails only beyond 256 GiB of plaintext.
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad.0,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(RECORD_HEADER_LEN + ct.len());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The version a stored record claims (unauthenticated until [`KeySchedule::open_record`]).
    pub fn record_version(record: &[u8]) -> Result<u64, RecordError> {
        let bytes = record.first_chunk::<8>().ok_or(RecordError::Truncated)?;
        Ok(u64::from_le_bytes(*bytes))
    }

    /// Opens a stored record that must be `(kind, contract_id, key, version)`.
    pub fn open_record(
        &self,
        kind: RecordKind,
        contract_id: &Hash,
        key: &[u8],
        version: u64,
        record: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        if record.len() < RECORD_HEADER_LEN {
            return Err(RecordError::Truncated);
        }
        if Self::record_version(record)? != version {
            return Err(RecordError::NotAuthentic);
        }
        let nonce = &record[8..RECORD_HEADER_LEN];
        let aad = record_aad(kind, contract_id, key, version);
        let cipher = XChaCha20Poly1305::new(self.storage.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &record[RECORD_HEADER_LEN..],
                    aad: &aad.0,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| RecordError::NotAuthentic)
    }
}

/// The associated data of a stored record:
/// `tagged_hash(OFFCHAIN_RECORD, kind ‖ contract_id ‖ key ‖ version u64 LE)`.
pub fn record_aad(kind: RecordKind, contract_id: &Hash, key: &[u8], version: u64) -> Hash {
    tagged_hash(
        domain::OFFCHAIN_RECORD,
        &[kind.label(), &contract_id.0, key, &version.to_le_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule_of(byte: u8) -> KeySchedule {
        KeySchedule::derive(&ClusterSecret::from_bytes([byte; 32]))
    }

    #[test]
    fn schedule_is_deterministic_and_purposes_differ() {
        let a = schedule_of(1);
        let b = schedule_of(1);
        assert_eq!(a.public(), b.public());
        assert_eq!(a.id(), b.id());
        assert_ne!(a.public(), schedule_of(2).public());
        // Each purpose is its own key.
        let purposes = ["signing", "hpke", "common factor", "storage"];
        let outs: Vec<[u8; 32]> = purposes.iter().map(|p| *schedule(&[1; 32], p)).collect();
        for i in 0..outs.len() {
            for j in i + 1..outs.len() {
                assert_ne!(outs[i], outs[j], "{} vs {}", purposes[i], purposes[j]);
            }
        }
        // The signing key really is the one from the "signing" seed.
        assert_eq!(
            a.signing().public_key(),
            SigningKey::from_ed25519_seed(&schedule(&[1; 32], "signing")).public_key()
        );
    }

    #[test]
    fn contract_keys_depend_on_id_and_version() {
        let a = schedule_of(1);
        let id = Hash([9; 32]);
        let k1 = a.contract_key(&id, 1).public_key();
        assert_eq!(k1, schedule_of(1).contract_key(&id, 1).public_key());
        assert_ne!(k1, a.contract_key(&id, 2).public_key());
        assert_ne!(k1, a.contract_key(&Hash([8; 32]), 1).public_key());
        assert_ne!(k1, schedule_of(2).contract_key(&id, 1).public_key());
    }

    #[test]
    fn records_bind_kind_contract_key_and_version() {
        let s = schedule_of(1);
        let id = Hash([3; 32]);
        let mut rng = rand::rngs::OsRng;
        let rec = s.seal_record(RecordKind::State, &id, b"k", 4, b"value", &mut rng);
        assert_eq!(KeySchedule::record_version(&rec), Ok(4));
        assert_eq!(
            s.open_record(RecordKind::State, &id, b"k", 4, &rec)
                .map(|p| p.to_vec()),
            Ok(b"value".to_vec())
        );
        for (kind, cid, key, version) in [
            (RecordKind::Code, id, &b"k"[..], 4),
            (RecordKind::State, Hash([4; 32]), b"k", 4),
            (RecordKind::State, id, b"j", 4),
            (RecordKind::State, id, b"k", 3),
        ] {
            assert_eq!(
                s.open_record(kind, &cid, key, version, &rec),
                Err(RecordError::NotAuthentic)
            );
        }
        // Rewriting the clear version breaks the AEAD.
        let mut forged = rec.clone();
        forged[0] = 5;
        assert_eq!(
            s.open_record(RecordKind::State, &id, b"k", 5, &forged),
            Err(RecordError::NotAuthentic)
        );
        assert_eq!(
            schedule_of(2).open_record(RecordKind::State, &id, b"k", 4, &rec),
            Err(RecordError::NotAuthentic)
        );
        assert_eq!(
            s.open_record(RecordKind::State, &id, b"k", 4, &rec[..10]),
            Err(RecordError::Truncated)
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = ClusterSecret::from_bytes([0xAB; 32]);
        assert!(!format!("{s:?}").contains("ab"));
        let k = KeySchedule::derive(&s);
        assert!(!format!("{k:?}").contains("common_factor"));
    }
}
