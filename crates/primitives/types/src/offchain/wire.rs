//! The wire encryption of off-chain requests and replies, both ends in one place: the client
//! seals a [`DeployRequest`] or an [`InvokeRequest`] to the cluster key, the enclave opens it,
//! and the invocation's reply travels back under a key exported from the request's own HPKE
//! context. The SDK (which adds its size checks) and the enclave crate both call these
//! functions, so the two ends cannot drift apart.
//!
//! Format:
//! - A request is [`SealedRequest`] `{ cluster: ClusterKeys::id(), sealed }`, `sealed` being
//!   single-shot HPKE (`arcanum_crypto::hpke`, Base mode, ChaCha20-Poly1305) of the borsh
//!   request, with `info` = `OFFCHAIN_DEPLOY` or `OFFCHAIN_INVOKE` (the domain string's bytes)
//!   and AAD = the 32 cluster id bytes.
//! - An invocation's reply key ([`ReplyKey`]) is `Export(OFFCHAIN_REPLY, 32)` of that context.
//! - A reply is ChaCha20-Poly1305(reply key, nonce = 12 zero bytes, AAD = the request hash,
//!   borsh [`InvokeReply`]). Each reply key encrypts exactly one reply, so the fixed nonce is
//!   safe.
//!
//! These functions check no protocol size limit (beyond [`MAX_REPLY_BYTES`] when opening a
//! reply): tests and fuzzers craft hostile requests with them; clients use the SDK's checked
//! wrappers, and the enclave bounds a request before opening it. Randomness comes from the
//! caller.

use arcanum_crypto::hpke::{self, HpkeError, HpkePrivateKey};
use arcanum_crypto::{Hash, domain};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{ClusterKeys, DeployRequest, InvokeReply, InvokeRequest, MAX_OFFCHAIN_INPUT};
use super::{SealedRequest, encode};
use crate::{DecodeError, decode};

/// Length of a reply key (ChaCha20-Poly1305).
pub const REPLY_KEY_LEN: usize = 32;

/// Largest reply ciphertext [`ReplyKey::open_reply`] accepts: a result carries at most
/// [`MAX_OFFCHAIN_INPUT`] output bytes plus bounded fetch records and a signature.
pub const MAX_REPLY_BYTES: usize = MAX_OFFCHAIN_INPUT + 64 * 1024;

/// The nonce of every reply: each reply key is used once.
const REPLY_NONCE: [u8; 12] = [0; 12];

/// Why reply bytes were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplyError {
    /// More bytes than [`MAX_REPLY_BYTES`]; refused before decryption.
    #[error("the reply is {len} bytes, more than {max}")]
    TooLarge { len: usize, max: usize },
    /// The AEAD check failed: another key, another request hash, or tampered bytes.
    #[error("the reply does not decrypt under the request's reply key")]
    NotAuthentic,
    /// Authentic, but not a strict borsh [`InvokeReply`].
    #[error("the reply does not decode: {0}")]
    Malformed(DecodeError),
}

/// The key of one invocation's reply: the HPKE export of the request's context, which the
/// sender gets from [`seal_invoke`] and the enclave from [`open_invoke`]. Zeroized on drop,
/// never printed.
pub struct ReplyKey(Zeroizing<[u8; REPLY_KEY_LEN]>);

impl std::fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyKey(..)")
    }
}

impl ReplyKey {
    /// A reply key from exported bytes; `None` unless exactly [`REPLY_KEY_LEN`] bytes.
    pub fn from_export(bytes: &[u8]) -> Option<ReplyKey> {
        let key: [u8; REPLY_KEY_LEN] = bytes.try_into().ok()?;
        Some(ReplyKey(Zeroizing::new(key)))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// Encrypts the reply to the request whose [`InvokeRequest::hash`] is `request_hash`.
    pub fn seal_reply(&self, request_hash: &Hash, reply: &InvokeReply) -> Vec<u8> {
        let plain = Zeroizing::new(encode(reply));
        // ChaCha20-Poly1305 encryption fails only beyond 256 GiB of plaintext.
        self.cipher()
            .encrypt(
                Nonce::from_slice(&REPLY_NONCE),
                Payload {
                    msg: &plain,
                    aad: &request_hash.0,
                },
            )
            .unwrap_or_default()
    }

    /// Decrypts and strictly decodes the reply to the request whose hash is `request_hash`.
    pub fn open_reply(&self, request_hash: &Hash, bytes: &[u8]) -> Result<InvokeReply, ReplyError> {
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(ReplyError::TooLarge {
                len: bytes.len(),
                max: MAX_REPLY_BYTES,
            });
        }
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(&REPLY_NONCE),
                Payload {
                    msg: bytes,
                    aad: &request_hash.0,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| ReplyError::NotAuthentic)?;
        decode(&plain, MAX_REPLY_BYTES).map_err(ReplyError::Malformed)
    }
}

