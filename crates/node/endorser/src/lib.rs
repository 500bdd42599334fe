//! The endorsement device (SPEC L1.3, L2, L7): it holds the hosted signing keys of consortium
//! peers, checks that a transaction request is executable, simulates it against a state snapshot,
//! and signs the outcome once for every target peer whose key it hosts.
//!
//! Key types: [`Endorser`], [`EndorseRequest`], [`EndorseResponse`].
//!
//! Invariants:
//! - Hosted keys live in the endorsement enclave behind [`EnclaveSigner`]; this crate never
//!   holds them (the in-process variant runs the enclave's own trusted code).
//! - Nothing is signed unless the client signature verifies, the client is on the allow-list, the
//!   transaction id is unused and the simulation succeeded.
//! - Simulation is deterministic: it reads one consistent snapshot and records every read with
//!   its version, so a peer's MVCC check catches any later change.
//! - This crate does not depend on networking or HTTP; the server crate carries its messages.

mod enclave;
mod in_process;
mod simulate;

use std::sync::Arc;

use arcanum_crypto::{Hash, SigningKey};
use arcanum_ledger::{Ledger, check_client, check_shape};
use arcanum_types::{ApiError, ErrorCode, IdentityId, ProposalResponse, SignedTx};
use parking_lot::Mutex;

pub use arcanum_api::{EndorseRequest, EndorseResponse};
pub use enclave::{EnclaveLink, EnclaveSigner, enclave_error};
pub use simulate::ContractCache;

/// An endorsement device: a replica of the ledger to simulate against, and the enclave that
/// holds the hosted keys.
pub struct Endorser {
    ledger: Arc<Ledger>,
    contracts: ContractCache,
    signer: Arc<EnclaveSigner>,
    /// Requests being endorsed right now (the device's load figure).
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

    /// Requests in progress.
    pub fn load(&self) -> u64 {
        *self.in_flight.lock()
    }

    /// Checks, simulates and signs (L1.3).
    pub fn endorse(&self, req: &EndorseRequest) -> Result<EndorseResponse, ApiError> {
        *self.in_flight.lock() += 1;
        let result = self.endorse_inner(req);
        *self.in_flight.lock() -= 1;
        result
    }

    fn endorse_inner(&self, req: &EndorseRequest) -> Result<EndorseResponse, ApiError> {
        let hosted = self.signer.hosted();
        if let Some(p) = req.peers.iter().find(|p| !hosted.contains(p)) {
            return Err(ApiError::new(
                ErrorCode::EndorserUnavailable,
                format!("peer {p} is not hosted here"),
            ));
        }
        let response = self.simulate(&req.tx)?;
        if req.peers.is_empty() {
            return Ok(EndorseResponse {
                response,
                endorsements: Vec::new(),
            });
        }
        let client_key = self
            .ledger
            .config()
            .member(&req.tx.payload.creator)
            .map(|m| m.public_key.clone())
            .ok_or_else(|| ApiError::new(ErrorCode::ClientNotAllowed, "unknown client"))?;
        let endorsements = self.signer.sign(
            &req.tx,
            &client_key,
            response.hash(),
            response.vote,
            &req.peers,
        )?;
        Ok(EndorseResponse {
            response,
            endorsements,
        })
    }

    /// The executability checks and simulation, without signing (also serves read-only queries).
    pub fn simulate(&self, tx: &SignedTx) -> Result<ProposalResponse, ApiError> {
        check_shape(tx)?;
        let creator = check_client(self.ledger.config(), tx)?;
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
