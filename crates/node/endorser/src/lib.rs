//! The endorsement device's host side (SPEC L1.3, L2, L7). The device holds the hosted signing
//! keys of consortium peers (in its enclave), checks that a transaction request is executable,
//! and has its enclave simulate it and sign the outcome once for every target peer whose key it
//! hosts. Its trusted core is `arcanum-enclave` (`crates/tee/enclave`), which decides what it
//! signs (docs/design/endorsement-in-enclave.md); everything else of the device is here:
//!
//! - [`Endorser`]: the endorsement logic, [`EndorseBatch`] (items of `(tx, peers)`) in,
//!   [`EndorseResponse`] out. Endorsement is batched end to end: [`Endorser::endorse_batch`]
//!   simulates each item on one snapshot of the replica (`arcanum-simulation`, to learn its
//!   reads), feeds the enclave the signed headers up to the snapshot's height, proves every read
//!   against that height's state root (`LedgerStore::get_with_proof`, once per version: the
//!   enclave caches what it verified), and makes one enclave call for all items, which
//!   simulate again inside and are signed there.
//! - [`EnclaveSigner`] over an [`EnclaveLink`]: the ring client of `arcanum-enclave-host` to the
//!   confined `arcanum-enclave` process, or the enclave's trusted code in this process
//!   ([`Endorser::in_process`], for tests and the Fabric flow's peers).
//! - [`enclave_setup`]: launching the enclave process, initialising it with its sealed key set,
//!   first-run key import, key rotation, and keeping a fresh attestation report from the
//!   attestation service (an HTTP client, `reqwest`).
//! - [`http`]: the device's HTTP routes (`/v1/endorse`, its attestation report, key rotation) on
//!   axum with `arcanum-http`. The server crate only wires them: it merges these routers into a
//!   node's, next to the replica it feeds by block delivery.
//!
//! The seam to the server: the routes need from the replica only its committed height (to wait
//! for a batch's `min_height`), so they take the replica's `tokio::sync::watch` of its tip
//! height, not the server's `Replica`; block delivery, catch-up, metrics and the event stream
//! stay in `arcanum-server`. A watch receiver is already the replica's own notification type,
//! so no trait is needed.
//!
//! Invariants:
//! - Hosted keys live in the endorsement enclave behind [`EnclaveSigner`]; this crate never
//!   holds them (the in-process variant runs the enclave's own trusted code).
//! - Nothing is signed unless the enclave itself verified the client signature under the pinned
//!   key (the whole batch's signatures together), the client's allow-listing, every read against
//!   a header it verified, and ran the simulation; the host also refuses reused transaction ids.
//!   A failing item of a batch never spoils the others.
//! - What the device answers is the enclave's response, never the host's own simulation.
//! - Simulation is deterministic: it reads one consistent snapshot and records every read with
//!   its version, so a peer's MVCC check catches any later change.
//! - HTTP and networking stay at the edge: only [`http`] (the routes) and
//!   [`enclave_setup::keep_attested`] (the attestation client) know them; [`Endorser`] and
//!   [`EnclaveSigner`] are called with decoded messages and know no transport.
//! - The device names no storage backend: its ledger comes from the server, which opens it.

mod enclave;
pub mod enclave_setup;
pub mod http;
mod in_process;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arcanum_crypto::{Hash, PublicKey, SigningKey, VerifiedSet, domain};
use arcanum_enclave_protocol::{EndorseTask, MAX_TASK_PEERS, SignedHeader, Witness, refusal};
use arcanum_ledger::{
    Ledger, Member, Signatures, StateView, check_client_with, check_shape, definition_key,
};
use arcanum_simulation::{CodeSource, StateCode, is_lifecycle, simulate};
use arcanum_storage::StateReader;
use arcanum_types::{
    ApiError, Block, ErrorCode, IdentityId, ProposalResponse, SignedTx, TxAction, Version, limits,
};
use parking_lot::Mutex;

