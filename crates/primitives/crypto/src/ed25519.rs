//! Ed25519 verification under one rule that single and batch checks decide identically.
//!
//! # The rule
//!
//! A signature `(R, S)` by key `A` over message `M` is accepted when:
//! 1. the key is 32 bytes and the signature 64 bytes;
//! 2. `A` is a canonical encoding (`y < p`) of a curve point that is not of small order;
//! 3. `S < L` (no malleability through `S + L`);
//! 4. `R` is a canonical encoding of a curve point that is not of small order;
//! 5. the **cofactored** equation holds: `[8]([S]B − R − [k]A) = 0`, `k = SHA-512(R ‖ A ‖ M) mod L`.
//!
//! Every honest RFC 8032 signature passes (it satisfies the cofactorless equation, hence this
//! one). The encoding checks are those of "strict" verification; the equation is the cofactored
//! one of RFC 8032 §5.1.7 and ZIP 215, which is what CometBFT and Zcash adopted for the same
//! reason we do.
//!
//! # Why cofactored
//!
//! Every peer must reach the same verdict on the same bytes, whether it checks a signature on
//! its own or inside a batch ("Taming the many EdDSAs", Chalkias et al. 2020). A batch checks a
//! random linear combination `Σ zᵢ·Dᵢ = 0` with `Dᵢ = [Sᵢ]B − Rᵢ − [kᵢ]Aᵢ`. Under the cofactorless
//! rule, a `Dᵢ` that is a non-zero torsion point (a mixed-order `R` or `A`) is annihilated by an
//! even `zᵢ`, so the batch can accept what the single check rejects, unless every `R` is first
//! proven torsion-free, which costs a scalar multiplication per signature and made batching
//! slower than verifying one by one. Multiplying by the cofactor removes torsion from both
//! checks: after `[8]`, every `Dᵢ` lies in the prime-order subgroup, so `Σ zᵢ·[8]Dᵢ = 0` with
//! some `[8]Dᵢ ≠ 0` has probability at most 2⁻¹²⁸ over the 128-bit `zᵢ`, and the batch verdict
//! is the conjunction of the single verdicts.
//!
//! The price is that a signature whose `R` carries a torsion component is accepted too: anyone
//! holding a valid signature can derive up to seven other encodings of it for the same key and
//! message. Nothing in Arcanum identifies anything by signature bytes (transaction ids hash the
//! payload only; blocks are signed by the orderer), so this malleability is harmless here.
//!
//! # Batch coefficients
//!
//! The `zᵢ` are derived from a hash of every item (keys, `R`, `S`, `k`), so the verdict is a
//! deterministic function of the batch and this crate takes no randomness. Each `zᵢ` is a
//! non-zero 128-bit value; an adversary would have to find a linear relation among hash outputs
//! that depend on its own choices, which is as hard as a 128-bit preimage search.

use std::collections::BTreeMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use crate::CryptoError;

/// Domain of the batch-coefficient transcript.
const BATCH_TRANSCRIPT: &[u8] = b"arcanum/ed25519-batch/v1";

/// Raw Ed25519 verification (no domain framing) under the rule of the module documentation.
///
/// Errors: [`CryptoError::BadPublicKey`] (wrong length, not canonical, not a curve point),
/// [`CryptoError::WeakPublicKey`] (small-order key), [`CryptoError::MalformedSignature`]
/// (not 64 bytes), [`CryptoError::NonCanonicalSignature`] (`S ≥ L`),
/// [`CryptoError::BadSignature`] (anything else that does not verify).
pub fn verify_ed25519_raw(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let item = Parsed::new(decode_key(pk)?, msg, sig)?;
    // [k](−A) + [S]B − R, times the cofactor.
    let d =
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&item.k, &-item.key.1, &item.s) - item.r;
    if d.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// Batch form of [`verify_ed25519_raw`] over `(public key, message, signature)` items: `Ok` if
