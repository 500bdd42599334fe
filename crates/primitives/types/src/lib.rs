//! Ledger domain types of Arcanum and their one canonical encoding.
//!
//! Key types: [`SignedTx`] (a client's transaction and its reference signature),
//! [`ProposalResponse`] (a simulation's read/write set, result and vote), [`Endorsement`],
//! [`EndorsedTx`], [`Block`], [`TxReceipt`], the authenticated state's [`StateProof`] and
//! [`StateProofBundle`], and the stable [`ErrorCode`] registry.
//!
//! Invariants:
//! - Everything that is hashed or signed is encoded with borsh, and decoded strictly with
//!   [`decode`]: trailing bytes, oversized input and invalid UTF-8 are errors. JSON exists only at
//!   the API edge.
//! - Identifiers are derived, never trusted: a transaction id is the tagged hash of its payload,
//!   a block hash the tagged hash of its header.
//! - This crate does no I/O, reads no clock and draws no randomness of its own: sealing an
//!   off-chain request ([`offchain::wire`]) takes the caller's RNG.

mod block;
mod error;
mod identity;
pub mod limits;
mod merkle;
pub mod offchain;
mod proof;
pub mod state;
mod tx;

pub use block::{Block, BlockHeader, TxReceipt, TxStatus};
pub use error::{ApiError, ErrorCode};
pub use identity::{IdentityId, Role};
pub use merkle::{merkle_proof, merkle_root, verify_merkle_proof};
pub use proof::{ProofError, TxProof};
pub use state::{StateBundleError, StateProof, StateProofBundle, StateProofError, VersionedValue};
pub use tx::{
    EndorsedTx, Endorsement, EndorsementPayload, Event, KvRead, KvWrite, ProposalResponse, RwSet,
    SignedTx, TxAction, TxPayload, Version, Vote,
};

pub use arcanum_crypto::{Hash, PublicKey, Signature};

/// Errors from strict decoding.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("input of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("malformed encoding: {0}")]
    Malformed(String),
}

/// Canonical encoding of a value (borsh).
pub fn encode<T: borsh::BorshSerialize>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    borsh::to_vec(value).unwrap_or_default()
}

/// Strict decoding: at most `max` bytes, all of them consumed.
pub fn decode<T: borsh::BorshDeserialize>(bytes: &[u8], max: usize) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    borsh::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
}
