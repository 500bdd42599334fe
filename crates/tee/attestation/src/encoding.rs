//! Evidence framing: size bounds, hex/raw/JSON-string decoding and type detection, plus a
//! bounds-checked byte reader used by every parser in this crate.

use std::borrow::Cow;

use crate::AttestError;

/// Largest accepted evidence, in bytes, after decoding.
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024;
/// Largest accepted input before decoding: hex doubles the size, plus room for whitespace,
/// quotes and a `0x` prefix.
pub const MAX_ENCODED_EVIDENCE_BYTES: usize = 2 * MAX_EVIDENCE_BYTES + 4096;

/// Magic that opens Arcanum simulation evidence.
pub const SIM_MAGIC: &[u8; 8] = b"ARCSIM01";
/// Size of an AMD SEV-SNP `ATTESTATION_REPORT`.
pub const SNP_REPORT_LEN: usize = 0x4A0;

/// The kind of evidence, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// Intel DCAP quote (SGX v3/v4/v5, TDX v4/v5).
    DcapQuote,
    /// AMD SEV-SNP attestation report.
    SnpReport,
    /// Arcanum simulation evidence.
    Simulated,
}

/// Decodes evidence given as raw bytes, as hex (optionally `0x`-prefixed, with whitespace), or
/// as a JSON string holding hex. Enforces [`MAX_ENCODED_EVIDENCE_BYTES`] before and
/// [`MAX_EVIDENCE_BYTES`] after decoding.
pub fn decode_evidence(input: &[u8]) -> Result<Cow<'_, [u8]>, AttestError> {
    if input.len() > MAX_ENCODED_EVIDENCE_BYTES {
        return Err(AttestError::EvidenceTooLarge {
            len: input.len(),
            max: MAX_ENCODED_EVIDENCE_BYTES,
        });
    }
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Err(AttestError::EvidenceEmpty);
    }
    let (text, explicit) = strip_text_wrapping(trimmed)?;
    if explicit && text.trim_ascii().is_empty() {
        return Err(AttestError::EvidenceEmpty);
    }
    let looks_hex = !text.is_empty()
        && text
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    let out: Cow<'_, [u8]> = if looks_hex {
        let digits: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !digits.len().is_multiple_of(2) {
            return Err(AttestError::malformed("odd number of hex digits"));
        }
        Cow::Owned(hex::decode(&digits).map_err(|_| AttestError::malformed("invalid hex"))?)
    } else if explicit {
        return Err(AttestError::malformed(
            "quoted or 0x-prefixed evidence is not hex",
        ));
    } else {
        Cow::Borrowed(input)
    };
    if out.is_empty() {
        return Err(AttestError::EvidenceEmpty);
    }
    if out.len() > MAX_EVIDENCE_BYTES {
        return Err(AttestError::EvidenceTooLarge {
            len: out.len(),
            max: MAX_EVIDENCE_BYTES,
        });
    }
    Ok(out)
}

/// Strips a surrounding JSON string (`"..."`) and a `0x` prefix. Returns the inner text and
/// whether any wrapping was present (which makes the input textual for sure).
fn strip_text_wrapping(t: &[u8]) -> Result<(&[u8], bool), AttestError> {
    let mut explicit = false;
    let mut t = t;
    if t.first() == Some(&b'"') {
        if t.len() < 2 || t.last() != Some(&b'"') {
            return Err(AttestError::malformed("unterminated JSON string"));
        }
        t = t[1..t.len() - 1].trim_ascii();
        explicit = true;
    }
    if t.len() >= 2 && t[0] == b'0' && (t[1] == b'x' || t[1] == b'X') {
        t = &t[2..];
        explicit = true;
    }
    Ok((t, explicit))
}

