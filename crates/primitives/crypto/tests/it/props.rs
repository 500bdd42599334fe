//! Property tests: sign/verify round trips for random messages and domains, and domain
//! separation (a signature under one domain never verifies under another).

use arcanum_crypto::{CryptoError, Signature, SigningKey, VerifiedSet, verify_batch};
use proptest::prelude::*;

use crate::p256_rsa::{ED, P256, RSA};

fn key(i: usize) -> &'static SigningKey {
    match i {
        0 => &ED,
        1 => &P256,
        _ => &RSA,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_verify_round_trip(alg in 0usize..3, domain in "[a-z/: ]{0,40}", msg in proptest::collection::vec(any::<u8>(), 0..512)) {
        let k = key(alg);
        let sig = k.sign(&domain, &msg);
        prop_assert_eq!(k.public_key().verify(&domain, &msg, &sig), Ok(()));
    }

    #[test]
    fn other_domain_never_verifies(alg in 0usize..3, d1 in "[a-z/: ]{0,24}", d2 in "[a-z/: ]{0,24}", msg in proptest::collection::vec(any::<u8>(), 0..128)) {
        prop_assume!(d1 != d2);
        let k = key(alg);
        let sig = k.sign(&d1, &msg);
        prop_assert_eq!(k.public_key().verify(&d2, &msg, &sig), Err(CryptoError::BadSignature));
    }

    /// Moving bytes between the domain and the message never keeps a signature valid.
    #[test]
    fn domain_message_boundary_is_bound(split in 1usize..8, text in "[a-z]{8,16}") {
        let k = &*ED;
        let (d, m) = text.split_at(split);
        let sig = k.sign(d, m.as_bytes());
        let (d2, m2) = text.split_at(split - 1);
        prop_assert_eq!(k.public_key().verify(d2, m2.as_bytes(), &sig), Err(CryptoError::BadSignature));
    }

    /// Batch verdict equals the item-by-item verdict when random items are corrupted.
    #[test]
    fn batch_matches_strict(n in 2usize..10, corrupt in proptest::collection::vec(any::<bool>(), 10), seed in any::<u8>()) {
        let keys: Vec<SigningKey> = (0..n).map(|i| SigningKey::from_ed25519_seed(&[seed ^ i as u8; 32])).collect();
        let pks: Vec<_> = keys.iter().map(SigningKey::public_key).collect();
        let msgs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8, seed]).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).enumerate().map(|(i, (k, m))| {
            let mut s = k.sign("d", m);
            if corrupt[i] { s.0[i % 64] ^= 0x10; }
            s
        }).collect();
        let items: Vec<_> = (0..n).map(|i| (&pks[i], "d", msgs[i].as_slice(), &sigs[i])).collect();
        let strict = items.iter().try_for_each(|(pk, d, m, s)| pk.verify(d, m, s));
        prop_assert_eq!(verify_batch(&items), strict);
        let set = VerifiedSet::verify_all(&items);
        prop_assert_eq!(set.len(), corrupt[..n].iter().filter(|c| !**c).count());
        for (pk, d, m, s) in &items {
            prop_assert_eq!(set.verify(pk, d, m, s), pk.verify(d, m, s));
        }
    }
}