/// Seals a deployment to the cluster (HPKE info `OFFCHAIN_DEPLOY`, AAD the cluster id).
/// Unchecked: [`MAX_OFFCHAIN_CODE`](super::MAX_OFFCHAIN_CODE) is the caller's business.
pub fn seal_deploy(
    keys: &ClusterKeys,
    request: &DeployRequest,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedRequest, HpkeError> {
    let cluster = keys.id();
    let plain = Zeroizing::new(encode(request));
    let sealed = hpke::seal(
        &keys.hpke_key,
        domain::OFFCHAIN_DEPLOY.as_bytes(),
        &cluster.0,
        &plain,
        rng,
    )?;
    Ok(SealedRequest { cluster, sealed })
}

/// Seals an invocation to the cluster (HPKE info `OFFCHAIN_INVOKE`, AAD the cluster id) and
/// returns the key its reply will come under. Unchecked: the input and function-name limits
/// are the caller's business.
pub fn seal_invoke(
    keys: &ClusterKeys,
    request: &InvokeRequest,
    rng: &mut impl CryptoRngCore,
) -> Result<(SealedRequest, ReplyKey), HpkeError> {
    let cluster = keys.id();
    let plain = Zeroizing::new(encode(request));
    let (sealed, export) = hpke::seal_with_export(
        &keys.hpke_key,
        domain::OFFCHAIN_INVOKE.as_bytes(),
        &cluster.0,
        &plain,
        domain::OFFCHAIN_REPLY.as_bytes(),
        REPLY_KEY_LEN,
        rng,
    )?;
    let key = ReplyKey::from_export(&export).ok_or(HpkeError::Backend)?;
    Ok((SealedRequest { cluster, sealed }, key))
}

/// The enclave's side of [`seal_deploy`]: the plaintext (a borsh [`DeployRequest`], not yet
/// decoded). It does not check `request.cluster`; the caller compares it with its own id
/// first.
pub fn open_deploy(
    cluster_key: &HpkePrivateKey,
    request: &SealedRequest,
) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
    hpke::open(
        cluster_key,
        domain::OFFCHAIN_DEPLOY.as_bytes(),
        &request.cluster.0,
        &request.sealed,
    )
}

