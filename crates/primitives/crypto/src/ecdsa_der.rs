//! Strict DER handling of ECDSA P-256 signatures (`ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
//! s INTEGER }`) and the low-`S` rule.
//!
//! ECDSA signatures are malleable: `(r, s)` and `(r, n − s)` both verify. Like Hyperledger
//! Fabric, Arcanum signs only with `s ≤ n/2` and rejects `s > n/2` at verification, so that a
//! signature has exactly one accepted encoding (the same property strict Ed25519 gives).
//! Non-minimal or BER encodings are rejected as malformed.

use crate::CryptoError;

/// The P-256 group order `n`, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// `⌊n / 2⌋`, big-endian.
const HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Largest DER `ECDSA-Sig-Value` for P-256: 2 + 2 × (2 + 33).
pub(crate) const MAX_DER_LEN: usize = 72;

/// Parses a strict-DER P-256 signature into 32-byte big-endian `(r, s)`.
/// Structural problems give [`CryptoError::MalformedSignature`].
pub(crate) fn parse(sig: &[u8]) -> Result<([u8; 32], [u8; 32]), CryptoError> {
    let bad = CryptoError::MalformedSignature;
    if sig.len() > MAX_DER_LEN {
        return Err(bad);
    }
    let (&tag, rest) = sig.split_first().ok_or(bad.clone())?;
    let (&len, body) = rest.split_first().ok_or(bad.clone())?;
    // Short-form length only (the whole value is < 128 bytes); it must cover the rest exactly.
    if tag != 0x30 || len >= 0x80 || usize::from(len) != body.len() {
        return Err(bad);
    }
    let (r, body) = parse_integer(body)?;
    let (s, body) = parse_integer(body)?;
    if !body.is_empty() {
        return Err(bad);
    }
    Ok((r, s))
}

/// One minimally encoded, non-negative DER INTEGER of at most 32 significant bytes.
fn parse_integer(input: &[u8]) -> Result<([u8; 32], &[u8]), CryptoError> {
    let bad = CryptoError::MalformedSignature;
    let (&tag, rest) = input.split_first().ok_or(bad.clone())?;
    let (&len, rest) = rest.split_first().ok_or(bad.clone())?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
        return Err(bad);
    }
    let (content, rest) = rest.split_at(len);
    if content[0] & 0x80 != 0 {
        return Err(bad); // negative
    }
    if content.len() > 1 && content[0] == 0 && content[1] & 0x80 == 0 {
        return Err(bad); // non-minimal leading zero
    }
    let digits = if content[0] == 0 && content.len() > 1 {
        &content[1..]
    } else {
        content
    };
    if digits.len() > 32 {
        return Err(bad);
    }
    let mut out = [0u8; 32];
    out[32 - digits.len()..].copy_from_slice(digits);
    Ok((out, rest))
}

/// Encodes `(r, s)` as minimal DER.
pub(crate) fn encode(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(MAX_DER_LEN);
    encode_integer(&mut body, r);
    encode_integer(&mut body, s);
    let mut out = Vec::with_capacity(2 + body.len());
    out.push(0x30);
    // body.len() ≤ 70, so the short form always applies.
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

fn encode_integer(out: &mut Vec<u8>, v: &[u8; 32]) {
    let first = v.iter().position(|&b| b != 0).unwrap_or(31);
    let digits = &v[first..];
    let pad = digits[0] & 0x80 != 0;
    out.push(0x02);
    out.push((digits.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// `s > ⌊n/2⌋`: the malleable "high S" half.
pub(crate) fn is_high_s(s: &[u8; 32]) -> bool {
    s > &HALF_N
}

/// Rewrites a DER signature to its low-`S` form (`s ↦ n − s` when `s > n/2`).
pub(crate) fn normalize_low_s(sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (r, s) = parse(sig)?;
    if !is_high_s(&s) {
        return Ok(encode(&r, &s));
    }
    Ok(encode(&r, &sub_from_n(&s)))
}

/// `n − s` for `s < n`, big-endian.
pub(crate) fn sub_from_n(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_n_is_n_shifted_right() {
        let mut shifted = [0u8; 32];
        let mut carry = 0u8;
        for i in 0..32 {
            shifted[i] = (N[i] >> 1) | (carry << 7);
            carry = N[i] & 1;
        }
        assert_eq!(shifted, HALF_N);
    }

    #[test]
    fn sub_from_n_round_trips() {
        let mut s = [0u8; 32];
        s[31] = 5;
        s[0] = 0x90;
        let t = sub_from_n(&s);
        assert_eq!(sub_from_n(&t), s);
        assert!(is_high_s(&s) && !is_high_s(&t));
    }

    #[test]
    fn der_round_trip_and_rejections() {
        let mut r = [0u8; 32];
        r[31] = 1;
        let mut s = [0u8; 32];
        s[0] = 0x80; // needs a leading 0x00
        let der = encode(&r, &s);
        assert_eq!(der.len(), 2 + 3 + 35);
        assert_eq!(parse(&der), Ok((r, s)));
        // Trailing byte, wrong tag, long-form length, non-minimal integer, negative integer.
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(parse(&trailing), Err(CryptoError::MalformedSignature));
        let mut wrong_tag = der.clone();
        wrong_tag[0] = 0x31;
        assert_eq!(parse(&wrong_tag), Err(CryptoError::MalformedSignature));
        assert_eq!(
            parse(&[0x30, 0x81, 0x06, 2, 1, 1, 2, 1, 1]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            parse(&[0x30, 0x07, 2, 2, 0, 1, 2, 1, 1]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            parse(&[0x30, 0x06, 2, 1, 0x81, 2, 1, 1]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            parse(&[0x30, 0x06, 2, 1, 1, 2, 1, 1]),
            Ok((
                {
                    let mut a = [0; 32];
                    a[31] = 1;
                    a
                },
                {
                    let mut a = [0; 32];
                    a[31] = 1;
                    a
                }
            ))
        );
        assert_eq!(parse(&[]), Err(CryptoError::MalformedSignature));
    }
}
