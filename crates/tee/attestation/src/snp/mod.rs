//! AMD SEV-SNP attestation report verification (ARK → ASK → VCEK → report).
//!
//! - The report is the 1184-byte `ATTESTATION_REPORT` (versions 2, 3 and 5); signature algorithm
//!   1 (ECDSA P-384 with SHA-384) over bytes `0x000..0x2A0`; `r` and `s` are 72-byte
//!   little-endian fields at 0x2A0 and 0x2E8 (the upper 24 bytes of each must be zero).
//! - The VCEK (DER or PEM, `VerifyInputs::vcek`) is checked to be signed by the ASK, the ASK by
//!   the ARK and the ARK by itself, all RSASSA-PSS SHA-384 (`CERT_CHAIN_INVALID`). The ASK and
//!   ARK come from `VerifyInputs::chain` (PEM, ASK then ARK, as AMD KDS serves `cert_chain`) or
//!   from the built-in chains for Milan, Genoa and Turin. The ARK must be the caller's `root`
//!   (DER or PEM) or, without one, one of the built-in AMD ARKs (`UNTRUSTED_ROOT`). VCEKs have
//!   serial number 0; `x509-parser` reads that.
//! - The VCEK must belong to the report: its hwID extension equals the report's CHIP_ID (the
//!   first 8 bytes for Turin) and its SPL extensions equal the report's REPORTED_TCB
//!   (`VCEK_MISMATCH`). TCB status is `UpToDate` when they are equal, which a valid signature
//!   implies for a VCEK (the VCEK key is derived from that TCB).
//! - The DEBUG policy bit (19) is reported as `Verdict::debug`; the attestation policy decides.

use std::collections::BTreeMap;

use aws_lc_rs::signature as lc;
use x509_parser::certificate::X509Certificate;

use crate::der::{self, TAG_INTEGER, TAG_OCTET_STRING};
use crate::encoding::SNP_REPORT_LEN;
use crate::x509::{self as cx, parse_cert};
use crate::{AttestError, Inspection, PlatformKind, Verdict, VerifyInputs};

/// AMD root keys (ARK) shipped with the crate, PEM, per product.
pub const BUILTIN_ARKS: &[(&str, &str)] = &[
    ("Milan", include_str!("builtin/builtin_milan_ark.pem")),
    ("Genoa", include_str!("builtin/builtin_genoa_ark.pem")),
    ("Turin", include_str!("builtin/builtin_turin_ark.pem")),
];
/// AMD intermediate keys (ASK) shipped with the crate, PEM, per product.
pub const BUILTIN_ASKS: &[(&str, &str)] = &[
    ("Milan", include_str!("builtin/builtin_milan_ask.pem")),
    ("Genoa", include_str!("builtin/builtin_genoa_ask.pem")),
    ("Turin", include_str!("builtin/builtin_turin_ask.pem")),
];

const SIGNED_LEN: usize = 0x2A0;

/// The fields of an SNP report this verifier uses.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub version: u32,
    pub guest_svn: u32,
    pub policy: u64,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: u32,
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub id_key_digest: [u8; 48],
    pub author_key_digest: [u8; 48],
    pub reported_tcb: [u8; 8],
    pub chip_id: [u8; 64],
    pub r: [u8; 72],
    pub s: [u8; 72],
}

fn arr<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[off..off + N]);
    out
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(arr(b, off))
}

