//! The management device (SPEC L1, L2, L3): the gateway and orderer of the management network.
//! It admits clients against the allow-list, picks endorsement devices, verifies their
//! endorsements, checks the endorsement policy, cuts and signs blocks, commits them to its own
//! chain and announces each new height for broadcast to peers.
//!
//! Key types: [`Management`], [`EndorserTransport`] (the seam to the endorsement devices),
//! [`Settings`], [`Selection`].
//!
//! The client's reference signature is verified here too, right after admission and before any
//! endorsement work, batched the same way (`signatures.rs`): submissions that arrive together
//! are verified in one batch verification, and each is judged on its own.
//!
//! Endorsement is batched per device, without adding latency: each transaction's task for a
//! device goes to that device's batcher (`batcher.rs`), which sends whatever is queued as one
//! batch as soon as fewer than [`Settings::endorse_batches_in_flight`] batches are in flight to
//! it (no timer: a lone transaction leaves at once). The endorsements of a whole batch are
//! verified in one batch verification; each transaction still gets its own outcome, and its own
//! retries and fallbacks, exactly as if it had been sent alone.
//!
//! Invariants:
//! - Admission (L3) runs before any other work on a request.
//! - No endorsement device is asked about a transaction whose client signature did not verify
//!   here (refused with the peers' code, `BAD_CLIENT_SIGNATURE`).
//! - Nothing is ordered unless this device verified its client signature, every endorsement
//!   and the policy itself, and the transaction id is neither committed nor pending. Endorsed
//!   transactions handed in by clients are re-verified whole, client signature included. These
//!   are exactly the signatures the ledgers inside the management network take as verified
//!   ([`arcanum_ledger::SignatureTrust::TrustOrderer`]).
//! - Every queue is bounded (the ordering queue and each device's batch queue hold at most
//!   [`Settings::queue_depth`] items); a full queue answers [`ErrorCode::Busy`].
//! - A batch's failure is each of its items' failure: one bad item (a forged endorsement, a
//!   refusal) never fails the others, and a failed batch sends each item through its own retry.
//! - This crate does not depend on the endorsement device's code, only on the API types.
//! - This crate does not know HTTP: the server crate implements [`EndorserTransport`] and serves
//!   the API.

mod batcher;
mod orderer;
mod selection;
mod signatures;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arcanum_api::{EndorseBatch, EndorseItem, EndorseOutcome, EndorseResponse};
use arcanum_crypto::{Hash, SigningKey, VerifiedSet};
use arcanum_ledger::{
    CommitSummary, Ledger, Signatures, check_client, check_client_with, check_shape,
    endorsement_signers,
};
use arcanum_types::{
    ApiError, EndorsedTx, ErrorCode, IdentityId, SignedTx, TxReceipt, Vote, limits,
};
use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use selection::Selection;

/// Why an endorsement attempt failed at the transport level.
#[derive(Debug, Clone)]
pub enum TransportError {
    /// The device could not be reached or answered garbage: try another.
    Unreachable(String),
    /// The device did not answer in time: try another.
    Timeout,
    /// The device answered with a definitive error about the request itself.
    Rejected(ApiError),
}

impl TransportError {
    /// A device's error about a request or an item: its capacity and availability problems are
    /// the device's, not the request's (try another device); anything else is definitive.
    pub fn from_device(e: ApiError) -> TransportError {
        match e.code {
            ErrorCode::Busy
            | ErrorCode::Internal
            | ErrorCode::Timeout
            | ErrorCode::EndorserUnavailable => TransportError::Unreachable(e.to_string()),
            _ => TransportError::Rejected(e),
        }
    }
}

/// How the management device reaches endorsement device `index` (of [`Settings::endorsers`]).
pub trait EndorserTransport: Send + Sync + 'static {
    /// One batch: one outcome per item, in item order. An error fails the whole batch.
    fn endorse(
        &self,
        index: usize,
        batch: &EndorseBatch,
    ) -> impl Future<Output = Result<Vec<EndorseOutcome>, TransportError>> + Send;

    /// The device's current signed attestation report (borsh `SignedReport`).
    fn attestation(
        &self,
        index: usize,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send {
        let _ = index;
        async {
            Err(TransportError::Unreachable(
                "this transport carries no attestation".into(),
            ))
        }
    }
}

