//! Sealing: round trips, binding to platform / measurement / purpose / aad, tamper and
//! truncation detection, and key rotation.

use arcanum_tee::seal::{HEADER_LEN, MIN_BLOB_LEN};
use arcanum_tee::{Platform, SealError, Sealer, SimFuse, Simulated, sealed_key_version};
use rand::SeedableRng;
use rand::rngs::StdRng;
use zeroize::Zeroizing;

const BINARY: &[u8] = b"\x7fELF enclave v1";

fn sim(binary: &[u8], fuse: u8) -> Simulated {
    Simulated::new(binary, SimFuse::from_bytes([fuse; 32]))
}

fn sealer(binary: &[u8], fuse: u8) -> Sealer {
    Sealer::new(&sim(binary, fuse)).unwrap_or_else(|e| panic!("simulated sealer: {e}"))
}

#[test]
fn round_trip() -> anyhow::Result<()> {
    let s = sealer(BINARY, 1);
    for plaintext in [&b""[..], b"x", &[0xA5; 4096]] {
        let blob = s.seal("endorsement-keys", plaintext, b"peer0")?;
        assert_eq!(blob.len(), MIN_BLOB_LEN + plaintext.len());
        assert_eq!(&*s.unseal("endorsement-keys", &blob, b"peer0")?, plaintext);
    }
    // A second sealer on the same platform (a restarted enclave) opens it too.
    let blob = s.seal("p", b"persist", b"")?;
    assert_eq!(&*sealer(BINARY, 1).unseal("p", &blob, b"")?, b"persist");
    Ok(())
}

#[test]
fn nonces_are_fresh() -> anyhow::Result<()> {
    let s = sealer(BINARY, 1);
    let a = s.seal("p", b"same", b"")?;
    let b = s.seal("p", b"same", b"")?;
    assert_ne!(a[12..HEADER_LEN], b[12..HEADER_LEN]);
    assert_ne!(a, b);
    Ok(())
}

#[test]
fn other_measurement_fuse_purpose_or_aad_cannot_unseal() -> anyhow::Result<()> {
    let s = sealer(BINARY, 1);
    let blob = s.seal("state", b"secret", b"aad")?;
    let other_binary = sealer(b"\x7fELF enclave v2", 1);
    let other_fuse = sealer(BINARY, 2);
    for (what, result) in [
        ("measurement", other_binary.unseal("state", &blob, b"aad")),
        ("fuse", other_fuse.unseal("state", &blob, b"aad")),
        ("purpose", s.unseal("other", &blob, b"aad")),
        ("aad", s.unseal("state", &blob, b"aaD")),
        ("empty aad", s.unseal("state", &blob, b"")),
    ] {
        assert!(matches!(result, Err(SealError::Decrypt)), "{what}");
    }
    // Same root, different measurement given explicitly.
    let root = sim(BINARY, 1).sealing_root()?;
    let a = Sealer::from_root(root.clone(), &[1; 32]);
    let b = Sealer::from_root(root, &[2; 32]);
    let blob = a.seal("p", b"x", b"")?;
    assert!(matches!(b.unseal("p", &blob, b""), Err(SealError::Decrypt)));
    Ok(())
}

#[test]
fn every_byte_flip_is_detected() -> anyhow::Result<()> {
    let s = sealer(BINARY, 1);
    let blob = s.seal("p", b"some secret bytes", b"aad")?;
    for i in 0..blob.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bad = blob.clone();
            bad[i] ^= mask;
            let result = s.unseal("p", &bad, b"aad");
            let ok = match i {
                0..7 => matches!(result, Err(SealError::BadMagic)),
                7 => matches!(result, Err(SealError::UnsupportedFormat { .. })),
                8..12 => matches!(result, Err(SealError::UnknownKeyVersion { .. })),
                _ => matches!(result, Err(SealError::Decrypt)),
            };
            assert!(ok, "byte {i} mask {mask:#x}: {result:?}");
        }
    }
    Ok(())
}

