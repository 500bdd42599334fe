//! Ed25519: strict single verification and a batch verification that always reaches the strict
//! verdict.
//!
//! # Why batch verification needs a screen
//!
//! Every peer must reach the same verdict on the same bytes, whether it checks a signature on its
//! own (`verify_strict`) or inside a batch; otherwise a block could be valid for one peer and
//! invalid for another. `ed25519_dalek::verify_batch` does **not** give the strict verdict on its
//! own ("Taming the many EdDSAs", Chalkias et al. 2020):
//!
//! - it accepts small-order public keys and small-order `R`, which `verify_strict` rejects;
//! - it hashes `R` and `A` as given, so a non-canonical encoding of a point can pass the batch
//!   while `verify_strict` (which compares against the canonical re-encoding of `R`) rejects;
//! - it checks the *cofactorless* equation only up to a random linear combination
//!   `Σ zᵢ·Dᵢ = 0`, where `Dᵢ = [Sᵢ]B − [kᵢ]Aᵢ − Rᵢ`. When `Aᵢ` or `Rᵢ` has a component in the
//!   8-torsion subgroup, `Dᵢ` can be a non-zero torsion point that `zᵢ` annihilates (for an order-2
//!   component, whenever `zᵢ` is even: probability 1/2, and the `zᵢ` are derived
//!   deterministically from the inputs, so a signer can grind for it). The strict verdict is
//!   `Dᵢ = 0`, so the two disagree.
//!
//! [`verify_batch_ed25519_raw`] therefore runs the batch only when every item is *clean*: both
//! lengths right, `S < L`, `A` and `R` canonically encoded and of exact prime order `L` (neither
//! small order nor mixed order). For clean items every `Dᵢ` lies in the prime-order subgroup, so
//! `Σ zᵢ·Dᵢ = 0` with some `Dᵢ ≠ 0` has probability at most 2⁻¹²⁸ over the 128-bit `zᵢ`, and the
//! batch verdict equals the conjunction of the strict verdicts. If any item is not clean, or the
//! batch fails, every item is verified with `verify_strict` in order, which returns exactly the
//! error single verification gives for the first failing item.
//!
//! Cost: the prime-order checks are one scalar multiplication per `R` (and per distinct key).
//! That is the price of exactness under the cofactorless strict rule, and it makes this path
//! slower than verifying the items one by one (the `signatures` bench: 1.8–2.5× slower for 64 items),
//! which is why [`crate::verify_batch`] verifies item by item and this path is opt-in through
//! [`crate::verify_batch_guarded`]. A cheaper prime-order-subgroup test (e.g. Pornin's
//! point-halving method) or a move to cofactored verification everywhere (ZIP 215) would make
//! batching pay off.

use std::collections::BTreeMap;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;

use crate::CryptoError;

/// Raw Ed25519 verification (no domain framing), as RFC 8032 and Wycheproof define it, with the
/// strict checks: S < L, canonical R, no small-order A or R, cofactorless equation.
///
/// Errors: [`CryptoError::BadPublicKey`] (wrong length, not a curve point),
/// [`CryptoError::WeakPublicKey`] (small-order key), [`CryptoError::MalformedSignature`]
/// (not 64 bytes), [`CryptoError::NonCanonicalSignature`] (`S ≥ L`),
/// [`CryptoError::BadSignature`] (anything else that does not verify).
pub fn verify_ed25519_raw(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let pk: [u8; 32] = pk.try_into().map_err(|_| CryptoError::BadPublicKey)?;
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| CryptoError::MalformedSignature)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| CryptoError::BadPublicKey)?;
    if vk.is_weak() {
        return Err(CryptoError::WeakPublicKey);
    }
    if !s_is_canonical(&sig) {
        return Err(CryptoError::NonCanonicalSignature);
    }
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    vk.verify_strict(msg, &sig)
        .map_err(|_| CryptoError::BadSignature)
}

