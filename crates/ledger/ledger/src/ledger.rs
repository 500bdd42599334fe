use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arcanum_crypto::{Hash, PublicKey, Signature, VerifiedSet, domain, tagged_hash};
use arcanum_policy::Policy;
use arcanum_storage::{BlockCommit, LedgerStore, StateReader, StorageError, VersionedValue};
use arcanum_types::{
    ApiError, Block, BlockHeader, EndorsedTx, ErrorCode, Event, Role, TxAction, TxReceipt,
    TxStatus, Version, Vote, decode, encode, limits, merkle_root,
};
use parking_lot::Mutex;

use crate::checks::{
    Signatures, check_client_with, check_endorsements, client_of, verify_endorsements_with,
};
use crate::{
    ChainConfig, ContractDef, check_shape, code_key, contract_prefix, definition_key, peer_key_key,
};

/// The outcome of committing one block.
#[derive(Clone, Debug)]
pub struct CommitSummary {
    pub height: u64,
    pub block_hash: Hash,
    pub receipts: Vec<TxReceipt>,
    /// Events of the valid transactions, with their transaction id.
    pub events: Vec<(Hash, Event)>,
    /// The block was already committed (an idempotent re-delivery): nothing changed.
    pub already_committed: bool,
}

/// Read access to versioned world state: the store, or the store under a block's pending writes.
pub trait StateView {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, ApiError>;

    /// A contract's definition, if deployed.
    fn contract(&self, name: &str) -> Result<Option<ContractDef>, ApiError> {
        match self.get(&definition_key(name))? {
            None => Ok(None),
            Some(v) => decode(&v.value, limits::MAX_VALUE_BYTES)
                .map(Some)
                .map_err(|e| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("corrupt contract definition: {e}"),
                    )
                }),
        }
    }
}

impl<R: StateReader + ?Sized> StateView for R {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, ApiError> {
        StateReader::get(self, key).map_err(storage_error)
    }
}

pub(crate) fn storage_error(e: StorageError) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(ErrorCode::Internal, "storage failure")
}

/// Whose signatures a ledger checks inside a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureTrust {
    /// Every client and endorsement signature is verified: peers.
    VerifyAll,
    /// The block signature vouches for exactly the per-transaction signatures that the
    /// management device verified itself before ordering, under the keys a peer verifies them
    /// under: the management device's own chain and the endorsement devices' replicas, inside
    /// the management network. Those are
    ///
    /// - every client's reference signature: the management device verifies it on submission
    ///   (batched), and a client's key is its certificate's, fixed by the config;
    /// - every endorsement by a peer whose key was never rotated on chain: the management device
    ///   verifies each endorsement under the peer's key at its tip, which for such a peer was and
    ///   still is its certificate's key.
    ///
    /// An endorsement by a peer whose key has been rotated (before this block, or earlier in it)
    /// is verified as at a peer: it may have been verified under a key that a rotation ordered
    /// after it has replaced. Everything else (shape, channel, membership, replay, policy, MVCC)
    /// is checked as at a peer. So for every block the management device orders, validity is the
    /// same as at the peers; only a block signed with the management device's key that it did
    /// not order itself could carry a forged signature these ledgers accept.
    TrustOrderer,
}

impl SignatureTrust {
    /// Whether a client's reference signature is taken as verified.
    pub fn trusts_client_signatures(self) -> bool {
        self == SignatureTrust::TrustOrderer
    }

    /// Whether an endorsement is taken as verified; `rotated`: its peer's key has been rotated
    /// on chain, as seen at the transaction's position in its block.
    pub fn trusts_endorsement(self, rotated: bool) -> bool {
        self == SignatureTrust::TrustOrderer && !rotated
    }
}

/// A validating chain over a [`LedgerStore`]: the peer's (and management device's) ledger.
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
    config: Arc<ChainConfig>,
    trust: SignatureTrust,
    /// Serialises validate-and-commit so blocks apply one at a time, in order.
    commit_lock: Mutex<()>,
    /// Parsed policies by text; bounded by the number of distinct deployed policies.
    policies: Mutex<BTreeMap<String, Arc<Policy>>>,
}

impl Ledger {
    /// A ledger that verifies every signature (a peer's).
    pub fn new(store: Arc<dyn LedgerStore>, config: Arc<ChainConfig>) -> Ledger {
        Ledger::with_trust(store, config, SignatureTrust::VerifyAll)
    }