#[test]
fn truncation_and_extension_are_detected() -> anyhow::Result<()> {
    let s = sealer(BINARY, 1);
    let blob = s.seal("p", b"0123456789", b"")?;
    for len in 0..blob.len() {
        let result = s.unseal("p", &blob[..len], b"");
        let ok = if len < MIN_BLOB_LEN {
            matches!(
                result,
                Err(SealError::Truncated {
                    min: MIN_BLOB_LEN,
                    ..
                })
            )
        } else {
            matches!(result, Err(SealError::Decrypt))
        };
        assert!(ok, "length {len}: {result:?}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(matches!(
        s.unseal("p", &longer, b""),
        Err(SealError::Decrypt)
    ));
    assert!(matches!(
        s.unseal("p", b"NOTSEAL and more bytes", b""),
        Err(SealError::BadMagic)
    ));
    Ok(())
}

#[test]
fn rotation() -> anyhow::Result<()> {
    let mut s = sealer(BINARY, 1);
    assert_eq!(s.key_version(), 1);
    let v1 = s.seal("state", b"old secret", b"")?;
    assert_eq!(sealed_key_version(&v1)?, 1);

    assert_eq!(s.rotate()?, 2);
    assert_eq!(s.accepted_key_versions(), 1..=2);
    // Old blobs still open; new ones are sealed under v2.
    assert_eq!(&*s.unseal("state", &v1, b"")?, b"old secret");
    let v2 = s.reseal("state", &v1, b"")?;
    assert_eq!(sealed_key_version(&v2)?, 2);
    assert_eq!(&*s.unseal("state", &v2, b"")?, b"old secret");

    // The version is part of the key: a v1 header on v2 ciphertext (or vice versa) fails.
    let mut relabelled = v2.clone();
    relabelled[8..12].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(
        s.unseal("state", &relabelled, b""),
        Err(SealError::Decrypt)
    ));

    // A sealer that only knows v1 does not accept v2 blobs.
    assert!(matches!(
        sealer(BINARY, 1).unseal("state", &v2, b""),
        Err(SealError::UnknownKeyVersion { version: 2 })
    ));

    // After retiring v1, old blobs are refused.
    s.retire_before(2)?;
    assert!(matches!(
        s.unseal("state", &v1, b""),
        Err(SealError::UnknownKeyVersion { version: 1 })
    ));
    assert_eq!(&*s.unseal("state", &v2, b"")?, b"old secret");

    // A sealer configured for versions 1..=2 from the start behaves the same.
    let configured = sealer(BINARY, 1).with_key_versions(1, 2)?;
    assert_eq!(&*configured.unseal("state", &v1, b"")?, b"old secret");
    assert_eq!(&*configured.unseal("state", &v2, b"")?, b"old secret");
    Ok(())
}

#[test]
fn deterministic_with_a_seeded_rng() -> anyhow::Result<()> {
    let s = Sealer::from_root(Zeroizing::new([7; 32]), &[9; 32]);
    let a = s.seal_with_rng("p", b"x", b"", &mut StdRng::seed_from_u64(5))?;
    let b = s.seal_with_rng("p", b"x", b"", &mut StdRng::seed_from_u64(5))?;
    assert_eq!(a, b);
    Ok(())
}

/// An RNG that returns 0, 1, 2, … so the nonce is fixed.
struct CountingRng(u8);

impl rand_core::RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for CountingRng {}

/// Known answer, computed independently (Python: HMAC-based HKDF, a hand-written HChaCha20
/// checked against the XChaCha20 draft's test vector, and `cryptography`'s ChaCha20-Poly1305):
/// root = 07×32, measurement = 09×32, purpose "endorsement-keys", key version 3,
/// nonce = 00 01 … 17, plaintext "hello sealed world", aad "aad".
#[test]
fn known_answer() -> anyhow::Result<()> {
    let s = Sealer::from_root(Zeroizing::new([7; 32]), &[9; 32]).with_key_versions(1, 3)?;
    let blob = s.seal_with_rng(
        "endorsement-keys",
        b"hello sealed world",
        b"aad",
        &mut CountingRng(0),
    )?;
    assert_eq!(
        hex::encode(&blob),
        "4152435345414c0103000000000102030405060708090a0b0c0d0e0f1011121314151617\
         146d98922f8f3f744f9fcc891b418e5adf21b05da92cb9a0cb4045c7b4d084f50a1d"
    );
    assert_eq!(
        &*s.unseal("endorsement-keys", &blob, b"aad")?,
        b"hello sealed world"
    );
    Ok(())
}
