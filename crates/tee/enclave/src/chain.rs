//! The endorsement enclave's own view of the chain (docs/design/endorsement-in-enclave.md): the
//! block headers it has verified itself under the management key of the consortium pinned at
//! `Init` ([`HeaderChain`]), and the check of every state read the host serves
//! ([`verify_reads`]): a proof against a verified root, or a hit in the in-enclave state cache
//! keyed by (contract, key, version) — seed 002's state cache, on the chain side.
//!
//! Invariants:
//! - A header is accepted only signed by the pinned management key, at the next height, on the
//!   previous verified header's hash; a refused header changes nothing.
//! - A read is accepted only if its proof verifies against the root of a verified header, or if
//!   exactly that (key, version, value) was proven before by a task the enclave signed. A
//!   refused task caches nothing.
//! - Everything here is bounded: the root window, the cache, the members.

use std::collections::{BTreeMap, HashMap, VecDeque};

use arcanum_crypto::{Hash, PublicKey, domain, sha256};
use arcanum_enclave_protocol::{SignedHeader, Witness};
use arcanum_ledger::ChainConfig;
use arcanum_types::state::EMPTY_STATE_ROOT;
use arcanum_types::{IdentityId, Version, VersionedValue};

/// Verified heights whose roots the enclave keeps: reads can be verified at any of them.
pub const HEADER_WINDOW: usize = 1024;

/// Entries of the state cache.
pub const STATE_CACHE_ENTRIES: usize = 1 << 16;

/// Why the enclave refused a header or a read. Each has a stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
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

/// The headers the enclave verified itself, from genesis, and the hashes and roots of the last
/// [`HEADER_WINDOW`] heights.
#[derive(Debug)]
pub struct HeaderChain {
    orderer: IdentityId,
    orderer_key: PublicKey,
    verified: (u64, Hash),
    /// `(height, header hash, state root)`, oldest first; height 0 is the empty state.
    window: VecDeque<(u64, Hash, Hash)>,
}

impl HeaderChain {
    /// The chain before block 1 of `config`'s consortium: the empty state's root at height 0.
    /// `None` if the configuration's orderer has no key.
    pub fn new(config: &ChainConfig) -> Option<HeaderChain> {
        Some(HeaderChain {
            orderer: config.orderer,
            orderer_key: config.orderer_key()?.clone(),
            verified: (0, Hash::ZERO),
            window: VecDeque::from([(0, Hash::ZERO, EMPTY_STATE_ROOT)]),
        })
    }

    /// The last verified height.
    pub fn height(&self) -> u64 {
        self.verified.0
    }

    /// Verifies the next header and extends the chain; a refused header changes nothing.
    pub fn apply(&mut self, signed: &SignedHeader) -> Result<(), ChainError> {
        let header = &signed.header;
        let hash = header.hash();
        if header.orderer != self.orderer
            || self
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
        if self.window.len() == HEADER_WINDOW {
            self.window.pop_front();
        }
        self.window
            .push_back((header.height, hash, header.state_root));
        Ok(())
    }

    /// [`HeaderChain::apply`], except that a header at a verified height in the window is
    /// accepted, changing nothing, when it is exactly the verified header there (so hosts that
    /// feed concurrently cannot refuse each other's work).
    pub fn extend(&mut self, signed: &SignedHeader) -> Result<(), ChainError> {
        let height = signed.header.height;
        if height != 0
            && height <= self.verified.0
            && self
                .slot(height)
                .is_some_and(|(_, hash, _)| hash == signed.header.hash())
        {
            return Ok(());
        }
        self.apply(signed)
    }

    fn slot(&self, height: u64) -> Option<(u64, Hash, Hash)> {
        let (first, _, _) = self.window.front().copied()?;
        height
            .checked_sub(first)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.window.get(i))
            .copied()
    }

    /// The verified root after block `height`, if it is in the window.
    pub fn root(&self, height: u64) -> Result<Hash, ChainError> {
        self.slot(height)
            .map(|(_, _, root)| root)
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

/// The reads of one task, verified, and what admitting them would add to the cache.
#[derive(Debug)]
pub struct VerifiedReads {
    /// Every witnessed key with its verified value (`None`: proven absent).
    pub reads: BTreeMap<Vec<u8>, Option<VersionedValue>>,
    proven: Vec<(Vec<u8>, VersionedValue)>,
    hits: u64,
}

impl StateCache {
    /// Caches what a signed task proved (only a task the enclave signed touches the cache).
    pub fn admit(&mut self, verified: &VerifiedReads) {
        self.hits += verified.hits;
        self.misses += verified.proven.len() as u64;
        for (key, value) in &verified.proven {
            self.insert(key.clone(), value);
        }
    }
}

/// The check of the reads of one task: every witness proven against the verified root at
/// `height`, or proven before (in `cache`). Changes nothing: [`StateCache::admit`] caches the
/// result once the task is signed.
pub fn verify_reads(
    chain: &HeaderChain,
    cache: &StateCache,
    height: u64,
    witnesses: &[Witness],
) -> Result<VerifiedReads, ChainError> {
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
                    proven.push((w.key.clone(), value.clone()));
                }
            }
        }
    }
    Ok(VerifiedReads {
        reads,
        proven,
        hits,
    })
}
