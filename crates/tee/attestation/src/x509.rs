//! Certificate, CRL and time helpers shared by the DCAP and SEV-SNP verifiers.
//!
//! Parsing is `x509-parser`; signature checks go through `aws-lc-rs` (ECDSA P-256/P-384,
//! RSASSA-PSS SHA-384). Nothing here reads a clock: every time check takes the caller's `now`.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::SubjectPublicKeyInfo;

use aws_lc_rs::signature as lc;

use crate::AttestError;

/// Reads every `CERTIFICATE` block of a PEM bundle, in order, as DER.
pub(crate) fn pem_certs(pem_text: &[u8], what: &'static str) -> Result<Vec<Vec<u8>>, AttestError> {
    let blocks = pem::parse_many(pem_text).map_err(|e| AttestError::CertMalformed {
        what,
        reason: format!("PEM: {e}"),
    })?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(AttestError::CertMalformed {
            what,
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// Accepts one certificate as DER or PEM; returns DER.
pub(crate) fn der_or_pem_cert(bytes: &[u8], what: &'static str) -> Result<Vec<u8>, AttestError> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let mut certs = pem_certs(bytes, what)?;
    if certs.len() != 1 {
        return Err(AttestError::CertMalformed {
            what,
            reason: format!("expected one certificate, found {}", certs.len()),
        });
    }
    Ok(certs.remove(0))
}

/// Accepts one or more certificates as DER (a single one) or PEM.
pub(crate) fn der_or_pem_certs(
    bytes: &[u8],
    what: &'static str,
) -> Result<Vec<Vec<u8>>, AttestError> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes.to_vec()]);
    }
    pem_certs(bytes, what)
}

/// Parses a DER certificate, rejecting trailing bytes.
pub(crate) fn parse_cert<'a>(
    der: &'a [u8],
    what: &'static str,
) -> Result<X509Certificate<'a>, AttestError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(AttestError::CertMalformed {
            what,
            reason: "trailing bytes after certificate".into(),
        }),
        Err(e) => Err(AttestError::CertMalformed {
            what,
            reason: e.to_string(),
        }),
    }
}

/// Parses a DER CRL, rejecting trailing bytes.
pub(crate) fn parse_crl<'a>(
    der: &'a [u8],
    what: &'static str,
) -> Result<CertificateRevocationList<'a>, AttestError> {
    match CertificateRevocationList::from_der(der) {
        Ok(([], crl)) => Ok(crl),
        Ok(_) => Err(AttestError::CollateralMalformed {
            what,
            reason: "trailing bytes after CRL".into(),
        }),
        Err(e) => Err(AttestError::CollateralMalformed {
            what,
            reason: e.to_string(),
        }),
    }
}

const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
/// DER of the AlgorithmIdentifier for SHA-384 (with and without NULL parameters), as it appears
/// inside RSASSA-PSS parameters.
const SHA384_OID_DER: &[u8] = &[
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
];

/// Which curve an EC public key is on, if it is an EC key.
fn ec_curve(spki: &SubjectPublicKeyInfo<'_>) -> Option<&'static str> {
    if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY {
        return None;
    }
    let params = spki.algorithm.parameters.as_ref()?;
    let oid = params.as_oid().ok()?.to_id_string();
    match oid.as_str() {
        OID_P256 => Some(OID_P256),
        OID_P384 => Some(OID_P384),
        _ => None,
    }
}

/// Verifies an X.509-style signature (`alg` = signatureAlgorithm) over `msg` with the issuer's
/// public key. Supported: ECDSA with SHA-256/384 on P-256/P-384 (DER signatures) and RSASSA-PSS
/// with SHA-384, MGF1-SHA-384 and a 48-byte salt (AMD's ARK/ASK/VCEK profile).
pub(crate) fn verify_x509_signature(
    alg: &x509_parser::x509::AlgorithmIdentifier<'_>,
    issuer: &SubjectPublicKeyInfo<'_>,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let key = issuer.subject_public_key.data.as_ref();
    let alg_oid = alg.algorithm.to_id_string();
    let scheme: &'static dyn lc::VerificationAlgorithm = match (alg_oid.as_str(), ec_curve(issuer))
    {
        (OID_ECDSA_SHA256, Some(OID_P256)) => &lc::ECDSA_P256_SHA256_ASN1,
        (OID_ECDSA_SHA384, Some(OID_P256)) => &lc::ECDSA_P256_SHA384_ASN1,
        (OID_ECDSA_SHA256, Some(OID_P384)) => &lc::ECDSA_P384_SHA256_ASN1,
        (OID_ECDSA_SHA384, Some(OID_P384)) => &lc::ECDSA_P384_SHA384_ASN1,
        (OID_RSASSA_PSS, None)
            if issuer.algorithm.algorithm.to_id_string() == OID_RSA_ENCRYPTION
                && pss_params_are_sha384(alg) =>
        {
            &lc::RSA_PSS_2048_8192_SHA384
        }
        _ => return false,
    };
    lc::UnparsedPublicKey::new(scheme, key)
        .verify(msg, sig)
        .is_ok()
}

/// RSASSA-PSS parameters must name SHA-384 (hash and MGF1); the salt length (48) is enforced by
/// aws-lc's `RSA_PSS_*_SHA384`, which requires salt length = digest length.
fn pss_params_are_sha384(alg: &x509_parser::x509::AlgorithmIdentifier<'_>) -> bool {
    let Some(params) = alg.parameters.as_ref() else {
        return false;
    };
    let raw = params.as_bytes();
    // Both hashAlgorithm [0] and maskGenAlgorithm [1] (MGF1 with SHA-384) carry the SHA-384 OID.
    raw.windows(SHA384_OID_DER.len())
        .filter(|w| *w == SHA384_OID_DER)
        .count()
        >= 2
}

/// Verifies that `child` is signed by the holder of `issuer`.
pub(crate) fn cert_signed_by(
    child: &X509Certificate<'_>,
    issuer: &SubjectPublicKeyInfo<'_>,
) -> bool {
    verify_x509_signature(
        &child.signature_algorithm,
        issuer,
        child.tbs_certificate.as_ref(),
        child.signature_value.data.as_ref(),
    )
}

/// Verifies that `crl` is signed by the holder of `issuer`.
pub(crate) fn crl_signed_by(
    crl: &CertificateRevocationList<'_>,
    issuer: &SubjectPublicKeyInfo<'_>,
) -> bool {
    verify_x509_signature(
        &crl.signature_algorithm,
        issuer,
        crl.tbs_cert_list.as_ref(),
        crl.signature_value.data.as_ref(),
    )
}

/// Checks `not_before <= now <= not_after`.
pub(crate) fn check_validity(
    cert: &X509Certificate<'_>,
    now: u64,
    what: &'static str,
) -> Result<(), AttestError> {
    let v = cert.validity();
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if now < v.not_before.timestamp() {
        return Err(AttestError::CertNotYetValid { what });
    }
    if now > v.not_after.timestamp() {
        return Err(AttestError::CertExpired { what });
    }
    Ok(())
}

/// Whether the CRL lists `cert`'s serial number.
pub(crate) fn is_revoked(crl: &CertificateRevocationList<'_>, cert: &X509Certificate<'_>) -> bool {
    let serial = strip_leading_zeros(cert.raw_serial());
    crl.iter_revoked_certificates()
        .any(|r| strip_leading_zeros(r.raw_serial()) == serial)
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n..]
}

