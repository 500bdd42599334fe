//! World-state key layout. User contract `c` stores its key `k` at `c || 0x00 || k`. System records
//! live under the `_lifecycle` prefix, which no contract name can produce (names are
//! `[a-z0-9_-]`, starting with a letter or digit). The off-chain cluster's records (registration,
//! deployments, accepted oracle results) are system records too.
//!
//! The contract layout ([`contract_key`], [`contract_prefix`], [`valid_name`]) is defined in
//! [`arcanum_types::state`], so that a state proof's verifier needs no ledger; it is re-exported
//! here.

use arcanum_crypto::Hash;
use borsh::{BorshDeserialize, BorshSerialize};

pub use arcanum_types::state::{contract_key, contract_prefix, valid_name};

/// Prefix of system records (contract definitions and code).
pub const LIFECYCLE_PREFIX: &[u8] = b"_lifecycle\0";

/// A deployed contract's definition, stored at [`definition_key`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ContractDef {
    pub name: String,
    pub code_hash: Hash,
    /// Endorsement policy text (L4 DSL or implicit meta).
    pub policy: String,
}

/// Where a contract's definition lives.
pub fn definition_key(contract: &str) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"def\0");
    k.extend_from_slice(contract.as_bytes());
    k
}

/// Where a peer's rotated endorsement key lives (absent: the certificate's key).
pub fn peer_key_key(peer: &arcanum_types::IdentityId) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"peerkey\0");
    k.extend_from_slice(&peer.0.0);
    k
}

/// Where code with this hash lives.
pub fn code_key(code_hash: &Hash) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"code\0");
    k.extend_from_slice(&code_hash.0);
    k
}

/// Where the off-chain cluster's latest registration lives (a borsh
/// [`arcanum_types::offchain::SignedRegistration`]).
pub fn cluster_registration_key() -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"cluster\0");
    k
}

/// Where key version `key_version` of off-chain contract `contract_id` is registered (a borsh
/// [`arcanum_types::offchain::SignedDeployment`]). The version is big-endian so a contract's
/// versions sort in order.
pub fn offchain_deployment_key(contract_id: &Hash, key_version: u32) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"offchain\0");
    k.extend_from_slice(&contract_id.0);
    k.extend_from_slice(&key_version.to_be_bytes());
    k
}

/// Where the latest registered key version of off-chain contract `contract_id` lives (a borsh
/// `u32`).
pub fn offchain_latest_key(contract_id: &Hash) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"offlatest\0");
    k.extend_from_slice(&contract_id.0);
    k
}

/// Where the accepted oracle callback result for request hash `request` lives (a borsh
/// [`arcanum_types::offchain::SignedResult`]).
pub fn oracle_result_key(request: &Hash) -> Vec<u8> {
    let mut k = LIFECYCLE_PREFIX.to_vec();
    k.extend_from_slice(b"oracle\0");
    k.extend_from_slice(&request.0);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_reach_the_system_namespace() {
        assert!(valid_name("asset"));
        assert!(valid_name("kv-2_x"));
        assert!(!valid_name("_lifecycle"));
        assert!(!valid_name(""));
        assert!(!valid_name("a\0b"));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!contract_key("asset", b"k").starts_with(LIFECYCLE_PREFIX));
        assert!(!contract_key("ab", b"").starts_with(&contract_prefix("a")));
    }

    #[test]
    fn system_keys_are_distinct_and_outside_every_contract_namespace() {
        let id = Hash([7; 32]);
        let keys = [
            cluster_registration_key(),
            offchain_deployment_key(&id, 1),
            offchain_deployment_key(&id, 2),
            offchain_latest_key(&id),
            oracle_result_key(&id),
            definition_key("cluster"),
            code_key(&id),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(a.starts_with(LIFECYCLE_PREFIX));
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Versions sort numerically within a contract.
        assert!(offchain_deployment_key(&id, 255) < offchain_deployment_key(&id, 256));
    }
}
