//! Block validation and atomic commit: the logic every peer (and the management device, for its own
//! copy of the chain) runs on each block, plus the state layout and transaction checks that the
//! endorsement and management devices share with it (SPEC L1.5, L4).
//!
//! Key types: [`ChainConfig`] (who may sign what), [`Ledger`] (a validating chain over a
//! [`arcanum_storage::LedgerStore`]), [`CommitSummary`], [`ContractDef`]. The off-chain
//! cluster's rules (registration, deployments, oracle callbacks) live in [`offchain`], shared by
//! the endorsement device's simulation and the peers' validation.
//!
//! Invariants:
//! - Validation is deterministic: the same block on the same state gives the same receipts on
//!   every peer. It reads no clock and iterates no hash map.
//! - A block is committed whole or not at all; invalid transactions are recorded with their
//!   [`arcanum_types::ErrorCode`] and change no state.
//! - This crate does not depend on networking, HTTP, the VM or a concrete storage backend.

mod checks;
mod config;
mod keys;
mod ledger;
pub mod offchain;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use checks::{
    Signatures, check_client, check_client_with, check_shape, endorsement_signers,
    verify_endorsements, verify_endorsements_with,
};
pub use config::{ChainConfig, ChainPin, MAX_PINNED_MEMBERS, Member};
pub use keys::{
    ContractDef, LIFECYCLE_PREFIX, cluster_registration_key, code_key, contract_key,
    contract_prefix, definition_key, offchain_deployment_key, offchain_latest_key,
    oracle_result_key, peer_key_key, valid_name,
};
pub use ledger::{
    CommitSummary, Ledger, SignatureTrust, StateView, deploy_writes, rotation_writes,
};