pub use arcanum_api::{EndorseBatch, EndorseItem, EndorseOutcome, EndorseResponse};
pub use arcanum_simulation::ContractCache;
pub use enclave::{EnclaveLink, EnclaveSigner, TaskOutcome, enclave_error};

/// Proven `(state key, version)` pairs the host remembers sending: half the enclave's cache, so
/// that (with both filled in the same order) everything here is still cached there. A miss there
/// anyway (`STATE_PROOF_MISSING`) is answered by sending the proofs again.
const PROVEN_ENTRIES: usize = arcanum_enclave::chain::STATE_CACHE_ENTRIES / 2;

/// Rounds of sending tasks again after a refusal the host can answer (code, proofs, room).
const MAX_ROUNDS: usize = 4;

/// How the device's reads reached its enclave, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WitnessStats {
    /// Reads sent with a proof.
    pub proven: u64,
    /// Reads sent without one, because the enclave had verified that version already (its
    /// state cache's hits).
    pub cached: u64,
}

/// An endorsement device: a replica of the ledger to simulate against, and the enclave that
/// holds the hosted keys.
pub struct Endorser {
    ledger: Arc<Ledger>,
    contracts: ContractCache,
    signer: Arc<EnclaveSigner>,
    /// Items being endorsed right now (the device's load figure).
    in_flight: Mutex<u64>,
    /// The enclave's verified height; held while headers are fed, so feeds do not interleave.
    fed: Mutex<u64>,
    proven: Mutex<ProvenMirror>,
    /// Code hashes the enclave has been sent (it compiles each once).
    sent_code: Mutex<HashSet<Hash>>,
    proofs_sent: AtomicU64,
    cache_hits: AtomicU64,
}

impl std::fmt::Debug for Endorser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endorser")
            .field("hosted", &self.signer.hosted())
            .finish()
    }
}