    pub fn with_trust(
        store: Arc<dyn LedgerStore>,
        config: Arc<ChainConfig>,
        trust: SignatureTrust,
    ) -> Ledger {
        Ledger {
            store,
            config,
            trust,
            commit_lock: Mutex::new(()),
            policies: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn config(&self) -> &Arc<ChainConfig> {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn LedgerStore> {
        &self.store
    }

    /// `(height, hash)` of the last committed block; `(0, ZERO)` when empty.
    pub fn tip(&self) -> Result<(u64, Hash), ApiError> {
        self.store.tip().map_err(storage_error)
    }

    /// Whether a transaction id is already committed (valid or not).
    pub fn contains_tx(&self, id: &Hash) -> Result<bool, ApiError> {
        self.store.contains_tx(id).map_err(storage_error)
    }

    /// The parsed endorsement policy of a contract definition (cached).
    pub fn policy(&self, text: &str) -> Result<Arc<Policy>, ApiError> {
        if let Some(p) = self.policies.lock().get(text) {
            return Ok(p.clone());
        }
        let p = Arc::new(
            Policy::parse(text)
                .map_err(|e| ApiError::new(ErrorCode::PolicyParseError, e.to_string()))?,
        );
        self.policies.lock().insert(text.to_owned(), p.clone());
        Ok(p)
    }

    /// The policy governing a transaction's action, read from `view`.
    pub fn policy_for(
        &self,
        view: &dyn StateView,
        action: &TxAction,
    ) -> Result<Arc<Policy>, ApiError> {
        match action {
            TxAction::Deploy { .. }
            | TxAction::RotateKey { .. }
            | TxAction::RegisterCluster { .. }
            | TxAction::OffchainDeploy { .. } => Ok(Arc::new(self.config.lifecycle_policy.clone())),
            TxAction::OffchainCallback { callback } => {
                let def = view.contract(&callback.contract)?.ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ContractNotFound,
                        format!("contract {:?} is not deployed", callback.contract),
                    )
                })?;
                self.policy(&def.policy)
            }
            TxAction::Invoke { contract, .. } => {
                let def = view.contract(contract)?.ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ContractNotFound,
                        format!("contract {contract:?} is not deployed"),
                    )
                })?;
                self.policy(&def.policy)
            }
        }
    }

    /// A peer's current endorsement key in `view`: rotated on chain, or its certificate's.
    pub fn peer_key(
        &self,
        view: &dyn StateView,
        peer: &crate::Member,
    ) -> Result<arcanum_crypto::PublicKey, ApiError> {
        peer_key_entry(view, peer).map(|(key, _)| key)
    }

    /// A peer's current endorsement key at the tip.
    pub fn peer_key_at_tip(
        &self,
        peer: &crate::Member,
    ) -> Result<arcanum_crypto::PublicKey, ApiError> {
        self.peer_key(&Tip(self.store.as_ref()), peer)
    }

    /// Verifies an endorsed transaction's endorsements against the peers' keys at the tip;
    /// signatures in `verified` were verified in a batch already.
    pub fn verify_endorsements_at_tip(
        &self,
        etx: &EndorsedTx,
        verified: &VerifiedSet,
    ) -> Result<Vec<arcanum_policy::Signer>, ApiError> {
        let tip = Tip(self.store.as_ref());
        verify_endorsements_with(&self.config, etx, Signatures::Verify(verified), &|m| {
            self.peer_key(&tip, m)
        })
    }

    /// The policy governing `action` at the current tip.
    pub fn policy_at_tip(&self, action: &TxAction) -> Result<Arc<Policy>, ApiError> {
        self.policy_for(&Tip(self.store.as_ref()), action)
    }

    /// Checks a block's header against the local chain: signature, transaction root, position.
    /// `Ok(true)` means the very same block is already committed.
    pub fn check_header(&self, block: &Block) -> Result<bool, ApiError> {
        let header = &block.header;
        let orderer = self
            .config
            .member(&self.config.orderer)
            .filter(|_| header.orderer == self.config.orderer)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BlockBadSignature,
                    "block is not signed by the management device",
                )
            })?;
        let hash = header.hash();
        orderer
            .public_key
            .verify(domain::BLOCK_SIGNATURE, &hash.0, &block.signature)
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::BlockBadSignature,
                    "block signature does not verify",
                )
            })?;
        if header.tx_count as usize != block.txs.len() || block.compute_tx_root() != header.tx_root
        {
            return Err(ApiError::new(
                ErrorCode::BlockTxRootMismatch,
                "transactions do not match the header's root",
            ));
        }
        let (height, tip_hash) = self.tip()?;
        if header.height == 0 {
            return Err(ApiError::new(
                ErrorCode::BlockBadPrevHash,
                "height 0 is not a block",
            ));
        }
        if header.height <= height {
            let stored = self
                .store
                .block_hash(header.height)
                .map_err(storage_error)?;
            return if stored == Some(hash) {
                Ok(true)
            } else {
                Err(ApiError::new(
                    ErrorCode::BlockConflict,
                    format!("a different block is committed at height {}", header.height),
                ))
            };
        }
        if header.height > height + 1 {
            return Err(ApiError::new(
                ErrorCode::BlockHeightGap,
                format!("block {} is ahead of local height {height}", header.height),
            ));
        }
        if header.prev_hash != tip_hash {
            return Err(ApiError::new(
                ErrorCode::BlockBadPrevHash,
                "block does not extend the local chain",
            ));
        }
        Ok(false)
    }

    /// Decodes, validates and atomically commits an encoded block.
    pub fn commit_bytes(&self, bytes: &[u8]) -> Result<CommitSummary, ApiError> {
        let block: Block = decode(bytes, limits::MAX_BLOCK_BYTES)
            .map_err(|e| ApiError::new(ErrorCode::MalformedEncoding, format!("block: {e}")))?;
        self.commit(&block, bytes.to_vec())
    }

    /// Validates and atomically commits a block whose encoding is `bytes`. The state root its
    /// valid writes produce must be the header's, or nothing is committed
    /// (`BLOCK_STATE_ROOT_MISMATCH`).
    pub fn commit(&self, block: &Block, bytes: Vec<u8>) -> Result<CommitSummary, ApiError> {
        let _guard = self.commit_lock.lock();
        let block_hash = block.header.hash();
        if self.check_header(block)? {
            return Ok(CommitSummary {
                height: block.header.height,
                block_hash,
                receipts: Vec::new(),
                events: Vec::new(),
                already_committed: true,
            });
        }
        let validated = self.validate_block(block.header.height, &block.txs);
        self.store_block(
            validated,
            block.header.height,
            block_hash,
            bytes,
            block.header.state_root,
        )
    }

    /// The management device's step (SPEC L1.4): validates `txs` on top of the tip exactly as a
    /// peer will, computes the state root their valid writes produce, builds the header carrying
    /// it, has `sign` sign the header hash, and commits the block atomically. Returns the signed
    /// block, its encoding and the commit summary.
    pub fn order(
        &self,
        txs: Vec<EndorsedTx>,
        timestamp_ms: u64,
        sign: impl FnOnce(&Hash) -> Signature,
    ) -> Result<(Block, Vec<u8>, CommitSummary), ApiError> {
        let _guard = self.commit_lock.lock();
        let (tip, prev_hash) = self.tip()?;
        let tx_count = u32::try_from(txs.len())
            .map_err(|_| ApiError::new(ErrorCode::Internal, "block too large"))?;
        let height = tip + 1;
        let validated = self.validate_block(height, &txs);
        let state_root = self
            .store
            .next_state_root(&validated.writes)
            .map_err(storage_error)?;
        let encoded: Vec<Vec<u8>> = txs.iter().map(encode).collect();
        let header = BlockHeader {
            height,
            prev_hash,
            tx_root: merkle_root(encoded.iter().map(Vec::as_slice)),
            tx_count,
            state_root,
            timestamp_ms,
            orderer: self.config.orderer,
        };
        let block_hash = header.hash();
        let signature = sign(&block_hash);
        let block = Block {
            header,
            txs,
            signature,
        };
        let bytes = encode(&block);
        let summary = self.store_block(validated, height, block_hash, bytes.clone(), state_root)?;
        Ok((block, bytes, summary))
    }

    /// What a block of `txs` on top of the tip would produce, without committing anything: each
    /// transaction's receipt and the resulting state root. For tools and tests that build
    /// blocks.
    pub fn preview(&self, txs: &[EndorsedTx]) -> Result<(Vec<TxReceipt>, Hash), ApiError> {
        let _guard = self.commit_lock.lock();
        let (tip, _) = self.tip()?;
        let validated = self.validate_block(tip + 1, txs);
        let root = self
            .store
            .next_state_root(&validated.writes)
            .map_err(storage_error)?;
        Ok((validated.receipts, root))
    }

    /// Validates each transaction of the block at `height` in order against the state left by
    /// the earlier valid ones, the signatures this ledger checks verified in one batch up front.
    fn validate_block(&self, height: u64, txs: &[EndorsedTx]) -> Validated {
        let tip_keys = TipKeys {
            ledger: self,
            keys: RefCell::default(),
        };
        let ids: Vec<Hash> = txs.iter().map(EndorsedTx::id).collect();
        let verified = self.verify_block_signatures(txs, &ids, &tip_keys);
        let mut overlay = Overlay {
            base: self.store.as_ref(),
            writes: BTreeMap::new(),
        };
        let mut receipts = Vec::with_capacity(txs.len());
        let mut events = Vec::new();
        let mut seen_ids = BTreeSet::new();
        for (index, (etx, &tx_id)) in txs.iter().zip(&ids).enumerate() {
            let version = Version {
                block: height,
                tx: index as u32,
            };
            let checked = Checked {
                verified: &verified,
                tip_keys: &tip_keys,
            };
            let status = match self.validate_tx(&overlay, etx, &tx_id, &mut seen_ids, checked) {
                Ok(()) => {
                    for w in &etx.response.rwset.writes {
                        let value = w
                            .value
                            .clone()
                            .map(|value| VersionedValue { value, version });
                        overlay.writes.insert(w.key.clone(), value);
                    }
                    events.extend(etx.response.events.iter().map(|e| (tx_id, e.clone())));
                    TxStatus::Valid
                }
                Err(code) => TxStatus::Invalid(code),
            };
            receipts.push(TxReceipt {
                tx_id,
                block: height,
                index: index as u32,
                status,
            });
        }
        Validated {
            receipts,
            events,
            writes: overlay.writes.into_iter().collect(),
        }
    }

    /// Commits a validated block durably; the store refuses it whole if its writes do not
    /// produce `state_root`.
    fn store_block(
        &self,
        validated: Validated,
        height: u64,
        block_hash: Hash,
        bytes: Vec<u8>,
        state_root: Hash,
    ) -> Result<CommitSummary, ApiError> {
        let Validated {
            receipts,
            events,
            writes,
        } = validated;
        let commit = BlockCommit {
            height,
            block_hash,
            block_bytes: bytes,
            writes,
            receipts: receipts.clone(),
            state_root,
        };
        self.store.commit_block(commit).map_err(|e| match e {
            StorageError::StateRootMismatch { .. } => {
                ApiError::new(ErrorCode::BlockStateRootMismatch, e.to_string())
            }
            e => storage_error(e),
        })?;
        Ok(CommitSummary {
            height,
            block_hash,
            receipts,
            events,
            already_committed: false,
        })
    }

    /// Every client and endorsement signature of `block` that this ledger's trust does not take
    /// as verified, verified together under the keys at the tip. A signature under a key rotated
    /// earlier in the same block is not in the batch and is verified on its own when its
    /// transaction is validated.
    fn verify_block_signatures(
        &self,
        txs: &[EndorsedTx],
        ids: &[Hash],
        tip_keys: &TipKeys<'_>,
    ) -> VerifiedSet {
        let mut items: Vec<(PublicKey, &'static str, Vec<u8>, &Signature)> = Vec::new();
        for (etx, id) in txs.iter().zip(ids) {
            if !self.trust.trusts_client_signatures()
                && let Ok(client) = client_of(&self.config, &etx.tx)
            {
                items.push((
                    client.public_key.clone(),
                    domain::TX_SIGNATURE,
                    id.0.to_vec(),
                    &etx.tx.signature,
                ));
            }
            if etx.endorsements.len() > limits::MAX_ENDORSEMENTS {
                continue;
            }
            let mut msg = None;
            for e in &etx.endorsements {
                let key = self
                    .config
                    .member(&e.endorser)
                    .filter(|m| m.role == Role::Peer)
                    .and_then(|m| tip_keys.get(m).ok())
                    .filter(|(_, rotated)| !self.trust.trusts_endorsement(*rotated));
                if let Some((key, _)) = key {
                    let msg = msg.get_or_insert_with(|| etx.response.endorsement_message(*id));
                    items.push((key, domain::ENDORSEMENT, msg.clone(), &e.signature));
                }
            }
        }
        let refs: Vec<(&PublicKey, &str, &[u8], &Signature)> = items
            .iter()
            .map(|(k, d, m, s)| (k, *d, m.as_slice(), *s))
            .collect();
        VerifiedSet::verify_all(&refs)
    }

    /// One transaction's validation against the state as left by the earlier valid transactions
    /// of its block. Returns the reason code of the first failed check.
    fn validate_tx(
        &self,
        view: &Overlay<'_>,
        etx: &EndorsedTx,
        tx_id: &Hash,
        seen_ids: &mut BTreeSet<Hash>,
        checked: Checked<'_>,
    ) -> Result<(), ErrorCode> {
        let code = |e: ApiError| e.code;
        check_shape(&etx.tx).map_err(code)?;
        // The replay check comes before the client signature check: the id is derived from the
        // payload only, so every copy of it, whatever its signature, claims the id. Otherwise a
        // copy with a bad signature followed by a good one in the same block would apply the
        // good one's writes while the transaction index (first receipt wins) reports the id as
        // invalid — and the same pair split across two blocks would be judged differently.
        if !seen_ids.insert(*tx_id) || self.contains_tx(tx_id).map_err(code)? {
            return Err(ErrorCode::DuplicateTx);
        }
        let client_signature = if self.trust.trusts_client_signatures() {
            Signatures::Trusted
        } else {
            Signatures::Verify(checked.verified)
        };
        let creator = check_client_with(&self.config, &etx.tx, client_signature).map_err(code)?;
        let response = &etx.response;
        if response.tx_id != *tx_id || !response.rwset.is_canonical() {
            return Err(ErrorCode::InvalidTx);
        }
        if response.vote != Vote::Approve {
            return Err(ErrorCode::EndorsementRejected);
        }
        // A key rotated earlier in this block is in the overlay; every other is the tip's. An
        // endorsement this ledger's trust takes as verified gets no key.
        let key_of = |m: &crate::Member| {
            let (key, rotated) = if view.writes.contains_key(&peer_key_key(&m.id)) {
                (self.peer_key(view, m)?, true)
            } else {
                checked.tip_keys.get(m)?
            };
            Ok((!self.trust.trusts_endorsement(rotated)).then_some(key))
        };
        let signers =
            check_endorsements(&self.config, etx, checked.verified, &key_of).map_err(code)?;
        match &etx.tx.payload.action {
            TxAction::Invoke { contract, .. } => {
                let ns = contract_prefix(contract);
                let reads = response.rwset.reads.iter().map(|r| &r.key);
                let writes = response.rwset.writes.iter().map(|w| &w.key);
                if !reads.chain(writes).all(|k| k.starts_with(&ns)) {
                    return Err(ErrorCode::InvalidTx);
                }
            }
            TxAction::Deploy {
                contract,
                wasm,
                policy,
            } => {
                if creator.role != Role::Admin {
                    return Err(ErrorCode::NotAdmin);
                }
                if view.contract(contract).map_err(code)?.is_some() {
                    return Err(ErrorCode::ContractExists);
                }
                if response.rwset.writes != deploy_writes(contract, wasm, policy) {
                    return Err(ErrorCode::InvalidTx);
                }
            }
            TxAction::RotateKey { peer, public_key } => {
                let target = self
                    .config
                    .member(peer)
                    .filter(|m| m.role == Role::Peer)
                    .ok_or(ErrorCode::InvalidTx)?;
                if creator.role != Role::Admin || creator.msp_id != target.msp_id {
                    return Err(ErrorCode::NotAdmin);
                }
                if response.rwset.writes != rotation_writes(peer, public_key) {
                    return Err(ErrorCode::InvalidTx);
                }
            }
            TxAction::RegisterCluster { .. }
            | TxAction::OffchainDeploy { .. }
            | TxAction::OffchainCallback { .. } => {
                // The same rule the endorsers simulated with, on this ledger's state: the
                // endorsed writes must be exactly the rule's, and the reads the same keys (their
                // versions are checked below, as for every transaction).
                let action = &etx.tx.payload.action;
                let expected = crate::offchain::rwset(view, self.store.as_ref(), creator, action)
                    .ok_or(ErrorCode::InvalidTx)?
                    .map_err(code)?;
                let read_keys = |s: &arcanum_types::RwSet| -> Vec<Vec<u8>> {
                    s.reads.iter().map(|r| r.key.clone()).collect()
                };
                if response.rwset.writes != expected.writes
                    || read_keys(&response.rwset) != read_keys(&expected)
                    || !response.result.is_empty()
                    || !response.events.is_empty()
                {
                    return Err(ErrorCode::InvalidTx);
                }
            }
        }
        let policy = self
            .policy_for(view, &etx.tx.payload.action)
            .map_err(code)?;
        let satisfied = policy
            .evaluate(&signers, &self.config.orgs)
            .map_err(|_| ErrorCode::PolicyNotSatisfied)?;
        if !satisfied {
            return Err(ErrorCode::PolicyNotSatisfied);
        }
        for read in &response.rwset.reads {
            let current = view.get(&read.key).map_err(code)?.map(|v| v.version);
            if current != read.version {
                return Err(ErrorCode::MvccReadConflict);
            }
        }
        Ok(())
    }
}

