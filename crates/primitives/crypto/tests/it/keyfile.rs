//! Passphrase-protected key files: round trips and precise errors.

use arcanum_crypto::keyfile::{
    KdfParams, MAGIC, VERSION, open_key, seal_key, seal_key_with_params,
};
use arcanum_crypto::{CryptoError, KeyFileError, SigningKey};
use rand::SeedableRng;

use crate::p256_rsa::{ED, P256, RSA};

const PW: &[u8] = b"correct horse battery staple";

fn seal(k: &SigningKey) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    seal_key_with_params(k, PW, KdfParams::insecure_for_tests(), &mut rng).expect("seal")
}

fn open_err(bytes: &[u8], pw: &[u8]) -> CryptoError {
    match open_key(bytes, pw) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn kf(e: KeyFileError) -> CryptoError {
    CryptoError::KeyFile(e)
}

#[test]
fn round_trip_all_algorithms() {
    for k in [&*ED, &*P256, &*RSA] {
        let file = seal(k);
        let back = open_key(&file, PW).expect("open");
        assert_eq!(back.public_key(), k.public_key());
        assert_eq!(
            k.public_key().verify("d", b"m", &back.sign("d", b"m")),
            Ok(())
        );
    }
}

#[test]
fn recommended_params_round_trip() {
    let k = SigningKey::from_ed25519_seed(&[5; 32]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let file = seal_key(&k, PW, &mut rng).expect("seal");
    assert_eq!(
        u32::from_le_bytes(file[8..12].try_into().expect("4")),
        KdfParams::recommended().m_cost_kib
    );
    assert_eq!(
        open_key(&file, PW).expect("open").public_key(),
        k.public_key()
    );
}

#[test]
fn fresh_salt_and_nonce_per_file() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let a = seal_key_with_params(&ED, PW, KdfParams::insecure_for_tests(), &mut rng).expect("seal");
    let b = seal_key_with_params(&ED, PW, KdfParams::insecure_for_tests(), &mut rng).expect("seal");
    assert_ne!(a, b);
}

#[test]
fn wrong_passphrase() {
    let file = seal(&ED);
    assert_eq!(open_err(&file, b"wrong"), kf(KeyFileError::Decrypt));
    assert_eq!(open_err(&file, b""), kf(KeyFileError::Decrypt));
}

#[test]
fn error_display_leaks_nothing() {
    let k = SigningKey::from_ed25519_seed(&[0x42; 32]);
    let file = seal(&k);
    let seed_hex = hex::encode([0x42u8; 32]);
    for e in [
        open_err(&file, b"hunter2-secret"),
        open_err(&file[..30], b"hunter2-secret"),
    ] {
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(&seed_hex),
            "{shown}"
        );
    }
    assert!(!format!("{k:?}").contains(&seed_hex));
    // The seed is inside the PKCS#8 plaintext but never in the file.
    let der = k.to_pkcs8_der().expect("der");
    assert!(der.windows(32).any(|w| w == [0x42u8; 32]));
    assert!(!file.windows(32).any(|w| w == [0x42u8; 32]));
}

#[test]
fn truncated_at_every_length() {
    let file = seal(&ED);
    for len in 0..file.len() {
        let got = open_err(&file[..len], PW);
        assert_eq!(got, kf(KeyFileError::Truncated), "length {len}");
    }
}

#[test]
fn trailing_bytes_are_malformed() {
    let mut file = seal(&ED);
    file.push(0);
    assert_eq!(open_err(&file, PW), kf(KeyFileError::Malformed));
}

#[test]
fn magic_and_version() {
    let file = seal(&ED);
    assert_eq!(&file[..6], &MAGIC);
    let mut m = file.clone();
    m[0] = b'X';
    assert_eq!(open_err(&m, PW), kf(KeyFileError::BadMagic));
    assert_eq!(open_err(b"PEM-----", PW), kf(KeyFileError::BadMagic));
    assert_eq!(open_err(b"AR", PW), kf(KeyFileError::Truncated));
    assert_eq!(open_err(b"XR", PW), kf(KeyFileError::BadMagic));
    let mut v = file.clone();
    v[6] = VERSION + 1;
    assert_eq!(
        open_err(&v, PW),
        kf(KeyFileError::UnsupportedVersion(VERSION + 1))
    );
    v[6] = 0;
    assert_eq!(open_err(&v, PW), kf(KeyFileError::UnsupportedVersion(0)));
}

/// Flipping any single bit after the version byte is detected: an unknown algorithm tag is
/// malformed, a length change is truncated/malformed, out-of-range KDF costs are refused, and
/// everything else (algorithm, KDF params, salt, nonce, ciphertext, tag) fails authentication.
#[test]
fn every_tampered_byte_is_detected() {
    let file = seal(&P256);
    let header_len = 6 + 1 + 1 + 12 + 16 + 24;
    for i in 7..file.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = file.clone();
            t[i] ^= bit;
            let got = open_err(&t, PW);
            let ok = match i {
                7 => matches!(
                    got,
                    CryptoError::KeyFile(KeyFileError::Malformed | KeyFileError::Decrypt)
                ),
                8..=19 => matches!(
                    got,
                    CryptoError::KeyFile(KeyFileError::Decrypt | KeyFileError::KdfParamsOutOfRange)
                ),
                i if (header_len..header_len + 4).contains(&i) => {
                    matches!(
                        got,
                        CryptoError::KeyFile(KeyFileError::Truncated | KeyFileError::Malformed)
                    )
                }
                _ => got == kf(KeyFileError::Decrypt),
            };
            assert!(ok, "byte {i} bit {bit:#x}: {got:?}");
        }
    }
}

#[test]
fn algorithm_byte_is_authenticated() {
    // Relabel a P-256 file as RSA (a valid tag): the AAD binds the algorithm, so this is a
    // decryption failure, not a confused parse.
    let mut t = seal(&P256);
    t[7] = 2;
    assert_eq!(open_err(&t, PW), kf(KeyFileError::Decrypt));
    t[7] = 9;
    assert_eq!(open_err(&t, PW), kf(KeyFileError::Malformed));
}