impl<T: EndorserTransport> EndorserTransport for Arc<T> {
    fn endorse(
        &self,
        index: usize,
        batch: &EndorseBatch,
    ) -> impl Future<Output = Result<Vec<EndorseOutcome>, TransportError>> + Send {
        self.as_ref().endorse(index, batch)
    }

    fn attestation(
        &self,
        index: usize,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send {
        self.as_ref().attestation(index)
    }
}

/// What the consortium requires of endorsement devices' attestation (SPEC L7, A2).
#[derive(Clone, Debug)]
pub struct AttestationRequirement {
    /// The attestation service's report-signing key.
    pub issuer: arcanum_crypto::PublicKey,
    /// Allowed enclave measurements.
    pub measurements: Vec<Vec<u8>>,
    /// The hash of this chain's configuration (`ChainConfig::pin`), which an enclave's report
    /// must carry as its context: an enclave pinned to another consortium is refused.
    pub chain_pin: arcanum_crypto::Hash,
}

/// A device's verified attestation: the keys its enclave report binds, until when.
#[derive(Clone, Debug)]
struct Attested {
    keys: BTreeSet<arcanum_crypto::PublicKey>,
    expires_at: u64,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One endorsement device as the management device sees it.
#[derive(Clone, Debug)]
pub struct EndorserInfo {
    pub name: String,
    /// Peers whose keys it hosts.
    pub hosts: BTreeSet<IdentityId>,
}

/// Endorser-selection mode (L2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// Each device hosts a distinct set of peers' keys.
    Partitioned,
    /// Every device hosts every key; pick by [`Selection`].
    Replicated,
}

/// Management device settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub endorsers: Vec<EndorserInfo>,
    pub mode: KeyMode,
    pub selection: Selection,
    /// Deadline of one endorsement attempt (and of one batch's round trip).
    pub endorse_timeout: Duration,
    /// Most endorsement batches in flight to one device at a time
    /// ([`Settings::DEFAULT_ENDORSE_BATCHES_IN_FLIGHT`]); items queued meanwhile leave together
    /// in the next batch. 0 counts as 1.
    pub endorse_batches_in_flight: usize,
    /// Further attempts after a failed one.
    pub retries: u32,
    pub max_block_txs: usize,
    pub max_block_bytes: usize,
    pub block_timeout: Duration,
    /// Most transactions waiting to be ordered.
    pub queue_depth: usize,
    /// When set, endorsements are accepted only from attested enclaves.
    pub attestation: Option<AttestationRequirement>,
}

impl Settings {
    /// Two batches per device: one being answered while the next is on the wire.
    pub const DEFAULT_ENDORSE_BATCHES_IN_FLIGHT: usize = 2;
}

struct EndorserState {
    info: EndorserInfo,
    /// The device's batcher, started on first use.
    batcher: Mutex<Option<mpsc::Sender<batcher::Job>>>,
    in_flight: AtomicU64,
    healthy: AtomicBool,
    attested: Mutex<Option<Attested>>,
}

/// One request in flight on a device, for as long as it lives.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn start(counter: &'a AtomicU64) -> InFlight<'a> {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Queued {
    tx: EndorsedTx,
    size: usize,
    reply: oneshot::Sender<Result<TxReceipt, ApiError>>,
}

/// The management device.
pub struct Management<T> {
    ledger: Arc<Ledger>,
    key: SigningKey,
    endorsers: Vec<EndorserState>,
    settings: Settings,
    transport: Arc<T>,
    round_robin: AtomicUsize,
    /// The client-signature batcher, started on first use.
    client_signatures: Mutex<Option<mpsc::Sender<signatures::Job>>>,
    /// Client-signature batches verified so far.
    signature_batches: Arc<AtomicU64>,
    /// Ordered but not yet committed.
    pending: Mutex<BTreeSet<Hash>>,
    queue: mpsc::Sender<Queued>,
    tip: watch::Sender<u64>,
    commits: broadcast::Sender<Arc<CommitSummary>>,
}

