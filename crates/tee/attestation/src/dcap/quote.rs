//! Intel DCAP quote parsing (SGX quote v3/v4/v5, TDX quote v4/v5), strictly bounds-checked.
//!
//! Layout (all integers little-endian):
//! - header, 48 bytes: version u16, attestation key type u16, TEE type u32, QE SVN u16,
//!   PCE SVN u16, QE vendor id [16], user data [20];
//! - v5 only: body descriptor, type u16 (1 SGX, 2 TD 1.0, 3 TD 1.5) and size u32;
//! - body: SGX enclave report (384) or TD report (584; 648 for TD 1.5);
//! - signature data length u32, then the signature data: ECDSA signature r||s [64],
//!   attestation key x||y [64], then
//!   - v3: QE report [384], QE report signature [64], QE auth data (u16 length + bytes),
//!     certification data (type u16, size u32, bytes);
//!   - v4/v5: certification data of type 6 whose bytes hold the QE report certification data
//!     (QE report, signature, auth data, inner certification data as above).
//!
//! The signed region is the header, the v5 descriptor and the body.

use crate::AttestError;
use crate::encoding::Reader;

pub(crate) const ENCLAVE_REPORT_LEN: usize = 384;
pub(crate) const TD10_REPORT_LEN: usize = 584;
pub(crate) const TD15_REPORT_LEN: usize = 648;
pub(crate) const TEE_TYPE_SGX: u32 = 0;
pub(crate) const TEE_TYPE_TDX: u32 = 0x81;
const ATTESTATION_KEY_ECDSA_P256: u16 = 2;
/// Intel's QE vendor id.
pub(crate) const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];
/// Certification data type: PCK leaf + intermediate + root, PEM.
pub(crate) const CERT_TYPE_PCK_CHAIN: u16 = 5;
/// Certification data type: QE report certification data (v4/v5 outer wrapper).
const CERT_TYPE_QE_REPORT: u16 = 6;

/// An SGX enclave report (`sgx_report_body_t`), also the QE report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnclaveReport {
    pub cpu_svn: [u8; 16],
    pub misc_select: u32,
    pub attributes: [u8; 16],
    pub mr_enclave: [u8; 32],
    pub mr_signer: [u8; 32],
    pub isv_prod_id: u16,
    pub isv_svn: u16,
    pub report_data: [u8; 64],
}

impl EnclaveReport {
    pub(crate) fn parse(b: &[u8]) -> Result<Self, AttestError> {
        let mut r = Reader::new(b);
        let cpu_svn = r.array("enclave report cpu_svn")?;
        let misc_select = r.u32("enclave report misc_select")?;
        r.take(28, "enclave report reserved")?;
        let attributes = r.array("enclave report attributes")?;
        let mr_enclave = r.array("enclave report mr_enclave")?;
        r.take(32, "enclave report reserved")?;
        let mr_signer = r.array("enclave report mr_signer")?;
        r.take(96, "enclave report reserved")?;
        let isv_prod_id = r.u16("enclave report isv_prod_id")?;
        let isv_svn = r.u16("enclave report isv_svn")?;
        r.take(60, "enclave report reserved")?;
        let report_data = r.array("enclave report report_data")?;
        Ok(EnclaveReport {
            cpu_svn,
            misc_select,
            attributes,
            mr_enclave,
            mr_signer,
            isv_prod_id,
            isv_svn,
            report_data,
        })
    }
}

/// A TD report (TDX 1.0; TDX 1.5 adds `tee_tcb_svn2` and `mr_servicetd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TdReport {
    pub tee_tcb_svn: [u8; 16],
    pub mr_seam: [u8; 48],
    pub mr_signer_seam: [u8; 48],
    pub seam_attributes: [u8; 8],
    pub td_attributes: [u8; 8],
    pub xfam: [u8; 8],
    pub mr_td: [u8; 48],
    pub mr_config_id: [u8; 48],
    pub mr_owner: [u8; 48],
    pub mr_owner_config: [u8; 48],
    pub rt_mr: [[u8; 48]; 4],
    pub report_data: [u8; 64],
    /// TDX 1.5 only.
    pub tee_tcb_svn2: Option<[u8; 16]>,
    /// TDX 1.5 only.
    pub mr_service_td: Option<[u8; 48]>,
}

