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
//!
//! A [`StateProofBundle`] is what a peer serves for one contract key: the value (or absence), its
//! proof, and the management device's signed header of the block whose root it is proven
//! against. [`StateProofBundle::verify`] checks the whole chain against the management device's
//! key, so anyone can check a bundle offline.
//!
//! The layout of contract keys ([`contract_key`], [`valid_name`]) lives here rather than in the
//! ledger so that a bundle's verifier needs nothing else; `arcanum-ledger` re-exports it.

use arcanum_crypto::{Hash, PublicKey, Signature, domain, tagged_hash};
use borsh::{BorshDeserialize, BorshSerialize};
use jmt::proof::SparseMerkleProof;
use sha2::Sha256;

use crate::{BlockHeader, ErrorCode, Version, encode, limits};

/// The root of the empty state (jmt's placeholder for an empty tree).
pub const EMPTY_STATE_ROOT: Hash = Hash(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__");

/// Largest encoded [`StateProof`] accepted: an optional leaf (65 bytes) and up to 256 siblings of
/// 1 byte (empty) or 65 bytes (a node). 16 KiB holds about 250 non-empty siblings, far more than
/// a tree whose paths are hashes ever has.
pub const MAX_STATE_PROOF_BYTES: usize = 16 * 1024;

/// Largest encoded [`StateProofBundle`] accepted: the largest value, key and proof, and room
/// for the contract name, header and signature.
pub const MAX_STATE_BUNDLE_BYTES: usize =
    limits::MAX_VALUE_BYTES + limits::MAX_KEY_BYTES + MAX_STATE_PROOF_BYTES + 16 * 1024;

/// A state value together with the version of the transaction that wrote it.
///
/// Its borsh encoding (`u32 LE len || value || u64 LE block || u32 LE tx`) is both the stored
/// record and the state tree's leaf value.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    pub version: Version,
}

/// Whether `name` is a valid contract or function name: 1–64 of `[a-z0-9_-]`, not starting with
/// `_` or `-`. No contract name contains `0x00`, so [`contract_key`] is injective, and none
/// starts with `_`, so no contract key reaches the system records (`_lifecycle\0…`).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= limits::MAX_CONTRACT_NAME
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// The namespace prefix of a contract's keys: `contract || 0x00`.
pub fn contract_prefix(contract: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(contract.len() + 1);
    k.extend_from_slice(contract.as_bytes());
    k.push(0);
    k
}

/// The full state key of a contract's key: `contract || 0x00 || key`.
pub fn contract_key(contract: &str, key: &[u8]) -> Vec<u8> {
    let mut k = contract_prefix(contract);
    k.extend_from_slice(key);
    k
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

/// One contract key's value (or absence) after block `height`, proven against that block's
/// state root, with the management device's signed header of that block.
///
/// What it proves, once [`StateProofBundle::verify`] passes: the management device signed a
/// block at `height` whose state root commits to exactly `value` (with its version) at
/// [`contract_key`]`(contract, key)`, or to the key's absence. It does not prove that `height` is
/// the tip: a client that needs fresh state compares heights with other nodes.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct StateProofBundle {
    pub contract: String,
    pub key: Vec<u8>,
    /// `None`: the key is absent at `height`.
    pub value: Option<VersionedValue>,
    pub height: u64,
    /// The state root after block `height`; must equal `header.state_root`.
    pub state_root: Hash,
    pub proof: StateProof,
    /// The header of block `height`.
    pub header: BlockHeader,
    /// The management device's signature over `header.hash()` under
    /// [`domain::BLOCK_SIGNATURE`].
    pub signature: Signature,
}

/// Why a [`StateProofBundle`] was refused; [`StateBundleError::code`] is its stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateBundleError {
    /// `BLOCK_BAD_SIGNATURE`: the header is not signed by the given management key.
    #[error("the block header is not signed by the management device's key")]
    HeaderSignature,
    /// `STATE_HEIGHT_MISMATCH`.
    #[error("the bundle is for height {bundle}, its signed header for height {header}")]
    Height { bundle: u64, header: u64 },
    /// `STATE_ROOT_MISMATCH`.
    #[error("the bundle's state root {bundle} is not its signed header's {header}")]
    Root { bundle: Hash, header: Hash },
    /// `STATE_PROOF_INVALID`: not a contract name, so not a contract key.
    #[error("{0:?} is not a contract name")]
    ContractName(String),
    /// `STATE_PROOF_INVALID`: the proof does not connect this key and value (or absence) to the
    /// root.
    #[error(transparent)]
    Proof(#[from] StateProofError),
}

