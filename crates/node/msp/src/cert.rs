//! Certificate authorities, certificate issuing (rcgen), parsing (x509-parser) and verification
//! of a certificate by its CA (aws-lc-rs signature check).

use arcanum_crypto::{Algorithm, PublicKey, SigningKey};
use arcanum_types::{IdentityId, Role};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm,
};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Name};

use crate::MspError;

/// What a member certificate says, after parsing. Produced by [`parse_certificate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the certificate DER.
    pub id: IdentityId,
    /// Subject `O`: the organisation's MSP id.
    pub msp_id: String,
    /// Subject `OU` (Fabric NodeOU): client, peer, admin or orderer.
    pub role: Role,
    /// Subject `CN`.
    pub name: String,
    /// The subject key in arcanum-crypto's encoding.
    pub public_key: PublicKey,
    /// Validity window, Unix seconds, both bounds inclusive.
    pub not_before: u64,
    pub not_after: u64,
}

/// What a CA certificate says. Produced by [`parse_ca_certificate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaInfo {
    /// Subject `O`: the MSP id of the organisation the CA serves.
    pub msp_id: String,
    /// Subject `CN`.
    pub name: String,
    pub public_key: PublicKey,
    pub not_before: u64,
    pub not_after: u64,
}

/// An organisation's certificate authority: a self-signed CA certificate and its signing key.
///
/// The CA certificate's subject is `O=<msp_id>, CN=ca.<msp_id>`, with basicConstraints
/// `cA=TRUE, pathLen=0` (it issues only end-entity certificates).
pub struct CertificateAuthority {
    msp_id: String,
    key: SigningKey,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("msp_id", &self.msp_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn offset_time(unix: u64) -> Result<time::OffsetDateTime, MspError> {
    let secs = i64::try_from(unix).map_err(|_| MspError::InvalidSetting {
        field: "validity",
        reason: "timestamp out of range",
    })?;
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| MspError::InvalidSetting {
        field: "validity",
        reason: "timestamp out of range",
    })
}

fn check_window(not_before: u64, not_after: u64) -> Result<(), MspError> {
    if not_before >= not_after {
        return Err(MspError::InvalidValidity {
            not_before,
            not_after,
        });
    }
    Ok(())
}

fn rcgen_alg(alg: Algorithm) -> &'static SignatureAlgorithm {
    match alg {
        Algorithm::Ed25519 => &rcgen::PKCS_ED25519,
        Algorithm::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        Algorithm::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
    }
}

/// A subject public key in arcanum-crypto's encoding, which for all three algorithms is exactly
/// the content of the X.509 `subjectPublicKey` BIT STRING.
struct SubjectKey<'a>(&'a PublicKey);

impl PublicKeyData for SubjectKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        rcgen_alg(self.0.algorithm)
    }
}

/// Converts an arcanum signing key into rcgen's key pair (through PKCS#8) for certificate signing.
fn rcgen_key(key: &SigningKey) -> Result<KeyPair, MspError> {
    let der = key.to_pkcs8_der()?;
    let kp = KeyPair::try_from(der.as_slice()).map_err(MspError::Issue)?;
    if kp.algorithm() != rcgen_alg(key.algorithm()) {
        return Err(MspError::CaKeyMismatch);
    }
    Ok(kp)
}

