//! Passphrase-protected key files: PKCS#8 private keys encrypted at rest with a key derived by
//! Argon2id from a passphrase, sealed with XChaCha20-Poly1305.
