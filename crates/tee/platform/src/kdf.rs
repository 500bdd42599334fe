//! HKDF-SHA256 with a 32-byte output, the only key derivation this crate uses.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// `HKDF-SHA256(salt, ikm, info = concat(info))`, 32 bytes.
pub(crate) fn hkdf32(salt: Option<&[u8]>, ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    #[allow(clippy::expect_used)]
    Hkdf::<Sha256>::new(salt, ikm)
        .expand_multi_info(info, okm.as_mut())
        // Static invariant, not input-dependent: 32 bytes is far below the 255 × 32 byte limit.
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test case 1 (first 32 bytes of the 42-byte OKM).
    #[test]
    fn rfc5869_case_1() -> anyhow::Result<()> {
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c")?;
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9")?;
        let okm = hkdf32(Some(&salt), &ikm, &[&info[..5], &info[5..]]);
        assert_eq!(
            hex::encode(okm.as_ref()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
        Ok(())
    }
}