fn ca_name(msp_id: &str, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, msp_id);
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(
    msp_id: &str,
    cn: &str,
    not_before: u64,
    not_after: u64,
) -> Result<CertificateParams, MspError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = ca_name(msp_id, cn);
    params.not_before = offset_time(not_before)?;
    params.not_after = offset_time(not_after)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl CertificateAuthority {
    /// Creates a CA for `msp_id` with a fresh key of `algorithm` and a self-signed certificate
    /// valid over `[not_before, not_after]` (Unix seconds).
    pub fn generate(
        msp_id: &str,
        algorithm: Algorithm,
        not_before: u64,
        not_after: u64,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<CertificateAuthority, MspError> {
        let key = SigningKey::generate(algorithm, rng)?;
        CertificateAuthority::self_signed(msp_id, key, not_before, not_after)
    }

    /// Creates a CA for `msp_id` around an existing key, with a self-signed certificate.
    pub fn self_signed(
        msp_id: &str,
        key: SigningKey,
        not_before: u64,
        not_after: u64,
    ) -> Result<CertificateAuthority, MspError> {
        check_window(not_before, not_after)?;
        if msp_id.is_empty() {
            return Err(MspError::EmptyField {
                entry: "ca".into(),
                field: "msp_id",
            });
        }
        let mut params = ca_params(msp_id, &format!("ca.{msp_id}"), not_before, not_after)?;
        params.serial_number = Some(SerialNumber::from_slice(&serial_for(&[
            msp_id.as_bytes(),
            b"ca",
            &key.public_key().bytes,
            &not_before.to_le_bytes(),
        ])));
        let kp = rcgen_key(&key)?;
        let cert = params.self_signed(&kp).map_err(MspError::Issue)?;
        let cert_der = cert.der().to_vec();
        Ok(CertificateAuthority {
            msp_id: msp_id.to_owned(),
            key,
            cert_der,
            issuer: Issuer::new(params, kp),
        })
    }

    /// Reloads a CA from its certificate (DER) and its key. The key must match the certificate,
    /// and the certificate must be a valid self-signed CA certificate (any time: validity is
    /// checked when certificates are verified, not here).
    pub fn from_parts(cert_der: &[u8], key: SigningKey) -> Result<CertificateAuthority, MspError> {
        let info = parse_ca_certificate(cert_der)?;
        if info.public_key != key.public_key() {
            return Err(MspError::CaKeyMismatch);
        }
        verify_signature_and_names(cert_der, cert_der, None)?;
        // Re-create the issuer with the same subject name so that issued certificates carry an
        // issuer name byte-identical to the CA's subject (rcgen encodes names deterministically).
        let params = ca_params(&info.msp_id, &info.name, info.not_before, info.not_after)?;
        let kp = rcgen_key(&key)?;
        Ok(CertificateAuthority {
            msp_id: info.msp_id,
            key,
            cert_der: cert_der.to_vec(),
            issuer: Issuer::new(params, kp),
        })
    }

    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The CA's signing key (to store it in a key file).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn certificate_pem(&self) -> String {
        der_to_pem(&self.cert_der)
    }

    /// Issues a certificate `O=<msp_id>, OU=<role>, CN=<name>` for `subject_key`, valid over
    /// `[not_before, not_after]`. Returns the PEM.
    pub fn issue(
        &self,
        name: &str,
        role: Role,
        subject_key: &SigningKey,
        not_before: u64,
        not_after: u64,
    ) -> Result<String, MspError> {
        self.issue_for_public_key(name, role, &subject_key.public_key(), not_before, not_after)
    }

    /// As [`CertificateAuthority::issue`], for a public key only (the private key stays elsewhere).
    pub fn issue_for_public_key(
        &self,
        name: &str,
        role: Role,
        subject_key: &PublicKey,
        not_before: u64,
        not_after: u64,
    ) -> Result<String, MspError> {
        check_window(not_before, not_after)?;
        if role == Role::Member {
            return Err(MspError::RoleNotCertifiable { role });
        }
        if name.is_empty() {
            return Err(MspError::EmptyField {
                entry: "certificate".into(),
                field: "name",
            });
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, self.msp_id.as_str());
        dn.push(DnType::OrganizationalUnitName, role.as_str());
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.not_before = offset_time(not_before)?;
        params.not_after = offset_time(not_after)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&serial_for(&[
            self.msp_id.as_bytes(),
            role.as_str().as_bytes(),
            name.as_bytes(),
            &subject_key.bytes,
            &not_before.to_le_bytes(),
            &not_after.to_le_bytes(),
        ])));
        let cert = params
            .signed_by(&SubjectKey(subject_key), &self.issuer)
            .map_err(MspError::Issue)?;
        Ok(cert.pem())
    }
}

/// Serial numbers: 16 bytes of SHA-256 over length-prefixed fields, made positive with a
/// non-zero leading byte (a minimal 16-byte INTEGER, within RFC 5280's 20-octet bound).
fn serial_for(parts: &[&[u8]]) -> [u8; 16] {
    let mut buf = Vec::new();
    for p in parts {
        buf.extend_from_slice(&(p.len() as u64).to_le_bytes());
        buf.extend_from_slice(p);
    }
    let h = arcanum_crypto::sha256(&buf);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.0[..16]);
    out[0] = (out[0] & 0x3f) | 0x40;
    out
}

/// Encodes a certificate DER as PEM.
pub fn der_to_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// Decodes the first PEM `CERTIFICATE` block.
pub fn pem_to_der(text: &str) -> Result<Vec<u8>, MspError> {
    let block = pem::parse(text).map_err(|_| MspError::NotPemCertificate)?;
    if block.tag() != "CERTIFICATE" {
        return Err(MspError::NotPemCertificate);
    }
    Ok(block.into_contents())
}

fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>, MspError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| MspError::CertificateDecode)?;
    if !rest.is_empty() {
        return Err(MspError::CertificateTrailingBytes);
    }
    Ok(cert)
}

