//! Minimal, bounds-checked parsing of the fields the backends need from raw evidence: the
//! measurement and the report data (and the SEV-SNP VMPL). This is **not** verification: the
//! signature chain is judged by `arcanum-attestation`. It lets a backend return its own
//! measurement and check that fresh evidence carries the report data it asked for.
//!
//! Layouts (all integers little-endian):
//! - DCAP quote header, 48 bytes: `version: u16` at 0, `att_key_type: u16` at 2,
//!   `tee_type: u32` at 4 (`0x00` SGX, `0x81` TDX).
//! - Versions 3 and 4: the report body follows the header at offset 48. Version 5: `body_type:
//!   u16` at 48, `body_size: u32` at 50, body at 54 (SGX type 1 / 384 bytes, TDX 1.0 type 2 /
//!   584 bytes, TDX 1.5 type 3 / 648 bytes).
//! - SGX report body (384 bytes): MRENCLAVE at 64 (32 bytes), REPORTDATA at 320 (64 bytes).
//! - TD report body (584 or 648 bytes): MRTD at 136 (48 bytes), REPORTDATA at 520 (64 bytes).
//! - SEV-SNP `ATTESTATION_REPORT` (0x4A0 = 1184 bytes, versions 2–5): `version: u32` at 0,
//!   `vmpl: u32` at 0x30, REPORT_DATA at 0x50 (64 bytes), MEASUREMENT at 0x90 (48 bytes).

use crate::error::PlatformError;
use crate::platform::REPORT_DATA_LEN;

/// Largest accepted DCAP quote (a real one with its PCK chain is about 5 KiB).
pub(crate) const MAX_QUOTE_LEN: usize = 64 * 1024;
/// Size of an SEV-SNP attestation report.
pub(crate) const SNP_REPORT_LEN: usize = 0x4A0;

const QUOTE_HEADER_LEN: usize = 48;
const V5_BODY_PREFIX_LEN: usize = 6;
const TEE_TYPE_SGX: u32 = 0x00;
const TEE_TYPE_TDX: u32 = 0x81;
const SGX_BODY_LEN: usize = 384;
const TD10_BODY_LEN: usize = 584;
const TD15_BODY_LEN: usize = 648;
const SGX_MRENCLAVE: usize = 64;
const SGX_REPORT_DATA: usize = 320;
const TD_MRTD: usize = 136;
const TD_REPORT_DATA: usize = 520;
const SNP_VMPL: usize = 0x30;
const SNP_REPORT_DATA: usize = 0x50;
const SNP_MEASUREMENT: usize = 0x90;
const SNP_MEASUREMENT_LEN: usize = 48;

const WHAT_SGX: &str = "SGX quote";
const WHAT_TDX: &str = "TDX quote";
const WHAT_SNP: &str = "SEV-SNP report";

/// The fields the backends need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    /// MRENCLAVE, MRTD or MEASUREMENT.
    pub measurement: Vec<u8>,
    /// The 64-byte report data.
    pub report_data: [u8; REPORT_DATA_LEN],
    /// SEV-SNP VMPL; `None` for quotes.
    pub vmpl: Option<u32>,
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn too_short(what: &'static str, len: usize, min: usize) -> PlatformError {
    PlatformError::EvidenceTooShort { what, len, min }
}

/// Returns the offset of the report body after checking the header, the TEE type, the version,
/// the (v5) body type and size, and that the whole body is present.
fn quote_body(
    quote: &[u8],
    what: &'static str,
    tee_type: u32,
    allowed_v5_bodies: &[(u16, usize)],
    v34_body_len: usize,
    allow_v3: bool,
) -> Result<usize, PlatformError> {
    if quote.len() > MAX_QUOTE_LEN {
        return Err(PlatformError::EvidenceTooLarge {
            what,
            max: MAX_QUOTE_LEN,
        });
    }
    let (Some(version), Some(found_tee)) = (le_u16(quote, 0), le_u32(quote, 4)) else {
        return Err(too_short(what, quote.len(), QUOTE_HEADER_LEN));
    };
    if quote.len() < QUOTE_HEADER_LEN {
        return Err(too_short(what, quote.len(), QUOTE_HEADER_LEN));
    }
    if found_tee != tee_type {
        return Err(PlatformError::WrongTeeType {
            what,
            expected: tee_type,
            found: found_tee,
        });
    }
    let (body, body_len) = match version {
        3 if allow_v3 => (QUOTE_HEADER_LEN, v34_body_len),
        4 => (QUOTE_HEADER_LEN, v34_body_len),
        5 => {
            let (Some(body_type), Some(size)) = (
                le_u16(quote, QUOTE_HEADER_LEN),
                le_u32(quote, QUOTE_HEADER_LEN + 2),
            ) else {
                return Err(too_short(
                    what,
                    quote.len(),
                    QUOTE_HEADER_LEN + V5_BODY_PREFIX_LEN,
                ));
            };
            let Some(&(_, len)) = allowed_v5_bodies
                .iter()
                .find(|(t, l)| *t == body_type && usize::try_from(size).ok() == Some(*l))
            else {
                return Err(PlatformError::UnsupportedQuoteBody {
                    what,
                    body_type,
                    size,
                });
            };
            (QUOTE_HEADER_LEN + V5_BODY_PREFIX_LEN, len)
        }
        other => {
            return Err(PlatformError::UnsupportedEvidenceVersion {
                what,
                version: u32::from(other),
            });
        }
    };
    let end = body + body_len;
    if quote.len() < end {
        return Err(too_short(what, quote.len(), end));
    }
    Ok(body)
}

