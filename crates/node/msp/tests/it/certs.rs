use arcanum_crypto::{Algorithm, SigningKey, sha256};
use arcanum_msp::{
    CertificateAuthority, MspError, parse_ca_certificate, parse_certificate, pem_to_der,
    verify_ca_certificate, verify_issued_by,
};
use arcanum_types::{IdentityId, Role};

use crate::fixture::{NA, NB, NOW, rng};

fn issue_parse_verify(alg: Algorithm) {
    let mut rng = rng(1);
    let ca = CertificateAuthority::generate("Org1", alg, NB, NA, &mut rng).expect("ca");
    let ca_der = ca.certificate_der().to_vec();
    assert_eq!(pem_to_der(&ca.certificate_pem()).expect("pem"), ca_der);

    let ca_info = verify_ca_certificate(&ca_der, NOW).expect("ca verifies");
    assert_eq!(ca_info.msp_id, "Org1");
    assert_eq!(ca_info.name, "ca.Org1");
    assert_eq!(ca_info.public_key, ca.key().public_key());
    assert_eq!((ca_info.not_before, ca_info.not_after), (NB, NA));

    for role in [Role::Client, Role::Peer, Role::Admin, Role::Orderer] {
        let key = SigningKey::generate(alg, &mut rng).expect("key");
        let pem = ca.issue("peer0.org1", role, &key, NB, NA).expect("issue");
        let der = pem_to_der(&pem).expect("pem");
        let info = parse_certificate(&der).expect("parse");
        assert_eq!(info.id, IdentityId::of_certificate(&der));
        assert_eq!(info.id.0, sha256(&der));
        assert_eq!(info.msp_id, "Org1");
        assert_eq!(info.role, role);
        assert_eq!(info.name, "peer0.org1");
        assert_eq!(
            info.public_key,
            key.public_key(),
            "public key encoding must be arcanum-crypto's"
        );
        assert_eq!((info.not_before, info.not_after), (NB, NA));
        verify_issued_by(&der, &ca_der, NOW).expect("verifies");
        // A leaf is not a CA.
        assert!(matches!(
            parse_ca_certificate(&der),
            Err(MspError::IssuerNotCa)
        ));
        assert!(matches!(
            verify_issued_by(&der, &der, NOW),
            Err(MspError::IssuerNotCa)
        ));
    }
}

#[test]
fn ed25519_issue_parse_verify() {
    issue_parse_verify(Algorithm::Ed25519);
    let key = SigningKey::generate(Algorithm::Ed25519, &mut rng(2)).expect("key");
    assert_eq!(key.public_key().bytes.len(), 32);
}

#[test]
fn p256_issue_parse_verify() {
    issue_parse_verify(Algorithm::P256);
    let key = SigningKey::generate(Algorithm::P256, &mut rng(2)).expect("key");
    let pk = key.public_key();
    assert_eq!(
        (pk.bytes.len(), pk.bytes[0]),
        (65, 0x04),
        "SEC1 uncompressed"
    );
}

#[test]
fn rsa2048_issue_parse_verify() {
    issue_parse_verify(Algorithm::Rsa2048);
}

#[test]
fn mixed_algorithms_verify() {
    // An RSA CA may certify an Ed25519 key and vice versa.
    let mut rng = rng(3);
    for (ca_alg, leaf_alg) in [
        (Algorithm::P256, Algorithm::Ed25519),
        (Algorithm::Ed25519, Algorithm::P256),
    ] {
        let ca = CertificateAuthority::generate("Org1", ca_alg, NB, NA, &mut rng).expect("ca");
        let key = SigningKey::generate(leaf_alg, &mut rng).expect("key");
        let der =
            pem_to_der(&ca.issue("c", Role::Client, &key, NB, NA).expect("issue")).expect("pem");
        verify_issued_by(&der, ca.certificate_der(), NOW).expect("verifies");
        assert_eq!(
            parse_certificate(&der).expect("parse").public_key,
            key.public_key()
        );
    }
}

fn leaf(ca: &CertificateAuthority, nb: u64, na: u64) -> Vec<u8> {
    let key = SigningKey::generate(Algorithm::Ed25519, &mut rng(9)).expect("key");
    pem_to_der(
        &ca.issue("client0.org1", Role::Client, &key, nb, na)
            .expect("issue"),
    )
    .expect("pem")
}

#[test]
fn other_org_ca_is_rejected() {
    let mut rng = rng(4);
    let org1 =
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng).expect("ca");
    let org2 =
        CertificateAuthority::generate("Org2", Algorithm::Ed25519, NB, NA, &mut rng).expect("ca");
    let from_org2 = leaf(&org2, NB, NA);
    assert!(matches!(
        verify_issued_by(&from_org2, org1.certificate_der(), NOW),
        Err(MspError::IssuerMismatch)
    ));
    // An impostor CA with the same name as Org1's: the issuer name matches, the signature does not.
    let impostor =
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng).expect("ca");
    let forged = leaf(&impostor, NB, NA);
    assert!(matches!(
        verify_issued_by(&forged, org1.certificate_der(), NOW),
        Err(MspError::BadCertificateSignature)
    ));
    // Same impostor with another algorithm: the signature algorithm does not fit Org1's key.
    let impostor_p256 =
        CertificateAuthority::generate("Org1", Algorithm::P256, NB, NA, &mut rng).expect("ca");
    let forged = leaf(&impostor_p256, NB, NA);
    assert!(matches!(
        verify_issued_by(&forged, org1.certificate_der(), NOW),
        Err(MspError::UnsupportedSignatureAlgorithm)
    ));
}