impl Endorser {
    pub fn new(ledger: Arc<Ledger>, signer: Arc<EnclaveSigner>) -> Endorser {
        Endorser {
            ledger,
            contracts: ContractCache::new(),
            signer,
            in_flight: Mutex::new(0),
            fed: Mutex::new(0),
            proven: Mutex::new(ProvenMirror::default()),
            sent_code: Mutex::new(HashSet::new()),
            proofs_sent: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    /// A device whose enclave runs in this process (the same trusted code, without process
    /// isolation), hosting `keys`: for tests and embedding. Each key must match its peer's
    /// certificate.
    pub fn in_process(
        ledger: Arc<Ledger>,
        keys: Vec<(IdentityId, SigningKey)>,
    ) -> Result<Endorser, ApiError> {
        let signer = in_process::start(&ledger, keys)?;
        Ok(Endorser::new(ledger, Arc::new(signer)))
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The peers whose keys this device hosts.
    pub fn hosted_peers(&self) -> Vec<IdentityId> {
        self.signer.hosted()
    }

    /// Items in progress.
    pub fn load(&self) -> u64 {
        *self.in_flight.lock()
    }

    /// How reads reached the enclave so far.
    pub fn witness_stats(&self) -> WitnessStats {
        WitnessStats {
            proven: self.proofs_sent.load(Ordering::Relaxed),
            cached: self.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// Checks, simulates and signs a batch (L1.3): one result per item, in item order.
    ///
    /// Each item is checked and simulated on the host on one snapshot (shape, allow-list,
    /// channel, replay, then the simulation, to learn the reads to prove). Then ONE enclave call
    /// carries every item that simulated and names peers, with its proven reads; the enclave
    /// checks and simulates each again and signs what it computed. An item with no peers is a
    /// read-only query: simulated only, its client signature verified here. A failing item
    /// never spoils the others.
    pub fn endorse_batch(&self, batch: &EndorseBatch) -> Vec<Result<EndorseResponse, ApiError>> {
        let n = batch.items.len() as u64;
        *self.in_flight.lock() += n;
        let results = self.endorse_inner(&batch.items);
        *self.in_flight.lock() -= n;
        results
    }

    fn endorse_inner(&self, items: &[EndorseItem]) -> Vec<Result<EndorseResponse, ApiError>> {
        let snapshot = match self.ledger.store().snapshot() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "snapshot failed");
                let e = ApiError::new(ErrorCode::Internal, "storage failure");
                return items.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let view: &dyn StateReader = snapshot.as_ref();
        let config = self.ledger.config();
        // Queries' client signatures, verified together.
        let query_ids: Vec<(usize, Hash, PublicKey)> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.peers.is_empty())
            .filter_map(|(i, item)| {
                let key = config.member(&item.tx.payload.creator)?.public_key.clone();
                Some((i, item.tx.payload.id(), key))
            })
            .collect();
        let queries = VerifiedSet::verify_all(
            &query_ids
                .iter()
                .map(|(i, id, key)| {
                    (
                        key,
                        domain::TX_SIGNATURE,
                        id.0.as_slice(),
                        &items[*i].tx.signature,
                    )
                })
                .collect::<Vec<_>>(),
        );
        let hosted = self.signer.hosted();
        let mut results: Vec<Result<EndorseResponse, ApiError>> = Vec::with_capacity(items.len());
        // (item index, host's response) of the items for the enclave.
        let mut to_sign: Vec<(usize, ProposalResponse)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let signatures = if item.peers.is_empty() {
                Signatures::Verify(&queries)
            } else {
                // The enclave verifies it under the pinned key.
                Signatures::Trusted
            };
            let checked = self
                .check_item(item, &hosted)
                .and_then(|()| self.simulate_on(view, &item.tx, signatures));
            match checked {
                Ok(response) if !item.peers.is_empty() => {
                    to_sign.push((i, response));
                    results.push(Err(ApiError::new(ErrorCode::Internal, "not endorsed")));
                }
                other => results.push(other.map(|response| EndorseResponse {
                    response,
                    endorsements: Vec::new(),
                })),
            }
        }
        if to_sign.is_empty() {
            return results;
        }
        let height = match view.height() {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "snapshot height unreadable");
                let e = ApiError::new(ErrorCode::Internal, "storage failure");
                for (i, _) in &to_sign {
                    results[*i] = Err(e.clone());
                }
                return results;
            }
        };
        if let Err(e) = self.feed_headers(height) {
            for (i, _) in &to_sign {
                results[*i] = Err(e.clone());
            }
            return results;
        }
        let mut pending: Vec<(usize, &ProposalResponse)> =
            to_sign.iter().map(|(i, r)| (*i, r)).collect();
        // Round 1 omits what the enclave should have already; later rounds send everything.
        for round in 0..MAX_ROUNDS {
            let full = round > 0;
            let mut tasks = Vec::with_capacity(pending.len());
            let mut sent = Vec::with_capacity(pending.len());
            for (i, host_response) in &pending {
                match self.task(&items[*i], host_response, view, height, full) {
                    Ok(task) => {
                        tasks.push(task);
                        sent.push((*i, *host_response));
                    }
                    Err(e) => results[*i] = Err(e),
                }
            }
            let proven: Vec<Vec<(Vec<u8>, Version)>> = tasks.iter().map(newly_proven).collect();
            let mut again = Vec::new();
            let outcomes = self.signer.endorse(tasks);
            for ((i, host_response), (proven, outcome)) in
                sent.into_iter().zip(proven.into_iter().zip(outcomes))
            {
                match outcome {
                    Ok((response, endorsements)) => {
                        self.proven.lock().extend(proven);
                        if response != *host_response {
                            tracing::warn!(tx = %response.tx_id, "the enclave's simulation differs from the host's");
                        }
                        results[i] = Ok(EndorseResponse {
                            response,
                            endorsements,
                        });
                    }
                    Err((code, message)) => {
                        let answerable = matches!(
                            code.as_str(),
                            refusal::CONTRACT_CODE_REQUIRED
                                | refusal::ANSWER_FULL
                                | "STATE_PROOF_MISSING"
                        );
                        if answerable && round + 1 < MAX_ROUNDS {
                            again.push((i, host_response));
                        } else {
                            results[i] = Err(enclave_error(&code, &message));
                        }
                    }
                }
            }
            if again.is_empty() {
                break;
            }
            pending = again;
        }
        results
    }

