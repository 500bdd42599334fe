//! The execute phase (SPEC L1.3, Fabric's simulation): a transaction run against one consistent
//! state view into a [`ProposalResponse`] with a versioned read set, a write set, the result
//! and the events. The endorsement device's host and its enclave run exactly this code: the
//! host over its replica's snapshot, to learn which reads to prove; the enclave over the reads
//! the host proved (`arcanum-enclave`), to decide what it signs. One function, so the two cannot
//! drift apart.
//!
//! - [`simulate`] handles contract invocations (`arcanum-vm`, wasmi with fuel), deploys and peer
//!   key rotations. The off-chain lifecycle actions are the ledger's own rules
//!   (`arcanum_ledger::offchain::rwset`), which read blocks as well as state.
//! - [`ContractCache`] compiles a module once per code hash; where the code comes from is a
//!   [`CodeSource`]: the state view itself ([`StateCode`]) or bytes the enclave checks.
//!
//! Invariants: deterministic (one view, no clock, no randomness); every read is recorded with
//! the version it saw, so a peer's MVCC check catches a later change; the transaction's own
//! writes shadow the view.

use std::collections::BTreeMap;

use arcanum_crypto::Hash;
use arcanum_ledger::{
    ChainConfig, Member, StateView, code_key, contract_prefix, definition_key, deploy_writes,
    peer_key_key, rotation_writes,
};
use arcanum_storage::StateReader;
use arcanum_types::{
    ApiError, ErrorCode, Event, KvRead, KvWrite, ProposalResponse, RwSet, SignedTx, TxAction,
    Version, Vote, limits,
};
use arcanum_vm::{Caller, Contract, Engine, HostError, HostState, Limits, VmError};
use parking_lot::Mutex;

/// Most compiled contracts kept in memory.
const MAX_CACHED_CONTRACTS: usize = 64;

/// Where a contract's code comes from when it is not compiled yet.
pub trait CodeSource {
    /// The module whose code hash is `code_hash`.
    fn code(&self, code_hash: &Hash) -> Result<Vec<u8>, ApiError>;
}

/// Code read from the state view's code records (the host's replica).
pub struct StateCode<'a>(pub &'a dyn StateReader);

impl CodeSource for StateCode<'_> {
    fn code(&self, code_hash: &Hash) -> Result<Vec<u8>, ApiError> {
        StateView::get(self.0, &code_key(code_hash))?
            .map(|v| v.value)
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "contract code missing from state"))
    }
}

/// Compiled contracts by code hash, so a module is validated and compiled once.
pub struct ContractCache {
    engine: Engine,
    compiled: Mutex<BTreeMap<Hash, Contract>>,
}

impl Default for ContractCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ContractCache {
    pub fn new() -> ContractCache {
        ContractCache {
            engine: Engine::new(),
            compiled: Mutex::new(BTreeMap::new()),
        }
    }

    /// Validates and compiles `wasm` (not cached: used for deploys).
    pub fn compile(&self, wasm: &[u8]) -> Result<Contract, ApiError> {
        self.engine
            .compile(wasm)
            .map_err(|e| ApiError::new(ErrorCode::InvalidContract, e.to_string()))
    }

    /// Whether the module with this code hash is compiled already.
    pub fn contains(&self, code_hash: &Hash) -> bool {
        self.compiled.lock().contains_key(code_hash)
    }

    /// The compiled module with this code hash, compiling it from `source` on first use.
    pub fn get(&self, code_hash: &Hash, source: &dyn CodeSource) -> Result<Contract, ApiError> {
        if let Some(c) = self.compiled.lock().get(code_hash) {
            return Ok(c.clone());
        }
        let contract = self.compile(&source.code(code_hash)?)?;
        let mut cache = self.compiled.lock();
        if cache.len() >= MAX_CACHED_CONTRACTS {
            cache.clear();
        }
        cache.insert(*code_hash, contract.clone());
        Ok(contract)
    }
}

/// Whether `action` is an off-chain lifecycle action, whose read and write sets are the
/// ledger's own rules rather than [`simulate`]'s.
pub fn is_lifecycle(action: &TxAction) -> bool {
    matches!(
        action,
        TxAction::RegisterCluster { .. }
            | TxAction::OffchainDeploy { .. }
            | TxAction::OffchainCallback { .. }
    )
}

