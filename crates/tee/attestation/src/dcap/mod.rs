//! Intel SGX and TDX DCAP quote verification (Intel QVL's steps, in pure Rust).
//!
//! Steps, in order (each failure has its own [`AttestError`] variant):
//! 1. parse the quote (`quote::parse`) and the collateral;
//! 2. collateral times: root CRL nextUpdate (`CRL_EXPIRED`), TCB info and QE identity
//!    issue/next update (`COLLATERAL_NOT_YET_VALID` / `COLLATERAL_EXPIRED`), PCK CRL nextUpdate,
//!    CRL thisUpdate (`COLLATERAL_NOT_YET_VALID`);
//! 3. TCB-info and QE-identity signing chains to the trust anchor, root CRL signed by the
//!    anchor, certificate validity and revocation, then the collateral signatures;
//! 4. PCK chain (from the quote, the collateral or `VerifyInputs::chain`) to the anchor; PCK CRL
//!    signed by the PCK's issuer; validity; revocation;
//! 5. QE report signed by the PCK; QE report data = SHA-256(attestation key || QE auth data);
//!    QE report against the QE identity (MISCSELECT, attributes, MRSIGNER, ISVPRODID) and its
//!    TCB level;
//! 6. quote signature by the attestation key over header and body;
//! 7. platform TCB: FMSPC/PCE id/TEE type of the TCB info, first level met by the PCK's SGX
//!    components and PCE SVN (and, for TDX, TEE_TCB_SVN, with the TDX module identity);
//!    the status converges with the QE's and the module's (Intel QVL rules); `Revoked` rejects.
//!
//! The debug bit (SGX `ATTRIBUTES.DEBUG`, TDX `TD_ATTRIBUTES.DEBUG`) is reported, not rejected:
//! the attestation policy decides.
//!
//! dcap-qvl 0.7 was evaluated and is not used: it can swap its root, but it cannot read the
//! TCB info v2 of Intel's QVL test-PKI sample, reports failures as `anyhow` strings (so precise
//! codes would need string matching), and does not check a CRL's thisUpdate.

pub(crate) mod collateral;
mod pck;
pub(crate) mod quote;

use std::collections::BTreeMap;

use aws_lc_rs::signature as lc;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;

use crate::x509::{self as cx, parse_cert};
use crate::{AttestError, Inspection, PlatformKind, Verdict, VerifyInputs};
use collateral::{Collateral, TcbInfo, TcbStatus};
use quote::{Body, EnclaveReport, Quote, TdReport};

/// Intel SGX Root CA (production), DER. SHA-256
/// `44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3`.
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// Parses a quote without verifying it.
pub(crate) fn inspect(evidence: &[u8]) -> Result<Inspection, AttestError> {
    let q = quote::parse(evidence)?;
    let (platform, measurement, report_data, debug) = match &q.body {
        Body::Sgx(r) => (
            PlatformKind::Sgx,
            r.mr_enclave.to_vec(),
            r.report_data,
            r.attributes[0] & 0x02 != 0,
        ),
        Body::Td(td) => (
            PlatformKind::Tdx,
            td.mr_td.to_vec(),
            td.report_data,
            td.td_attributes[0] & 0x01 != 0,
        ),
    };
    Ok(Inspection {
        platform,
        version: u32::from(q.version),
        measurement,
        report_data: report_data.to_vec(),
        debug,
    })
}

