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
//! - A reply is `nonce (24 bytes) ‖ XChaCha20-Poly1305(reply key, nonce, AAD = the request
//!   hash, borsh InvokeReply)` (tag appended), the nonce drawn afresh from the sealer's RNG for
//!   every reply.
//!
//! Invariant: no reply key and nonce pair ever encrypts two plaintexts. One reply key can
//! encrypt several replies: the same sealed request answered by two cluster members, or retried
//! after a failure (a failure releases its replay slot). Each reply therefore carries its own
//! random 192-bit nonce, where a repeat is negligible (about `n² / 2^193` for `n` replies under
//! one key), instead of a fixed nonce whose reuse would let the host XOR two replies. A failure
//! reply carries only an [`ErrorCode`](crate::ErrorCode), so it never holds text the host chose.
//!
//! These functions check no protocol size limit (beyond [`MAX_REPLY_BYTES`] when opening a
//! reply): tests and fuzzers craft hostile requests with them; clients use the SDK's checked
//! wrappers, and the enclave bounds a request before opening it. Randomness comes from the
//! caller.

use arcanum_crypto::hpke::{self, HpkeError, HpkePrivateKey};
use arcanum_crypto::{Hash, domain};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{ClusterKeys, DeployRequest, InvokeReply, InvokeRequest, MAX_OFFCHAIN_INPUT};
use super::{SealedRequest, encode};
use crate::{DecodeError, decode};

/// Length of a reply key (XChaCha20-Poly1305).
pub const REPLY_KEY_LEN: usize = 32;

/// Length of the random nonce that starts every reply (XChaCha20-Poly1305).
pub const REPLY_NONCE_LEN: usize = 24;

/// Length of the authentication tag that ends every reply.
pub const REPLY_TAG_LEN: usize = 16;

/// Length of every sealed [`InvokeReply::Failed`]: nonce, two plaintext bytes (the variant and
/// the code), tag.
pub const FAILED_REPLY_LEN: usize = REPLY_NONCE_LEN + 2 + REPLY_TAG_LEN;