/// Simulates `tx` (from `creator`, whose client checks passed) against `view`: an invocation,
/// a deploy or a key rotation. Off-chain lifecycle actions ([`is_lifecycle`]) are refused with
/// `INTERNAL`: their callers apply the ledger's rules.
pub fn simulate(
    config: &ChainConfig,
    contracts: &ContractCache,
    view: &dyn StateReader,
    code: &dyn CodeSource,
    creator: &Member,
    tx: &SignedTx,
) -> Result<ProposalResponse, ApiError> {
    let (rwset, result, events) = match &tx.payload.action {
        TxAction::Deploy {
            contract,
            wasm,
            policy,
        } => {
            if creator.role != arcanum_types::Role::Admin {
                return Err(ApiError::new(
                    ErrorCode::NotAdmin,
                    "deploying a contract needs an admin identity",
                ));
            }
            let def_key = definition_key(contract);
            let existing = StateView::get(view, &def_key)?;
            if existing.is_some() {
                return Err(ApiError::new(
                    ErrorCode::ContractExists,
                    format!("contract {contract:?} is already deployed"),
                ));
            }
            contracts.compile(wasm)?;
            let rwset = RwSet {
                reads: vec![KvRead {
                    key: def_key,
                    version: None,
                }],
                writes: deploy_writes(contract, wasm, policy),
            };
            (rwset, Vec::new(), Vec::new())
        }
        TxAction::RotateKey { peer, public_key } => {
            let target = config
                .member(peer)
                .filter(|m| m.role == arcanum_types::Role::Peer)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidTx,
                        format!("{peer} is not a consortium peer"),
                    )
                })?;
            if creator.role != arcanum_types::Role::Admin || creator.msp_id != target.msp_id {
                return Err(ApiError::new(
                    ErrorCode::NotAdmin,
                    "rotating a peer's key needs an admin of its organisation",
                ));
            }
            let key = peer_key_key(peer);
            let current = StateView::get(view, &key)?.map(|v| v.version);
            let rwset = RwSet {
                reads: vec![KvRead {
                    key,
                    version: current,
                }],
                writes: rotation_writes(peer, public_key),
            };
            (rwset, Vec::new(), Vec::new())
        }
        TxAction::RegisterCluster { .. }
        | TxAction::OffchainDeploy { .. }
        | TxAction::OffchainCallback { .. } => {
            return Err(ApiError::new(
                ErrorCode::Internal,
                "an off-chain lifecycle action follows the ledger's rules, not simulation",
            ));
        }
        TxAction::Invoke {
            contract,
            function,
            args,
        } => {
            let def = StateView::contract(view, contract)?.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::ContractNotFound,
                    format!("contract {contract:?} is not deployed"),
                )
            })?;
            let module = contracts.get(&def.code_hash, code)?;
            let caller = Caller {
                id: creator.id.0.0,
                msp_id: creator.msp_id.clone(),
                role: creator.role.as_str().to_owned(),
            };
            let mut host = Recorder {
                view,
                prefix: contract_prefix(contract),
                reads: BTreeMap::new(),
                writes: BTreeMap::new(),
            };
            let outcome = module
                .invoke(&mut host, &caller, function, args, &Limits::default())
                .map_err(vm_error)?;
            let events = outcome
                .events
                .into_iter()
                .map(|(name, data)| Event {
                    contract: contract.clone(),
                    name,
                    data,
                })
                .collect();
            (host.into_rwset(), outcome.return_data, events)
        }
    };
    Ok(ProposalResponse {
        tx_id: tx.payload.id(),
        rwset,
        result,
        events,
        vote: Vote::Approve,
    })
}

fn vm_error(e: VmError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// The VM's view of state during simulation: reads come from the snapshot (recording their
/// versions) or from the transaction's own earlier writes.
struct Recorder<'a> {
    view: &'a dyn StateReader,
    prefix: Vec<u8>,
    reads: BTreeMap<Vec<u8>, Option<Version>>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Recorder<'_> {
    fn full_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(key);
        k
    }

    fn into_rwset(self) -> RwSet {
        RwSet {
            reads: self
                .reads
                .into_iter()
                .map(|(key, version)| KvRead { key, version })
                .collect(),
            writes: self
                .writes
                .into_iter()
                .map(|(key, value)| KvWrite { key, value })
                .collect(),
        }
    }

    fn record(&mut self, key: Vec<u8>, version: Option<Version>) {
        self.reads.entry(key).or_insert(version);
    }
}

fn host_storage_error(e: impl std::fmt::Display) -> HostError {
    tracing::error!(error = %e, "storage failure during simulation");
    HostError::Backend("storage failure".into())
}

impl HostState for Recorder<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        let full = self.full_key(key);
        if let Some(v) = self.writes.get(&full) {
            return Ok(v.clone());
        }
        let current = self.view.get(&full).map_err(host_storage_error)?;
        self.record(full, current.as_ref().map(|v| v.version));
        Ok(current.map(|v| v.value))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostError> {
        if key.len() > limits::MAX_KEY_BYTES || value.len() > limits::MAX_VALUE_BYTES {
            return Err(HostError::Denied("key or value too large".into()));
        }
        let full = self.full_key(key);
        self.writes.insert(full, Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), HostError> {
        let full = self.full_key(key);
        self.writes.insert(full, None);
        Ok(())
    }

    /// Range reads record each key they return; keys inserted into the range later are not
    /// detected (no phantom protection, as in Fabric for non-range-query validation).
    fn range(
        &mut self,
        start: &[u8],
        end: &[u8],
        limit: u32,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, HostError> {
        let full_start = self.full_key(start);
        let full_end = if end.is_empty() {
            prefix_end(&self.prefix)
        } else {
            self.full_key(end)
        };
        let limit = limit as usize;
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in self
            .view
            .range(&full_start, &full_end, limit)
            .map_err(host_storage_error)?
        {
            self.record(k.clone(), Some(v.version));
            merged.insert(k, Some(v.value));
        }
        for (k, v) in self.writes.range(full_start..full_end) {
            merged.insert(k.clone(), v.clone());
        }
        let prefix_len = self.prefix.len();
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k[prefix_len..].to_vec(), v)))
            .take(limit)
            .collect())
    }
}

/// The smallest key greater than every key starting with `prefix` (prefixes end in 0x00).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_end_covers_exactly_the_contract_namespace() {
        assert_eq!(prefix_end(&contract_prefix("a")), b"a\x01".to_vec());
    }
}