/// The single value of a subject attribute; missing, repeated or non-string values are errors.
fn single_attr<'a>(
    mut it: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
    field: &'static str,
) -> Result<Option<String>, MspError> {
    let Some(first) = it.next() else {
        return Ok(None);
    };
    if it.next().is_some() {
        return Err(MspError::MissingSubjectField { field });
    }
    let s = first
        .as_str()
        .map_err(|_| MspError::MissingSubjectField { field })?;
    Ok(Some(s.to_owned()))
}

fn required(v: Option<String>, field: &'static str) -> Result<String, MspError> {
    match v {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(MspError::MissingSubjectField { field }),
    }
}

struct Subject {
    o: String,
    ou: Option<String>,
    cn: String,
}

fn subject_of(name: &X509Name<'_>) -> Result<Subject, MspError> {
    Ok(Subject {
        o: required(single_attr(name.iter_organization(), "O")?, "O")?,
        ou: single_attr(name.iter_organizational_unit(), "OU")?,
        cn: required(single_attr(name.iter_common_name(), "CN")?, "CN")?,
    })
}

/// Extracts the subject key in arcanum-crypto's encoding: Ed25519 raw 32 bytes, P-256 SEC1
/// uncompressed 65 bytes, RSA-2048 PKCS#1 `RSAPublicKey` DER. Anything else is rejected.
pub(crate) fn public_key_of(spki: &SubjectPublicKeyInfo<'_>) -> Result<PublicKey, MspError> {
    let oid = &spki.algorithm.algorithm;
    let bytes = spki.subject_public_key.data.to_vec();
    if *oid == OID_SIG_ED25519 {
        if spki.algorithm.parameters.is_some() || bytes.len() != 32 {
            return Err(MspError::UnsupportedKeyAlgorithm);
        }
        Ok(PublicKey {
            algorithm: Algorithm::Ed25519,
            bytes,
        })
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        if curve != Some(OID_EC_P256) || bytes.len() != 65 || bytes[0] != 0x04 {
            return Err(MspError::UnsupportedKeyAlgorithm);
        }
        Ok(PublicKey {
            algorithm: Algorithm::P256,
            bytes,
        })
    } else if *oid == OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) if rsa.key_size() == 2048 => {
                Ok(PublicKey {
                    algorithm: Algorithm::Rsa2048,
                    bytes,
                })
            }
            _ => Err(MspError::UnsupportedKeyAlgorithm),
        }
    } else {
        Err(MspError::UnsupportedKeyAlgorithm)
    }
}

fn unix(t: &x509_parser::time::ASN1Time) -> u64 {
    // Pre-1970 bounds clamp to 0: "valid since forever" / "expired since forever".
    u64::try_from(t.timestamp()).unwrap_or(0)
}

/// Parses a member certificate (DER). It must carry exactly one `O`, `OU` and `CN`, the OU must
/// be a certifiable role and the key one of the L5 algorithms. No signature or time check here:
/// see [`verify_issued_by`].
pub fn parse_certificate(der: &[u8]) -> Result<CertInfo, MspError> {
    let cert = parse_der(der)?;
    let subject = subject_of(cert.subject())?;
    let ou = subject
        .ou
        .ok_or(MspError::MissingSubjectField { field: "OU" })?;
    let role = match Role::parse(&ou) {
        Some(r) if r != Role::Member => r,
        _ => return Err(MspError::UnknownRoleOu { ou }),
    };
    Ok(CertInfo {
        id: IdentityId::of_certificate(der),
        msp_id: subject.o,
        role,
        name: subject.cn,
        public_key: public_key_of(cert.public_key())?,
        not_before: unix(&cert.validity().not_before),
        not_after: unix(&cert.validity().not_after),
    })
}

/// Parses a CA certificate (DER): exactly one `O` and `CN`, basicConstraints `cA=TRUE`, and an
/// L5 key. The self-signature is not checked here (see [`verify_ca_certificate`]).
pub fn parse_ca_certificate(der: &[u8]) -> Result<CaInfo, MspError> {
    let cert = parse_der(der)?;
    let subject = subject_of(cert.subject())?;
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        _ => return Err(MspError::IssuerNotCa),
    }
    Ok(CaInfo {
        msp_id: subject.o,
        name: subject.cn,
        public_key: public_key_of(cert.public_key())?,
        not_before: unix(&cert.validity().not_before),
        not_after: unix(&cert.validity().not_after),
    })
}

