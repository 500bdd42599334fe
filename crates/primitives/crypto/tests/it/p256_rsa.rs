//! ECDSA P-256 and RSA-2048: round trips, tampering, cross-algorithm mismatch, PKCS#8, and
//! precise errors for malformed keys and signatures.

use std::sync::LazyLock;

use arcanum_crypto::{
    Algorithm, CryptoError, PublicKey, Signature, SigningKey, VerifiedSet, domain, verify_batch,
};
use rand::SeedableRng;

pub static P256: LazyLock<SigningKey> = LazyLock::new(|| keygen(Algorithm::P256));
pub static RSA: LazyLock<SigningKey> = LazyLock::new(|| keygen(Algorithm::Rsa2048));
pub static ED: LazyLock<SigningKey> = LazyLock::new(|| keygen(Algorithm::Ed25519));

fn keygen(algorithm: Algorithm) -> SigningKey {
    let mut rng = rand::rngs::StdRng::seed_from_u64(algorithm as u64);
    SigningKey::generate(algorithm, &mut rng).expect("key generation")
}

fn all_keys() -> [&'static SigningKey; 3] {
    [&ED, &P256, &RSA]
}

#[test]
fn round_trip_and_tampering() {
    for k in all_keys() {
        let pk = k.public_key();
        assert_eq!(pk.algorithm, k.algorithm());
        let sig = k.sign(domain::ENDORSEMENT, b"tx-hash");
        assert_eq!(
            pk.verify(domain::ENDORSEMENT, b"tx-hash", &sig),
            Ok(()),
            "{:?}",
            k.algorithm()
        );
        assert_eq!(
            pk.verify(domain::ENDORSEMENT, b"tx-hasH", &sig),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            pk.verify(domain::BLOCK_SIGNATURE, b"tx-hash", &sig),
            Err(CryptoError::BadSignature)
        );
        // Flip a bit in the middle of the signature: for P-256 that lands in r or s, which stays
        // well-formed DER and must fail as a bad signature.
        let mut bad = sig.clone();
        let mid = bad.0.len() / 2;
        bad.0[mid] ^= 1;
        assert_eq!(
            pk.verify(domain::ENDORSEMENT, b"tx-hash", &bad),
            Err(CryptoError::BadSignature),
            "{:?}",
            k.algorithm()
        );
    }
}

#[test]
fn expected_encoding_sizes() {
    assert_eq!(ED.public_key().bytes.len(), 32);
    assert_eq!(P256.public_key().bytes.len(), 65);
    assert_eq!(P256.public_key().bytes[0], 0x04);
    // PKCS#1 RSAPublicKey for a 2048-bit modulus and e = 65537 is 270 bytes.
    assert_eq!(RSA.public_key().bytes.len(), 270);
    assert_eq!(RSA.sign("d", b"m").0.len(), 256);
    assert!(P256.sign("d", b"m").0.len() <= 72);
}

#[test]
fn cross_algorithm_mismatch_is_rejected() {
    let msg = b"payload";
    for signer in all_keys() {
        let sig = signer.sign(domain::TX_SIGNATURE, msg);
        for verifier in all_keys() {
            if signer.algorithm() == verifier.algorithm() {
                continue;
            }
            let got = verifier
                .public_key()
                .verify(domain::TX_SIGNATURE, msg, &sig);
            assert!(
                matches!(
                    got,
                    Err(CryptoError::MalformedSignature | CryptoError::BadSignature)
                ),
                "{:?} sig under {:?} key: {got:?}",
                signer.algorithm(),
                verifier.algorithm()
            );
            // The signer's key bytes relabelled as another algorithm are not a valid key.
            let relabelled = PublicKey {
                algorithm: verifier.algorithm(),
                bytes: signer.public_key().bytes,
            };
            assert!(
                matches!(
                    relabelled.verify(domain::TX_SIGNATURE, msg, &sig),
                    Err(CryptoError::BadPublicKey)
                ),
                "{:?} key bytes as {:?}",
                signer.algorithm(),
                verifier.algorithm()
            );
        }
    }
}

