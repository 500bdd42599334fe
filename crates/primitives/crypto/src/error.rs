//! The crate's error type. `Display` never prints key material, passphrases or plaintext.

/// Errors from key handling, signing and signature verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CryptoError {
    /// The public key bytes do not parse as a key of the stated algorithm (wrong length, not on
    /// the curve, not canonical DER, ...).
    #[error("malformed public key")]
    BadPublicKey,
    /// An Ed25519 public key of small order (a "weak" key that verifies forged signatures).
    #[error("public key is of small order")]
    WeakPublicKey,
    /// An RSA key whose modulus is not exactly 2048 bits (SPEC L5 allows only RSA-2048).
    #[error("unsupported RSA modulus size: {bits} bits (only 2048 is accepted)")]
    UnsupportedRsaKeySize {
        /// Size of the rejected modulus in bits (public information).
        bits: usize,
    },
    /// The private key does not parse as a PKCS#8 key of the stated algorithm.
    #[error("malformed private key")]
    BadPrivateKey,
    /// Well-formed signature that does not verify under this key, domain and message.
    #[error("signature does not verify")]
    BadSignature,
    /// The signature has the wrong length or is not valid DER.
    #[error("signature is malformed or has the wrong length")]
    MalformedSignature,
    /// A signature in a malleable, non-canonical form: Ed25519 `S ≥ L`, or ECDSA high `S`
    /// (`s > n/2`, rejected as Fabric does).
    #[error("signature is not in canonical form (malleable)")]
    NonCanonicalSignature,
    /// The key and the signature (or the requested operation) are for different algorithms.
    #[error("algorithm mismatch between key and signature")]
    AlgorithmMismatch,
    /// The underlying library failed to generate a key.
    #[error("key generation failed")]
    KeyGeneration,
    /// The underlying library failed to sign (should not happen with a valid key).
    #[error("signing failed")]
    Signing,
    /// Reading or writing a passphrase-protected key file failed.
    #[error("key file: {0}")]
    KeyFile(#[from] KeyFileError),
}

/// Why a passphrase-protected key file (see [`crate::keyfile`]) could not be written or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum KeyFileError {
    /// The bytes do not start with the `ARCKEY` magic.
    #[error("not an Arcanum key file (bad magic)")]
    BadMagic,
    /// The container version is not one this build understands.
    #[error("unsupported key file version {0}")]
    UnsupportedVersion(u8),
    /// The file ends before the container is complete.
    #[error("key file is truncated")]
    Truncated,
    /// The container does not decode (unknown algorithm tag, trailing bytes, oversized field).
    #[error("key file is malformed")]
    Malformed,
    /// The Argon2id parameters are below the minimum or above the limits this build accepts
    /// (the upper limits stop a crafted file from exhausting memory or time).
    #[error("key file KDF parameters are out of range")]
    KdfParamsOutOfRange,
    /// AEAD authentication failed: the passphrase is wrong, or the file (header or ciphertext)
    /// was tampered with. The two cannot be told apart by design.
    #[error("wrong passphrase or tampered key file")]
    Decrypt,
    /// An empty passphrase was given when sealing.
    #[error("empty passphrase")]
    EmptyPassphrase,
    /// The key-derivation function failed internally.
    #[error("key derivation failed")]
    Kdf,
    /// Encryption failed internally.
    #[error("encryption failed")]
    Encrypt,
}