/// A block's validation outcome: receipts, the valid transactions' events and their final
/// writes in key order.
struct Validated {
    receipts: Vec<TxReceipt>,
    events: Vec<(Hash, Event)>,
    writes: Vec<(Vec<u8>, Option<VersionedValue>)>,
}

/// How one block's transactions have their signatures checked: the signatures verified
/// together up front, and the peers' keys at the tip.
#[derive(Clone, Copy)]
struct Checked<'a> {
    verified: &'a VerifiedSet,
    tip_keys: &'a TipKeys<'a>,
}

/// Peers' endorsement keys at the tip, and whether each was rotated on chain, each read from the
/// store once per block.
struct TipKeys<'a> {
    ledger: &'a Ledger,
    keys: RefCell<BTreeMap<arcanum_types::IdentityId, (PublicKey, bool)>>,
}

impl TipKeys<'_> {
    fn get(&self, peer: &crate::Member) -> Result<(PublicKey, bool), ApiError> {
        if let Some(k) = self.keys.borrow().get(&peer.id) {
            return Ok(k.clone());
        }
        let entry = peer_key_entry(&Tip(self.ledger.store.as_ref()), peer)?;
        self.keys.borrow_mut().insert(peer.id, entry.clone());
        Ok(entry)
    }
}

/// A peer's current endorsement key in `view`, and whether it was rotated on chain (else it is
/// its certificate's). Only `RotateKey` writes a peer's key entry, and never deletes it.
fn peer_key_entry(
    view: &dyn StateView,
    peer: &crate::Member,
) -> Result<(PublicKey, bool), ApiError> {
    match view.get(&peer_key_key(&peer.id))? {
        None => Ok((peer.public_key.clone(), false)),
        Some(v) => decode(&v.value, 4096)
            .map(|key| (key, true))
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("corrupt peer key: {e}"))),
    }
}