/// Detects the evidence type from its leading bytes.
pub fn detect(evidence: &[u8]) -> Result<EvidenceKind, AttestError> {
    if evidence.starts_with(SIM_MAGIC) {
        return Ok(EvidenceKind::Simulated);
    }
    if evidence.len() >= 8 {
        let version = u16::from_le_bytes([evidence[0], evidence[1]]);
        let key_type = u16::from_le_bytes([evidence[2], evidence[3]]);
        let tee_type = u32::from_le_bytes([evidence[4], evidence[5], evidence[6], evidence[7]]);
        if (3..=5).contains(&version)
            && (2..=3).contains(&key_type)
            && (tee_type == 0 || tee_type == 0x81)
        {
            return Ok(EvidenceKind::DcapQuote);
        }
        let snp_version = u32::from_le_bytes([evidence[0], evidence[1], evidence[2], evidence[3]]);
        if (2..=5).contains(&snp_version) {
            // SIGNATURE_ALGO (offset 0x34) is 1 (ECDSA P-384/SHA-384) in every SNP report.
            let sig_algo_ok = evidence.get(0x34..0x38).is_some_and(|b| b == [1, 0, 0, 0]);
            if sig_algo_ok || evidence.len() == SNP_REPORT_LEN {
                return Ok(EvidenceKind::SnpReport);
            }
        }
    }
    Err(AttestError::UnknownEvidenceType)
}

/// A forward-only reader that never reads out of bounds.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], AttestError> {
        let have = self.buf.len() - self.pos;
        if n > have {
            return Err(AttestError::EvidenceTruncated {
                what,
                need: n,
                have,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], AttestError> {
        let s = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, AttestError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, AttestError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_all_textual_forms() {
        let raw = [0x03u8, 0x00, 0x02, 0x00];
        for form in [
            &b"03000200"[..],
            b"0x03000200",
            b"  0X0300 0200\n",
            b"\"03000200\"",
            b"\"0x03000200\"",
        ] {
            assert_eq!(
                decode_evidence(form).map(|c| c.into_owned()),
                Ok(raw.to_vec()),
                "{form:?}"
            );
        }
        assert_eq!(
            decode_evidence(&raw).map(|c| c.into_owned()),
            Ok(raw.to_vec())
        );
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(
            decode_evidence(b"   ").map(|_| ()),
            Err(AttestError::EvidenceEmpty)
        );
        assert_eq!(
            decode_evidence(b"\"\"").map(|_| ()),
            Err(AttestError::EvidenceEmpty)
        );
        assert_eq!(
            decode_evidence(b"0x123").map_err(|e| e.code()),
            Err("EVIDENCE_MALFORMED")
        );
        assert_eq!(
            decode_evidence(b"\"zz\"").map_err(|e| e.code()),
            Err("EVIDENCE_MALFORMED")
        );
        assert_eq!(
            decode_evidence(b"\"0011").map_err(|e| e.code()),
            Err("EVIDENCE_MALFORMED")
        );
    }

    #[test]
    fn size_bounds() {
        let big = vec![0u8; MAX_EVIDENCE_BYTES + 1];
        assert_eq!(
            decode_evidence(&big).map_err(|e| e.code()),
            Err("EVIDENCE_TOO_LARGE")
        );
        let big_hex = vec![b'0'; 2 * (MAX_EVIDENCE_BYTES + 1)];
        assert_eq!(
            decode_evidence(&big_hex).map_err(|e| e.code()),
            Err("EVIDENCE_TOO_LARGE")
        );
        let huge = vec![b'0'; MAX_ENCODED_EVIDENCE_BYTES + 1];
        assert_eq!(
            decode_evidence(&huge).map_err(|e| e.code()),
            Err("EVIDENCE_TOO_LARGE")
        );
        let ok = vec![1u8; MAX_EVIDENCE_BYTES];
        assert!(decode_evidence(&ok).is_ok());
    }

    #[test]
    fn reader_is_bounded() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a"), Ok(0x0201));
        assert_eq!(
            r.u16("b"),
            Err(AttestError::EvidenceTruncated {
                what: "b",
                need: 2,
                have: 1
            })
        );
        assert_eq!(
            r.take(usize::MAX, "c").map(|_| ()).map_err(|e| e.code()),
            Err("EVIDENCE_TRUNCATED")
        );
        assert_eq!(r.rest(), &[3]);
    }
}