/// Verifies a DCAP quote; `evidence` is the decoded quote.
pub(crate) fn verify(
    evidence: &[u8],
    inputs: &VerifyInputs,
    now: u64,
) -> Result<Verdict, AttestError> {
    let q = quote::parse(evidence)?;
    let coll_bytes = inputs
        .collateral
        .as_deref()
        .ok_or(AttestError::MissingCollateral {
            what: "DCAP collateral",
        })?;
    let coll = Collateral::parse(coll_bytes)?;

    let anchor_der = match &inputs.root {
        Some(root) => cx::der_or_pem_cert(root, "trust anchor").map_err(|e| {
            AttestError::TrustAnchorInvalid {
                reason: e.to_string(),
            }
        })?,
        None => INTEL_SGX_ROOT_CA_DER.to_vec(),
    };
    let anchor =
        parse_cert(&anchor_der, "trust anchor").map_err(|e| AttestError::TrustAnchorInvalid {
            reason: e.to_string(),
        })?;

    let root_crl = cx::parse_crl(&coll.root_ca_crl, "root CA CRL")?;
    let pck_crl = cx::parse_crl(&coll.pck_crl, "PCK CRL")?;

    // ---- 2. collateral times ----
    check_collateral_times(&coll, &root_crl, &pck_crl, now)?;

    // ---- 3. TCB info and QE identity ----
    let tcb_chain_der = cx::pem_certs(
        coll.tcb_info_issuer_chain.as_bytes(),
        "TCB info issuer chain",
    )?;
    let tcb_chain = parse_all(&tcb_chain_der, "TCB info issuer chain")?;
    cx::verify_chain(&tcb_chain, &anchor, "TCB info issuer chain")?;
    cx::check_validity(&anchor, now, "trust anchor")?;
    if !cx::crl_signed_by(&root_crl, anchor.public_key()) {
        return Err(AttestError::CrlInvalid {
            what: "root CA CRL",
            reason: "not signed by the trust anchor".into(),
        });
    }
    if cx::is_revoked(&root_crl, &anchor) {
        return Err(AttestError::CertRevoked {
            what: "trust anchor",
        });
    }
    check_certs(
        &tcb_chain,
        &anchor,
        &root_crl,
        None,
        now,
        "TCB info issuer chain",
    )?;
    verify_p256_fixed(
        tcb_chain[0].public_key().subject_public_key.data.as_ref(),
        coll.tcb_info_raw.as_bytes(),
        &coll.tcb_info_signature,
    )
    .then_some(())
    .ok_or(AttestError::CollateralSignatureInvalid { what: "TCB info" })?;

    let qe_chain_der = cx::pem_certs(
        coll.qe_identity_issuer_chain.as_bytes(),
        "QE identity issuer chain",
    )?;
    let qe_chain = parse_all(&qe_chain_der, "QE identity issuer chain")?;
    cx::verify_chain(&qe_chain, &anchor, "QE identity issuer chain")?;
    check_certs(
        &qe_chain,
        &anchor,
        &root_crl,
        None,
        now,
        "QE identity issuer chain",
    )?;
    verify_p256_fixed(
        qe_chain[0].public_key().subject_public_key.data.as_ref(),
        coll.qe_identity_raw.as_bytes(),
        &coll.qe_identity_signature,
    )
    .then_some(())
    .ok_or(AttestError::CollateralSignatureInvalid {
        what: "QE identity",
    })?;

    // ---- 4. PCK chain ----
    let pck_pem: &[u8] = if q.cert_type == quote::CERT_TYPE_PCK_CHAIN {
        q.cert_data
    } else if let Some(chain) = &coll.pck_certificate_chain {
        chain.as_bytes()
    } else if let Some(chain) = &inputs.chain {
        chain
    } else {
        return Err(AttestError::MissingCollateral {
            what: "PCK certificate chain (the quote does not carry it)",
        });
    };
    let pck_der = cx::pem_certs(pck_pem, "PCK chain")?;
    let pck_chain = parse_all(&pck_der, "PCK chain")?;
    cx::verify_chain(&pck_chain, &anchor, "PCK chain")?;
    let pck_issuer = pck_chain.get(1).unwrap_or(&anchor);
    if !cx::crl_signed_by(&pck_crl, pck_issuer.public_key()) {
        return Err(AttestError::CrlInvalid {
            what: "PCK CRL",
            reason: "not signed by the PCK certificate's issuer".into(),
        });
    }
    check_certs(
        &pck_chain,
        &anchor,
        &root_crl,
        Some(&pck_crl),
        now,
        "PCK chain",
    )?;
    let pck = &pck_chain[0];
    let pck_ext = pck::parse(pck)?;

    // ---- 5. QE report ----
    if !verify_p256_fixed(
        pck.public_key().subject_public_key.data.as_ref(),
        q.qe_report_raw,
        &q.qe_report_signature,
    ) {
        return Err(AttestError::QeReportSignatureInvalid);
    }
    let mut h = Sha256::new();
    h.update(q.attestation_key);
    h.update(q.qe_auth_data);
    let digest: [u8; 32] = h.finalize().into();
    if q.qe_report.report_data[..32] != digest
        || q.qe_report.report_data[32..].iter().any(|&b| b != 0)
    {
        return Err(AttestError::QeReportDataMismatch);
    }
    let (qe_status, qe_advisories) = check_qe_identity(&q, &coll)?;

    // ---- 6. quote signature ----
    let mut att_key = [0x04u8; 65];
    att_key[1..].copy_from_slice(&q.attestation_key);
    if !verify_p256_fixed(&att_key, q.signed, &q.signature) {
        return Err(AttestError::QuoteSignatureInvalid);
    }

    // ---- 7. platform TCB ----
    let tcb = &coll.tcb_info;
    if tcb.fmspc != pck_ext.fmspc {
        return Err(AttestError::TcbInfoMismatch {
            reason: format!(
                "TCB info FMSPC {} is not the PCK's {}",
                hex::encode(tcb.fmspc),
                hex::encode(pck_ext.fmspc)
            ),
        });
    }
    if tcb.pce_id != pck_ext.pce_id {
        return Err(AttestError::TcbInfoMismatch {
            reason: "TCB info PCE id is not the PCK's".into(),
        });
    }
    let expected_id = if q.tee_type == quote::TEE_TYPE_TDX {
        "TDX"
    } else {
        "SGX"
    };
    if tcb.id != expected_id || (expected_id == "TDX" && tcb.version < 3) {
        return Err(AttestError::TcbInfoMismatch {
            reason: format!(
                "{} quote with {} TCB info v{}",
                expected_id, tcb.id, tcb.version
            ),
        });
    }
    let (mut status, mut advisories, tcb_date) = match &q.body {
        Body::Sgx(_) => {
            let level = find_level(tcb, &pck_ext, None)?;
            (
                level.status,
                level.advisories.clone(),
                level.tcb_date.clone(),
            )
        }
        Body::Td(td) => tdx_tcb(tcb, &pck_ext, td)?,
    };
    status = status.converge(qe_status);
    for a in qe_advisories {
        if !advisories.contains(&a) {
            advisories.push(a);
        }
    }
    if status == TcbStatus::Revoked {
        return Err(AttestError::TcbRevoked);
    }

    // ---- verdict ----
    let mut extra = BTreeMap::new();
    extra.insert("quote_version".into(), q.version.to_string());
    extra.insert("fmspc".into(), hex::encode(pck_ext.fmspc));
    extra.insert("pce_svn".into(), pck_ext.pce_svn.to_string());
    extra.insert("qe_tcb_status".into(), qe_status.as_str().into());
    extra.insert("tcb_date".into(), tcb_date);
    if q.trailing_zeros > 0 {
        extra.insert("trailing_zero_padding".into(), q.trailing_zeros.to_string());
    }
    let (platform, measurement, report_data, debug) = match &q.body {
        Body::Sgx(r) => {
            sgx_extra(r, &mut extra);
            (
                PlatformKind::Sgx,
                r.mr_enclave.to_vec(),
                r.report_data,
                r.attributes[0] & 0x02 != 0,
            )
        }
        Body::Td(td) => {
            tdx_extra(td, &mut extra);
            (
                PlatformKind::Tdx,
                td.mr_td.to_vec(),
                td.report_data,
                td.td_attributes[0] & 0x01 != 0,
            )
        }
    };
    Ok(Verdict {
        platform,
        measurement,
        report_data: report_data.to_vec(),
        tcb_status: status.as_str().into(),
        advisories,
        debug,
        is_secure: !debug,
        extra,
    })
}

