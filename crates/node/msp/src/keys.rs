//! Key files and the passphrase file on disk (the encryption itself is arcanum-crypto's
//! `keyfile`).

use std::io::Write;
use std::path::Path;

use arcanum_crypto::SigningKey;
use arcanum_crypto::keyfile::{KdfParams, open_key, seal_key_with_params};
use zeroize::Zeroizing;

use crate::MspError;

/// A key-file passphrase. Zeroized on drop; `Debug` does not print it.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(Zeroizing::new(bytes))
    }

    /// A fresh passphrase: 32 random bytes, hex encoded (64 characters).
    pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Passphrase {
        let mut raw = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(raw.as_mut());
        Passphrase::new(hex::encode(raw.as_ref()).into_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<secret>)")
    }
}

/// Writes `bytes` to a new file readable and writable by its owner only (mode 0600 on Unix).
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), MspError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| MspError::io(path, e))?;
    f.write_all(bytes).map_err(|e| MspError::io(path, e))?;
    f.sync_all().map_err(|e| MspError::io(path, e))
}

/// Reads a passphrase file; one trailing newline (`\n` or `\r\n`) is not part of the passphrase.
pub fn read_passphrase(path: &Path) -> Result<Passphrase, MspError> {
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| MspError::io(path, e))?);
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(MspError::EmptyPassphrase {
            path: path.to_path_buf(),
        });
    }
    Ok(Passphrase::new(bytes.to_vec()))
}

/// Writes a passphrase file (mode 0600).
pub fn write_passphrase(path: &Path, passphrase: &Passphrase) -> Result<(), MspError> {
    write_private_file(path, passphrase.as_bytes())
}

/// Argon2id cost of devnet key files: 4 MiB, 1 pass, 1 lane (a few milliseconds per key).
///
/// Trade-off: the KDF cost only slows down guessing of the *passphrase*. A devnet passphrase is
/// 256 random bits ([`Passphrase::random`]), which no amount of guessing reaches, so stretching
/// it buys nothing while 15+ key files must be written and every node start opens several of
/// them. Key files protected by a human-chosen passphrase must use
/// [`KdfParams::recommended`] instead.
pub const DEVNET_KDF: KdfParams = KdfParams {
    m_cost_kib: 4 * 1024,
    t_cost: 1,
    p_cost: 1,
};

/// Encrypts `key` under `passphrase` with Argon2id cost `kdf` and writes it to `path`
/// (mode 0600). Reading needs no parameters: they are stored in the file.
pub fn write_key_file(
    path: &Path,
    key: &SigningKey,
    passphrase: &Passphrase,
    kdf: KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<(), MspError> {
    let sealed = seal_key_with_params(key, passphrase.as_bytes(), kdf, rng)?;
    write_private_file(path, &sealed)
}

/// Reads and decrypts a key file.
pub fn read_key_file(path: &Path, passphrase: &Passphrase) -> Result<SigningKey, MspError> {
    let bytes = std::fs::read(path).map_err(|e| MspError::io(path, e))?;
    open_key(&bytes, passphrase.as_bytes()).map_err(|source| MspError::KeyFileOpen {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_file_trims_one_newline_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p");
        for (content, expected) in [
            (&b"abc\n"[..], &b"abc"[..]),
            (b"abc\r\n", b"abc"),
            (b"abc", b"abc"),
            (b"ab \n\n", b"ab \n"),
        ] {
            std::fs::write(&path, content).expect("write");
            assert_eq!(read_passphrase(&path).expect("read").as_bytes(), expected);
        }
        std::fs::write(&path, b"\n").expect("write");
        assert!(matches!(
            read_passphrase(&path),
            Err(MspError::EmptyPassphrase { .. })
        ));
    }

    #[test]
    fn random_passphrases_are_hex_and_distinct() {
        let mut rng = rand_core::OsRng;
        let a = Passphrase::random(&mut rng);
        let b = Passphrase::random(&mut rng);
        assert_eq!(a.as_bytes().len(), 64);
        assert!(a.as_bytes().iter().all(u8::is_ascii_hexdigit));
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "Passphrase(<secret>)");
    }
}