/// every item verifies, otherwise exactly the error that verifying the items one by one, in
/// order, gives for the first failing item.
pub fn verify_batch_ed25519_raw(items: &[(&[u8], &[u8], &[u8])]) -> Result<(), CryptoError> {
    let mut keys = KeyCache::default();
    let parsed: Option<Vec<Parsed>> = items
        .iter()
        .map(|(pk, msg, sig)| Parsed::new(keys.get(pk).ok()?, msg, sig).ok())
        .collect();
    if parsed.is_some_and(|p| batch_holds(&p)) {
        return Ok(());
    }
    // The first failure in order, with its precise error.
    items
        .iter()
        .try_for_each(|(pk, msg, sig)| verify_ed25519_raw(pk, msg, sig))
}

/// For each item, whether it verifies: one batch for all, and on failure the halves again
/// (down to single checks), so a few bad signatures cost a few extra batches, not a fall back
/// to one-by-one for everything.
pub(crate) fn verdicts(items: &[(&[u8], &[u8], &[u8])]) -> Vec<bool> {
    let mut keys = KeyCache::default();
    let parsed: Vec<Option<Parsed>> = items
        .iter()
        .map(|(pk, msg, sig)| Parsed::new(keys.get(pk).ok()?, msg, sig).ok())
        .collect();
    let mut out = vec![false; items.len()];
    // Indices of items that parsed; unparsable items stay false.
    let candidates: Vec<usize> = (0..items.len()).filter(|&i| parsed[i].is_some()).collect();
    bisect(&parsed, &candidates, &mut out);
    out
}

fn bisect(parsed: &[Option<Parsed>], idx: &[usize], out: &mut [bool]) {
    let group: Vec<Parsed> = idx.iter().filter_map(|&i| parsed[i].clone()).collect();
    if group.len() <= 2 {
        for (&i, item) in idx.iter().zip(&group) {
            out[i] = batch_holds(std::slice::from_ref(item));
        }
        return;
    }
    if batch_holds(&group) {
        for &i in idx {
            out[i] = true;
        }
        return;
    }
    let (left, right) = idx.split_at(idx.len() / 2);
    bisect(parsed, left, out);
    bisect(parsed, right, out);
}

/// A decoded key: its encoding and its point.
type Key = ([u8; 32], EdwardsPoint);

/// Decoded keys by encoding: consortium batches repeat a few keys many times.
#[derive(Default)]
struct KeyCache(BTreeMap<Vec<u8>, Result<Key, CryptoError>>);

impl KeyCache {
    fn get(&mut self, pk: &[u8]) -> Result<Key, CryptoError> {
        self.0
            .entry(pk.to_vec())
            .or_insert_with(|| decode_key(pk))
            .clone()
    }
}

fn decode_key(pk: &[u8]) -> Result<Key, CryptoError> {
    let bytes: [u8; 32] = pk.try_into().map_err(|_| CryptoError::BadPublicKey)?;
    let point = decode_point(&bytes).ok_or(CryptoError::BadPublicKey)?;
    if point.is_small_order() {
        return Err(CryptoError::WeakPublicKey);
    }
    Ok((bytes, point))
}

/// One signature with everything the equation needs.
#[derive(Clone)]
struct Parsed {
    key: Key,
    r_bytes: [u8; 32],
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

impl Parsed {
    /// Checks rule items 1–4 and computes `k`.
    fn new(key: Key, msg: &[u8], sig: &[u8]) -> Result<Parsed, CryptoError> {
        let sig: &[u8; 64] = sig
            .try_into()
            .map_err(|_| CryptoError::MalformedSignature)?;
        let (r_bytes, s_bytes) = sig.split_at(32);
        let r_bytes: [u8; 32] = r_bytes
            .try_into()
            .map_err(|_| CryptoError::MalformedSignature)?;
        let s_bytes: [u8; 32] = s_bytes
            .try_into()
            .map_err(|_| CryptoError::MalformedSignature)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(CryptoError::NonCanonicalSignature)?;
        let r = decode_point(&r_bytes)
            .filter(|r| !r.is_small_order())
            .ok_or(CryptoError::BadSignature)?;
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r_bytes)
                .chain_update(key.0)
                .chain_update(msg),
        );
        Ok(Parsed {
            key,
            r_bytes,
            r,
            s,
            k,
        })
    }
}

