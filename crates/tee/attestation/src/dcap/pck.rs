//! The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): platform TCB
//! components, PCE SVN, CPUSVN, PCE id, FMSPC and SGX type.

use x509_parser::certificate::X509Certificate;

use crate::AttestError;
use crate::der::{self, TAG_ENUMERATED, TAG_INTEGER, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE};

/// OID arcs 1.2.840.113741.1.13.1, DER content bytes.
const SGX_EXT_OID: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01];

/// What the PCK certificate says about the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PckExtension {
    /// SGX TCB components 1..=16 (index 0 = component 1).
    pub tcb_components: [u8; 16],
    pub pce_svn: u16,
    pub cpu_svn: [u8; 16],
    pub pce_id: [u8; 2],
    pub fmspc: [u8; 6],
    /// 0 Standard, 1 Scalable, 2 Scalable with integrity.
    pub sgx_type: u8,
}

fn bad(reason: &str) -> AttestError {
    AttestError::CertMalformed {
        what: "PCK certificate SGX extension",
        reason: reason.into(),
    }
}

/// `SEQUENCE { OID, value }` pairs of a SEQUENCE's content.
/// `(OID content, value tag, value content)`.
type Entry<'a> = (&'a [u8], u8, &'a [u8]);

fn pairs(mut content: &[u8]) -> Result<Vec<Entry<'_>>, AttestError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (seq, rest) =
            der::expect(content, TAG_SEQUENCE).ok_or_else(|| bad("expected SEQUENCE"))?;
        content = rest;
        let (oid, rest) = der::expect(seq, TAG_OID).ok_or_else(|| bad("expected OID"))?;
        let (tag, value, rest) = der::read_tlv(rest).ok_or_else(|| bad("missing value"))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes in entry"));
        }
        out.push((oid, tag, value));
    }
    Ok(out)
}

/// The arcs after the SGX extension OID, e.g. `[2, 17]` for PCESVN.
fn sub_arcs(oid: &[u8]) -> Option<&[u8]> {
    oid.strip_prefix(SGX_EXT_OID)
}

fn small_uint(tag: u8, value: &[u8], want: u8, max: u64) -> Result<u64, AttestError> {
    if tag != want {
        return Err(bad("unexpected value type"));
    }
    der::uint(value)
        .filter(|&v| v <= max)
        .ok_or_else(|| bad("integer out of range"))
}

fn octets<const N: usize>(tag: u8, value: &[u8]) -> Result<[u8; N], AttestError> {
    if tag != TAG_OCTET_STRING {
        return Err(bad("expected OCTET STRING"));
    }
    value
        .try_into()
        .map_err(|_| bad("OCTET STRING of the wrong length"))
}

/// Extracts the SGX extension from a PCK certificate.
pub(crate) fn parse(cert: &X509Certificate<'_>) -> Result<PckExtension, AttestError> {
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.as_bytes() == SGX_EXT_OID)
        .ok_or_else(|| bad("missing"))?;
    let content = der::exactly(ext.value, TAG_SEQUENCE).ok_or_else(|| bad("not a SEQUENCE"))?;
    let mut tcb_components: [Option<u8>; 16] = [None; 16];
    let (mut pce_svn, mut cpu_svn, mut pce_id, mut fmspc, mut sgx_type) =
        (None, None, None, None, None);
    for (oid, tag, value) in pairs(content)? {
        match sub_arcs(oid) {
            Some([2]) => {
                if tag != TAG_SEQUENCE {
                    return Err(bad("TCB is not a SEQUENCE"));
                }
                for (oid, tag, value) in pairs(value)? {
                    match sub_arcs(oid) {
                        Some([2, n @ 1..=16]) => {
                            tcb_components[(*n - 1) as usize] =
                                Some(small_uint(tag, value, TAG_INTEGER, 255)? as u8);
                        }
                        Some([2, 17]) => {
                            pce_svn = Some(small_uint(tag, value, TAG_INTEGER, 65535)? as u16)
                        }
                        Some([2, 18]) => cpu_svn = Some(octets::<16>(tag, value)?),
                        _ => {}
                    }
                }
            }
            Some([3]) => pce_id = Some(octets::<2>(tag, value)?),
            Some([4]) => fmspc = Some(octets::<6>(tag, value)?),
            Some([5]) => sgx_type = Some(small_uint(tag, value, TAG_ENUMERATED, 255)? as u8),
            _ => {}
        }
    }
    let mut comps = [0u8; 16];
    for (o, c) in comps.iter_mut().zip(tcb_components) {
        *o = c.ok_or_else(|| bad("missing TCB component"))?;
    }
    Ok(PckExtension {
        tcb_components: comps,
        pce_svn: pce_svn.ok_or_else(|| bad("missing PCESVN"))?,
        cpu_svn: cpu_svn.ok_or_else(|| bad("missing CPUSVN"))?,
        pce_id: pce_id.ok_or_else(|| bad("missing PCE-ID"))?,
        fmspc: fmspc.ok_or_else(|| bad("missing FMSPC"))?,
        sgx_type: sgx_type.unwrap_or(0),
    })
}