fn report_data_at(b: &[u8], at: usize) -> [u8; REPORT_DATA_LEN] {
    let mut out = [0u8; REPORT_DATA_LEN];
    // Callers have checked that `at + 64 <= b.len()`; `get` keeps this panic-free regardless.
    if let Some(src) = b.get(at..at + REPORT_DATA_LEN) {
        out.copy_from_slice(src);
    }
    out
}

fn field(b: &[u8], at: usize, len: usize) -> Vec<u8> {
    b.get(at..at + len).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Parses an SGX DCAP quote (version 3, 4 or 5).
pub(crate) fn sgx_quote(quote: &[u8]) -> Result<Fields, PlatformError> {
    let body = quote_body(
        quote,
        WHAT_SGX,
        TEE_TYPE_SGX,
        &[(1, SGX_BODY_LEN)],
        SGX_BODY_LEN,
        true,
    )?;
    Ok(Fields {
        measurement: field(quote, body + SGX_MRENCLAVE, 32),
        report_data: report_data_at(quote, body + SGX_REPORT_DATA),
        vmpl: None,
    })
}

/// Parses a TDX DCAP quote (version 4, or 5 with a TD 1.0 or 1.5 body).
pub(crate) fn tdx_quote(quote: &[u8]) -> Result<Fields, PlatformError> {
    let body = quote_body(
        quote,
        WHAT_TDX,
        TEE_TYPE_TDX,
        &[(2, TD10_BODY_LEN), (3, TD15_BODY_LEN)],
        TD10_BODY_LEN,
        false,
    )?;
    Ok(Fields {
        measurement: field(quote, body + TD_MRTD, 48),
        report_data: report_data_at(quote, body + TD_REPORT_DATA),
        vmpl: None,
    })
}

/// Parses an SEV-SNP attestation report (exactly 1184 bytes, version 2 to 5).
pub(crate) fn snp_report(report: &[u8]) -> Result<Fields, PlatformError> {
    if report.len() < SNP_REPORT_LEN {
        return Err(too_short(WHAT_SNP, report.len(), SNP_REPORT_LEN));
    }
    if report.len() > SNP_REPORT_LEN {
        return Err(PlatformError::EvidenceTooLarge {
            what: WHAT_SNP,
            max: SNP_REPORT_LEN,
        });
    }
    let version = le_u32(report, 0).unwrap_or(0);
    if !(2..=5).contains(&version) {
        return Err(PlatformError::UnsupportedEvidenceVersion {
            what: WHAT_SNP,
            version,
        });
    }
    Ok(Fields {
        measurement: field(report, SNP_MEASUREMENT, SNP_MEASUREMENT_LEN),
        report_data: report_data_at(report, SNP_REPORT_DATA),
        vmpl: le_u32(report, SNP_VMPL),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tdx_v4() -> Vec<u8> {
        let mut q = vec![0u8; QUOTE_HEADER_LEN + TD10_BODY_LEN + 4];
        q[0] = 4;
        q[4] = 0x81;
        q[QUOTE_HEADER_LEN + TD_MRTD] = 0xAA;
        q[QUOTE_HEADER_LEN + TD_REPORT_DATA] = 0xBB;
        q
    }

    #[test]
    fn synthetic_tdx_v4_fields() -> Result<(), PlatformError> {
        let f = tdx_quote(&tdx_v4())?;
        assert_eq!(f.measurement.len(), 48);
        assert_eq!(f.measurement[0], 0xAA);
        assert_eq!(f.report_data[0], 0xBB);
        Ok(())
    }

    #[test]
    fn every_truncation_of_a_tdx_quote_is_rejected() {
        let q = tdx_v4();
        for len in 0..QUOTE_HEADER_LEN + TD10_BODY_LEN {
            assert!(
                matches!(
                    tdx_quote(&q[..len]),
                    Err(PlatformError::EvidenceTooShort { .. })
                ),
                "length {len}"
            );
        }
    }

    #[test]
    fn header_checks() {
        let mut q = tdx_v4();
        q[4] = 0;
        assert!(matches!(
            tdx_quote(&q),
            Err(PlatformError::WrongTeeType {
                expected: 0x81,
                found: 0,
                ..
            })
        ));
        // An SGX quote with the TDX layout's tee type zero but version 4 parses as SGX.
        assert!(sgx_quote(&q).is_ok());
        let mut q = tdx_v4();
        q[0] = 3;
        assert!(matches!(
            tdx_quote(&q),
            Err(PlatformError::UnsupportedEvidenceVersion { version: 3, .. })
        ));
        let mut q = tdx_v4();
        q[0] = 5;
        q[48] = 9; // body type 9
        assert!(matches!(
            tdx_quote(&q),
            Err(PlatformError::UnsupportedQuoteBody { body_type: 9, .. })
        ));
        assert!(matches!(
            tdx_quote(&vec![0u8; MAX_QUOTE_LEN + 1]),
            Err(PlatformError::EvidenceTooLarge { .. })
        ));
    }

    #[test]
    fn snp_sizes_and_versions() {
        let mut r = vec![0u8; SNP_REPORT_LEN];
        r[0] = 2;
        r[SNP_VMPL] = 1;
        r[SNP_MEASUREMENT + 47] = 0xCC;
        let Ok(f) = snp_report(&r) else {
            panic!("valid synthetic report rejected")
        };
        assert_eq!(f.vmpl, Some(1));
        assert_eq!(f.measurement[47], 0xCC);
        assert!(matches!(
            snp_report(&r[..SNP_REPORT_LEN - 1]),
            Err(PlatformError::EvidenceTooShort { .. })
        ));
        let mut long = r.clone();
        long.push(0);
        assert!(matches!(
            snp_report(&long),
            Err(PlatformError::EvidenceTooLarge { .. })
        ));
        r[0] = 1;
        assert!(matches!(
            snp_report(&r),
            Err(PlatformError::UnsupportedEvidenceVersion { version: 1, .. })
        ));
    }
}
