//! Ed25519 against the vectors in `shared/testdata/external/crypto_vectors/ed25519/`, with the
//! verdicts stated in that folder's README.

use arcanum_crypto::{CryptoError, SigningKey, verify_batch_ed25519_raw, verify_ed25519_raw};
use serde_json::Value;

use crate::{read_vector, unhex};

fn seed(hex_seed: &str) -> [u8; 32] {
    unhex(hex_seed)
        .try_into()
        .unwrap_or_else(|_| panic!("seed must be 32 bytes"))
}

/// RFC 8032 §7.1: the deterministic signature must match exactly and must verify.
#[test]
fn rfc8032_vectors_sign_and_verify() {
    let doc: Value =
        serde_json::from_str(&read_vector("DERIVED_rfc8032_ed25519.json")).expect("json");
    let vectors = doc["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        let name = v["name"].as_str().expect("name");
        let key = SigningKey::from_ed25519_seed(&seed(v["secret_key"].as_str().expect("sk")));
        let pk = unhex(v["public_key"].as_str().expect("pk"));
        let msg = unhex(v["message"].as_str().expect("msg"));
        let sig = unhex(v["signature"].as_str().expect("sig"));
        assert_eq!(key.public_key().bytes, pk, "{name}: public key");
        assert_eq!(
            key.sign_ed25519_raw(&msg).expect("ed25519").0,
            sig,
            "{name}: signature"
        );
        assert_eq!(
            verify_ed25519_raw(&pk, &msg, &sig),
            Ok(()),
            "{name}: verify"
        );
        let mut tampered = msg.clone();
        tampered.push(0);
        assert_eq!(
            verify_ed25519_raw(&pk, &tampered, &sig),
            Err(CryptoError::BadSignature),
            "{name}"
        );
    }
}

/// ring's 514 sign vectors (RFC 8032 + ed25519.cr.yp.to sign.input): same public key, same
/// deterministic signature, and it verifies.
#[test]
fn ring_sign_vectors() {
    let text = read_vector("ring_ed25519_tests.txt");
    let mut count = 0;
    for block in text.split("\n\n") {
        let mut fields = std::collections::BTreeMap::new();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.trim(), v.trim().trim_matches('"'));
            }
        }
        let (Some(s), Some(p), Some(m), Some(g)) = (
            fields.get("SEED"),
            fields.get("PUB"),
            fields.get("MESSAGE"),
            fields.get("SIG"),
        ) else {
            continue;
        };
        let key = SigningKey::from_ed25519_seed(&seed(s));
        let (pk, msg, sig) = (unhex(p), unhex(m), unhex(g));
        assert_eq!(key.public_key().bytes, pk, "vector {count}");
        assert_eq!(
            key.sign_ed25519_raw(&msg).expect("ed25519").0,
            sig,
            "vector {count}"
        );
        assert_eq!(
            verify_ed25519_raw(&pk, &msg, &sig),
            Ok(()),
            "vector {count}"
        );
        count += 1;
    }
    assert_eq!(count, 514);
}

/// ring's malleability cases: `Result = P` must verify, `Result = F` (S ≥ L) must be rejected.
#[test]
fn ring_malleability_cases() {
    let text = read_vector("ring_ed25519_verify_tests.txt");
    let (mut pass, mut fail) = (0, 0);
    for block in text.split("\n\n") {
        let mut fields = std::collections::BTreeMap::new();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.trim(), v.trim());
            }
        }
        let (Some(p), Some(m), Some(s), Some(r)) = (
            fields.get("PUB"),
            fields.get("MESSAGE"),
            fields.get("SIG"),
            fields.get("Result"),
        ) else {
            continue;
        };
        let got = verify_ed25519_raw(&unhex(p), &unhex(m), &unhex(s));
        match *r {
            "P" => {
                assert_eq!(got, Ok(()));
                pass += 1;
            }
            "F" => {
                assert_eq!(
                    got,
                    Err(CryptoError::NonCanonicalSignature),
                    "S ≥ L must be rejected"
                );
                fail += 1;
            }
            other => panic!("unknown result {other}"),
        }
    }
    assert_eq!((pass, fail), (3, 2));
}

struct Case {
    id: u64,
    pk: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
    valid: bool,
}

fn wycheproof_cases() -> Vec<Case> {
    let doc: Value =
        serde_json::from_str(&read_vector("wycheproof_ed25519_test.json")).expect("json");
    let mut out = Vec::new();
    for group in doc["testGroups"].as_array().expect("groups") {
        let pk = unhex(group["publicKey"]["pk"].as_str().expect("pk"));
        for t in group["tests"].as_array().expect("tests") {
            let valid = match t["result"].as_str().expect("result") {
                "valid" => true,
                "invalid" => false,
                other => panic!("unexpected result {other}"),
            };
            out.push(Case {
                id: t["tcId"].as_u64().expect("tcId"),
                pk: pk.clone(),
                msg: unhex(t["msg"].as_str().expect("msg")),
                sig: unhex(t["sig"].as_str().expect("sig")),
                valid,
            });
        }
    }
    out
}

/// Every Wycheproof case gets exactly its `result` verdict.
#[test]
fn wycheproof_verdicts() {
    let cases = wycheproof_cases();
    assert_eq!(cases.len(), 151);
    assert_eq!(cases.iter().filter(|c| c.valid).count(), 88);
    for c in &cases {
        let got = verify_ed25519_raw(&c.pk, &c.msg, &c.sig);
        assert_eq!(got.is_ok(), c.valid, "tcId {}: got {got:?}", c.id);
    }
}

/// Batch verification gives the single verdict on every Wycheproof case, alone, padded with
/// valid cases, and in mixed windows.
#[test]
fn wycheproof_batch_agrees_with_single() {
    let cases = wycheproof_cases();
    let item = |c: &Case| (c.pk.clone(), c.msg.clone(), c.sig.clone());
    let strict_all = |batch: &[(Vec<u8>, Vec<u8>, Vec<u8>)]| {
        batch
            .iter()
            .try_for_each(|(p, m, s)| verify_ed25519_raw(p, m, s))
    };
    let run = |batch: &[(Vec<u8>, Vec<u8>, Vec<u8>)]| {
        let refs: Vec<(&[u8], &[u8], &[u8])> = batch
            .iter()
            .map(|(p, m, s)| (p.as_slice(), m.as_slice(), s.as_slice()))
            .collect();
        verify_batch_ed25519_raw(&refs)
    };

    let valid: Vec<_> = cases.iter().filter(|c| c.valid).map(item).collect();
    assert_eq!(run(&valid), Ok(()), "all 88 valid cases in one batch");

    // Each case between valid neighbours: the batch verdict is that case's single verdict.
    for (i, c) in cases.iter().enumerate() {
        let mut batch = vec![
            valid[i % valid.len()].clone(),
            item(c),
            valid[(i + 1) % valid.len()].clone(),
        ];
        let strict = verify_ed25519_raw(&c.pk, &c.msg, &c.sig);
        assert_eq!(run(&batch), strict, "tcId {}", c.id);
        batch.reverse();
        assert_eq!(run(&batch), strict, "tcId {} reversed", c.id);
    }

    // Sliding windows over all cases in file order (valid and invalid mixed).
    let all: Vec<_> = cases.iter().map(item).collect();
    for width in [2, 5, 16] {
        for start in 0..=all.len() - width {
            let w = &all[start..start + width];
            assert_eq!(run(w), strict_all(w), "window {start}..{}", start + width);
        }
    }
    assert_eq!(run(&all), strict_all(&all));
    assert!(run(&all).is_err());
}