fn check_time(cert: &X509Certificate<'_>, now: u64) -> Result<(), MspError> {
    let not_before = unix(&cert.validity().not_before);
    let not_after = unix(&cert.validity().not_after);
    if now < not_before {
        return Err(MspError::NotYetValid { not_before, now });
    }
    if now > not_after {
        return Err(MspError::Expired { not_after, now });
    }
    Ok(())
}

fn same_alg(a: &AlgorithmIdentifier<'_>, b: &AlgorithmIdentifier<'_>) -> bool {
    a.algorithm == b.algorithm
        && a.parameters.as_ref().map(|p| p.as_bytes())
            == b.parameters.as_ref().map(|p| p.as_bytes())
}

/// Issuer name, CA flag and signature of `cert_der` against `ca_der`, plus time checks of both
/// when `now` is given.
fn verify_signature_and_names(
    cert_der: &[u8],
    ca_der: &[u8],
    now: Option<u64>,
) -> Result<(), MspError> {
    let cert = parse_der(cert_der)?;
    let ca = parse_der(ca_der)?;
    match ca.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        _ => return Err(MspError::IssuerNotCa),
    }
    if cert.issuer().as_raw() != ca.subject().as_raw() {
        return Err(MspError::IssuerMismatch);
    }
    let ca_key = public_key_of(ca.public_key())?;
    if !same_alg(&cert.signature_algorithm, &cert.tbs_certificate.signature) {
        return Err(MspError::SignatureAlgorithmMismatch);
    }
    let sig_oid = &cert.signature_algorithm.algorithm;
    use aws_lc_rs::signature as sig;
    let alg: &'static dyn sig::VerificationAlgorithm = match ca_key.algorithm {
        Algorithm::Ed25519 if *sig_oid == OID_SIG_ED25519 => &sig::ED25519,
        Algorithm::P256 if *sig_oid == OID_SIG_ECDSA_WITH_SHA256 => &sig::ECDSA_P256_SHA256_ASN1,
        Algorithm::Rsa2048 if *sig_oid == OID_PKCS1_SHA256WITHRSA => {
            &sig::RSA_PKCS1_2048_8192_SHA256
        }
        _ => return Err(MspError::UnsupportedSignatureAlgorithm),
    };
    let tbs: &[u8] = cert.tbs_certificate.as_ref();
    sig::UnparsedPublicKey::new(alg, &ca_key.bytes)
        .verify(tbs, &cert.signature_value.data)
        .map_err(|_| MspError::BadCertificateSignature)?;
    if let Some(now) = now {
        check_time(&ca, now)?;
        check_time(&cert, now)?;
    }
    Ok(())
}

/// Verifies that `cert_der` was issued by the CA `ca_cert_der` and that both are valid at
/// `now_unix`: the CA has basicConstraints `cA=TRUE`, the certificate's issuer name equals the
/// CA's subject name, the signature verifies under the CA key (Ed25519, ECDSA-P256-SHA256 or
/// RSA-PKCS1-SHA256 only) and `now_unix` lies in both validity windows.
pub fn verify_issued_by(
    cert_der: &[u8],
    ca_cert_der: &[u8],
    now_unix: u64,
) -> Result<(), MspError> {
    verify_signature_and_names(cert_der, ca_cert_der, Some(now_unix))
}

/// Verifies a self-signed CA certificate at `now_unix` and returns what it says.
pub fn verify_ca_certificate(ca_cert_der: &[u8], now_unix: u64) -> Result<CaInfo, MspError> {
    let info = parse_ca_certificate(ca_cert_der)?;
    verify_signature_and_names(ca_cert_der, ca_cert_der, Some(now_unix))?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_sixteen_bytes_and_field_separated() {
        let a = serial_for(&[b"ab", b"c"]);
        let b = serial_for(&[b"a", b"bc"]);
        assert_ne!(a, b, "length prefixes keep field boundaries");
        for s in [a, b] {
            assert_eq!(s[0] & 0xc0, 0x40, "positive with a non-zero leading byte");
        }
    }

    #[test]
    fn validity_bounds_are_checked() {
        assert!(matches!(
            check_window(5, 5),
            Err(MspError::InvalidValidity { .. })
        ));
        assert!(check_window(5, 6).is_ok());
        assert!(matches!(
            offset_time(u64::MAX),
            Err(MspError::InvalidSetting {
                field: "validity",
                ..
            })
        ));
    }

    #[test]
    fn key_algorithms_map_to_their_x509_signature_algorithms() {
        assert_eq!(rcgen_alg(Algorithm::Ed25519), &rcgen::PKCS_ED25519);
        assert_eq!(rcgen_alg(Algorithm::P256), &rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(rcgen_alg(Algorithm::Rsa2048), &rcgen::PKCS_RSA_SHA256);
    }
}