/// Parses a report of exactly [`SNP_REPORT_LEN`] bytes.
pub(crate) fn parse(b: &[u8]) -> Result<Report, AttestError> {
    if b.len() < SNP_REPORT_LEN {
        return Err(AttestError::EvidenceTruncated {
            what: "SEV-SNP report",
            need: SNP_REPORT_LEN,
            have: b.len(),
        });
    }
    if b.len() > SNP_REPORT_LEN {
        return Err(AttestError::malformed(format!(
            "SEV-SNP report is {} bytes, expected {SNP_REPORT_LEN}",
            b.len()
        )));
    }
    let version = u32_at(b, 0);
    if !matches!(version, 2 | 3 | 5) {
        return Err(AttestError::UnsupportedEvidence {
            reason: format!("SEV-SNP report version {version}"),
        });
    }
    let sig_algo = u32_at(b, 0x34);
    if sig_algo != 1 {
        return Err(AttestError::UnsupportedEvidence {
            reason: format!("SEV-SNP signature algorithm {sig_algo}"),
        });
    }
    Ok(Report {
        version,
        guest_svn: u32_at(b, 0x04),
        policy: u64::from_le_bytes(arr(b, 0x08)),
        family_id: arr(b, 0x10),
        image_id: arr(b, 0x20),
        vmpl: u32_at(b, 0x30),
        report_data: arr(b, 0x50),
        measurement: arr(b, 0x90),
        host_data: arr(b, 0xC0),
        id_key_digest: arr(b, 0xE0),
        author_key_digest: arr(b, 0x110),
        reported_tcb: arr(b, 0x180),
        chip_id: arr(b, 0x1A0),
        r: arr(b, 0x2A0),
        s: arr(b, 0x2E8),
    })
}

/// What a VCEK's AMD extensions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VcekInfo {
    pub product_name: String,
    pub bl_spl: u8,
    pub tee_spl: u8,
    pub snp_spl: u8,
    pub ucode_spl: u8,
    pub fmc_spl: Option<u8>,
    pub hwid: Vec<u8>,
}

/// AMD OID 1.3.6.1.4.1.3704.1 content prefix.
const AMD_OID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01];

fn vcek_bad(reason: &str) -> AttestError {
    AttestError::CertMalformed {
        what: "VCEK extensions",
        reason: reason.into(),
    }
}

pub(crate) fn vcek_info(cert: &X509Certificate<'_>) -> Result<VcekInfo, AttestError> {
    let (mut product, mut hwid) = (None, None);
    let mut spl: [Option<u8>; 10] = [None; 10];
    for ext in cert.extensions() {
        let Some(arcs) = ext.oid.as_bytes().strip_prefix(AMD_OID) else {
            continue;
        };
        match arcs {
            [2] => {
                let v = der::exactly(ext.value, der::TAG_IA5_STRING)
                    .ok_or_else(|| vcek_bad("productName"))?;
                product = Some(String::from_utf8(v.to_vec()).map_err(|_| vcek_bad("productName"))?);
            }
            // AMD KDS puts the raw chip id in the extension (64 bytes; 8 for Turin); accept a
            // DER OCTET STRING around it too.
            [4] => {
                let v = match ext.value.len() {
                    8 | 64 => ext.value,
                    _ => {
                        der::exactly(ext.value, TAG_OCTET_STRING).ok_or_else(|| vcek_bad("hwID"))?
                    }
                };
                hwid = Some(v.to_vec());
            }
            [3, n @ 1..=9] => {
                let v = der::exactly(ext.value, TAG_INTEGER)
                    .and_then(der::uint)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or_else(|| vcek_bad("SPL"))?;
                spl[*n as usize] = Some(v);
            }
            _ => {}
        }
    }
    Ok(VcekInfo {
        product_name: product.ok_or_else(|| vcek_bad("missing productName"))?,
        bl_spl: spl[1].ok_or_else(|| vcek_bad("missing blSPL"))?,
        tee_spl: spl[2].ok_or_else(|| vcek_bad("missing teeSPL"))?,
        snp_spl: spl[3].ok_or_else(|| vcek_bad("missing snpSPL"))?,
        ucode_spl: spl[8].ok_or_else(|| vcek_bad("missing ucodeSPL"))?,
        fmc_spl: spl[9],
        hwid: hwid.ok_or_else(|| vcek_bad("missing hwID"))?,
    })
}