impl StateBundleError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            StateBundleError::HeaderSignature => ErrorCode::BlockBadSignature,
            StateBundleError::Height { .. } => ErrorCode::StateHeightMismatch,
            StateBundleError::Root { .. } => ErrorCode::StateRootMismatch,
            StateBundleError::ContractName(_) | StateBundleError::Proof(_) => {
                ErrorCode::StateProofInvalid
            }
        }
    }
}

impl From<StateBundleError> for crate::ApiError {
    fn from(e: StateBundleError) -> Self {
        crate::ApiError::new(e.code(), e.to_string())
    }
}

impl StateProofBundle {
    /// The state key the proof is about: [`contract_key`]`(contract, key)`.
    pub fn state_key(&self) -> Vec<u8> {
        contract_key(&self.contract, &self.key)
    }

    /// Checks, in order: the header's signature under `orderer_key` (`BLOCK_BAD_SIGNATURE`),
    /// `height` against the header's (`STATE_HEIGHT_MISMATCH`), `state_root` against the header's
    /// (`STATE_ROOT_MISMATCH`), and the proof of `value` (or absence) at the contract key against
    /// that root (`STATE_PROOF_INVALID`, also for a `contract` that is not a contract name).
    pub fn verify(&self, orderer_key: &PublicKey) -> Result<(), StateBundleError> {
        orderer_key
            .verify(
                domain::BLOCK_SIGNATURE,
                &self.header.hash().0,
                &self.signature,
            )
            .map_err(|_| StateBundleError::HeaderSignature)?;
        if self.height != self.header.height {
            return Err(StateBundleError::Height {
                bundle: self.height,
                header: self.header.height,
            });
        }
        if self.state_root != self.header.state_root {
            return Err(StateBundleError::Root {
                bundle: self.state_root,
                header: self.header.state_root,
            });
        }
        if !valid_name(&self.contract) {
            return Err(StateBundleError::ContractName(self.contract.clone()));
        }
        self.proof
            .verify(&self.state_root, &self.state_key(), self.value.as_ref())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Bundles over a small real tree (jmt's in-memory store), signed by a known management key:
    //! the genuine ones verify, and every tampered field is refused with its exact code.

    use arcanum_crypto::SigningKey;
    use jmt::Sha256Jmt;
    use jmt::mock::MockTreeStore;

    use super::*;
    use crate::{IdentityId, decode};

    const HEIGHT: u64 = 7;

    fn vv(value: &[u8], block: u64, tx: u32) -> VersionedValue {
        VersionedValue {
            value: value.to_vec(),
            version: Version { block, tx },
        }
    }

    fn orderer() -> SigningKey {
        SigningKey::from_ed25519_seed(&[7; 32])
    }

    /// The state after block [`HEIGHT`], its tree and the signed header carrying its root.
    struct World {
        store: MockTreeStore,
        header: BlockHeader,
        signature: Signature,
    }

    fn world() -> World {
        let entries = [
            (contract_key("asset", b"acct/alice"), vv(b"70", 3, 0)),
            (contract_key("asset", b"acct/bob"), vv(b"5", HEIGHT, 1)),
            (contract_key("kv", b"x\0y"), vv(b"z", 2, 0)),
        ];
        let store = MockTreeStore::default();
        let (root, batch) = Sha256Jmt::new(&store)
            .put_value_set(
                entries
                    .iter()
                    .map(|(k, v)| (state_key_hash(k), Some(encode(v)))),
                0,
            )
            .expect("tree update");
        store.write_tree_update_batch(batch).expect("tree write");
        let header = BlockHeader {
            height: HEIGHT,
            prev_hash: Hash([1; 32]),
            tx_root: Hash([2; 32]),
            tx_count: 2,
            state_root: Hash(root.0),
            timestamp_ms: 1_700_000_000_000,
            orderer: IdentityId(Hash([3; 32])),
        };
        let signature = orderer().sign(domain::BLOCK_SIGNATURE, &header.hash().0);
        World {
            store,
            header,
            signature,
        }
    }

    impl World {
        fn bundle(&self, contract: &str, key: &[u8]) -> StateProofBundle {
            let (value, proof) = Sha256Jmt::new(&self.store)
                .get_with_proof(state_key_hash(&contract_key(contract, key)), 0)
                .expect("proof");
            StateProofBundle {
                contract: contract.to_owned(),
                key: key.to_vec(),
                value: value.map(|v| decode(&v, 1024).expect("leaf decodes")),
                height: HEIGHT,
                state_root: self.header.state_root,
                proof: StateProof::from_jmt(proof),
                header: self.header.clone(),
                signature: self.signature.clone(),
            }
        }
    }

    /// The code `b` is refused with.
    fn refused(b: &StateProofBundle) -> ErrorCode {
        b.verify(&orderer().public_key())
            .expect_err("a tampered bundle is refused")
            .code()
    }

    #[test]
    fn genuine_inclusion_and_exclusion_bundles_verify() {
        let w = world();
        let key = orderer().public_key();
        let alice = w.bundle("asset", b"acct/alice");
        assert_eq!(alice.value, Some(vv(b"70", 3, 0)));
        assert_eq!(alice.verify(&key), Ok(()));
        let nobody = w.bundle("asset", b"acct/nobody");
        assert_eq!(nobody.value, None);
        assert_eq!(nobody.verify(&key), Ok(()));
        let other_contract = w.bundle("bank", b"acct/alice");
        assert_eq!(other_contract.value, None);
        assert_eq!(other_contract.verify(&key), Ok(()));
        // Borsh round trip within the bound.
        let bytes = encode(&alice);
        assert!(bytes.len() <= MAX_STATE_BUNDLE_BYTES);
        assert_eq!(
            decode::<StateProofBundle>(&bytes, MAX_STATE_BUNDLE_BYTES),
            Ok(alice)
        );
    }

    #[test]
    fn tampered_values_keys_and_contracts_are_state_proof_invalid() {
        let w = world();
        let alice = w.bundle("asset", b"acct/alice");
        let nobody = w.bundle("asset", b"acct/nobody");
        let cases: Vec<(&str, StateProofBundle)> = vec![
            ("value bytes", {
                let mut b = alice.clone();
                b.value = Some(vv(b"71", 3, 0));
                b
            }),
            ("version block", {
                let mut b = alice.clone();
                b.value = Some(vv(b"70", 4, 0));
                b
            }),
            ("version tx", {
                let mut b = alice.clone();
                b.value = Some(vv(b"70", 3, 1));
                b
            }),
            ("absence claimed for a present key", {
                let mut b = alice.clone();
                b.value = None;
                b
            }),
            ("a value claimed for an absent key", {
                let mut b = nobody.clone();
                b.value = Some(vv(b"70", 3, 0));
                b
            }),
            ("another present key", {
                let mut b = alice.clone();
                b.key = b"acct/bob".to_vec();
                b
            }),
            ("another absent key", {
                let mut b = alice.clone();
                b.key = b"acct/alicf".to_vec();
                b
            }),
            ("an exclusion moved to a present key", {
                let mut b = nobody.clone();
                b.key = b"acct/alice".to_vec();
                b
            }),
            ("another contract", {
                let mut b = alice.clone();
                b.contract = "asset2".into();
                b
            }),
            ("not a contract name", {
                let mut b = alice.clone();
                b.contract = "Asset".into();
                b
            }),
            // Same state key `kv\0x\0y`, relabelled: only the name check catches it.
            ("a contract name with a NUL", {
                let mut b = w.bundle("kv", b"x\0y");
                b.contract = "kv\0x".into();
                b.key = b"y".to_vec();
                b
            }),
            ("the system namespace", {
                let mut b = alice.clone();
                b.contract = "_lifecycle".into();
                b
            }),
        ];
        for (what, b) in cases {
            assert_eq!(refused(&b), ErrorCode::StateProofInvalid, "{what}");
        }
        let mut relabelled = w.bundle("kv", b"x\0y");
        assert_eq!(relabelled.verify(&orderer().public_key()), Ok(()));
        relabelled.contract = "kv\0x".into();
        relabelled.key = b"y".to_vec();
        assert_eq!(
            relabelled.verify(&orderer().public_key()),
            Err(StateBundleError::ContractName("kv\0x".into()))
        );
    }

    #[test]
    fn tampered_heights_roots_headers_and_signatures_have_their_codes() {
        let w = world();
        let alice = w.bundle("asset", b"acct/alice");

        let mut b = alice.clone();
        b.height += 1;
        assert_eq!(refused(&b), ErrorCode::StateHeightMismatch);
        assert_eq!(
            b.verify(&orderer().public_key()),
            Err(StateBundleError::Height {
                bundle: HEIGHT + 1,
                header: HEIGHT
            })
        );

        let mut b = alice.clone();
        b.state_root.0[0] ^= 1;
        assert_eq!(refused(&b), ErrorCode::StateRootMismatch);
        // A bundle that is internally consistent with the empty state is still not signed.
        b.state_root = EMPTY_STATE_ROOT;
        b.header.state_root = EMPTY_STATE_ROOT;
        assert_eq!(refused(&b), ErrorCode::BlockBadSignature);

        type Edit = fn(&mut BlockHeader);
        let header_edits: [(&str, Edit); 7] = [
            ("height", |h| h.height += 1),
            ("prev_hash", |h| h.prev_hash.0[5] ^= 1),
            ("tx_root", |h| h.tx_root.0[5] ^= 1),
            ("tx_count", |h| h.tx_count += 1),
            ("state_root", |h| h.state_root.0[5] ^= 1),
            ("timestamp_ms", |h| h.timestamp_ms += 1),
            ("orderer", |h| h.orderer.0.0[5] ^= 1),
        ];
        for (field, edit) in header_edits {
            let mut b = alice.clone();
            edit(&mut b.header);
            assert_eq!(refused(&b), ErrorCode::BlockBadSignature, "header.{field}");
        }

        let mut b = alice.clone();
        b.signature.0[10] ^= 1;
        assert_eq!(refused(&b), ErrorCode::BlockBadSignature);
        let mut b = alice.clone();
        b.signature = Signature(Vec::new());
        assert_eq!(refused(&b), ErrorCode::BlockBadSignature);
        let other = SigningKey::from_ed25519_seed(&[8; 32]);
        assert_eq!(
            alice.verify(&other.public_key()),
            Err(StateBundleError::HeaderSignature)
        );
    }

    #[test]
    fn every_flipped_proof_byte_is_refused_or_undecodable() {
        let w = world();
        let key = orderer().public_key();
        for genuine in [
            w.bundle("asset", b"acct/alice"),
            w.bundle("asset", b"acct/zed"),
        ] {
            let bytes = encode(&genuine.proof);
            assert!(bytes.len() <= MAX_STATE_PROOF_BYTES);
            let mut decoded = 0;
            for i in 0..bytes.len() {
                for bit in [0x01, 0x80] {
                    let mut flipped = bytes.clone();
                    flipped[i] ^= bit;
                    let Ok(proof) = decode::<StateProof>(&flipped, MAX_STATE_PROOF_BYTES) else {
                        continue;
                    };
                    decoded += 1;
                    let mut b = genuine.clone();
                    b.proof = proof;
                    assert_eq!(
                        b.verify(&key),
                        Err(StateBundleError::Proof(StateProofError::Mismatch)),
                        "byte {i} ^ {bit:#x}"
                    );
                }
            }
            assert!(
                decoded > bytes.len(),
                "most flips decode and reach the check"
            );
            // A truncated proof does not decode.
            assert!(
                decode::<StateProof>(&bytes[..bytes.len() - 1], MAX_STATE_PROOF_BYTES).is_err()
            );
        }
    }

    #[test]
    fn every_error_maps_to_its_code() {
        let cases = [
            (StateBundleError::HeaderSignature, "BLOCK_BAD_SIGNATURE"),
            (
                StateBundleError::Height {
                    bundle: 1,
                    header: 2,
                },
                "STATE_HEIGHT_MISMATCH",
            ),
            (
                StateBundleError::Root {
                    bundle: Hash::ZERO,
                    header: EMPTY_STATE_ROOT,
                },
                "STATE_ROOT_MISMATCH",
            ),
            (
                StateBundleError::ContractName("A".into()),
                "STATE_PROOF_INVALID",
            ),
            (
                StateBundleError::Proof(StateProofError::Mismatch),
                "STATE_PROOF_INVALID",
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code().as_str(), code);
            let api: crate::ApiError = e.clone().into();
            assert_eq!((api.code, api.message), (e.code(), e.to_string()));
        }
    }

    #[test]
    fn contract_keys_are_namespaced_and_names_exclude_the_system_prefix() {
        assert_eq!(contract_key("asset", b"k"), b"asset\0k");
        assert_eq!(contract_prefix("kv"), b"kv\0");
        assert!(valid_name("asset") && valid_name("kv-2_x") && valid_name("9"));
        for bad in ["", "_lifecycle", "-a", "A", "a\0b", "a b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