    /// Feeds the enclave the signed headers after its verified height up to `height`.
    fn feed_headers(&self, height: u64) -> Result<(), ApiError> {
        let mut fed = self.fed.lock();
        if *fed >= height {
            return Ok(());
        }
        let store = self.ledger.store();
        let mut headers = Vec::with_capacity((height - *fed) as usize);
        for h in *fed + 1..=height {
            let bytes = store
                .block(h)
                .map_err(|e| storage_failure(&e))?
                .ok_or_else(|| ApiError::new(ErrorCode::Internal, format!("block {h} missing")))?;
            let block: Block = arcanum_types::decode(&bytes, usize::MAX)
                .map_err(|e| ApiError::new(ErrorCode::Internal, format!("block {h}: {e}")))?;
            headers.push(SignedHeader {
                header: block.header,
                signature: block.signature,
            });
        }
        *fed = self.signer.feed_headers(&headers)?;
        Ok(())
    }

    /// The enclave task for `item`, whose host simulation gave `host_response`, with its reads
    /// witnessed at `height` (`full`: every read proven, and the code sent).
    fn task(
        &self,
        item: &EndorseItem,
        host_response: &ProposalResponse,
        view: &dyn StateReader,
        height: u64,
        full: bool,
    ) -> Result<EndorseTask, ApiError> {
        let tx = &item.tx;
        let mut task = EndorseTask {
            tx: tx.clone(),
            peers: item.peers.clone(),
            height,
            witnesses: Vec::new(),
            code: None,
            lifecycle_rwset: None,
        };
        if is_lifecycle(&tx.payload.action) {
            task.lifecycle_rwset = Some(host_response.rwset.clone());
            return Ok(task);
        }
        let mut keys: BTreeSet<&[u8]> = host_response
            .rwset
            .reads
            .iter()
            .map(|r| r.key.as_slice())
            .collect();
        let contract = match &tx.payload.action {
            TxAction::Invoke { contract, .. } => Some(contract.as_str()),
            _ => None,
        };
        let definition = contract.map(definition_key);
        if let (Some(contract), Some(d)) = (contract, &definition) {
            keys.insert(d);
            if let Some(def) = StateView::contract(view, contract)?
                && (full || self.sent_code.lock().insert(def.code_hash))
            {
                task.code = Some(StateCode(view).code(&def.code_hash)?);
            }
        }
        let store = self.ledger.store();
        for key in keys {
            let value = StateView::get(view, key)?;
            let cached = !full
                && value
                    .as_ref()
                    .is_some_and(|v| self.proven.lock().contains(key, v.version));
            let proof = if cached {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                None
            } else {
                let (proven, proof) = store
                    .get_with_proof(key, height)
                    .map_err(|e| storage_failure(&e))?;
                if proven != value {
                    return Err(ApiError::new(
                        ErrorCode::Internal,
                        "the snapshot and the proven state disagree",
                    ));
                }
                self.proofs_sent.fetch_add(1, Ordering::Relaxed);
                Some(proof)
            };
            task.witnesses.push(Witness {
                key: key.to_vec(),
                value,
                proof,
            });
        }
        Ok(task)
    }

