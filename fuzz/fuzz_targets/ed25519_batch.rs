//! Ed25519 signatures and keys from the network, verified in batches (peers per block, the
//! enclave and the management device per endorse batch): the batch verdict must equal verifying
//! the items one by one, in order (the first error, or `Ok`), and `VerifiedSet` must answer every
//! item exactly as single verification does. Each 97-byte chunk is one item: a mode byte, then
//! 32 message bytes and 64 bytes used as (key, signature) raw, or as a flip position for an
//! honest signature by a fixed key. Also: endorse batches and their answers (what endorsement
//! devices and the management device read from the network) decode strictly and canonically.

#![no_main]

use arcanum_api::{EndorseBatch, EndorseOutcome, MAX_ENDORSE_BATCH_BYTES};
use arcanum_crypto::{
    PublicKey, Signature, SigningKey, VerifiedSet, domain, verify_batch, verify_batch_ed25519_raw,
    verify_ed25519_raw,
};
use arcanum_types::{decode, encode};
use libfuzzer_sys::fuzz_target;

const CHUNK: usize = 97;

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_ed25519_seed(&[7; 32]);
    let pk = key.public_key();
    let mut items: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
    for chunk in data.chunks_exact(CHUNK).take(64) {
        let msg = chunk[1..33].to_vec();
        let rest = &chunk[33..];
        match chunk[0] % 3 {
            0 => items.push((rest[..32].to_vec(), msg, rest[32..].to_vec())),
            1 => {
                let sig = key.sign_ed25519_raw(&msg).map(|s| s.0).unwrap_or_default();
                items.push((pk.bytes.clone(), msg, sig));
            }
            _ => {
                let mut sig = key.sign_ed25519_raw(&msg).map(|s| s.0).unwrap_or_default();
                let bit = usize::from(rest[0]) % (sig.len() * 8).max(1);
                if let Some(b) = sig.get_mut(bit / 8) {
                    *b ^= 1 << (bit % 8);
                }
                items.push((pk.bytes.clone(), msg, sig));
            }
        }
    }
    let raw: Vec<(&[u8], &[u8], &[u8])> = items
        .iter()
        .map(|(p, m, s)| (p.as_slice(), m.as_slice(), s.as_slice()))
        .collect();
    let one_by_one = raw
        .iter()
        .try_for_each(|(p, m, s)| verify_ed25519_raw(p, m, s));
    assert_eq!(verify_batch_ed25519_raw(&raw), one_by_one);

    let keys: Vec<PublicKey> = items
        .iter()
        .map(|(p, ..)| PublicKey {
            algorithm: arcanum_crypto::Algorithm::Ed25519,
            bytes: p.clone(),
        })
        .collect();
    let sigs: Vec<Signature> = items.iter().map(|(_, _, s)| Signature(s.clone())).collect();
    let framed: Vec<(&PublicKey, &str, &[u8], &Signature)> = items
        .iter()
        .enumerate()
        .map(|(i, (_, m, _))| (&keys[i], domain::ENDORSEMENT, m.as_slice(), &sigs[i]))
        .collect();
    let set = VerifiedSet::verify_all(&framed);
    for (k, d, m, s) in &framed {
        assert_eq!(set.verify(k, d, m, s), k.verify(d, m, s));
    }
    assert_eq!(
        verify_batch(&framed),
        framed.iter().try_for_each(|(k, d, m, s)| k.verify(d, m, s))
    );

    if let Ok(batch) = decode::<EndorseBatch>(data, MAX_ENDORSE_BATCH_BYTES) {
        assert_eq!(encode(&batch), data, "non-canonical EndorseBatch accepted");
        let _ = batch.check();
    }
    if let Ok(outcomes) = decode::<Vec<EndorseOutcome>>(data, MAX_ENDORSE_BATCH_BYTES) {
        assert_eq!(encode(&outcomes), data, "non-canonical endorse answer accepted");
    }
});