#[test]
fn pkcs8_round_trip() {
    for k in all_keys() {
        let der = k.to_pkcs8_der().expect("export");
        let back = SigningKey::from_pkcs8_der(k.algorithm(), &der).expect("import");
        assert_eq!(back.public_key(), k.public_key());
        let sig = back.sign("d", b"m");
        assert_eq!(k.public_key().verify("d", b"m", &sig), Ok(()));
        for other in [Algorithm::Ed25519, Algorithm::P256, Algorithm::Rsa2048] {
            if other != k.algorithm() {
                assert_eq!(
                    SigningKey::from_pkcs8_der(other, &der).map(|_| ()),
                    Err(CryptoError::BadPrivateKey),
                    "{:?} PKCS#8 read as {other:?}",
                    k.algorithm()
                );
            }
        }
        let truncated = &der[..der.len() - 1];
        assert_eq!(
            SigningKey::from_pkcs8_der(k.algorithm(), truncated).map(|_| ()),
            Err(CryptoError::BadPrivateKey)
        );
    }
}

#[test]
fn rsa_other_sizes_are_rejected() {
    let k3072 =
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa3072).expect("keygen");
    let der =
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k3072).expect("der");
    assert_eq!(
        SigningKey::from_pkcs8_der(Algorithm::Rsa2048, der.as_ref()).map(|_| ()),
        Err(CryptoError::UnsupportedRsaKeySize { bits: 3072 })
    );
    let pk_bytes = aws_lc_rs::signature::KeyPair::public_key(&k3072)
        .as_ref()
        .to_vec();
    let pk = PublicKey {
        algorithm: Algorithm::Rsa2048,
        bytes: pk_bytes,
    };
    let mut sig = vec![0u8; 384];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    k3072
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &rng,
            b"m",
            &mut sig,
        )
        .expect("sign");
    assert_eq!(
        pk.verify("d", b"m", &Signature(sig)),
        Err(CryptoError::UnsupportedRsaKeySize { bits: 3072 })
    );
}

#[test]
fn rsa_malformed_inputs() {
    let pk = RSA.public_key();
    let sig = RSA.sign("d", b"m");
    assert_eq!(
        pk.verify("d", b"m", &Signature(sig.0[..255].to_vec())),
        Err(CryptoError::MalformedSignature)
    );
    assert_eq!(
        pk.verify("d", b"m", &Signature(Vec::new())),
        Err(CryptoError::MalformedSignature)
    );
    let garbage = PublicKey {
        algorithm: Algorithm::Rsa2048,
        bytes: vec![0x30, 0x03, 0x02, 0x01, 0x01],
    };
    assert_eq!(
        garbage.verify("d", b"m", &sig),
        Err(CryptoError::BadPublicKey)
    );
    let mut trailing = pk.clone();
    trailing.bytes.push(0);
    assert_eq!(
        trailing.verify("d", b"m", &sig),
        Err(CryptoError::BadPublicKey)
    );
    // The same key as an X.509 SubjectPublicKeyInfo is not the documented encoding.
    let parsed = aws_lc_rs::rsa::PublicKey::from_der(&pk.bytes).expect("parse");
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&parsed)
        .expect("spki");
    let spki_key = PublicKey {
        algorithm: Algorithm::Rsa2048,
        bytes: spki.as_ref().to_vec(),
    };
    assert_eq!(
        spki_key.verify("d", b"m", &sig),
        Err(CryptoError::BadPublicKey)
    );
}

