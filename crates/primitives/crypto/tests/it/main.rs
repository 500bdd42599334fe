//! Integration tests for `arcanum-crypto`: external Ed25519 vectors (RFC 8032, ring, Wycheproof),
//! batch-vs-single agreement, P-256 / RSA-2048 behaviour, key files, and property tests.

mod ed25519_vectors;
mod hpke;
mod keyfile;
mod p256_rsa;
mod props;

use std::path::PathBuf;

/// `<repo>/../shared/testdata/external/crypto_vectors/ed25519/<name>`.
pub fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../../shared/testdata/external/crypto_vectors/ed25519")
        .join(name)
}

pub fn read_vector(name: &str) -> String {
    let p = vector_path(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}