/// Largest reply [`ReplyKey::open_reply`] accepts (nonce and tag included): a result carries at
/// most [`MAX_OFFCHAIN_INPUT`] output bytes plus bounded fetch records and a signature.
pub const MAX_REPLY_BYTES: usize = MAX_OFFCHAIN_INPUT + 64 * 1024;

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
/// sender gets from [`seal_invoke`] and the enclave from [`open_invoke`]. It may seal more than
/// one reply (see the module's invariant); each gets a fresh nonce. Zeroized on drop, never
/// printed.
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

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// Encrypts the reply to the request whose [`InvokeRequest::hash`] is `request_hash`, under
    /// a nonce drawn from `rng`: `nonce ‖ ciphertext ‖ tag`.
    pub fn seal_reply(
        &self,
        request_hash: &Hash,
        reply: &InvokeReply,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<u8> {
        let plain = Zeroizing::new(encode(reply));
        let mut nonce = [0u8; REPLY_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        // The buffer holds the plaintext until it is encrypted in place.
        let mut out = Zeroizing::new(Vec::with_capacity(
            REPLY_NONCE_LEN + plain.len() + REPLY_TAG_LEN,
        ));
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&plain);
        // XChaCha20-Poly1305 encryption fails only beyond 256 GiB of plaintext; the empty
        // answer would not open.
        let Ok(tag) = self.cipher().encrypt_in_place_detached(
            XNonce::from_slice(&nonce),
            &request_hash.0,
            &mut out[REPLY_NONCE_LEN..],
        ) else {
            return Vec::new();
        };
        out.extend_from_slice(&tag);
        std::mem::take(&mut *out)
    }

    /// Decrypts and strictly decodes the reply to the request whose hash is `request_hash`.
    pub fn open_reply(&self, request_hash: &Hash, bytes: &[u8]) -> Result<InvokeReply, ReplyError> {
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(ReplyError::TooLarge {
                len: bytes.len(),
                max: MAX_REPLY_BYTES,
            });
        }
        if bytes.len() < REPLY_NONCE_LEN + REPLY_TAG_LEN {
            return Err(ReplyError::NotAuthentic);
        }
        let (nonce, rest) = bytes.split_at(REPLY_NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - REPLY_TAG_LEN);
        let mut plain = Zeroizing::new(body.to_vec());
        self.cipher()
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                &request_hash.0,
                &mut plain,
                Tag::from_slice(tag),
            )
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
    use crate::ErrorCode;
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

    fn ok_reply(req: &InvokeRequest, output: &[u8]) -> InvokeReply {
        InvokeReply::Ok(SignedResult {
            result: OffchainResult {
                contract_id: req.contract_id,
                key_version: 1,
                request: req.hash(),
                output: output.to_vec(),
                fetches: vec![],
            },
            signature: Signature(vec![3; 64]),
        })
    }

    /// Raw XChaCha20-Poly1305 under `key`, for authentic bytes that are not a reply.
    fn raw_seal(
        key: &[u8; 32],
        nonce: &[u8; REPLY_NONCE_LEN],
        aad: &Hash,
        plain: &[u8],
    ) -> Vec<u8> {
        let mut body = plain.to_vec();
        let tag = XChaCha20Poly1305::new(Key::from_slice(key))
            .encrypt_in_place_detached(XNonce::from_slice(nonce), &aad.0, &mut body)
            .expect("encrypt");
        [nonce.as_slice(), &body, &tag].concat()
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

        let reply = ok_reply(&req, b"out");
        let bytes = enclave_key.seal_reply(&hash, &reply, &mut OsRng);
        assert_eq!(
            bytes.len(),
            REPLY_NONCE_LEN + encode(&reply).len() + REPLY_TAG_LEN
        );
        assert_eq!(client_key.open_reply(&hash, &bytes), Ok(reply.clone()));
        // Both ends hold the same key: what the client seals the enclave opens.
        let back = client_key.seal_reply(&hash, &reply, &mut OsRng);
        assert_eq!(enclave_key.open_reply(&hash, &back), Ok(reply.clone()));

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
    fn tampered_nonce_ciphertext_or_tag_is_refused() {
        let key = ReplyKey::from_export(&[4; REPLY_KEY_LEN]).expect("32 bytes");
        let req = request(2);
        let hash = req.hash();
        let bytes = key.seal_reply(&hash, &ok_reply(&req, b"secret output"), &mut OsRng);
        let tag_start = bytes.len() - REPLY_TAG_LEN;
        // A flipped bit in the nonce (first and last byte), the ciphertext, or the tag.
        for i in [
            0,
            REPLY_NONCE_LEN - 1,
            REPLY_NONCE_LEN,
            tag_start - 1,
            tag_start,
            bytes.len() - 1,
        ] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(
                key.open_reply(&hash, &bad),
                Err(ReplyError::NotAuthentic),
                "byte {i}"
            );
        }
        // Truncations: to nothing, inside the nonce, to nonce + tag, one byte short.
        for len in [
            0,
            REPLY_NONCE_LEN - 1,
            REPLY_NONCE_LEN + REPLY_TAG_LEN,
            bytes.len() - 1,
        ] {
            assert_eq!(
                key.open_reply(&hash, &bytes[..len]),
                Err(ReplyError::NotAuthentic),
                "{len} bytes"
            );
        }
        // The nonce moved behind the ciphertext, and the AAD changed by one bit.
        let moved = [&bytes[REPLY_NONCE_LEN..], &bytes[..REPLY_NONCE_LEN]].concat();
        assert_eq!(key.open_reply(&hash, &moved), Err(ReplyError::NotAuthentic));
        let mut other = hash;
        other.0[31] ^= 1;
        assert_eq!(
            key.open_reply(&other, &bytes),
            Err(ReplyError::NotAuthentic)
        );
        assert!(key.open_reply(&hash, &bytes).is_ok());
    }

    /// The issue this format fixes: two replies to one request under one reply key (a retry
    /// after a failure, or two members answering the same sealed request) must not share a
    /// nonce, or their ciphertexts XOR to their plaintexts' XOR.
    #[test]
    fn two_replies_under_one_key_share_no_nonce_or_keystream() {
        let (keys, hpke) = cluster();
        let req = request(5);
        let (sealed, client_key) = seal_invoke(&keys, &req, &mut OsRng).expect("seal");
        let hash = req.hash();
        // Two members open the same sealed request: the same reply key.
        let (_, member_a) = open_invoke(&hpke, &sealed).expect("opens");
        let (_, member_b) = open_invoke(&hpke, &sealed).expect("opens");
        // Two plaintexts of equal length, the second known to the attacker.
        let first = ok_reply(&req, b"the confidential result!");
        let second = ok_reply(&req, b"a public decoy, same len");
        let (p1, p2) = (encode(&first), encode(&second));
        assert_eq!(p1.len(), p2.len());

        let mut rng = OsRng;
        let c1 = member_a.seal_reply(&hash, &first, &mut rng);
        let c2 = member_b.seal_reply(&hash, &second, &mut rng);
        let c3 = member_a.seal_reply(&hash, &first, &mut rng);
        let n = REPLY_NONCE_LEN;
        assert_ne!(c1[..n], c2[..n], "the nonces differ");
        assert_ne!(c1[..n], c3[..n]);
        // The same plaintext twice: other bytes.
        assert_ne!(c1, c3);
        // The keystreams differ: the ciphertexts do not XOR to the plaintexts' XOR.
        let xor = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x ^ y).collect::<Vec<_>>();
        let body = |c: &[u8]| c[n..c.len() - REPLY_TAG_LEN].to_vec();
        assert_ne!(xor(&body(&c1), &body(&c2)), xor(&p1, &p2));
        // Knowing the second plaintext does not give the first.
        let guess = xor(&xor(&body(&c1), &body(&c2)), &p2);
        assert_ne!(guess, p1);
        // All three open for the client.
        assert_eq!(client_key.open_reply(&hash, &c1), Ok(first.clone()));
        assert_eq!(client_key.open_reply(&hash, &c2), Ok(second));
        assert_eq!(client_key.open_reply(&hash, &c3), Ok(first));
    }

    #[test]
    fn a_failure_reply_carries_only_its_code() {
        let key = ReplyKey::from_export(&[6; REPLY_KEY_LEN]).expect("32 bytes");
        let hash = request(3).hash();
        for &code in ErrorCode::ALL {
            let reply = InvokeReply::Failed { code };
            // The plaintext is the variant and the code's number: two bytes, no text.
            assert_eq!(encode(&reply), [1, code as u8]);
            let bytes = key.seal_reply(&hash, &reply, &mut OsRng);
            assert_eq!(bytes.len(), FAILED_REPLY_LEN);
            assert_eq!(key.open_reply(&hash, &bytes), Ok(reply));
        }
        // A code the registry does not have is not a reply.
        let unknown = raw_seal(&[6; REPLY_KEY_LEN], &[0; REPLY_NONCE_LEN], &hash, &[1, 255]);
        assert!(matches!(
            key.open_reply(&hash, &unknown),
            Err(ReplyError::Malformed(_))
        ));
        // Nor the old `Failed { code: String, message: String }` shape.
        let old = raw_seal(
            &[6; REPLY_KEY_LEN],
            &[1; REPLY_NONCE_LEN],
            &hash,
            &[1, 1, 0, 0, 0, b'X', 0, 0, 0, 0],
        );
        assert!(matches!(
            key.open_reply(&hash, &old),
            Err(ReplyError::Malformed(_))
        ));
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
        let garbage = raw_seal(
            &[5; REPLY_KEY_LEN],
            &[9; REPLY_NONCE_LEN],
            &hash,
            b"\x07not a reply",
        );
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
