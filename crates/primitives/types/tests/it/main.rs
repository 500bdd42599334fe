//! Integration tests of `arcanum-types`: property tests of the canonical encoding (round trip,
//! strictness, canonicality of everything accepted), of identifier derivation (every payload and
//! header field is bound into its hash) and of the transaction Merkle root against a reference
//! implementation.

mod codec;
mod ids;
mod merkle;
mod strategies;
