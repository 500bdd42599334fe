//! The endorsement device (SPEC L1.3, L2, L7): it holds the hosted signing keys of consortium
//! peers, checks that a transaction request is executable, simulates it against a state snapshot,
//! and signs the outcome once for every target peer whose key it hosts.
//!
//! Key types: [`Endorser`], [`EndorseRequest`], [`EndorseResponse`].
//!
//! Invariants:
//! - Hosted keys never leave this crate's [`Endorser`]: there is no accessor for them and their
//!   `Debug` prints no secret.
//! - Nothing is signed unless the client signature verifies, the client is on the allow-list, the
//!   transaction id is unused and the simulation succeeded.
//! - Simulation is deterministic: it reads one consistent snapshot and records every read with
//!   its version, so a peer's MVCC check catches any later change.
//! - This crate does not depend on networking or HTTP; the server crate carries its messages.

mod simulate;

use std::collections::BTreeMap;
use std::sync::Arc;

use arcanum_crypto::{Hash, SigningKey, domain};
use arcanum_ledger::{Ledger, check_client, check_shape};
use arcanum_types::{ApiError, Endorsement, ErrorCode, IdentityId, ProposalResponse, SignedTx, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::Mutex;

pub use simulate::ContractCache;

/// Management device → endorsement device: endorse `tx` for these peers. With no peers, only
/// simulate it (a read-only query): nothing is signed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EndorseRequest {
    pub tx: SignedTx,
    pub peers: Vec<IdentityId>,
    /// The management device's height when it sent the request: the device simulates only once
    /// its replica has reached it, so that devices agree on the state they read.
    pub min_height: u64,
}

/// Endorsement device → management device: the simulation outcome and one endorsement per peer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EndorseResponse {
    pub response: ProposalResponse,
    pub endorsements: Vec<Endorsement>,
}

/// An endorsement device: hosted peer keys plus a replica of the ledger to simulate against.
pub struct Endorser {
    ledger: Arc<Ledger>,
    contracts: ContractCache,
    hosted: BTreeMap<IdentityId, SigningKey>,
    /// Requests being endorsed right now (the device's load figure).
    in_flight: Mutex<u64>,
}

impl std::fmt::Debug for Endorser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endorser").field("hosted", &self.hosted.keys().collect::<Vec<_>>()).finish()
    }
}

impl Endorser {
    /// Builds a device hosting `keys`. Each key must belong to a consortium peer: its public key
    /// must equal the one in that peer's certificate.
    pub fn new(ledger: Arc<Ledger>, keys: Vec<(IdentityId, SigningKey)>) -> Result<Endorser, ApiError> {
        let mut hosted = BTreeMap::new();
        for (id, key) in keys {
            let peer = ledger
                .config()
                .member(&id)
                .filter(|m| m.role == arcanum_types::Role::Peer)
                .ok_or_else(|| ApiError::new(ErrorCode::UnknownIdentity, format!("hosted key for unknown peer {id}")))?;
            if peer.public_key != key.public_key() {
                return Err(ApiError::new(
                    ErrorCode::KeyFile,
                    format!("hosted key for {} does not match its certificate", peer.name),
                ));
            }
            hosted.insert(id, key);
        }
        Ok(Endorser { ledger, contracts: ContractCache::new(), hosted, in_flight: Mutex::new(0) })
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The peers whose keys this device hosts.
    pub fn hosted_peers(&self) -> Vec<IdentityId> {
        self.hosted.keys().copied().collect()
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
        let keys = req
            .peers
            .iter()
            .map(|p| {
                self.hosted
                    .get(p)
                    .ok_or_else(|| ApiError::new(ErrorCode::EndorserUnavailable, format!("peer {p} is not hosted here")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let response = self.simulate(&req.tx)?;
        let msg = encode(&arcanum_types::EndorsementPayload {
            tx_id: response.tx_id,
            response_hash: response.hash(),
            vote: response.vote,
        });
        let endorsements = req
            .peers
            .iter()
            .zip(keys)
            .map(|(peer, key)| Endorsement { endorser: *peer, signature: key.sign(domain::ENDORSEMENT, &msg) })
            .collect();
        Ok(EndorseResponse { response, endorsements })
    }

    /// The executability checks and simulation, without signing (also serves read-only queries).
    pub fn simulate(&self, tx: &SignedTx) -> Result<ProposalResponse, ApiError> {
        check_shape(tx)?;
        let creator = check_client(self.ledger.config(), tx)?;
        let tx_id: Hash = tx.payload.id();
        if self.ledger.contains_tx(&tx_id)? {
            return Err(ApiError::new(ErrorCode::DuplicateTx, format!("transaction {tx_id} was already committed")));
        }
        simulate::run(&self.ledger, &self.contracts, creator, tx, tx_id)
    }
}
