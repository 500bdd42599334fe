//! The endorsement enclave's own view of the chain (docs/design/endorsement-in-enclave.md): the
//! consortium pinned at `Init` ([`ChainPin`]), the block headers it has verified itself
//! ([`HeaderChain`]), and the check of every state read the host serves ([`ReadVerifier`]): a
//! proof against a verified root, or a hit in the in-enclave state cache keyed by (contract,
//! key, version) — seed 002's state cache, on the chain side.
//!
//! Invariants:
//! - A header is accepted only signed by the pinned management key, at the next height, on the
//!   previous verified header's hash; a refused header changes nothing.
//! - A read is accepted only if its proof verifies against the root of a verified header, or if
//!   exactly that (key, version, value) was proven before. A refused set of reads caches
//!   nothing.
//! - Everything here is bounded: the root window, the cache, the members.

use std::collections::{BTreeMap, HashMap, VecDeque};

use arcanum_crypto::{Hash, PublicKey, Signature, domain, sha256, tagged_hash};
use arcanum_types::state::EMPTY_STATE_ROOT;
use arcanum_types::{BlockHeader, IdentityId, Role, StateProof, Version, VersionedValue, encode};
use borsh::{BorshDeserialize, BorshSerialize};

/// Verified heights whose roots the enclave keeps: reads can be verified at any of them.
pub const HEADER_WINDOW: usize = 1024;

/// Entries of the state cache.
pub const STATE_CACHE_ENTRIES: usize = 1 << 16;

/// Most members a pin may name.
pub const MAX_PINNED_MEMBERS: usize = 4096;

/// A consortium member as the enclave knows it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PinnedMember {
    pub id: IdentityId,
    pub name: String,
    pub msp_id: String,
    pub role: Role,
    pub public_key: PublicKey,
    /// On the client allow-list (L3).
    pub allowed_client: bool,
}

/// The consortium the enclave endorses for, fixed at `Init`; its [`ChainPin::hash`] is bound
/// into the enclave's evidence.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainPin {
    pub channel: String,
    /// The management device whose signature every header must carry.
    pub orderer: IdentityId,
    pub orderer_key: PublicKey,
    /// Sorted by id, each id once.
    pub members: Vec<PinnedMember>,
}

impl ChainPin {
    /// The pin's identity, bound into the evidence.
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::ENCLAVE_CHAIN_PIN, &[&encode(self)])
    }

    /// Checks the pin's own shape: members sorted by id, unique, bounded.
    pub fn check(&self) -> Result<(), ChainError> {
        if self.members.len() > MAX_PINNED_MEMBERS
            || self.members.windows(2).any(|w| w[0].id >= w[1].id)
        {
            return Err(ChainError::BadPin);
        }
        Ok(())
    }

    /// The member with this id (the pin is checked sorted).
    pub fn member(&self, id: &IdentityId) -> Option<&PinnedMember> {
        self.members
            .binary_search_by(|m| m.id.cmp(id))
            .ok()
            .map(|i| &self.members[i])
    }
}

/// A block header with the management device's signature over its hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedHeader {
    pub header: BlockHeader,
    pub signature: Signature,
}

/// A state read as the host serves it: the value (or absence) of `key` at a verified height,
/// with its proof, or without one when the enclave has proven that version before.
#[derive(Clone, Debug, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct Witness {
    pub key: Vec<u8>,
    pub value: Option<VersionedValue>,
    pub proof: Option<StateProof>,
}

/// Why the enclave refused a header or a read. Each has a stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the chain pin's members are not sorted, unique and bounded")]
    BadPin,
    #[error("the header is not signed by the pinned management device")]
    HeaderBadSignature,
    #[error("header {got} does not follow the verified height {verified}")]
    HeaderOutOfOrder { verified: u64, got: u64 },
    #[error("header {height} does not extend the verified header's hash")]
    HeaderBadPrevHash { height: u64 },
    #[error("no verified state root at height {height}")]
    StateRootUnknown { height: u64 },
    #[error("the proof of a read does not verify against the verified root")]
    StateProofInvalid,
    #[error("a read without a proof was not proven before")]
    StateProofMissing,
    #[error("a key is witnessed twice in one task")]
    ReadWitnessedTwice,
}

impl ChainError {
    /// The stable refusal code.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::BadPin => "BAD_CHAIN_PIN",
            ChainError::HeaderBadSignature => "HEADER_BAD_SIGNATURE",
            ChainError::HeaderOutOfOrder { .. } => "HEADER_OUT_OF_ORDER",
            ChainError::HeaderBadPrevHash { .. } => "HEADER_BAD_PREV_HASH",
            ChainError::StateRootUnknown { .. } => "STATE_ROOT_UNKNOWN",
            ChainError::StateProofInvalid => "STATE_PROOF_INVALID",
            ChainError::StateProofMissing => "STATE_PROOF_MISSING",
            ChainError::ReadWitnessedTwice => "READ_WITNESSED_TWICE",
        }
    }
}