    /// The checks of an item that need no state: its peers are hosted here, named once, and its
    /// transaction is within the size limit.
    fn check_item(&self, item: &EndorseItem, hosted: &[IdentityId]) -> Result<(), ApiError> {
        if let Some(p) = item.peers.iter().find(|p| !hosted.contains(p)) {
            return Err(ApiError::new(
                ErrorCode::EndorserUnavailable,
                format!("peer {p} is not hosted here"),
            ));
        }
        if item.peers.len() > MAX_TASK_PEERS
            || item
                .peers
                .iter()
                .enumerate()
                .any(|(i, p)| item.peers[..i].contains(p))
        {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "a peer is named twice, or too many peers",
            ));
        }
        let size = borsh::object_length(&item.tx).unwrap_or(usize::MAX);
        if size > limits::MAX_TX_BYTES {
            return Err(ApiError::new(
                ErrorCode::BodyTooLarge,
                format!(
                    "transaction of {size} bytes exceeds {}",
                    limits::MAX_TX_BYTES
                ),
            ));
        }
        Ok(())
    }

    /// The executability checks and simulation, without signing (also serves read-only queries):
    /// the client signature is verified here.
    pub fn simulate(&self, tx: &SignedTx) -> Result<ProposalResponse, ApiError> {
        let snapshot = self
            .ledger
            .store()
            .snapshot()
            .map_err(|e| storage_failure(&e))?;
        self.simulate_on(
            snapshot.as_ref(),
            tx,
            Signatures::Verify(&VerifiedSet::default()),
        )
    }

    fn simulate_on(
        &self,
        view: &dyn StateReader,
        tx: &SignedTx,
        signatures: Signatures<'_>,
    ) -> Result<ProposalResponse, ApiError> {
        check_shape(tx)?;
        let config = self.ledger.config();
        let creator: &Member = check_client_with(config, tx, signatures)?;
        let tx_id: Hash = tx.payload.id();
        if self.ledger.contains_tx(&tx_id)? {
            return Err(ApiError::new(
                ErrorCode::DuplicateTx,
                format!("transaction {tx_id} was already committed"),
            ));
        }
        match arcanum_ledger::offchain::rwset(
            view,
            self.ledger.store().as_ref(),
            creator,
            &tx.payload.action,
        ) {
            Some(rwset) => Ok(ProposalResponse {
                tx_id,
                rwset: rwset?,
                result: Vec::new(),
                events: Vec::new(),
                vote: arcanum_types::Vote::Approve,
            }),
            None => simulate(config, &self.contracts, view, &StateCode(view), creator, tx),
        }
    }
}

/// The `(key, version)` pairs `task` proves: once the enclave accepts it, they are cached there.
fn newly_proven(task: &EndorseTask) -> Vec<(Vec<u8>, Version)> {
    task.witnesses
        .iter()
        .filter(|w| w.proof.is_some())
        .filter_map(|w| Some((w.key.clone(), w.value.as_ref()?.version)))
        .collect()
}

fn storage_failure(e: &arcanum_storage::StorageError) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(ErrorCode::Internal, "storage failure")
}

/// The host's record of `(state key, version)` pairs the enclave verified, bounded, first in
/// first out, as the enclave's own cache is.
#[derive(Default)]
struct ProvenMirror {
    entries: HashMap<Vec<u8>, Version>,
    order: VecDeque<(Vec<u8>, Version)>,
}

impl ProvenMirror {
    fn contains(&self, key: &[u8], version: Version) -> bool {
        self.entries.get(key) == Some(&version)
    }

    fn extend(&mut self, proven: Vec<(Vec<u8>, Version)>) {
        for (key, version) in proven {
            self.insert(key, version);
        }
    }

    fn insert(&mut self, key: Vec<u8>, version: Version) {
        if self.contains(&key, version) {
            return;
        }
        if self.order.len() == PROVEN_ENTRIES
            && let Some((old, v)) = self.order.pop_front()
            && self.entries.get(&old) == Some(&v)
        {
            self.entries.remove(&old);
        }
        self.entries.insert(key.clone(), version);
        self.order.push_back((key, version));
    }
}