/// `thisUpdate` and `nextUpdate` of a CRL as Unix seconds (`nextUpdate` is required).
pub(crate) fn crl_window(
    crl: &CertificateRevocationList<'_>,
    what: &'static str,
) -> Result<(i64, i64), AttestError> {
    let this = crl.last_update().timestamp();
    let next = crl
        .next_update()
        .ok_or(AttestError::CollateralMalformed {
            what,
            reason: "CRL has no nextUpdate".into(),
        })?
        .timestamp();
    Ok((this, next))
}

/// Verifies a chain given leaf first (`certs[i]` signed by `certs[i+1]`) up to `anchor_der`.
/// The chain may end with the anchor itself, or with a certificate the anchor signed.
/// Every issuer must be a CA. Validity periods are checked separately ([`check_validity`]),
/// after the chain's trust has been established, so that a chain to a foreign root reports
/// [`AttestError::UntrustedRoot`] whatever its dates.
pub(crate) fn verify_chain(
    certs: &[X509Certificate<'_>],
    anchor: &X509Certificate<'_>,
    what: &'static str,
) -> Result<(), AttestError> {
    let Some(top) = certs.last() else {
        return Err(AttestError::CertChainInvalid {
            what,
            reason: "empty chain".into(),
        });
    };
    for pair in certs.windows(2) {
        let (child, parent) = (&pair[0], &pair[1]);
        if child.issuer().as_raw() != parent.subject().as_raw() {
            return Err(AttestError::CertChainInvalid {
                what,
                reason: "issuer name does not match the next certificate".into(),
            });
        }
        if !parent.is_ca() {
            return Err(AttestError::CertChainInvalid {
                what,
                reason: "issuer is not a CA".into(),
            });
        }
        if !cert_signed_by(child, parent.public_key()) {
            return Err(AttestError::CertChainInvalid {
                what,
                reason: "certificate signature does not verify".into(),
            });
        }
    }
    if top.as_raw() == anchor.as_raw() {
        return Ok(());
    }
    let top_is_self_signed = top.issuer().as_raw() == top.subject().as_raw();
    if !top_is_self_signed
        && top.issuer().as_raw() == anchor.subject().as_raw()
        && cert_signed_by(top, anchor.public_key())
    {
        return Ok(());
    }
    Err(AttestError::UntrustedRoot { what })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (also `+00:00`) into Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    if rest != "Z" && rest != "z" && rest != "+00:00" {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 || y < 1970
    {
        return None;
    }
    // Days from civil (Howard Hinnant), for the proleptic Gregorian calendar.
    let (y, mo) = (y as i64, mo as i64);
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + se) as i64;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2025-06-19T10:56:11Z"), Some(1_750_330_571));
        assert_eq!(parse_rfc3339("2025-07-19T10:01:18Z"), Some(1_752_919_278));
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00.123Z"),
            Some(1_709_164_800)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00+00:00"),
            Some(1_709_164_800)
        );
        for bad in [
            "",
            "2025-06-19",
            "2025-13-01T00:00:00Z",
            "2025-06-19T10:56:11",
            "2025-06-19T10:56:11+01:00",
            "x025-06-19T10:56:11Z",
            "2025-06-19T10:56:11.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