fn parse_all<'a>(
    ders: &'a [Vec<u8>],
    what: &'static str,
) -> Result<Vec<X509Certificate<'a>>, AttestError> {
    ders.iter().map(|d| parse_cert(d, what)).collect()
}

/// Validity of every certificate of a verified chain (except an anchor copy at its end, checked
/// once) and revocation: CA certificates against the root CRL, the leaf against `leaf_crl`.
fn check_certs(
    chain: &[X509Certificate<'_>],
    anchor: &X509Certificate<'_>,
    root_crl: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    leaf_crl: Option<&x509_parser::revocation_list::CertificateRevocationList<'_>>,
    now: u64,
    what: &'static str,
) -> Result<(), AttestError> {
    for (i, cert) in chain.iter().enumerate() {
        if cert.as_raw() == anchor.as_raw() {
            continue;
        }
        cx::check_validity(cert, now, what)?;
        // The PCK leaf is on the PCK CRL; certificates issued by the root on the root CRL.
        let crl = match (i, leaf_crl) {
            (0, Some(leaf_crl)) => leaf_crl,
            _ => root_crl,
        };
        if cx::is_revoked(crl, cert) {
            return Err(AttestError::CertRevoked { what });
        }
    }
    Ok(())
}

fn check_collateral_times(
    coll: &Collateral,
    root_crl: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    pck_crl: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    now: u64,
) -> Result<(), AttestError> {
    let now_i = i64::try_from(now).unwrap_or(i64::MAX);
    let root_w = cx::crl_window(root_crl, "root CA CRL")?;
    let pck_w = cx::crl_window(pck_crl, "PCK CRL")?;
    // This order (root CRL, TCB info, QE identity, PCK CRL) reproduces the verdicts recorded in
    // `sgx_tdx_dcap/README.md`, where several items are out of date at once.
    if now_i > root_w.1 {
        return Err(AttestError::CrlExpired {
            what: "root CA CRL",
        });
    }
    let t = &coll.tcb_info;
    if now < t.issue_date {
        return Err(AttestError::CollateralNotYetValid { what: "TCB info" });
    }
    if now > t.next_update {
        return Err(AttestError::CollateralExpired { what: "TCB info" });
    }
    let qe = &coll.qe_identity;
    if now < qe.issue_date {
        return Err(AttestError::CollateralNotYetValid {
            what: "QE identity",
        });
    }
    if now > qe.next_update {
        return Err(AttestError::CollateralExpired {
            what: "QE identity",
        });
    }
    if now_i > pck_w.1 {
        return Err(AttestError::CrlExpired { what: "PCK CRL" });
    }
    if now_i < root_w.0 {
        return Err(AttestError::CollateralNotYetValid {
            what: "root CA CRL",
        });
    }
    if now_i < pck_w.0 {
        return Err(AttestError::CollateralNotYetValid { what: "PCK CRL" });
    }
    Ok(())
}

/// ECDSA P-256/SHA-256 with a raw `r||s` signature and an uncompressed SEC1 key.
fn verify_p256_fixed(key: &[u8], msg: &[u8], sig: &[u8; 64]) -> bool {
    lc::UnparsedPublicKey::new(&lc::ECDSA_P256_SHA256_FIXED, key)
        .verify(msg, sig)
        .is_ok()
}

fn check_qe_identity(
    q: &Quote<'_>,
    coll: &Collateral,
) -> Result<(TcbStatus, Vec<String>), AttestError> {
    let id = &coll.qe_identity;
    let expected = if q.tee_type == quote::TEE_TYPE_TDX {
        "TD_QE"
    } else {
        "QE"
    };
    if id.id != expected {
        return Err(AttestError::QeIdentityMismatch {
            field: "id (QE identity is for another TEE type)",
        });
    }
    let r = &q.qe_report;
    // Intel QVL reads the JSON hex in report byte order, so compare bytes, not big-endian ints.
    let misc = r.misc_select.to_le_bytes();
    if (0..4).any(|i| misc[i] & id.miscselect_mask[i] != id.miscselect[i] & id.miscselect_mask[i]) {
        return Err(AttestError::QeIdentityMismatch {
            field: "MISCSELECT",
        });
    }
    if (0..16).any(|i| {
        r.attributes[i] & id.attributes_mask[i] != id.attributes[i] & id.attributes_mask[i]
    }) {
        return Err(AttestError::QeIdentityMismatch {
            field: "ATTRIBUTES",
        });
    }
    if r.mr_signer != id.mrsigner {
        return Err(AttestError::QeIdentityMismatch { field: "MRSIGNER" });
    }
    if r.isv_prod_id != id.isvprodid {
        return Err(AttestError::QeIdentityMismatch { field: "ISVPRODID" });
    }
    let (_, status, advisories) = id
        .levels
        .iter()
        .find(|(svn, _, _)| *svn <= r.isv_svn)
        .ok_or(AttestError::QeTcbLevelNotFound { isvsvn: r.isv_svn })?;
    Ok((*status, advisories.clone()))
}

/// The first level (highest first) whose SGX components and PCE SVN the platform meets, and,
/// for TDX, whose TDX components `tee_tcb_svn` meets (components 0 and 1 are left to the TDX
/// module identity when the module version, `tee_tcb_svn[1]`, is non-zero).
fn find_level<'a>(
    tcb: &'a TcbInfo,
    pck: &pck::PckExtension,
    tee_tcb_svn: Option<&[u8; 16]>,
) -> Result<&'a collateral::TcbLevel, AttestError> {
    tcb.levels
        .iter()
        .find(|l| {
            let sgx_ok = l
                .sgx
                .iter()
                .zip(&pck.tcb_components)
                .all(|(need, have)| have >= need)
                && pck.pce_svn >= l.pce_svn;
            let tdx_ok = match (tee_tcb_svn, &l.tdx) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(svn), Some(need)) => {
                    let skip = if svn[1] > 0 { 2 } else { 0 };
                    svn.iter()
                        .zip(need)
                        .skip(skip)
                        .all(|(have, need)| have >= need)
                }
            };
            sgx_ok && tdx_ok
        })
        .ok_or(AttestError::TcbLevelNotFound)
}

