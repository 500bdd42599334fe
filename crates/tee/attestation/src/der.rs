//! A minimal, bounds-checked DER reader for the vendor certificate extensions (Intel SGX PCK
//! extension, AMD VCEK extensions). Definite lengths only, at most 4 length bytes.

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_ENUMERATED: u8 = 0x0A;
pub(crate) const TAG_IA5_STRING: u8 = 0x16;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// Reads one TLV: returns `(tag, value, rest)`.
pub(crate) fn read_tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Reads a TLV that must have `tag`.
pub(crate) fn expect(buf: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, v, rest) = read_tlv(buf)?;
    (t == tag).then_some((v, rest))
}

/// Decodes a whole buffer that is exactly one TLV with `tag`.
pub(crate) fn exactly(buf: &[u8], tag: u8) -> Option<&[u8]> {
    let (v, rest) = expect(buf, tag)?;
    rest.is_empty().then_some(v)
}

/// A non-negative INTEGER (or ENUMERATED) content that fits in a u64.
pub(crate) fn uint(content: &[u8]) -> Option<u64> {
    if content.is_empty() || content[0] & 0x80 != 0 {
        return None;
    }
    let c = if content.len() > 1 && content[0] == 0 {
        &content[1..]
    } else {
        content
    };
    if c.len() > 8 {
        return None;
    }
    Some(c.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_and_integers() {
        assert_eq!(
            read_tlv(&[0x02, 0x01, 0x05, 0xFF]),
            Some((0x02, &[5u8][..], &[0xFFu8][..]))
        );
        assert_eq!(
            read_tlv(&[0x04, 0x81, 0x02, 1, 2]),
            Some((0x04, &[1u8, 2][..], &[][..]))
        );
        assert_eq!(read_tlv(&[0x04, 0x82, 0x00]), None);
        assert_eq!(read_tlv(&[0x04, 0x05, 1]), None);
        assert_eq!(read_tlv(&[0x04, 0x80]), None);
        assert_eq!(read_tlv(&[0x04, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(uint(&[0x00, 0x80]), Some(128));
        assert_eq!(uint(&[0x80]), None);
        assert_eq!(uint(&[]), None);
        assert_eq!(uint(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), None);
        assert_eq!(
            exactly(&[0x16, 0x01, b'a'], TAG_IA5_STRING),
            Some(&b"a"[..])
        );
        assert_eq!(exactly(&[0x16, 0x01, b'a', 0], TAG_IA5_STRING), None);
    }
}
