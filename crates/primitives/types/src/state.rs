//! Authenticated world state (SPEC L8): the state is a Jellyfish Merkle Tree (the maintained
//! `jmt` crate, as in Diem/Aptos and Penumbra) whose root every block header carries.
//!
//! Definition (docs/design/ledger-format.md):
//! - a state key `k` is the tree path `tagged_hash(domain::STATE_KEY, k)`;
//! - the leaf value is the borsh encoding of its [`VersionedValue`], so the root commits to every
//!   `(contract, key, value, version)` (the contract is the key's namespace prefix);
//! - the tree hashes with SHA-256 under jmt's own leaf/internal-node prefixes; the empty state's
//!   root is [`EMPTY_STATE_ROOT`].
//!
//! A [`StateProof`] is jmt's sparse Merkle proof. It proves inclusion of one `(key, value,
//! version)` or the absence of a key against a root; [`StateProof::verify`] is the one check
//! used by peers' clients, the SDK, the CLI and the endorsement enclave.

use arcanum_crypto::{Hash, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};
use jmt::proof::SparseMerkleProof;
use sha2::Sha256;

use crate::{Version, encode};

/// The root of the empty state (jmt's placeholder for an empty tree).
pub const EMPTY_STATE_ROOT: Hash = Hash(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__");

/// Largest encoded [`StateProof`] accepted: a leaf plus at most 256 siblings of 33 bytes.
pub const MAX_STATE_PROOF_BYTES: usize = 16 * 1024;

/// A state value together with the version of the transaction that wrote it.
///
/// Its borsh encoding (`u32 LE len || value || u64 LE block || u32 LE tx`) is both the stored
/// record and the state tree's leaf value.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    pub version: Version,
}

/// The tree path of a state key.
pub fn state_key_hash(key: &[u8]) -> jmt::KeyHash {
    jmt::KeyHash(tagged_hash(domain::STATE_KEY, &[key]).0)
}

/// A proof of one key's value (or absence) against a state root.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct StateProof(SparseMerkleProof<Sha256>);

/// Why a [`StateProof`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateProofError {
    /// The proof does not connect this key and value (or absence) to the root: another key,
    /// another value or version, another root, or tampered siblings.
    #[error("the state proof does not verify for this key and value against the root")]
    Mismatch,
}

impl StateProof {
    /// Wraps a proof produced by the state tree.
    pub fn from_jmt(proof: SparseMerkleProof<Sha256>) -> StateProof {
        StateProof(proof)
    }

    /// Checks that under `root` the state holds exactly `value` at `key` (`None`: the key is
    /// absent).
    pub fn verify(
        &self,
        root: &Hash,
        key: &[u8],
        value: Option<&VersionedValue>,
    ) -> Result<(), StateProofError> {
        let leaf = value.map(encode);
        self.0
            .verify(jmt::RootHash(root.0), state_key_hash(key), leaf.as_deref())
            .map_err(|_| StateProofError::Mismatch)
    }
}