fn tdx_tcb(
    tcb: &TcbInfo,
    pck: &pck::PckExtension,
    td: &TdReport,
) -> Result<(TcbStatus, Vec<String>, String), AttestError> {
    let level = find_level(tcb, pck, Some(&td.tee_tcb_svn))?;
    let (mut status, mut advisories) = (level.status, level.advisories.clone());
    // TDX module: base identity, overridden by the identity for the module version.
    let mut module = tcb
        .tdx_module
        .as_ref()
        .ok_or_else(|| AttestError::TcbInfoMismatch {
            reason: "TDX TCB info without tdxModule".into(),
        })?;
    let version = td.tee_tcb_svn[1];
    if version > 0 {
        let want = format!("TDX_{version:02X}");
        module = tcb
            .tdx_module_identities
            .iter()
            .find(|m| m.id.eq_ignore_ascii_case(&want))
            .ok_or_else(|| AttestError::TdxModuleMismatch {
                reason: format!("no TDX module identity {want}"),
            })?;
        let isvsvn = td.tee_tcb_svn[0];
        let (_, mstatus, madv) = module
            .levels
            .iter()
            .find(|(svn, _, _)| *svn <= isvsvn)
            .ok_or_else(|| AttestError::TdxModuleMismatch {
                reason: format!("module ISVSVN {isvsvn} below every {want} TCB level"),
            })?;
        status = status.converge(*mstatus);
        for a in madv {
            if !advisories.contains(a) {
                advisories.push(a.clone());
            }
        }
    }
    if td.mr_signer_seam != module.mrsigner {
        return Err(AttestError::TdxModuleMismatch {
            reason: "MRSIGNER_SEAM differs from the TDX module identity".into(),
        });
    }
    let attrs_ok = (0..8).all(|i| {
        td.seam_attributes[i] & module.attributes_mask[i]
            == module.attributes[i] & module.attributes_mask[i]
    });
    if !attrs_ok {
        return Err(AttestError::TdxModuleMismatch {
            reason: "SEAM attributes differ from the TDX module identity".into(),
        });
    }
    Ok((status, advisories, level.tcb_date.clone()))
}

