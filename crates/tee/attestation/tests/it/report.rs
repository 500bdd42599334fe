//! Signed attestation reports (A2): issue, verify, and every rejection.

use arcanum_attestation::sim::{SimEvidence, vendor_key};
use arcanum_attestation::{
    AttestationPolicy, SignedReport, Verdict, VerifyInputs, issue, key_binding, verify_evidence,
    verify_report,
};
use arcanum_crypto::{Algorithm, PublicKey, SigningKey};

fn node_keys() -> Vec<PublicKey> {
    vec![
        SigningKey::from_ed25519_seed(&[1; 32]).public_key(),
        SigningKey::from_ed25519_seed(&[2; 32]).public_key(),
    ]
}

fn service() -> SigningKey {
    SigningKey::from_ed25519_seed(&[9; 32])
}

/// The full A2 flow on simulation evidence: the node binds its keys into the report data.
fn attested(keys: &[PublicKey]) -> Verdict {
    let ev = SimEvidence::new([5; 32], key_binding(keys), false).sign(&vendor_key());
    let v = verify_evidence(&ev, &VerifyInputs::default(), 0).expect("valid");
    AttestationPolicy {
        allow_simulation: true,
        ..AttestationPolicy::default()
    }
    .check(&v)
    .expect("policy");
    v
}

const NOW: u64 = 1_700_000_000;

#[test]
fn issue_and_verify() {
    let keys = node_keys();
    let signed = issue(&attested(&keys), "node-1", &keys, &service(), NOW, 3600).expect("issue");
    let trusted = [service().public_key()];
    let r = verify_report(&signed, &trusted, NOW, Some(&keys)).expect("verifies");
    assert_eq!(r.subject, "node-1");
    assert_eq!(r.measurement, vec![5; 32]);
    assert_eq!(r.tcb_status, "Simulated");
    assert!(!r.is_secure);
    assert_eq!(r.bound_keys, keys);
    assert_eq!((r.issued_at, r.expires_at), (NOW, NOW + 3600));
    // Any subset of the bound keys can be expected.
    assert!(verify_report(&signed, &trusted, NOW, Some(&keys[1..])).is_ok());
    assert!(verify_report(&signed, &trusted, NOW + 3599, None).is_ok());
    // Encoding round trip.
    let bytes = signed.to_bytes();
    assert_eq!(SignedReport::from_bytes(&bytes), Ok(signed.clone()));
    let mut extended = bytes.clone();
    extended.push(0);
    assert_eq!(
        SignedReport::from_bytes(&extended).map_err(|e| e.code()),
        Err("REPORT_MALFORMED")
    );
    assert_eq!(
        SignedReport::from_bytes(&bytes[..bytes.len() - 1]).map_err(|e| e.code()),
        Err("REPORT_MALFORMED")
    );
}

#[test]
fn p256_issuer_works() {
    let keys = node_keys();
    let issuer = SigningKey::generate(Algorithm::P256, &mut rand_core::OsRng).expect("key");
    let signed = issue(&attested(&keys), "n", &keys, &issuer, NOW, 10).expect("issue");
    assert!(verify_report(&signed, &[issuer.public_key()], NOW, None).is_ok());
}

#[test]
fn issue_requires_the_key_binding() {
    let keys = node_keys();
    let v = attested(&keys);
    assert_eq!(
        issue(&v, "n", &keys[..1], &service(), NOW, 60).map_err(|e| e.code()),
        Err("KEY_BINDING_MISMATCH")
    );
    let mut reordered = keys.clone();
    reordered.reverse();
    assert_eq!(
        issue(&v, "n", &reordered, &service(), NOW, 60).map_err(|e| e.code()),
        Err("KEY_BINDING_MISMATCH")
    );
    assert_eq!(
        issue(&v, "n", &[], &service(), NOW, 60).map_err(|e| e.code()),
        Err("INVALID_ARGUMENT")
    );
    assert_eq!(
        issue(&v, "n", &keys, &service(), NOW, 0).map_err(|e| e.code()),
        Err("INVALID_ARGUMENT")
    );
    assert_eq!(
        issue(&v, "n", &keys, &service(), u64::MAX, 1).map_err(|e| e.code()),
        Err("INVALID_ARGUMENT")
    );
}

#[test]
fn rejections() {
    let keys = node_keys();
    let signed = issue(&attested(&keys), "node-1", &keys, &service(), NOW, 3600).expect("issue");
    let trusted = [service().public_key()];
    let code = |s: &SignedReport, now: u64, exp: Option<&[PublicKey]>| {
        verify_report(s, &trusted, now, exp)
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(code(&signed, NOW + 3600, None), Err("REPORT_EXPIRED"));
    assert_eq!(code(&signed, NOW - 1, None), Err("REPORT_NOT_YET_VALID"));
    let other = [SigningKey::from_ed25519_seed(&[8; 32]).public_key()];
    assert_eq!(
        verify_report(&signed, &other, NOW, None)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("FOREIGN_ISSUER")
    );
    assert_eq!(
        verify_report(&signed, &[], NOW, None)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("FOREIGN_ISSUER")
    );
    let stranger = [SigningKey::from_ed25519_seed(&[3; 32]).public_key()];
    assert_eq!(code(&signed, NOW, Some(&stranger)), Err("KEY_MISMATCH"));
    assert_eq!(code(&signed, NOW, Some(&[])), Err("KEY_MISMATCH"));

    // Tampering with any field breaks the signature.
    let mut t = signed.clone();
    t.report.expires_at += 1;
    assert_eq!(code(&t, NOW, None), Err("REPORT_SIGNATURE_INVALID"));
    let mut t = signed.clone();
    t.report.tcb_status = "UpToDate".into();
    assert_eq!(code(&t, NOW, None), Err("REPORT_SIGNATURE_INVALID"));
    let mut t = signed.clone();
    t.report.bound_keys.push(stranger[0].clone());
    assert_eq!(code(&t, NOW, None), Err("REPORT_SIGNATURE_INVALID"));
    let mut t = signed.clone();
    t.report.is_secure = true;
    assert_eq!(code(&t, NOW, None), Err("REPORT_SIGNATURE_INVALID"));
    let mut t = signed.clone();
    t.signature.0[0] ^= 1;
    assert_eq!(code(&t, NOW, None), Err("REPORT_SIGNATURE_INVALID"));
    // Every byte of the encoding: never verifies, never panics.
    let bytes = signed.to_bytes();
    for i in 0..bytes.len() {
        let mut m = bytes.clone();
        m[i] ^= 0x01;
        if let Ok(s) = SignedReport::from_bytes(&m) {
            assert!(
                verify_report(&s, &trusted, NOW, Some(&keys)).is_err(),
                "byte {i}"
            );
        }
    }
}
