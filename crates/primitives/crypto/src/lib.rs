//! Cryptographic primitives for Arcanum: SHA-256 hashing with domain separation, the signature
//! schemes of SPEC L5 (Ed25519 by default, ECDSA P-256 and RSA-2048 selectable), and
//! passphrase-protected key files.
//!
//! Key types: [`Hash`](struct@Hash), [`Algorithm`], [`PublicKey`], [`Signature`], [`SigningKey`],
//! [`CryptoError`]; batch verification through [`verify_batch`] and [`VerifiedSet`]; key files through
//! [`keyfile::seal_key`] / [`keyfile::open_key`].
//!
//! Invariants:
//! - Every hash or signature that Arcanum produces is bound to a domain string from [`domain`];
//!   the registry is checked for uniqueness by a test.
//! - Verification is strict, so that every peer reaches the same verdict on the same bytes:
//!   Ed25519 rejects non-canonical `S` (S ≥ L), non-canonical `A` and `R` and small-order keys
//!   and `R`, and checks the cofactored equation (so single and batch checks agree);
//!   P-256 requires strict DER, low `S` and an on-curve key; RSA requires a 2048-bit modulus in
//!   canonical PKCS#1 form. Batch verification returns exactly the item-by-item verdict.
//! - P-256 and RSA private-key operations run in aws-lc (constant time), never the `rsa` crate.
//! - This crate does no I/O, reads no clock and takes randomness only from the caller's RNG, with
//!   one documented exception: aws-lc draws P-256/RSA key generation and ECDSA nonces from its
//!   internal DRBG.
//! - Secret keys are zeroized on drop and never printed by `Debug`; errors carry no secrets.

pub mod domain;
mod ecdsa_der;
mod ed25519;
mod error;
mod hash;
pub mod hpke;
pub mod keyfile;
mod sig;

pub use ed25519::{verify_batch_ed25519_raw, verify_ed25519_raw};
pub use error::{CryptoError, KeyFileError};
pub use hash::{Hash, sha256, tagged_hash};
pub use keyfile::{open_key, seal_key};
pub use sig::{Algorithm, PublicKey, Signature, SigningKey, VerifiedSet, verify_batch};