fn sgx_extra(r: &EnclaveReport, extra: &mut BTreeMap<String, String>) {
    extra.insert("mrsigner".into(), hex::encode(r.mr_signer));
    extra.insert("isv_prod_id".into(), r.isv_prod_id.to_string());
    extra.insert("isv_svn".into(), r.isv_svn.to_string());
    extra.insert("attributes".into(), hex::encode(r.attributes));
    extra.insert("misc_select".into(), format!("{:08x}", r.misc_select));
    extra.insert("cpu_svn".into(), hex::encode(r.cpu_svn));
}

fn tdx_extra(td: &TdReport, extra: &mut BTreeMap<String, String>) {
    extra.insert("mrseam".into(), hex::encode(td.mr_seam));
    extra.insert("mrsignerseam".into(), hex::encode(td.mr_signer_seam));
    extra.insert("seam_attributes".into(), hex::encode(td.seam_attributes));
    extra.insert("td_attributes".into(), hex::encode(td.td_attributes));
    extra.insert("xfam".into(), hex::encode(td.xfam));
    extra.insert("mrconfigid".into(), hex::encode(td.mr_config_id));
    extra.insert("mrowner".into(), hex::encode(td.mr_owner));
    extra.insert("mrownerconfig".into(), hex::encode(td.mr_owner_config));
    for (i, r) in td.rt_mr.iter().enumerate() {
        extra.insert(format!("rtmr{i}"), hex::encode(r));
    }
    extra.insert("tee_tcb_svn".into(), hex::encode(td.tee_tcb_svn));
    if let Some(s) = td.tee_tcb_svn2 {
        extra.insert("tee_tcb_svn2".into(), hex::encode(s));
    }
    if let Some(m) = td.mr_service_td {
        extra.insert("mrservicetd".into(), hex::encode(m));
    }
}