#[test]
fn p256_malformed_inputs() {
    let pk = P256.public_key();
    let sig = P256.sign("d", b"m");
    // Off-curve point: same x, y + 1.
    let mut off = pk.clone();
    let last = off.bytes.len() - 1;
    off.bytes[last] ^= 1;
    assert_eq!(off.verify("d", b"m", &sig), Err(CryptoError::BadPublicKey));
    // Wrong lengths and the compressed form.
    for bytes in [
        Vec::new(),
        pk.bytes[..64].to_vec(),
        [pk.bytes.clone(), vec![0]].concat(),
    ] {
        let k = PublicKey {
            algorithm: Algorithm::P256,
            bytes,
        };
        assert_eq!(k.verify("d", b"m", &sig), Err(CryptoError::BadPublicKey));
    }
    let mut compressed = vec![0x02 | (pk.bytes[64] & 1)];
    compressed.extend_from_slice(&pk.bytes[1..33]);
    assert_eq!(
        PublicKey {
            algorithm: Algorithm::P256,
            bytes: compressed
        }
        .verify("d", b"m", &sig),
        Err(CryptoError::BadPublicKey)
    );
    // Point at infinity / all-zero coordinates.
    let mut zero = vec![0x04];
    zero.extend_from_slice(&[0u8; 64]);
    assert_eq!(
        PublicKey {
            algorithm: Algorithm::P256,
            bytes: zero
        }
        .verify("d", b"m", &sig),
        Err(CryptoError::BadPublicKey)
    );
    // Garbage, truncated and padded DER.
    for bad in [
        Vec::new(),
        vec![0u8; 64],
        sig.0[..sig.0.len() - 1].to_vec(),
        [sig.0.clone(), vec![0]].concat(),
    ] {
        assert_eq!(
            pk.verify("d", b"m", &Signature(bad)),
            Err(CryptoError::MalformedSignature)
        );
    }
    // r = s = 1 is well-formed DER but does not verify.
    let ones = Signature(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
    assert_eq!(pk.verify("d", b"m", &ones), Err(CryptoError::BadSignature));
}

#[test]
fn ed25519_key_from_seed_is_deterministic() {
    let a = SigningKey::from_ed25519_seed(&[3; 32]);
    let b = SigningKey::from_ed25519_seed(&[3; 32]);
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.sign("d", b"m"), b.sign("d", b"m"));
    assert_eq!(
        P256.sign_ed25519_raw(b"m"),
        Err(CryptoError::AlgorithmMismatch)
    );
}

#[test]
fn mixed_batch_reports_first_failure() {
    let msgs: [&[u8]; 3] = [b"a", b"b", b"c"];
    let keys = all_keys();
    let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let sigs: Vec<Signature> = keys
        .iter()
        .zip(msgs)
        .map(|(k, m)| k.sign(domain::ENDORSEMENT, m))
        .collect();
    let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = (0..3)
        .map(|i| (&pks[i], domain::ENDORSEMENT, msgs[i], &sigs[i]))
        .collect();
    {
        let f = verify_batch;
        assert_eq!(f(&items), Ok(()));
        let mut bad = items.clone();
        bad[1].2 = b"x";
        bad[2].2 = b"y";
        assert_eq!(f(&bad), Err(CryptoError::BadSignature));
        assert_eq!(f(&[]), Ok(()));
        // Per item, the set answers what single verification answers, whatever the algorithm.
        let set = VerifiedSet::verify_all(&bad);
        assert_eq!(
            set.len(),
            1,
            "only the Ed25519 item is batched, and it verified"
        );
        for (pk, d, m, sig) in &bad {
            assert_eq!(set.verify(pk, d, m, sig), pk.verify(d, m, sig));
        }
    }
}

#[test]
fn ed25519_batch_through_public_api() {
    let keys: Vec<SigningKey> = (0..8u8)
        .map(|i| SigningKey::from_ed25519_seed(&[i; 32]))
        .collect();
    let pks: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
    let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
    let sigs: Vec<Signature> = keys
        .iter()
        .zip(&msgs)
        .map(|(k, m)| k.sign(domain::TX_SIGNATURE, m))
        .collect();
    let items: Vec<(&PublicKey, &str, &[u8], &Signature)> = (0..8)
        .map(|i| (&pks[i], domain::TX_SIGNATURE, msgs[i].as_slice(), &sigs[i]))
        .collect();
    {
        let f = verify_batch;
        assert_eq!(f(&items), Ok(()));
        // Wrong domain on one item.
        let mut wrong = items.clone();
        wrong[5].1 = domain::ENDORSEMENT;
        assert_eq!(f(&wrong), Err(CryptoError::BadSignature));
        // Malleated S (S + L) on one item: rejected as non-canonical, like single verification.
        let mut mall = sigs[3].clone();
        add_l(&mut mall.0[32..]);
        let mut m = items.clone();
        m[3].3 = &mall;
        assert_eq!(f(&m), Err(CryptoError::NonCanonicalSignature));
        assert_eq!(
            pks[3].verify(domain::TX_SIGNATURE, &msgs[3], &mall),
            Err(CryptoError::NonCanonicalSignature)
        );
    }
}

/// `s += L` (little-endian), the classic Ed25519 malleation.
fn add_l(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        s[i] = v as u8;
        carry = v >> 8;
    }
}