/// Batch form of [`verify_ed25519_raw`] over `(public key, message, signature)` items. Returns
/// exactly what verifying the items one by one, in order, returns (the first error, or `Ok`);
/// see the module documentation for why and how.
pub fn verify_batch_ed25519_raw(items: &[(&[u8], &[u8], &[u8])]) -> Result<(), CryptoError> {
    if items.len() < 2 {
        return verify_each(items);
    }
    let mut keys: Vec<ed25519_dalek::VerifyingKey> = Vec::with_capacity(items.len());
    let mut sigs: Vec<ed25519_dalek::Signature> = Vec::with_capacity(items.len());
    let mut msgs: Vec<&[u8]> = Vec::with_capacity(items.len());
    // Prime-order verdict per distinct key: consortium batches repeat a few keys many times.
    let mut key_ok: BTreeMap<[u8; 32], bool> = BTreeMap::new();
    for (pk, msg, sig) in items {
        let clean = clean_item(pk, sig, &mut key_ok);
        let Some((vk, sig)) = clean else {
            return verify_each(items);
        };
        keys.push(vk);
        sigs.push(sig);
        msgs.push(msg);
    }
    match ed25519_dalek::verify_batch(&msgs, &sigs, &keys) {
        Ok(()) => Ok(()),
        Err(_) => verify_each(items),
    }
}

fn verify_each(items: &[(&[u8], &[u8], &[u8])]) -> Result<(), CryptoError> {
    items
        .iter()
        .try_for_each(|(pk, msg, sig)| verify_ed25519_raw(pk, msg, sig))
}

/// `Some` when the item satisfies every precondition under which the batch equation decides
/// exactly the strict verdict (see module docs).
fn clean_item(
    pk: &[u8],
    sig: &[u8],
    key_ok: &mut BTreeMap<[u8; 32], bool>,
) -> Option<(ed25519_dalek::VerifyingKey, ed25519_dalek::Signature)> {
    let pk: [u8; 32] = pk.try_into().ok()?;
    let sig: [u8; 64] = sig.try_into().ok()?;
    if !s_is_canonical(&sig) {
        return None;
    }
    let key_is_prime_order = *key_ok
        .entry(pk)
        .or_insert_with(|| prime_order_point(&pk).is_some());
    if !key_is_prime_order {
        return None;
    }
    let r: [u8; 32] = sig[..32].try_into().ok()?;
    prime_order_point(&r)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).ok()?;
    Some((vk, ed25519_dalek::Signature::from_bytes(&sig)))
}

/// Decodes `bytes` as a point that is canonically encoded and has exact prime order `L`.
fn prime_order_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let p = CompressedEdwardsY(*bytes).decompress()?;
    let canonical = p.compress().as_bytes() == bytes;
    (canonical && !p.is_small_order() && p.is_torsion_free()).then_some(p)
}

