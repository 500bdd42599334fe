//! Simulation evidence: round trip, tampering, vendor keys.

use arcanum_attestation::sim::{SIM_EVIDENCE_LEN, SimEvidence, vendor_key, vendor_public_key};
use arcanum_attestation::{PlatformKind, VerifyInputs, verify_evidence};
use arcanum_crypto::{SigningKey, sha256};

use crate::code_of;

fn evidence(debug: bool) -> SimEvidence {
    SimEvidence::new(sha256(b"enclave binary").0, [0xAB; 64], debug)
}

#[test]
fn round_trip_reports_insecure_simulation() {
    for debug in [false, true] {
        let ev = evidence(debug);
        let bytes = ev.sign(&vendor_key());
        assert_eq!(bytes.len(), SIM_EVIDENCE_LEN);
        assert!(bytes.starts_with(b"ARCSIM01"));
        let v = verify_evidence(&bytes, &VerifyInputs::default(), 0).expect("valid");
        assert_eq!(v.platform, PlatformKind::Simulated);
        assert_eq!(v.measurement, ev.measurement.to_vec());
        assert_eq!(v.report_data, vec![0xAB; 64]);
        assert_eq!(v.tcb_status, "Simulated");
        assert!(v.advisories.is_empty());
        assert_eq!(v.debug, debug);
        assert!(!v.is_secure);
        assert_eq!(
            v.extra["vendor_key"],
            hex::encode(vendor_public_key().bytes)
        );
        // Hex forms decode to the same evidence.
        let hexed = format!("0x{}", hex::encode(&bytes));
        assert_eq!(
            verify_evidence(hexed.as_bytes(), &VerifyInputs::default(), 0),
            Ok(v)
        );
    }
}

#[test]
fn vendor_key_is_the_documented_seed() {
    let expected = SigningKey::from_ed25519_seed(&sha256(b"arcanum simulated TEE vendor key v1").0);
    assert_eq!(vendor_public_key(), expected.public_key());
    // Deterministic: the same evidence signs to the same bytes.
    assert_eq!(
        evidence(false).sign(&vendor_key()),
        evidence(false).sign(&expected)
    );
}

#[test]
fn every_byte_is_protected() {
    let bytes = evidence(false).sign(&vendor_key());
    for i in 8..bytes.len() {
        let mut m = bytes.clone();
        m[i] ^= 0x01;
        let code = code_of(verify_evidence(&m, &VerifyInputs::default(), 0));
        // The debug byte (97 after the magic) only accepts 0/1: flipping bit 0 keeps it a bool.
        assert!(
            code == "EVIDENCE_SIGNATURE_INVALID" || code == "UNSUPPORTED_EVIDENCE",
            "byte {i}: {code}"
        );
    }
    let mut bad_bool = bytes.clone();
    bad_bool[8 + 97] = 2;
    assert_eq!(
        code_of(verify_evidence(&bad_bool, &VerifyInputs::default(), 0)),
        "EVIDENCE_MALFORMED"
    );
    let mut bad_version = bytes.clone();
    bad_version[8] = 2;
    assert_eq!(
        code_of(verify_evidence(&bad_version, &VerifyInputs::default(), 0)),
        "UNSUPPORTED_EVIDENCE"
    );
}

#[test]
fn vendor_key_choice() {
    let other = SigningKey::from_ed25519_seed(&[7; 32]);
    let by_other = evidence(false).sign(&other);
    // Default vendor key: rejected.
    assert_eq!(
        code_of(verify_evidence(&by_other, &VerifyInputs::default(), 0)),
        "EVIDENCE_SIGNATURE_INVALID"
    );
    // The other key as root: accepted; then the default vendor's evidence is rejected.
    let root = VerifyInputs {
        root: Some(other.public_key().bytes),
        ..VerifyInputs::default()
    };
    assert!(verify_evidence(&by_other, &root, 0).is_ok());
    let by_default = evidence(false).sign(&vendor_key());
    assert_eq!(
        code_of(verify_evidence(&by_default, &root, 0)),
        "EVIDENCE_SIGNATURE_INVALID"
    );
    // Malformed roots.
    let short = VerifyInputs {
        root: Some(vec![1; 31]),
        ..VerifyInputs::default()
    };
    assert_eq!(
        code_of(verify_evidence(&by_default, &short, 0)),
        "TRUST_ANCHOR_INVALID"
    );
}

#[test]
fn truncated_and_extended() {
    let bytes = evidence(false).sign(&vendor_key());
    for len in [8, 9, 50, SIM_EVIDENCE_LEN - 1] {
        assert_eq!(
            code_of(verify_evidence(&bytes[..len], &VerifyInputs::default(), 0)),
            "EVIDENCE_TRUNCATED"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        code_of(verify_evidence(&long, &VerifyInputs::default(), 0)),
        "EVIDENCE_MALFORMED"
    );
}