/// The enclave's side of [`seal_invoke`]: the plaintext (a borsh [`InvokeRequest`], not yet
/// decoded; its tagged hash under `OFFCHAIN_REQUEST` is the request hash) and the reply key.
/// It does not check `request.cluster`; the caller compares it with its own id first.
pub fn open_invoke(
    cluster_key: &HpkePrivateKey,
    request: &SealedRequest,
) -> Result<(Zeroizing<Vec<u8>>, ReplyKey), HpkeError> {
    let (plain, export) = hpke::open_with_export(
        cluster_key,
        domain::OFFCHAIN_INVOKE.as_bytes(),
        &request.cluster.0,
        &request.sealed,
        domain::OFFCHAIN_REPLY.as_bytes(),
        REPLY_KEY_LEN,
    )?;
    let key = ReplyKey::from_export(&export).ok_or(HpkeError::Backend)?;
    Ok((plain, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offchain::{OffchainResult, SignedResult};
    use arcanum_crypto::{Signature, tagged_hash};
    use rand_core::OsRng;

    fn cluster() -> (ClusterKeys, HpkePrivateKey) {
        let hpke = HpkePrivateKey::derive(b"wire test cluster");
        let keys = ClusterKeys {
            signing_key: arcanum_crypto::SigningKey::from_ed25519_seed(&[1; 32]).public_key(),
            hpke_key: hpke.public_key(),
        };
        (keys, hpke)
    }

    fn request(nonce: u8) -> InvokeRequest {
        InvokeRequest {
            contract_id: Hash([7; 32]),
            function: "run".into(),
            input: b"input".to_vec(),
            nonce: [nonce; 16],
            origin: None,
        }
    }

    fn ok_reply(req: &InvokeRequest) -> InvokeReply {
        InvokeReply::Ok(SignedResult {
            result: OffchainResult {
                contract_id: req.contract_id,
                key_version: 1,
                request: req.hash(),
                output: b"out".to_vec(),
                fetches: vec![],
            },
            signature: Signature(vec![3; 64]),
        })
    }

    #[test]
    fn invoke_round_trip_through_the_enclave_side() {
        let (keys, hpke) = cluster();
        let req = request(9);
        let (sealed, client_key) = seal_invoke(&keys, &req, &mut OsRng).expect("seal");
        assert_eq!(sealed.cluster, keys.id());

        let (plain, enclave_key) = open_invoke(&hpke, &sealed).expect("the enclave opens it");
        assert_eq!(decode::<InvokeRequest>(&plain, 1 << 20), Ok(req.clone()));
        // The enclave's request hash (of the plaintext) is the client's `InvokeRequest::hash`.
        let hash = tagged_hash(domain::OFFCHAIN_REQUEST, &[&plain]);
        assert_eq!(hash, req.hash());

        let reply = ok_reply(&req);
        let bytes = enclave_key.seal_reply(&hash, &reply);
        assert_eq!(client_key.open_reply(&hash, &bytes), Ok(reply.clone()));
        // Both ends hold the same key: the client's seal is byte-identical.
        assert_eq!(client_key.seal_reply(&hash, &reply), bytes);

        // A flipped bit anywhere, or a truncation: not authentic.
        for i in [0, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(
                client_key.open_reply(&hash, &bad),
                Err(ReplyError::NotAuthentic),
                "byte {i}"
            );
        }
        assert_eq!(
            client_key.open_reply(&hash, &bytes[..10]),
            Err(ReplyError::NotAuthentic)
        );
        // The reply to another request (the AAD) does not open.
        assert_eq!(
            client_key.open_reply(&request(1).hash(), &bytes),
            Err(ReplyError::NotAuthentic)
        );
        // Nor under another request's key (another HPKE context).
        let (_, other_key) = seal_invoke(&keys, &req, &mut OsRng).expect("seal");
        assert_eq!(
            other_key.open_reply(&hash, &bytes),
            Err(ReplyError::NotAuthentic)
        );
    }

    #[test]
    fn oversized_and_malformed_replies_are_refused() {
        let key = ReplyKey::from_export(&[5; REPLY_KEY_LEN]).expect("32 bytes");
        let hash = Hash([1; 32]);
        assert_eq!(
            key.open_reply(&hash, &vec![0; MAX_REPLY_BYTES + 1]),
            Err(ReplyError::TooLarge {
                len: MAX_REPLY_BYTES + 1,
                max: MAX_REPLY_BYTES
            })
        );
        // Authentic bytes that are not an `InvokeReply`.
        let garbage = ChaCha20Poly1305::new(Key::from_slice(&[5; REPLY_KEY_LEN]))
            .encrypt(
                Nonce::from_slice(&REPLY_NONCE),
                Payload {
                    msg: b"\x07not a reply",
                    aad: &hash.0,
                },
            )
            .expect("encrypt");
        assert!(matches!(
            key.open_reply(&hash, &garbage),
            Err(ReplyError::Malformed(_))
        ));
        assert!(ReplyKey::from_export(&[5; 31]).is_none());
        assert_eq!(format!("{key:?}"), "ReplyKey(..)");
    }

    #[test]
    fn deploy_opens_only_as_a_deployment_of_this_cluster() {
        let (keys, hpke) = cluster();
        let req = DeployRequest {
            wasm: b"\0asm".to_vec(),
            salt: [3; 16],
        };
        let sealed = seal_deploy(&keys, &req, &mut OsRng).expect("seal");
        assert_eq!(sealed.cluster, keys.id());
        let plain = open_deploy(&hpke, &sealed).expect("opens");
        assert_eq!(decode::<DeployRequest>(&plain, 1 << 20), Ok(req));
        // The invoke info does not open a deployment, nor another cluster's key.
        assert!(open_invoke(&hpke, &sealed).is_err());
        let other = HpkePrivateKey::derive(b"another cluster");
        assert!(open_deploy(&other, &sealed).is_err());
        // The cluster id is the AAD: rewriting it breaks the seal.
        let mut moved = sealed.clone();
        moved.cluster = Hash([0; 32]);
        assert!(open_deploy(&hpke, &moved).is_err());
    }
}