/// Decodes a canonical point encoding: `y < p` (the sign bit aside) and on the curve. The
/// non-canonical "negative zero" encodings (`x = 0` with the sign bit set) decode to small-order
/// points, which every caller rejects.
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !y_is_canonical(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// `y < p = 2²⁵⁵ − 19`, reading the low 255 bits little-endian: the only non-canonical values
/// are `p … 2²⁵⁵ − 1`, i.e. all bytes `0xff` (top byte `0x7f` without the sign bit) with the
/// lowest byte at least `0xed`.
fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    !(bytes[0] >= 0xed && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[31] & 0x7f == 0x7f)
}

/// Whether `Σ zᵢ·[8]([Sᵢ]B − Rᵢ − [kᵢ]Aᵢ) = 0` for the transcript-derived `zᵢ`.
fn batch_holds(items: &[Parsed]) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut transcript = Sha512::new()
        .chain_update(BATCH_TRANSCRIPT)
        .chain_update((items.len() as u64).to_le_bytes());
    for it in items {
        transcript.update(it.key.0);
        transcript.update(it.r_bytes);
        transcript.update(it.s.as_bytes());
        transcript.update(it.k.as_bytes());
    }
    let seed = transcript.finalize();
    let mut b_coefficient = Scalar::ZERO;
    let mut key_coefficients: BTreeMap<[u8; 32], (EdwardsPoint, Scalar)> = BTreeMap::new();
    let mut scalars = Vec::with_capacity(items.len() + 4);
    let mut points = Vec::with_capacity(items.len() + 4);
    for (i, it) in items.iter().enumerate() {
        let z = coefficient(&seed, i);
        b_coefficient += z * it.s;
        let entry = key_coefficients
            .entry(it.key.0)
            .or_insert((it.key.1, Scalar::ZERO));
        entry.1 += z * it.k;
        scalars.push(-z);
        points.push(it.r);
    }
    for (point, c) in key_coefficients.into_values() {
        scalars.push(-c);
        points.push(point);
    }
    scalars.push(b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// The non-zero 128-bit coefficient of item `i`.
fn coefficient(seed: &[u8], i: usize) -> Scalar {
    let h = Sha512::new()
        .chain_update(seed)
        .chain_update((i as u64).to_le_bytes())
        .finalize();
    let mut z = [0u8; 16];
    z.copy_from_slice(&h[..16]);
    Scalar::from(u128::from_le_bytes(z) | 1)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;

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
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(big_a.as_bytes())
                .chain_update(msg),
        );
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(big_r.as_bytes());
        sig[32..].copy_from_slice(s.as_bytes());
        (*big_a.as_bytes(), sig)
    }

    fn honest() -> ([u8; 32], &'static [u8], [u8; 64]) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let msg = b"honest item".as_slice();
        let sig = ed25519_dalek::Signer::sign(&key, msg).to_bytes();
        (key.verifying_key().to_bytes(), msg, sig)
    }

    /// Torsion in `R` or in `A`: the cofactored rule accepts, alone and in every batch position,
    /// whatever the coefficients (the cofactorless batch would accept only for some of them).
    #[test]
    fn torsion_components_get_one_verdict_alone_and_batched() {
        let (hpk, hmsg, hsig) = honest();
        for (t_a, t_r) in [
            (EdwardsPoint::default(), EIGHT_TORSION[4]),
            (EdwardsPoint::default(), EIGHT_TORSION[1]),
            (EIGHT_TORSION[4], EdwardsPoint::default()),
            (EIGHT_TORSION[2], EIGHT_TORSION[3]),
        ] {
            for seed in 10..30u8 {
                let msg = [seed; 5];
                let (pk, sig) = sign_with_torsion(scalar(3), scalar(seed), t_a, t_r, &msg);
                assert_eq!(verify_ed25519_raw(&pk, &msg, &sig), Ok(()));
                let batch = [(&hpk[..], hmsg, &hsig[..]), (&pk[..], &msg[..], &sig[..])];
                assert_eq!(verify_batch_ed25519_raw(&batch), Ok(()));
                assert_eq!(verdicts(&batch), vec![true, true]);
            }
        }
    }

    /// A wrong signature with torsion still fails alone and in a batch.
    #[test]
    fn torsion_does_not_rescue_a_wrong_signature() {
        let (hpk, hmsg, hsig) = honest();
        let msg = [1u8; 5];
        let (pk, mut sig) = sign_with_torsion(
            scalar(3),
            scalar(4),
            EdwardsPoint::default(),
            EIGHT_TORSION[4],
            &msg,
        );
        sig[40] ^= 1;
        assert_eq!(
            verify_ed25519_raw(&pk, &msg, &sig),
            Err(CryptoError::BadSignature)
        );
        let batch = [(&hpk[..], hmsg, &hsig[..]), (&pk[..], &msg[..], &sig[..])];
        assert_eq!(
            verify_batch_ed25519_raw(&batch),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(verdicts(&batch), vec![true, false]);
    }

    #[test]
    fn small_order_key_is_weak_and_small_order_r_is_refused() {
        let pk = EIGHT_TORSION[1].compress().to_bytes();
        assert_eq!(
            verify_ed25519_raw(&pk, b"m", &[0u8; 64]),
            Err(CryptoError::WeakPublicKey)
        );
        let (hpk, _, _) = honest();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(EIGHT_TORSION[0].compress().as_bytes());
        assert_eq!(
            verify_ed25519_raw(&hpk, b"m", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y = p (encodes y = 0 non-canonically) and y = p + 1 (the identity, non-canonically).
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!y_is_canonical(&p));
        let mut p1 = p;
        p1[0] = 0xee;
        assert!(!y_is_canonical(&p1));
        let mut below = p;
        below[0] = 0xec;
        assert!(y_is_canonical(&below));
        assert_eq!(
            verify_ed25519_raw(&p1, b"m", &[0u8; 64]),
            Err(CryptoError::BadPublicKey)
        );
        let (hpk, msg, hsig) = honest();
        let mut sig = hsig;
        sig[..32].copy_from_slice(&p1);
        assert_eq!(
            verify_ed25519_raw(&hpk, msg, &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn wrong_lengths_are_precise() {
        let (pk, _, _) = honest();
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
        let (pk, msg, sig) = honest();
        assert_eq!(verify_batch_ed25519_raw(&[(&pk, msg, &sig)]), Ok(()));
        assert_eq!(
            verify_batch_ed25519_raw(&[(&pk, b"n", &sig)]),
            Err(CryptoError::BadSignature)
        );
    }

    /// Bisection finds every bad item among many good ones.
    #[test]
    fn verdicts_isolate_bad_items() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let pk = key.verifying_key().to_bytes();
        let msgs: Vec<[u8; 4]> = (0u32..37).map(|i| i.to_le_bytes()).collect();
        let mut sigs: Vec<[u8; 64]> = msgs
            .iter()
            .map(|m| ed25519_dalek::Signer::sign(&key, m).to_bytes())
            .collect();
        let bad = [0usize, 17, 18, 36];
        for &b in &bad {
            sigs[b][33] ^= 0x40;
        }
        sigs[5] = [0u8; 64]; // unparsable: small-order R
        let items: Vec<(&[u8], &[u8], &[u8])> = msgs
            .iter()
            .zip(&sigs)
            .map(|(m, s)| (&pk[..], &m[..], &s[..]))
            .collect();
        let got = verdicts(&items);
        for (i, ok) in got.iter().enumerate() {
            assert_eq!(*ok, !bad.contains(&i) && i != 5, "item {i}");
        }
    }
}