impl TdReport {
    fn parse(b: &[u8], td15: bool) -> Result<Self, AttestError> {
        let mut r = Reader::new(b);
        let tee_tcb_svn = r.array("TD report tee_tcb_svn")?;
        let mr_seam = r.array("TD report mr_seam")?;
        let mr_signer_seam = r.array("TD report mr_signer_seam")?;
        let seam_attributes = r.array("TD report seam_attributes")?;
        let td_attributes = r.array("TD report td_attributes")?;
        let xfam = r.array("TD report xfam")?;
        let mr_td = r.array("TD report mr_td")?;
        let mr_config_id = r.array("TD report mr_config_id")?;
        let mr_owner = r.array("TD report mr_owner")?;
        let mr_owner_config = r.array("TD report mr_owner_config")?;
        let rt_mr = [
            r.array("TD report rtmr0")?,
            r.array("TD report rtmr1")?,
            r.array("TD report rtmr2")?,
            r.array("TD report rtmr3")?,
        ];
        let report_data = r.array("TD report report_data")?;
        let (tee_tcb_svn2, mr_service_td) = if td15 {
            (
                Some(r.array("TD report tee_tcb_svn2")?),
                Some(r.array("TD report mr_servicetd")?),
            )
        } else {
            (None, None)
        };
        Ok(TdReport {
            tee_tcb_svn,
            mr_seam,
            mr_signer_seam,
            seam_attributes,
            td_attributes,
            xfam,
            mr_td,
            mr_config_id,
            mr_owner,
            mr_owner_config,
            rt_mr,
            report_data,
            tee_tcb_svn2,
            mr_service_td,
        })
    }
}

/// The attested body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Sgx(EnclaveReport),
    Td(Box<TdReport>),
}

/// A parsed quote. Slices point into the caller's buffer.
#[derive(Debug)]
pub(crate) struct Quote<'a> {
    pub version: u16,
    pub tee_type: u32,
    pub body: Body,
    /// Header (+ v5 descriptor) + body: the bytes the attestation key signs.
    pub signed: &'a [u8],
    pub signature: [u8; 64],
    pub attestation_key: [u8; 64],
    pub qe_report_raw: &'a [u8],
    pub qe_report: EnclaveReport,
    pub qe_report_signature: [u8; 64],
    pub qe_auth_data: &'a [u8],
    pub cert_type: u16,
    pub cert_data: &'a [u8],
    /// Number of zero bytes after the quote (accepted padding, see `parse`).
    pub trailing_zeros: usize,
}

