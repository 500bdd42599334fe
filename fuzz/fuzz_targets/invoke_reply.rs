//! The client's opening of an invocation reply (`arcanum_sdk::offchain::ReplyKey::open_reply`
//! and `open_invoke_reply`): bytes from a TEE node, which may be hostile.
//!
//! Input: a 32-byte reply key, a mode byte, then either the reply bytes as received (mode 0),
//! or a plaintext the target encrypts under the key for the fixed request (mode 1) or for
//! another request (mode 2), in the wire format `nonce (24) ‖ XChaCha20-Poly1305`.
//!
//! Invariants: never panic; received bytes that do not authenticate (checked with the AEAD
//! directly) never open; an authentic reply opens exactly when its plaintext decodes strictly
//! as an `InvokeReply`, re-sealing it gives bytes of the same length under another nonce that
//! open to the same reply, and `open_invoke_reply` maps it precisely (the enclave's failure
//! code, or a result only for this request and contract); a reply made for another request
//! never opens.

#![no_main]

use arcanum_crypto::Hash;
use arcanum_sdk::offchain::{MAX_REPLY_BYTES, OffchainError, ReplyKey, open_invoke_reply};
use arcanum_types::decode;
use arcanum_types::offchain::wire::{REPLY_NONCE_LEN, REPLY_TAG_LEN};
use arcanum_types::offchain::{InvokeReply, InvokeRequest};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

/// The nonce the target seals modes 1 and 2 under.
const NONCE: [u8; REPLY_NONCE_LEN] = [0x5a; REPLY_NONCE_LEN];

fn seal(key: &[u8; 32], aad: &Hash, plain: &[u8]) -> Vec<u8> {
    let sealed = XChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(
            XNonce::from_slice(&NONCE),
            Payload {
                msg: plain,
                aad: &aad.0,
            },
        )
        .unwrap_or_else(|e| panic!("seal: {e}"));
    [NONCE.as_slice(), &sealed].concat()
}

fn opens_not(r: Result<impl std::fmt::Debug, OffchainError>, len: usize) {
    match r {
        Err(OffchainError::DecryptionFailed) => assert!(len <= MAX_REPLY_BYTES),
        Err(OffchainError::InputTooLarge { .. }) => assert!(len > MAX_REPLY_BYTES),
        other => panic!("bytes not made with the key gave {other:?}"),
    }
}

fn open(key: &[u8; 32], aad: &Hash, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < REPLY_NONCE_LEN + REPLY_TAG_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(REPLY_NONCE_LEN);
    XChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: &aad.0,
            },
        )
        .ok()
}

/// `sealed` is authentic under the key for `request`, with plaintext `plain`.
fn check_authentic(key: &ReplyKey, request: &InvokeRequest, sealed: &[u8], plain: &[u8]) {
    let hash = request.hash();
    let opened = key.open_reply(&hash, sealed);
    if sealed.len() > MAX_REPLY_BYTES {
        assert!(matches!(opened, Err(OffchainError::InputTooLarge { .. })));
        return;
    }
    let Ok(expected) = decode::<InvokeReply>(plain, MAX_REPLY_BYTES) else {
        assert!(
            matches!(opened, Err(OffchainError::MalformedReply { .. })),
            "{opened:?}"
        );
        return;
    };
    let reply = opened.unwrap_or_else(|e| panic!("a good reply refused: {e}"));
    assert_eq!(reply, expected);
    // Re-sealed: a fresh nonce, the same length, the same reply.
    let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(sealed[0]));
    let again = key.seal_reply(&hash, &reply, &mut rng);
    assert_eq!(again.len(), sealed.len());
    assert_eq!(key.open_reply(&hash, &again).ok().as_ref(), Some(&reply));
    match (&reply, open_invoke_reply(key, request, sealed)) {
        (InvokeReply::Failed { code }, Err(OffchainError::Failed { code: c })) => {
            assert_eq!(*code, c)
        }
        (InvokeReply::Ok(signed), Ok(result)) => {
            assert_eq!(signed, &result);
            assert_eq!(result.result.request, hash);
            assert_eq!(result.result.contract_id, request.contract_id);
        }
        (InvokeReply::Ok(signed), Err(OffchainError::ResultMismatch { .. })) => assert!(
            signed.result.request != hash || signed.result.contract_id != request.contract_id
        ),
        (reply, other) => panic!("{reply:?} checked as {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 33 {
        return;
    }
    let (key_bytes, rest) = data.split_at(32);
    let (mode, body) = (rest[0] % 3, &rest[1..]);
    let mut raw_key = [0u8; 32];
    raw_key.copy_from_slice(key_bytes);
    let key = ReplyKey::from_export(key_bytes).unwrap_or_else(|| panic!("32 bytes"));
    let request = arcanum_fuzz::offchain::reply_request();
    let hash = request.hash();
    match mode {
        // Bytes as received: authentic exactly when the AEAD says so.
        0 => match open(&raw_key, &hash, body) {
            Some(plain) => check_authentic(&key, &request, body, &plain),
            None => {
                opens_not(key.open_reply(&hash, body), body.len());
                opens_not(open_invoke_reply(&key, &request, body), body.len());
            }
        },
        1 => {
            let sealed = seal(&raw_key, &hash, body);
            check_authentic(&key, &request, &sealed, body);
        }
        _ => {
            let other = Hash([0xEE; 32]);
            let sealed = seal(&raw_key, &other, body);
            opens_not(key.open_reply(&hash, &sealed), sealed.len());
            opens_not(open_invoke_reply(&key, &request, &sealed), sealed.len());
        }
    }
});