impl<T: EndorserTransport> Management<T> {
    /// Starts the device; the returned future is the ordering loop, to be spawned.
    pub fn new(
        ledger: Arc<Ledger>,
        key: SigningKey,
        settings: Settings,
        transport: T,
    ) -> Result<(Arc<Self>, impl Future<Output = ()> + Send), ApiError> {
        let orderer = ledger
            .config()
            .member(&ledger.config().orderer)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownIdentity,
                    "management identity missing from config",
                )
            })?;
        if orderer.public_key != key.public_key() {
            return Err(ApiError::new(
                ErrorCode::KeyFile,
                "block-signing key does not match the management certificate",
            ));
        }
        let (height, _) = ledger.tip()?;
        let (queue, rx) = mpsc::channel(settings.queue_depth.max(1));
        let (tip, _) = watch::channel(height);
        let (commits, _) = broadcast::channel(1024);
        let endorsers = settings
            .endorsers
            .iter()
            .map(|info| EndorserState {
                info: info.clone(),
                batcher: Mutex::new(None),
                in_flight: AtomicU64::new(0),
                healthy: AtomicBool::new(true),
                attested: Mutex::new(None),
            })
            .collect();
        let m = Arc::new(Management {
            ledger,
            key,
            endorsers,
            settings,
            transport: Arc::new(transport),
            round_robin: AtomicUsize::new(0),
            client_signatures: Mutex::new(None),
            signature_batches: Arc::default(),
            pending: Mutex::new(BTreeSet::new()),
            queue,
            tip,
            commits,
        });
        let run = orderer::run(m.clone(), rx);
        Ok((m, run))
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Height notifications: the broadcaster pushes every new block to peers.
    pub fn subscribe_tip(&self) -> watch::Receiver<u64> {
        self.tip.subscribe()
    }

    /// How many batches of client signatures this device has verified (each of one or more
    /// submissions' signatures), for metrics and tests.
    pub fn client_signature_batches(&self) -> u64 {
        self.signature_batches.load(Ordering::Relaxed)
    }

    /// Every committed block's summary, for event streams.
    pub fn subscribe_commits(&self) -> broadcast::Receiver<Arc<CommitSummary>> {
        self.commits.subscribe()
    }

    /// Admission (L3), then the request checks that need no endorser.
    fn admit(&self, tx: &SignedTx) -> Result<Hash, ApiError> {
        let config = self.ledger.config();
        let creator = &tx.payload.creator;
        if !config.member(creator).is_some_and(|m| m.allowed_client) {
            return Err(ApiError::new(
                ErrorCode::ClientNotAllowed,
                format!("client {creator} is not on the allow-list"),
            ));
        }
        check_shape(tx)?;
        let tx_id = tx.payload.id();
        self.check_fresh(&tx_id)?;
        Ok(tx_id)
    }

    /// The peers' client check ([`check_client_with`]: channel, allow-list, reference
    /// signature), with the signature verified in one batch with concurrent submissions. A full
    /// batcher queue answers `BUSY`.
    async fn check_client_batched(&self, tx: &SignedTx, tx_id: Hash) -> Result<(), ApiError> {
        let config = self.ledger.config();
        // Everything but the signature first: such a refusal needs no signature work.
        let creator = check_client_with(config, tx, Signatures::Trusted)?;
        let (reply, answer) = oneshot::channel();
        let job = signatures::Job {
            key: creator.public_key.clone(),
            tx_id,
            signature: tx.signature.clone(),
            reply,
        };
        let sent = {
            let mut slot = self.client_signatures.lock();
            let queue = match slot.as_ref().filter(|q| !q.is_closed()) {
                Some(q) => q.clone(),
                None => {
                    let (queue, jobs) = mpsc::channel(self.settings.queue_depth.max(1));
                    tokio::spawn(signatures::run(jobs, self.signature_batches.clone()));
                    *slot = Some(queue.clone());
                    queue
                }
            };
            queue.try_send(job)
        };
        let verified = match sent {
            // A batcher that dropped the job leaves the signature to be verified alone.
            Ok(()) => answer.await.unwrap_or_default(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(ApiError::new(
                    ErrorCode::Busy,
                    "the client signature queue is full",
                ));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Arc::default(),
        };
        check_client_with(config, tx, Signatures::Verify(&verified))?;
        Ok(())
    }

    fn check_fresh(&self, tx_id: &Hash) -> Result<(), ApiError> {
        if self.pending.lock().contains(tx_id) || self.ledger.contains_tx(tx_id)? {
            return Err(ApiError::new(
                ErrorCode::DuplicateTx,
                format!("transaction {tx_id} was already submitted"),
            ));
        }
        Ok(())
    }

    /// Verifies the client signature, collects endorsements for `tx` from the endorsement
    /// devices (L1.2–L1.4), verifies them and checks the policy. Nothing is ordered.
    pub async fn endorse(&self, tx: SignedTx) -> Result<EndorsedTx, ApiError> {
        let tx_id = self.admit(&tx)?;
        self.check_client_batched(&tx, tx_id).await?;
        let policy = self.ledger.policy_at_tip(&tx.payload.action)?;
        let targets = selection::target_peers(self.ledger.config(), &policy)?;
        let mut last_err = None;
        for _ in 0..=self.settings.retries {
            match self.endorse_round(&tx, &targets).await {
                Ok(etx) => {
                    let config = self.ledger.config();
                    let signers = endorsement_signers(
                        etx.endorsements
                            .iter()
                            .filter_map(|e| config.member(&e.endorser)),
                    );
                    if !policy
                        .evaluate(&signers, &self.ledger.config().orgs)
                        .unwrap_or(false)
                    {
                        return Err(ApiError::new(
                            ErrorCode::PolicyNotSatisfied,
                            "endorsements do not satisfy the policy",
                        ));
                    }
                    debug_assert_eq!(etx.id(), tx_id);
                    return Ok(etx);
                }
                Err(e) if e.code == ErrorCode::EndorsementMismatch => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            ApiError::new(
                ErrorCode::EndorserUnavailable,
                "no endorsement round succeeded",
            )
        }))
    }

    /// One round: every target peer endorsed by some device, responses agreeing.
    async fn endorse_round(
        &self,
        tx: &SignedTx,
        targets: &[IdentityId],
    ) -> Result<EndorsedTx, ApiError> {
        let min_height = *self.tip.borrow();
        let assignments = self.assign(targets)?;
        let results = futures::future::join_all(
            assignments
                .into_iter()
                .map(|(idx, peers)| self.endorse_with_retry(idx, tx, peers, min_height)),
        )
        .await;
        let mut response = None;
        let mut endorsements = Vec::new();
        for r in results {
            let r = r?;
            match &response {
                None => response = Some(r.response),
                Some(first) if *first == r.response => {}
                Some(_) => {
                    return Err(ApiError::new(
                        ErrorCode::EndorsementMismatch,
                        "endorsement devices simulated different results",
                    ));
                }
            }
            endorsements.extend(r.endorsements);
        }
        let response = response
            .ok_or_else(|| ApiError::new(ErrorCode::EndorserUnavailable, "no target peers"))?;
        if response.vote != Vote::Approve {
            return Err(ApiError::new(
                ErrorCode::EndorsementRejected,
                "the endorsers voted to reject",
            ));
        }
        endorsements.sort_by_key(|e| e.endorser);
        Ok(EndorsedTx {
            tx: tx.clone(),
            response,
            endorsements,
        })
    }

    /// Sends `peers`' endorsement task to device `first` (through its batcher); on an
    /// unreachable device, a timeout or a bad endorsement, sends it again to the next device
    /// that hosts those peers.
    async fn endorse_with_retry(
        &self,
        first: usize,
        tx: &SignedTx,
        peers: Vec<IdentityId>,
        min_height: u64,
    ) -> Result<EndorseResponse, ApiError> {
        let item = EndorseItem {
            tx: tx.clone(),
            peers,
        };
        let tx_id = tx.payload.id();
        let mut idx = first;
        let mut failure = String::new();
        for attempt in 0..=self.settings.retries {
            if attempt > 0 {
                idx = self.fallback(idx, &item.peers);
            }
            let state = &self.endorsers[idx];
            if let Err(why) = self.ensure_attested(idx).await {
                failure = format!("{} is not attested: {why}", state.info.name);
                state.healthy.store(false, Ordering::Relaxed);
                tracing::warn!(attempt, %failure, "endorsement device refused");
                continue;
            }
            let outcome = {
                // Counted down on drop too: a caller that gives up mid-request must not leave
                // the device looking busy forever.
                let _in_flight = InFlight::start(&state.in_flight);
                tokio::time::timeout(
                    self.settings.endorse_timeout,
                    self.batched(idx, item.clone(), min_height),
                )
                .await
            };
            failure = match outcome {
                Err(_) | Ok(Err(TransportError::Timeout)) => {
                    format!("{} timed out", state.info.name)
                }
                Ok(Err(TransportError::Unreachable(why))) => {
                    format!("{} unreachable: {why}", state.info.name)
                }
                Ok(Err(TransportError::Rejected(e))) => return Err(e),
                Ok(Ok(endorsed)) => match self.check_response(idx, &item, &tx_id, &endorsed) {
                    Ok(()) => {
                        state.healthy.store(true, Ordering::Relaxed);
                        return Ok(endorsed.response);
                    }
                    Err(why) => format!("{} sent a bad endorsement: {why}", state.info.name),
                },
            };
            state.healthy.store(false, Ordering::Relaxed);
            tracing::warn!(attempt, %failure, "endorsement attempt failed");
        }
        Err(ApiError::new(ErrorCode::EndorserUnavailable, failure))
    }

    /// Hands one item to device `idx`'s batcher (starting it if need be) and waits for its
    /// outcome. A full device queue answers `BUSY`.
    async fn batched(
        &self,
        idx: usize,
        item: EndorseItem,
        min_height: u64,
    ) -> Result<batcher::Endorsed, TransportError> {
        let (reply, answer) = oneshot::channel();
        let job = batcher::Job::new(item, min_height, reply);
        let sent = {
            let mut slot = self.endorsers[idx].batcher.lock();
            let queue = match slot.as_ref().filter(|q| !q.is_closed()) {
                Some(q) => q.clone(),
                None => {
                    let (queue, jobs) = mpsc::channel(self.settings.queue_depth.max(1));
                    let device = batcher::Device {
                        index: idx,
                        transport: self.transport.clone(),
                        ledger: self.ledger.clone(),
                        timeout: self.settings.endorse_timeout,
                        in_flight: self.settings.endorse_batches_in_flight,
                    };
                    tokio::spawn(batcher::run(device, jobs));
                    *slot = Some(queue.clone());
                    queue
                }
            };
            queue.try_send(job)
        };
        match sent {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(TransportError::Rejected(ApiError::new(
                    ErrorCode::Busy,
                    format!(
                        "the endorsement queue of {} is full",
                        self.endorsers[idx].info.name
                    ),
                )));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(TransportError::Unreachable("the batcher stopped".into()));
            }
        }
        answer
            .await
            .map_err(|_| TransportError::Unreachable("the batcher dropped the request".into()))?
    }

    /// A device's answer covers exactly the requested peers, for this transaction, and every
    /// endorsement signature verifies (most already did, in the batch's [`VerifiedSet`]).
    fn check_response(
        &self,
        idx: usize,
        item: &EndorseItem,
        tx_id: &Hash,
        endorsed: &batcher::Endorsed,
    ) -> Result<(), String> {
        let resp = &endorsed.response;
        if resp.response.tx_id != *tx_id {
            return Err("response is for another transaction".into());
        }
        let got: BTreeSet<_> = resp.endorsements.iter().map(|e| e.endorser).collect();
        let want: BTreeSet<_> = item.peers.iter().copied().collect();
        if got != want || got.len() != resp.endorsements.len() {
            return Err("endorsements do not match the requested peers".into());
        }
        if self.settings.attestation.is_some() {
            let attested = self.endorsers[idx].attested.lock();
            let keys = attested.as_ref().map(|a| &a.keys);
            for e in &resp.endorsements {
                let key = self
                    .ledger
                    .config()
                    .member(&e.endorser)
                    .and_then(|m| self.ledger.peer_key_at_tip(m).ok());
                if !key.is_some_and(|k| keys.is_some_and(|ks| ks.contains(&k))) {
                    drop(attested);
                    // A rotated key is bound only by a newer report: fetch it next time.
                    *self.endorsers[idx].attested.lock() = None;
                    return Err(format!(
                        "peer {} is not hosted by an attested enclave",
                        e.endorser
                    ));
                }
            }
        }
        let etx = EndorsedTx {
            tx: item.tx.clone(),
            response: resp.response.clone(),
            endorsements: resp.endorsements.clone(),
        };
        self.ledger
            .verify_endorsements_at_tip(&etx, &endorsed.verified)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// Makes sure device `idx` has a valid attestation on record (when the consortium requires
    /// one): fetches its signed report, checks the issuer, expiry and measurement allow-list, and
    /// records the keys its enclave report binds.
    async fn ensure_attested(&self, idx: usize) -> Result<(), String> {
        let Some(req) = &self.settings.attestation else {
            return Ok(());
        };
        let now = now_unix();
        if self.endorsers[idx]
            .attested
            .lock()
            .as_ref()
            .is_some_and(|a| a.expires_at > now)
        {
            return Ok(());
        }
        let bytes = self
            .transport
            .attestation(idx)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let signed: arcanum_attestation::SignedReport = arcanum_types::decode(&bytes, 1024 * 1024)
            .map_err(|e| format!("malformed report: {e}"))?;
        let report = arcanum_attestation::verify_report(
            &signed,
            std::slice::from_ref(&req.issuer),
            now,
            None,
        )
        .map_err(|e| format!("{}: {e}", e.code()))?;
        if !req.measurements.contains(&report.measurement) {
            return Err(format!(
                "measurement {} is not on the consortium's allow-list",
                hex::encode(&report.measurement)
            ));
        }
        if report.context() != req.chain_pin.0 {
            return Err(format!(
                "the enclave is pinned to chain configuration {}, not this chain's {}",
                hex::encode(report.context()),
                req.chain_pin
            ));
        }
        let attested = Attested {
            keys: report.bound_keys.iter().cloned().collect(),
            expires_at: report.expires_at,
        };
        tracing::info!(device = %self.endorsers[idx].info.name, expires_at = attested.expires_at, "endorsement enclave attested");
        *self.endorsers[idx].attested.lock() = Some(attested);
        Ok(())
    }

    /// Verifies an endorsed transaction (from this device or a client) and queues it for ordering.
    /// The receiver resolves once its block is committed on this device's chain.
    pub fn submit(
        &self,
        etx: EndorsedTx,
    ) -> Result<oneshot::Receiver<Result<TxReceipt, ApiError>>, ApiError> {
        let tx_id = self.admit(&etx.tx)?;
        check_client(self.ledger.config(), &etx.tx)?;
        if etx.response.tx_id != tx_id || !etx.response.rwset.is_canonical() {
            return Err(ApiError::new(
                ErrorCode::InvalidTx,
                "response does not belong to this transaction",
            ));
        }
        if etx.response.vote != Vote::Approve {
            return Err(ApiError::new(
                ErrorCode::EndorsementRejected,
                "the endorsers voted to reject",
            ));
        }
        let signers = self
            .ledger
            .verify_endorsements_at_tip(&etx, &VerifiedSet::default())?;
        let policy = self.ledger.policy_at_tip(&etx.tx.payload.action)?;
        if !policy
            .evaluate(&signers, &self.ledger.config().orgs)
            .unwrap_or(false)
        {
            return Err(ApiError::new(
                ErrorCode::PolicyNotSatisfied,
                "endorsements do not satisfy the contract's policy",
            ));
        }
        self.enqueue(etx, tx_id)
    }

    /// Queues a verified endorsed transaction for ordering.
    fn enqueue(
        &self,
        etx: EndorsedTx,
        tx_id: Hash,
    ) -> Result<oneshot::Receiver<Result<TxReceipt, ApiError>>, ApiError> {
        // Counted, not encoded: the block cutter encodes it once.
        let size = borsh::object_length(&etx).unwrap_or(usize::MAX);
        if size > limits::MAX_ENDORSED_TX_BYTES {
            return Err(ApiError::new(
                ErrorCode::BodyTooLarge,
                "endorsed transaction too large",
            ));
        }
        {
            let mut pending = self.pending.lock();
            if !pending.insert(tx_id) {
                return Err(ApiError::new(
                    ErrorCode::DuplicateTx,
                    format!("transaction {tx_id} was already submitted"),
                ));
            }
        }
        let (reply, rx) = oneshot::channel();
        self.queue
            .try_send(Queued {
                tx: etx,
                size,
                reply,
            })
            .map_err(|_| {
                self.pending.lock().remove(&tx_id);
                ApiError::new(ErrorCode::Busy, "ordering queue is full")
            })?;
        Ok(rx)
    }

    /// Endorse, then order: the one-call submission.
    pub async fn execute(
        &self,
        tx: SignedTx,
    ) -> Result<oneshot::Receiver<Result<TxReceipt, ApiError>>, ApiError> {
        let etx = self.endorse(tx).await?;
        let tx_id = etx.id();
        self.enqueue(etx, tx_id)
    }
}