/// Product family ("Milan") and stepping suffix ("B0") of a KDS product name ("Milan-B0").
pub(crate) fn split_product(name: &str) -> (&str, Option<&str>) {
    match name.split_once('-') {
        Some((p, s)) => (p, Some(s)),
        None => (name, None),
    }
}

/// The machine stepping of a KDS stepping suffix: its trailing digit ("B0" → 0, "B1" → 1), as
/// go-sev-guest reads Milan/Genoa product names.
pub(crate) fn stepping_number(suffix: &str) -> Option<u8> {
    suffix
        .chars()
        .last()?
        .to_digit(10)
        .and_then(|d| u8::try_from(d).ok())
}

/// `(bootloader, tee, snp, microcode, fmc)` of a TCB_VERSION, per product layout.
fn tcb_parts(tcb: &[u8; 8], product: &str) -> (u8, u8, u8, u8, Option<u8>) {
    if product == "Turin" {
        (tcb[1], tcb[2], tcb[3], tcb[7], Some(tcb[0]))
    } else {
        (tcb[0], tcb[1], tcb[6], tcb[7], None)
    }
}

fn find_builtin(list: &[(&str, &'static str)], product: &str) -> Option<&'static str> {
    list.iter()
        .find(|(p, _)| *p == product)
        .map(|(_, pem)| *pem)
}

/// Parses a report without verifying it.
pub(crate) fn inspect(evidence: &[u8]) -> Result<Inspection, AttestError> {
    let r = parse(evidence)?;
    Ok(Inspection {
        platform: PlatformKind::SevSnp,
        version: r.version,
        measurement: r.measurement.to_vec(),
        report_data: r.report_data.to_vec(),
        debug: r.policy & DEBUG_POLICY_BIT != 0,
    })
}

/// SNP guest policy bit 19: debugging allowed.
const DEBUG_POLICY_BIT: u64 = 1 << 19;

/// A VCEK whose chain verified, with what its extensions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcekSummary {
    /// KDS product name, e.g. `Milan-B0`.
    pub product_name: String,
    /// Certificate serial number, hex (AMD KDS VCEKs have serial 0).
    pub serial_hex: String,
    pub bl_spl: u8,
    pub tee_spl: u8,
    pub snp_spl: u8,
    pub ucode_spl: u8,
    /// Turin and later.
    pub fmc_spl: Option<u8>,
    /// Chip id (64 bytes; 8 bytes for Turin).
    pub hwid: Vec<u8>,
}

/// Verifies a VCEK (DER or PEM) up to a trusted ARK at `now`: see the module documentation for
/// where the ASK/ARK and the trust anchor come from.
pub fn verify_vcek_chain(
    vcek: &[u8],
    chain: Option<&[u8]>,
    root: Option<&[u8]>,
    now: u64,
) -> Result<VcekSummary, AttestError> {
    let vcek_der = cx::der_or_pem_cert(vcek, "VCEK")?;
    let (summary, _) = verify_vcek_chain_der(&vcek_der, chain, root, now)?;
    Ok(summary)
}

/// As [`verify_vcek_chain`], also returning the VCEK's public key (SEC1 point).
fn verify_vcek_chain_der(
    vcek_der: &[u8],
    chain: Option<&[u8]>,
    root: Option<&[u8]>,
    now: u64,
) -> Result<(VcekSummary, Vec<u8>), AttestError> {
    let vcek = parse_cert(vcek_der, "VCEK")?;
    let info = vcek_info(&vcek)?;
    let (product, _) = split_product(&info.product_name);

    // ASK and ARK.
    let chain_der: Vec<Vec<u8>> = match chain {
        Some(pem) => cx::der_or_pem_certs(pem, "ASK/ARK chain")?,
        None => {
            let ask = find_builtin(BUILTIN_ASKS, product);
            let ark = find_builtin(BUILTIN_ARKS, product);
            match (ask, ark) {
                (Some(ask), Some(ark)) => {
                    let mut v = cx::pem_certs(ask.as_bytes(), "built-in ASK")?;
                    v.extend(cx::pem_certs(ark.as_bytes(), "built-in ARK")?);
                    v
                }
                _ => {
                    return Err(AttestError::MissingCollateral {
                        what: "ASK/ARK chain (unknown product)",
                    });
                }
            }
        }
    };
    if chain_der.len() != 2 {
        return Err(AttestError::CertChainInvalid {
            what: "ASK/ARK chain",
            reason: format!("{} certificates, expected ASK then ARK", chain_der.len()),
        });
    }
    let ask = parse_cert(&chain_der[0], "ASK")?;
    let ark = parse_cert(&chain_der[1], "ARK")?;

    // Trust anchor.
    let trusted = match root {
        Some(root) => {
            let root_der = cx::der_or_pem_cert(root, "trust anchor").map_err(|e| {
                AttestError::TrustAnchorInvalid {
                    reason: e.to_string(),
                }
            })?;
            root_der == chain_der[1]
        }
        None => BUILTIN_ARKS.iter().any(|(_, pem)| {
            cx::pem_certs(pem.as_bytes(), "built-in ARK")
                .is_ok_and(|v| v.first() == Some(&chain_der[1]))
        }),
    };

    // Signatures: ARK self-signed, ASK by ARK, VCEK by ASK.
    if !cx::cert_signed_by(&ark, ark.public_key()) {
        return Err(AttestError::CertChainInvalid {
            what: "ARK",
            reason: "not self-signed".into(),
        });
    }
    if !trusted {
        return Err(AttestError::UntrustedRoot { what: "ARK" });
    }
    if !cx::cert_signed_by(&ask, ark.public_key()) {
        return Err(AttestError::CertChainInvalid {
            what: "ASK",
            reason: "not signed by the ARK".into(),
        });
    }
    if !cx::cert_signed_by(&vcek, ask.public_key()) {
        return Err(AttestError::CertChainInvalid {
            what: "VCEK",
            reason: "not signed by the ASK".into(),
        });
    }
    cx::check_validity(&ark, now, "ARK")?;
    cx::check_validity(&ask, now, "ASK")?;
    cx::check_validity(&vcek, now, "VCEK")?;
    let key = vcek.public_key().subject_public_key.data.to_vec();
    Ok((
        VcekSummary {
            product_name: info.product_name,
            serial_hex: hex::encode(vcek.raw_serial()),
            bl_spl: info.bl_spl,
            tee_spl: info.tee_spl,
            snp_spl: info.snp_spl,
            ucode_spl: info.ucode_spl,
            fmc_spl: info.fmc_spl,
            hwid: info.hwid,
        },
        key,
    ))
}

/// Verifies an SNP report; `evidence` is the decoded report.
pub(crate) fn verify(
    evidence: &[u8],
    inputs: &VerifyInputs,
    now: u64,
) -> Result<Verdict, AttestError> {
    let report = parse(evidence)?;
    let vcek_bytes = inputs
        .vcek
        .as_deref()
        .ok_or(AttestError::MissingCollateral { what: "VCEK" })?;
    let vcek_der = cx::der_or_pem_cert(vcek_bytes, "VCEK")?;
    let (info, vcek_key) = verify_vcek_chain_der(
        &vcek_der,
        inputs.chain.as_deref(),
        inputs.root.as_deref(),
        now,
    )?;
    let (product, stepping) = split_product(&info.product_name);

    // Report signature.
    if !verify_report_signature(evidence, &report, &vcek_key) {
        return Err(AttestError::ReportSignatureInvalid {
            what: "SEV-SNP report",
        });
    }

    // VCEK ↔ report binding.
    let hw_ok = match info.hwid.len() {
        64 => info.hwid[..] == report.chip_id[..],
        8 => info.hwid[..] == report.chip_id[..8],
        _ => false,
    };
    if !hw_ok {
        return Err(AttestError::VcekMismatch {
            reason: "VCEK hwID is not the report's CHIP_ID".into(),
        });
    }
    let (bl, tee, snp, ucode, fmc) = tcb_parts(&report.reported_tcb, product);
    let spl_ok = bl == info.bl_spl
        && tee == info.tee_spl
        && snp == info.snp_spl
        && ucode == info.ucode_spl
        && (fmc.is_none() || fmc == info.fmc_spl.or(Some(0)));
    if !spl_ok {
        return Err(AttestError::VcekMismatch {
            reason: format!(
                "REPORTED_TCB {} differs from the VCEK SPLs (bl {}, tee {}, snp {}, ucode {})",
                hex::encode(report.reported_tcb),
                info.bl_spl,
                info.tee_spl,
                info.snp_spl,
                info.ucode_spl
            ),
        });
    }

    let debug = report.policy & DEBUG_POLICY_BIT != 0;
    let mut extra = BTreeMap::new();
    extra.insert("product".into(), product.to_string());
    extra.insert("product_name".into(), info.product_name.clone());
    extra.insert("vcek_serial".into(), info.serial_hex.clone());
    if let Some(st) = stepping {
        extra.insert("stepping".into(), st.to_string());
        if let Some(n) = stepping_number(st) {
            extra.insert("stepping_number".into(), n.to_string());
        }
    }
    extra.insert("chip_id".into(), hex::encode(report.chip_id));
    extra.insert("report_version".into(), report.version.to_string());
    extra.insert("guest_svn".into(), report.guest_svn.to_string());
    extra.insert("policy".into(), format!("{:#x}", report.policy));
    extra.insert("vmpl".into(), report.vmpl.to_string());
    extra.insert("reported_tcb".into(), hex::encode(report.reported_tcb));
    extra.insert("host_data".into(), hex::encode(report.host_data));
    extra.insert("family_id".into(), hex::encode(report.family_id));
    extra.insert("image_id".into(), hex::encode(report.image_id));
    extra.insert("id_key_digest".into(), hex::encode(report.id_key_digest));
    extra.insert(
        "author_key_digest".into(),
        hex::encode(report.author_key_digest),
    );
    Ok(Verdict {
        platform: PlatformKind::SevSnp,
        measurement: report.measurement.to_vec(),
        report_data: report.report_data.to_vec(),
        tcb_status: "UpToDate".into(),
        advisories: Vec::new(),
        debug,
        is_secure: !debug,
        extra,
    })
}

/// ECDSA P-384/SHA-384 over `report[..0x2A0]` with little-endian `r`, `s`.
fn verify_report_signature(raw: &[u8], report: &Report, vcek_key: &[u8]) -> bool {
    if report.r[48..]
        .iter()
        .chain(&report.s[48..])
        .any(|&b| b != 0)
    {
        return false;
    }
    let mut sig = [0u8; 96];
    for i in 0..48 {
        sig[i] = report.r[47 - i];
        sig[48 + i] = report.s[47 - i];
    }
    lc::UnparsedPublicKey::new(&lc::ECDSA_P384_SHA384_FIXED, vcek_key)
        .verify(&raw[..SIGNED_LEN], &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_names() {
        assert_eq!(split_product("Milan-B0"), ("Milan", Some("B0")));
        assert_eq!(split_product("Turin"), ("Turin", None));
        assert_eq!(stepping_number("B1"), Some(1));
        assert_eq!(stepping_number(""), None);
        assert_eq!(
            tcb_parts(&[3, 0, 0, 0, 0, 0, 8, 0x73], "Milan"),
            (3, 0, 8, 0x73, None)
        );
        assert_eq!(
            tcb_parts(&[1, 2, 3, 4, 0, 0, 0, 9], "Turin"),
            (2, 3, 4, 9, Some(1))
        );
    }

    #[test]
    fn builtin_chains_parse() {
        for (_, pem) in BUILTIN_ARKS.iter().chain(BUILTIN_ASKS) {
            let certs = cx::pem_certs(pem.as_bytes(), "builtin").expect("builtin PEM");
            assert_eq!(certs.len(), 1);
        }
    }
}