/// The store at its tip.
struct Tip<'a>(&'a dyn LedgerStore);

impl StateView for Tip<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, ApiError> {
        StateReader::get(self.0, key).map_err(storage_error)
    }
}

/// The write set a key rotation must produce.
pub fn rotation_writes(
    peer: &arcanum_types::IdentityId,
    public_key: &arcanum_crypto::PublicKey,
) -> Vec<arcanum_types::KvWrite> {
    vec![arcanum_types::KvWrite {
        key: peer_key_key(peer),
        value: Some(encode(public_key)),
    }]
}

/// The write set a deploy transaction must produce: its definition and its code.
pub fn deploy_writes(contract: &str, wasm: &[u8], policy: &str) -> Vec<arcanum_types::KvWrite> {
    let code_hash = tagged_hash(domain::CODE_HASH, &[wasm]);
    let def = ContractDef {
        name: contract.to_owned(),
        code_hash,
        policy: policy.to_owned(),
    };
    let mut writes = vec![
        arcanum_types::KvWrite {
            key: definition_key(contract),
            value: Some(encode(&def)),
        },
        arcanum_types::KvWrite {
            key: code_key(&code_hash),
            value: Some(wasm.to_vec()),
        },
    ];
    writes.sort_by(|a, b| a.key.cmp(&b.key));
    writes
}

/// The store seen through the writes of a block's earlier valid transactions.
struct Overlay<'a> {
    base: &'a dyn LedgerStore,
    writes: BTreeMap<Vec<u8>, Option<VersionedValue>>,
}

impl StateView for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedValue>, ApiError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => StateReader::get(self.base, key).map_err(storage_error),
        }
    }
}
