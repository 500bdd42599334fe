//! World-state key layout. User contract `c` stores its key `k` at `c || 0x00 || k`. System records
//! live under the `_lifecycle` prefix, which no contract name can produce (names are
//! `[a-z0-9_-]`, starting with a letter or digit).

use arcanum_crypto::Hash;
use borsh::{BorshDeserialize, BorshSerialize};

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

/// Whether `name` is a valid contract or function name: 1–64 of `[a-z0-9_-]`, not starting with `_` or `-`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= arcanum_types::limits::MAX_CONTRACT_NAME
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// The namespace prefix of a contract's keys.
pub fn contract_prefix(contract: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(contract.len() + 1);
    k.extend_from_slice(contract.as_bytes());
    k.push(0);
    k
}

/// The full state key of a contract's key.
pub fn contract_key(contract: &str, key: &[u8]) -> Vec<u8> {
    let mut k = contract_prefix(contract);
    k.extend_from_slice(key);
    k
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
}