/// Parses a quote. Trailing bytes after the declared signature data are accepted only when
/// they are all zero (a fixed-size buffer padded by the producer, as in Automata's
/// `quotev4.hex`); they are outside the signed region and carry no information. Any non-zero
/// trailing byte is rejected.
pub(crate) fn parse(b: &[u8]) -> Result<Quote<'_>, AttestError> {
    let mut r = Reader::new(b);
    let version = r.u16("quote header")?;
    let key_type = r.u16("quote header")?;
    let tee_type = r.u32("quote header")?;
    r.take(4, "quote header")?; // QE SVN, PCE SVN
    let vendor: [u8; 16] = r.array("quote header")?;
    r.take(20, "quote header")?;
    if key_type != ATTESTATION_KEY_ECDSA_P256 {
        return Err(AttestError::UnsupportedEvidence {
            reason: format!("attestation key type {key_type} (only ECDSA P-256 is supported)"),
        });
    }
    if vendor != INTEL_QE_VENDOR_ID {
        return Err(AttestError::UnsupportedEvidence {
            reason: "QE vendor id is not Intel's".into(),
        });
    }
    let body = match (version, tee_type) {
        (3, TEE_TYPE_SGX) | (4, TEE_TYPE_SGX) => Body::Sgx(EnclaveReport::parse(
            r.take(ENCLAVE_REPORT_LEN, "SGX enclave report")?,
        )?),
        (4, TEE_TYPE_TDX) => Body::Td(Box::new(TdReport::parse(
            r.take(TD10_REPORT_LEN, "TD report")?,
            false,
        )?)),
        (5, TEE_TYPE_SGX) | (5, TEE_TYPE_TDX) => {
            let body_type = r.u16("quote v5 body descriptor")?;
            let size = r.u32("quote v5 body descriptor")? as usize;
            let (expect_size, sgx) = match (body_type, tee_type) {
                (1, TEE_TYPE_SGX) => (ENCLAVE_REPORT_LEN, true),
                (2, TEE_TYPE_TDX) => (TD10_REPORT_LEN, false),
                (3, TEE_TYPE_TDX) => (TD15_REPORT_LEN, false),
                _ => {
                    return Err(AttestError::UnsupportedEvidence {
                        reason: format!(
                            "quote v5 body type {body_type} for TEE type {tee_type:#x}"
                        ),
                    });
                }
            };
            if size != expect_size {
                return Err(AttestError::malformed(format!(
                    "quote v5 body size {size}, expected {expect_size}"
                )));
            }
            let raw = r.take(size, "quote body")?;
            if sgx {
                Body::Sgx(EnclaveReport::parse(raw)?)
            } else {
                Body::Td(Box::new(TdReport::parse(raw, body_type == 3)?))
            }
        }
        _ => {
            return Err(AttestError::UnsupportedEvidence {
                reason: format!("quote version {version} with TEE type {tee_type:#x}"),
            });
        }
    };
    let signed_len = r.pos();
    let sig_data_len = r.u32("signature data length")? as usize;
    let sig_data = r.take(sig_data_len, "signature data")?;
    let trailing = r.rest();
    if trailing.iter().any(|&x| x != 0) {
        return Err(AttestError::malformed(
            "non-zero bytes after the quote's signature data",
        ));
    }

    let mut s = Reader::new(sig_data);
    let signature = s.array("quote signature")?;
    let attestation_key = s.array("attestation key")?;
    let qe_section: &[u8] = if version == 3 {
        s.rest()
    } else {
        let outer_type = s.u16("certification data type")?;
        let outer_len = s.u32("certification data size")? as usize;
        if outer_type != CERT_TYPE_QE_REPORT {
            return Err(AttestError::UnsupportedEvidence {
                reason: format!("outer certification data type {outer_type} (expected 6)"),
            });
        }
        let inner = s.take(outer_len, "QE report certification data")?;
        if !s.rest().is_empty() {
            return Err(AttestError::malformed("bytes after the certification data"));
        }
        inner
    };
    let mut q = Reader::new(qe_section);
    let qe_report_raw = q.take(ENCLAVE_REPORT_LEN, "QE report")?;
    let qe_report = EnclaveReport::parse(qe_report_raw)?;
    let qe_report_signature = q.array("QE report signature")?;
    let auth_len = q.u16("QE auth data length")? as usize;
    let qe_auth_data = q.take(auth_len, "QE auth data")?;
    let cert_type = q.u16("certification data type")?;
    let cert_len = q.u32("certification data size")? as usize;
    let cert_data = q.take(cert_len, "certification data")?;
    if !q.rest().is_empty() {
        return Err(AttestError::malformed("bytes after the certification data"));
    }
    Ok(Quote {
        version,
        tee_type,
        body,
        signed: &b[..signed_len],
        signature,
        attestation_key,
        qe_report_raw,
        qe_report,
        qe_report_signature,
        qe_auth_data,
        cert_type,
        cert_data,
        trailing_zeros: trailing.len(),
    })
}
