//! The endorsement device's host side (SPEC L1.3, L2, L7). The device holds the hosted signing
//! keys of consortium peers (in its enclave), checks that a transaction request is executable,
//! simulates it against a state snapshot, and signs the outcome once for every target peer whose
//! key it hosts. Its trusted core is `arcanum-enclave` (`crates/tee/enclave`); everything else
//! of the device is here:
//!
//! - [`Endorser`]: the endorsement logic, [`EndorseBatch`] (items of `(tx, peers)`) in,
//!   [`EndorseResponse`] out. Endorsement is batched end to end: [`Endorser::endorse_batch`]
//!   simulates each item, then makes one enclave call for all items to sign.
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
//! - Nothing is signed unless the client signature verifies (checked inside the enclave, with
//!   the whole batch's signatures verified together), the client is on the allow-list, the
//!   transaction id is unused and the simulation succeeded. A failing item of a batch never
//!   spoils the others.
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
mod simulate;

use std::sync::Arc;

use arcanum_crypto::{Hash, PublicKey, SigningKey, VerifiedSet, domain};
use arcanum_enclave_protocol::{EndorseTask, MAX_TASK_PEERS};
use arcanum_ledger::{Ledger, Signatures, check_client_with, check_shape};
use arcanum_types::{ApiError, ErrorCode, IdentityId, ProposalResponse, SignedTx, limits};
use parking_lot::Mutex;

pub use arcanum_api::{EndorseBatch, EndorseItem, EndorseOutcome, EndorseResponse};
pub use enclave::{EnclaveLink, EnclaveSigner, enclave_error};
pub use simulate::ContractCache;

/// An endorsement device: a replica of the ledger to simulate against, and the enclave that
/// holds the hosted keys.
pub struct Endorser {
    ledger: Arc<Ledger>,
    contracts: ContractCache,
    signer: Arc<EnclaveSigner>,
    /// Items being endorsed right now (the device's load figure).
    in_flight: Mutex<u64>,
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

    /// Checks, simulates and signs a batch (L1.3): one result per item, in item order.
    ///
    /// Each item is checked and simulated on the host (shape, allow-list, channel, replay); its
    /// client signature is left to the enclave, which verifies it before it signs. Then ONE
    /// enclave call signs for every item that simulated and names peers. An item with no peers
    /// is a read-only query: simulated only, its client signature verified here. A failing item
    /// never spoils the others.
    pub fn endorse_batch(&self, batch: &EndorseBatch) -> Vec<Result<EndorseResponse, ApiError>> {
        let n = batch.items.len() as u64;
        *self.in_flight.lock() += n;
        let results = self.endorse_inner(&batch.items);
        *self.in_flight.lock() -= n;
        results
    }

    fn endorse_inner(&self, items: &[EndorseItem]) -> Vec<Result<EndorseResponse, ApiError>> {
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
        // (item index, task) for the items to sign.
        let mut to_sign: Vec<(usize, EndorseTask)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let signatures = if item.peers.is_empty() {
                Signatures::Verify(&queries)
            } else {
                Signatures::Trusted
            };
            let checked = self
                .check_item(item, &hosted)
                .and_then(|()| self.simulate_with(&item.tx, signatures));
            match checked {
                Ok(response) if !item.peers.is_empty() => {
                    match config.member(&item.tx.payload.creator) {
                        Some(m) => to_sign.push((
                            i,
                            EndorseTask {
                                tx: item.tx.clone(),
                                client_key: m.public_key.clone(),
                                response_hash: response.hash(),
                                vote: response.vote,
                                peers: item.peers.clone(),
                            },
                        )),
                        None => {
                            results.push(Err(ApiError::new(
                                ErrorCode::ClientNotAllowed,
                                "unknown client",
                            )));
                            continue;
                        }
                    }
                    results.push(Ok(EndorseResponse {
                        response,
                        endorsements: Vec::new(),
                    }));
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
        let (indices, tasks): (Vec<usize>, Vec<EndorseTask>) = to_sign.into_iter().unzip();
        for (i, signed) in indices.into_iter().zip(self.signer.sign(tasks)) {
            match signed {
                Ok(endorsements) => {
                    if let Ok(r) = &mut results[i] {
                        r.endorsements = endorsements;
                    }
                }
                Err(e) => results[i] = Err(e),
            }
        }
        results
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
        self.simulate_with(tx, Signatures::Verify(&VerifiedSet::default()))
    }

    fn simulate_with(
        &self,
        tx: &SignedTx,
        signatures: Signatures<'_>,
    ) -> Result<ProposalResponse, ApiError> {
        check_shape(tx)?;
        let creator = check_client_with(self.ledger.config(), tx, signatures)?;
        let tx_id: Hash = tx.payload.id();
        if self.ledger.contains_tx(&tx_id)? {
            return Err(ApiError::new(
                ErrorCode::DuplicateTx,
                format!("transaction {tx_id} was already committed"),
            ));
        }
        simulate::run(&self.ledger, &self.contracts, creator, tx, tx_id)
    }
}