/// The headers the enclave verified itself, from genesis, and the roots of the last
/// [`HEADER_WINDOW`] heights.
#[derive(Debug)]
pub struct HeaderChain {
    pin: ChainPin,
    verified: (u64, Hash),
    roots: VecDeque<(u64, Hash)>,
}

impl HeaderChain {
    /// The chain before block 1: the empty state's root at height 0.
    pub fn new(pin: ChainPin) -> Result<HeaderChain, ChainError> {
        pin.check()?;
        Ok(HeaderChain {
            pin,
            verified: (0, Hash::ZERO),
            roots: VecDeque::from([(0, EMPTY_STATE_ROOT)]),
        })
    }

    pub fn pin(&self) -> &ChainPin {
        &self.pin
    }

    /// The last verified height.
    pub fn height(&self) -> u64 {
        self.verified.0
    }

    /// Verifies the next header and extends the chain; a refused header changes nothing.
    pub fn apply(&mut self, signed: &SignedHeader) -> Result<(), ChainError> {
        let header = &signed.header;
        let hash = header.hash();
        if header.orderer != self.pin.orderer
            || self
                .pin
                .orderer_key
                .verify(domain::BLOCK_SIGNATURE, &hash.0, &signed.signature)
                .is_err()
        {
            return Err(ChainError::HeaderBadSignature);
        }
        let (height, tip) = self.verified;
        if Some(header.height) != height.checked_add(1) {
            return Err(ChainError::HeaderOutOfOrder {
                verified: height,
                got: header.height,
            });
        }
        if header.prev_hash != tip {
            return Err(ChainError::HeaderBadPrevHash {
                height: header.height,
            });
        }
        self.verified = (header.height, hash);
        if self.roots.len() == HEADER_WINDOW {
            self.roots.pop_front();
        }
        self.roots.push_back((header.height, header.state_root));
        Ok(())
    }

    /// The verified root after block `height`, if it is in the window.
    pub fn root(&self, height: u64) -> Result<Hash, ChainError> {
        let (first, _) = self.roots.front().copied().unwrap_or((0, EMPTY_STATE_ROOT));
        height
            .checked_sub(first)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.roots.get(i))
            .map(|(_, root)| *root)
            .ok_or(ChainError::StateRootUnknown { height })
    }
}

/// Proven `(state key, version) → hash of the value`, bounded, first in first out.
#[derive(Debug, Default)]
pub struct StateCache {
    entries: HashMap<(Vec<u8>, Version), Hash>,
    order: VecDeque<(Vec<u8>, Version)>,
    hits: u64,
    misses: u64,
}

impl StateCache {
    fn contains(&self, key: &[u8], value: &VersionedValue) -> bool {
        self.entries.get(&(key.to_vec(), value.version)) == Some(&sha256(&value.value))
    }

    fn insert(&mut self, key: Vec<u8>, value: &VersionedValue) {
        let slot = (key, value.version);
        if self.entries.contains_key(&slot) {
            return;
        }
        if self.order.len() == STATE_CACHE_ENTRIES
            && let Some(old) = self.order.pop_front()
        {
            self.entries.remove(&old);
        }
        self.entries.insert(slot.clone(), sha256(&value.value));
        self.order.push_back(slot);
    }

    /// `(hits, misses)` of reads served so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

/// The check of the reads of one task: every witness proven against the verified root at
/// `height`, or proven before. Returns the verified reads by key.
pub fn verify_reads(
    chain: &HeaderChain,
    cache: &mut StateCache,
    height: u64,
    witnesses: &[Witness],
) -> Result<BTreeMap<Vec<u8>, Option<VersionedValue>>, ChainError> {
    let mut reads = BTreeMap::new();
    let mut proven = Vec::new();
    let mut hits = 0;
    for w in witnesses {
        if reads.insert(w.key.clone(), w.value.clone()).is_some() {
            return Err(ChainError::ReadWitnessedTwice);
        }
        match (&w.proof, &w.value) {
            (None, Some(value)) if cache.contains(&w.key, value) => hits += 1,
            (None, _) => return Err(ChainError::StateProofMissing),
            (Some(proof), value) => {
                proof
                    .verify(&chain.root(height)?, &w.key, value.as_ref())
                    .map_err(|_| ChainError::StateProofInvalid)?;
                if let Some(value) = value {
                    proven.push((w.key.clone(), value));
                }
            }
        }
    }
    // Only a wholly accepted task touches the cache.
    cache.hits += hits;
    cache.misses += proven.len() as u64;
    for (key, value) in proven {
        cache.insert(key, value);
    }
    Ok(reads)
}