#[test]
fn validity_window_is_enforced_inclusively() {
    let ca = CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng(5))
        .expect("ca");
    let der = leaf(&ca, NOW, NOW + 100);
    verify_issued_by(&der, ca.certificate_der(), NOW).expect("first second");
    verify_issued_by(&der, ca.certificate_der(), NOW + 100).expect("last second");
    assert!(matches!(
        verify_issued_by(&der, ca.certificate_der(), NOW - 1),
        Err(MspError::NotYetValid { not_before, now }) if not_before == NOW && now == NOW - 1
    ));
    assert!(matches!(
        verify_issued_by(&der, ca.certificate_der(), NOW + 101),
        Err(MspError::Expired { not_after, .. }) if not_after == NOW + 100
    ));
    // The CA's own window applies too.
    let long = leaf(&ca, NB, NA + 1000);
    assert!(
        matches!(verify_issued_by(&long, ca.certificate_der(), NA + 1), Err(MspError::Expired { not_after, .. }) if not_after == NA)
    );
    assert!(matches!(
        verify_ca_certificate(ca.certificate_der(), NB - 1),
        Err(MspError::NotYetValid { .. })
    ));
}

#[test]
fn tampering_is_detected() {
    let ca = CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng(6))
        .expect("ca");
    let der = leaf(&ca, NB, NA);
    // Last byte: inside the signature.
    let mut bad_sig = der.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    assert!(matches!(
        verify_issued_by(&bad_sig, ca.certificate_der(), NOW),
        Err(MspError::BadCertificateSignature)
    ));
    // Change the CN inside the TBS: "client0" -> "client1".
    let pos = der
        .windows(7)
        .position(|w| w == b"client0")
        .expect("cn present");
    let mut bad_tbs = der.clone();
    bad_tbs[pos + 6] = b'1';
    assert_eq!(
        parse_certificate(&bad_tbs).expect("still parses").name,
        "client1.org1"
    );
    assert!(matches!(
        verify_issued_by(&bad_tbs, ca.certificate_der(), NOW),
        Err(MspError::BadCertificateSignature)
    ));
}

#[test]
fn malformed_input_is_rejected() {
    assert!(matches!(
        parse_certificate(b"not a certificate"),
        Err(MspError::CertificateDecode)
    ));
    assert!(matches!(
        parse_certificate(&[]),
        Err(MspError::CertificateDecode)
    ));
    let ca = CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng(7))
        .expect("ca");
    let mut der = leaf(&ca, NB, NA);
    der.push(0);
    assert!(matches!(
        parse_certificate(&der),
        Err(MspError::CertificateTrailingBytes)
    ));
    assert!(matches!(
        pem_to_der("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(MspError::NotPemCertificate)
    ));
    assert!(matches!(
        pem_to_der("garbage"),
        Err(MspError::NotPemCertificate)
    ));
    // A CA certificate has no OU: it is not a member certificate.
    assert!(matches!(
        parse_certificate(ca.certificate_der()),
        Err(MspError::MissingSubjectField { field: "OU" })
    ));
}

#[test]
fn issuing_rejects_bad_requests() {
    let mut rng = rng(8);
    let ca =
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng).expect("ca");
    let key = SigningKey::generate(Algorithm::Ed25519, &mut rng).expect("key");
    assert!(matches!(
        ca.issue("x", Role::Member, &key, NB, NA),
        Err(MspError::RoleNotCertifiable { role: Role::Member })
    ));
    assert!(matches!(
        ca.issue("x", Role::Client, &key, NA, NB),
        Err(MspError::InvalidValidity { .. })
    ));
    assert!(matches!(
        ca.issue("", Role::Client, &key, NB, NA),
        Err(MspError::EmptyField { .. })
    ));
    assert!(matches!(
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NA, NA, &mut rng),
        Err(MspError::InvalidValidity { .. })
    ));
}

#[test]
fn ca_reloads_from_parts() {
    let mut rng = rng(10);
    let ca =
        CertificateAuthority::generate("Org1", Algorithm::Ed25519, NB, NA, &mut rng).expect("ca");
    let der = ca.certificate_der().to_vec();
    let key =
        SigningKey::from_pkcs8_der(Algorithm::Ed25519, &ca.key().to_pkcs8_der().expect("pkcs8"))
            .expect("key");
    let reloaded = CertificateAuthority::from_parts(&der, key).expect("reload");
    assert_eq!(reloaded.msp_id(), "Org1");
    let issued = leaf(&reloaded, NB, NA);
    verify_issued_by(&issued, &der, NOW)
        .expect("a reloaded CA issues certificates the original verifies");

    let other = SigningKey::generate(Algorithm::Ed25519, &mut rng).expect("key");
    assert!(matches!(
        CertificateAuthority::from_parts(&der, other),
        Err(MspError::CaKeyMismatch)
    ));
}