/// `S < L` (RFC 8032 §5.1.7 step 1): the check that makes signatures non-malleable.
fn s_is_canonical(sig: &[u8; 64]) -> bool {
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    bool::from(Scalar::from_canonical_bytes(s).is_some())
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use sha2::{Digest, Sha512};

    use super::*;

    fn scalar(seed: u8) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&Sha512::digest([seed]).into())
    }

    /// Signs `msg` by hand with secret scalar `a`, nonce `r` and a chosen torsion point added to
    /// `R` and/or `A`, returning (A bytes, signature bytes).
    fn sign_with_torsion(
        a: Scalar,
        r: Scalar,
        t_a: EdwardsPoint,
        t_r: EdwardsPoint,
        msg: &[u8],
    ) -> ([u8; 32], [u8; 64]) {
        let big_a = (ED25519_BASEPOINT_POINT * a + t_a).compress();
        let big_r = (ED25519_BASEPOINT_POINT * r + t_r).compress();
        let mut h = Sha512::new();
        h.update(big_r.as_bytes());
        h.update(big_a.as_bytes());
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(big_r.as_bytes());
        sig[32..].copy_from_slice(s.as_bytes());
        (*big_a.as_bytes(), sig)
    }

    /// A signature whose `R` carries an order-2 component: `verify_strict` rejects it, but
    /// dalek's batch accepts it whenever its derived `z` is even. Grind until the raw dalek batch
    /// accepts, then check that our batch still gives the strict verdict.
    #[test]
    fn mixed_order_r_batch_disagreement_is_caught() {
        let honest_key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let honest_msg = b"honest item".as_slice();
        let honest_sig = ed25519_dalek::Signer::sign(&honest_key, honest_msg).to_bytes();
        let honest_pk = honest_key.verifying_key().to_bytes();
        let a = scalar(1);
        let t2 = EIGHT_TORSION[4];
        let msg = b"forged-by-torsion".as_slice();
        let mut found = false;
        for seed in 2..100u8 {
            let (pk, sig) = sign_with_torsion(a, scalar(seed), EdwardsPoint::default(), t2, msg);
            assert!(
                verify_ed25519_raw(&pk, msg, &sig).is_err(),
                "strict must reject a mixed-order R"
            );
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).expect("valid point");
            let vk_h = ed25519_dalek::VerifyingKey::from_bytes(&honest_pk).expect("valid point");
            let dalek = ed25519_dalek::verify_batch(
                &[honest_msg, msg],
                &[
                    ed25519_dalek::Signature::from_bytes(&honest_sig),
                    ed25519_dalek::Signature::from_bytes(&sig),
                ],
                &[vk_h, vk],
            );
            if dalek.is_ok() {
                found = true;
                let ours = verify_batch_ed25519_raw(&[
                    (&honest_pk, honest_msg, &honest_sig),
                    (&pk, msg, &sig),
                ]);
                assert_eq!(ours, Err(CryptoError::BadSignature));
                break;
            }
        }
        assert!(
            found,
            "expected dalek's batch to accept a mixed-order R for some nonce"
        );
    }

    /// A mixed-order public key: strict accepts exactly when `k` is even (the torsion term
    /// vanishes); our batch must agree with strict for every nonce.
    #[test]
    fn mixed_order_key_batch_agrees_with_strict() {
        let a = scalar(3);
        let t2 = EIGHT_TORSION[4];
        let filler_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let filler_sig = ed25519_dalek::Signer::sign(&filler_key, b"x").to_bytes();
        let filler_pk = filler_key.verifying_key().to_bytes();
        let (mut accepted, mut rejected) = (0, 0);
        for seed in 10..40u8 {
            let msg = [seed; 5];
            let (pk, sig) = sign_with_torsion(a, scalar(seed), t2, EdwardsPoint::default(), &msg);
            let strict = verify_ed25519_raw(&pk, &msg, &sig);
            let batch =
                verify_batch_ed25519_raw(&[(&filler_pk, b"x", &filler_sig), (&pk, &msg, &sig)]);
            assert_eq!(strict, batch);
            if strict.is_ok() {
                accepted += 1
            } else {
                rejected += 1
            }
        }
        assert!(
            accepted > 0 && rejected > 0,
            "both verdicts should occur ({accepted}/{rejected})"
        );
    }

    #[test]
    fn small_order_key_is_weak() {
        let pk = EIGHT_TORSION[1].compress().to_bytes();
        assert_eq!(
            verify_ed25519_raw(&pk, b"m", &[0u8; 64]),
            Err(CryptoError::WeakPublicKey)
        );
    }

    #[test]
    fn wrong_lengths_are_precise() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
        let pk = key.verifying_key().to_bytes();
        assert_eq!(
            verify_ed25519_raw(&pk[..31], b"m", &[0u8; 64]),
            Err(CryptoError::BadPublicKey)
        );
        assert_eq!(
            verify_ed25519_raw(&pk, b"m", &[0u8; 63]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            verify_ed25519_raw(&pk, b"m", &[0u8; 65]),
            Err(CryptoError::MalformedSignature)
        );
    }

    #[test]
    fn empty_and_single_batches() {
        assert_eq!(verify_batch_ed25519_raw(&[]), Ok(()));
        let key = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
        let sig = ed25519_dalek::Signer::sign(&key, b"m").to_bytes();
        let pk = key.verifying_key().to_bytes();
        assert_eq!(verify_batch_ed25519_raw(&[(&pk, b"m", &sig)]), Ok(()));
        assert_eq!(
            verify_batch_ed25519_raw(&[(&pk, b"n", &sig)]),
            Err(CryptoError::BadSignature)
        );
    }
}
