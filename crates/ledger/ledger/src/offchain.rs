//! The chain's rules for the off-chain cluster (SPEC C1, C2/C3, C5): cluster registration,
//! off-chain deployments and oracle callbacks. Design: `docs/design/offchain-cluster.md`.
//!
//! One function per action judges it against a [`StateView`] (and, for a callback, the
//! committed blocks) and returns the read/write set it must have. The endorsement device
//! simulates with these functions and the peers validate with the same ones: a peer recomputes
//! the set on its own state and requires the endorsed writes to be exactly it, so the two sides
//! cannot drift apart. Every rejection carries its stable [`ErrorCode`].
//!
//! State (all under the system prefix, see [`crate::cluster_registration_key`] and its
//! siblings): the latest [`SignedRegistration`]; each [`SignedDeployment`] by (contract id, key
//! version) with the latest version per contract id; each accepted [`SignedResult`] by request
//! hash.

use std::collections::BTreeSet;

use arcanum_crypto::{Hash, domain};
use arcanum_storage::LedgerStore;
use arcanum_types::offchain::{
    MAX_CLUSTER_MEMBERS, MAX_FETCHES, MAX_FUNCTION_NAME, MAX_OFFCHAIN_INPUT, ORACLE_REQUEST_EVENT,
    OracleCallback, OracleRequest, SignedDeployment, SignedRegistration, SignedResult,
};
use arcanum_types::{
    ApiError, Block, ErrorCode, Event, KvRead, KvWrite, Role, RwSet, TxAction, TxStatus, decode,
    encode, limits,
};

use crate::ledger::storage_error;
use crate::{
    Member, StateView, cluster_registration_key, offchain_deployment_key, offchain_latest_key,
    oracle_result_key, valid_name,
};

/// Largest attestation report a registered member may carry.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;
/// Largest URL a fetch record may name.
pub const MAX_URL_BYTES: usize = 2048;
/// Largest encoded public key or signature inside an off-chain statement.
const MAX_KEY_OR_SIGNATURE_BYTES: usize = 1024;

fn err(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// Well-formedness of the off-chain actions: counts and sizes only (no signatures, no state).
/// `Ok` for the other actions.
pub fn check_shape(action: &TxAction) -> Result<(), ApiError> {
    let bad = |m: String| Err(err(ErrorCode::InvalidTx, m));
    let key_ok = |k: &arcanum_crypto::PublicKey| {
        !k.bytes.is_empty() && k.bytes.len() <= MAX_KEY_OR_SIGNATURE_BYTES
    };
    let sig_ok = |s: &arcanum_crypto::Signature| s.0.len() <= MAX_KEY_OR_SIGNATURE_BYTES;
    match action {
        TxAction::RegisterCluster { registration } => {
            let r = &registration.registration;
            if r.members.is_empty() || r.members.len() > MAX_CLUSTER_MEMBERS {
                return bad(format!(
                    "a registration lists 1 to {MAX_CLUSTER_MEMBERS} members, not {}",
                    r.members.len()
                ));
            }
            if !key_ok(&r.keys.signing_key) || !sig_ok(&registration.signature) {
                return bad("malformed cluster key or signature".into());
            }
            let mut seen = BTreeSet::new();
            for m in &r.members {
                if m.report.is_empty() || m.report.len() > MAX_REPORT_BYTES {
                    return bad(format!(
                        "a member's report must hold 1 to {MAX_REPORT_BYTES} bytes, not {}",
                        m.report.len()
                    ));
                }
                if !key_ok(&m.card.node_key) || !sig_ok(&m.card_signature) {
                    return bad("malformed node key or card signature".into());
                }
                if !seen.insert(m.card.node_key.bytes.as_slice()) {
                    return bad("a node is listed twice".into());
                }
            }
            if encode(registration).len() > limits::MAX_VALUE_BYTES {
                return bad("the registration exceeds the largest state value".into());
            }
        }
        TxAction::OffchainDeploy { deployment } => {
            let s = &deployment.statement;
            if !key_ok(&s.contract_key) || !key_ok(&s.cluster_key) || !sig_ok(&deployment.signature)
            {
                return bad("malformed key or signature in the deployment".into());
            }
        }
        TxAction::OffchainCallback { callback } => {
            if !valid_name(&callback.contract) {
                return bad(format!("invalid contract name {:?}", callback.contract));
            }
            let f = &callback.request.function;
            if f.is_empty() || f.len() > MAX_FUNCTION_NAME || !f.is_ascii() {
                return bad("invalid off-chain function name".into());
            }
            let result = &callback.result.result;
            if callback.request.input.len() > MAX_OFFCHAIN_INPUT
                || result.output.len() > MAX_OFFCHAIN_INPUT
            {
                return bad(format!(
                    "off-chain input and output are limited to {MAX_OFFCHAIN_INPUT} bytes"
                ));
            }
            if result.fetches.len() > MAX_FETCHES
                || result.fetches.iter().any(|f| f.url.len() > MAX_URL_BYTES)
            {
                return bad(format!(
                    "at most {MAX_FETCHES} fetches of URLs up to {MAX_URL_BYTES} bytes"
                ));
            }
            if !sig_ok(&callback.result.signature) {
                return bad("malformed result signature".into());
            }
        }
        TxAction::Invoke { .. } | TxAction::Deploy { .. } | TxAction::RotateKey { .. } => {}
    }
    Ok(())
}

/// The read/write set of an off-chain action, judged by its rule; `None` for other actions.
/// `blocks` is the committed chain (callbacks look their request up there).
pub fn rwset<V: StateView + ?Sized>(
    view: &V,
    blocks: &dyn LedgerStore,
    creator: &Member,
    action: &TxAction,
) -> Option<Result<RwSet, ApiError>> {
    match action {
        TxAction::RegisterCluster { registration } => {
            Some(register_cluster(view, creator, registration))
        }
        TxAction::OffchainDeploy { deployment } => Some(offchain_deploy(view, deployment)),
        TxAction::OffchainCallback { callback } => Some(offchain_callback(view, blocks, callback)),
        TxAction::Invoke { .. } | TxAction::Deploy { .. } | TxAction::RotateKey { .. } => None,
    }
}

/// `RegisterCluster` (admin only): the cluster key signed the registration and every member's
/// node key signed its card; the first registration is epoch 0, every later one keeps the keys
/// and has the next epoch. Reads and writes the registration record.
pub fn register_cluster<V: StateView + ?Sized>(
    view: &V,
    creator: &Member,
    registration: &SignedRegistration,
) -> Result<RwSet, ApiError> {
    if creator.role != Role::Admin {
        return Err(err(
            ErrorCode::NotAdmin,
            "registering the cluster needs an admin identity",
        ));
    }
    if !registration.verify() {
        return Err(err(
            ErrorCode::ClusterSignatureInvalid,
            "the registration is not signed by its cluster key",
        ));
    }
    let r = &registration.registration;
    for (i, m) in r.members.iter().enumerate() {
        let signed = m
            .card
            .node_key
            .verify(domain::NODE_CARD, &encode(&m.card), &m.card_signature);
        if signed.is_err() {
            return Err(err(
                ErrorCode::ClusterSignatureInvalid,
                format!("member {i}'s card is not signed by its node key"),
            ));
        }
    }
    let key = cluster_registration_key();
    let current = view.get(&key)?;
    match &current {
        None if r.epoch != 0 => {
            return Err(err(
                ErrorCode::ClusterNotRegistered,
                format!(
                    "no cluster is registered: the first registration is epoch 0, not {}",
                    r.epoch
                ),
            ));
        }
        None => {}
        Some(v) => {
            let previous: SignedRegistration = decode_record(&v.value, "cluster registration")?;
            if previous.registration.keys != r.keys {
                return Err(err(
                    ErrorCode::ClusterKeyMismatch,
                    "the registration names other keys than the registered cluster",
                ));
            }
            if previous.registration.epoch.checked_add(1) != Some(r.epoch) {
                return Err(err(
                    ErrorCode::ClusterNotRegistered,
                    format!(
                        "epoch {} does not follow the registered epoch {}",
                        r.epoch, previous.registration.epoch
                    ),
                ));
            }
        }
    }
    Ok(RwSet {
        reads: vec![KvRead {
            key: key.clone(),
            version: current.map(|v| v.version),
        }],
        writes: vec![KvWrite {
            key,
            value: Some(encode(registration)),
        }],
    })
}

/// `OffchainDeploy` (any allowed client): a cluster is registered, its signing key signed the
/// statement, and the key version is 1 for a new contract id or the latest plus one for a
/// rotation, which keeps the code hash. Reads the registration, the latest version (and, for a
/// rotation, the previous deployment); writes the deployment and the new latest version.
pub fn offchain_deploy<V: StateView + ?Sized>(
    view: &V,
    deployment: &SignedDeployment,
) -> Result<RwSet, ApiError> {
    let s = &deployment.statement;
    let cluster_key = cluster_registration_key();
    let cluster = view.get(&cluster_key)?.ok_or_else(|| {
        err(
            ErrorCode::ClusterNotRegistered,
            "no off-chain cluster is registered",
        )
    })?;
    let registration: SignedRegistration = decode_record(&cluster.value, "cluster registration")?;
    if s.cluster_key != registration.registration.keys.signing_key {
        return Err(err(
            ErrorCode::ClusterKeyMismatch,
            "the deployment names another cluster key than the registered one",
        ));
    }
    if !deployment.verify() {
        return Err(err(
            ErrorCode::ClusterSignatureInvalid,
            "the deployment is not signed by the cluster key",
        ));
    }
    let latest_key = offchain_latest_key(&s.contract_id);
    let latest = view.get(&latest_key)?;
    let mut reads = vec![
        KvRead {
            key: cluster_key,
            version: Some(cluster.version),
        },
        KvRead {
            key: latest_key.clone(),
            version: latest.as_ref().map(|v| v.version),
        },
    ];
    match latest {
        None if s.key_version != 1 => {
            return Err(err(
                ErrorCode::DeploymentInvalid,
                format!(
                    "a new off-chain contract starts at key version 1, not {}",
                    s.key_version
                ),
            ));
        }
        None => {}
        Some(v) => {
            let latest_version: u32 = decode_record(&v.value, "latest key version")?;
            if latest_version.checked_add(1) != Some(s.key_version) {
                return Err(err(
                    ErrorCode::DeploymentInvalid,
                    format!(
                        "key version {} does not follow the registered version {latest_version}",
                        s.key_version
                    ),
                ));
            }
            let previous_key = offchain_deployment_key(&s.contract_id, latest_version);
            let previous = view.get(&previous_key)?.ok_or_else(|| {
                err(
                    ErrorCode::Internal,
                    "the latest off-chain deployment record is missing",
                )
            })?;
            let previous_deployment: SignedDeployment =
                decode_record(&previous.value, "off-chain deployment")?;
            if previous_deployment.statement.code_hash != s.code_hash {
                return Err(err(
                    ErrorCode::DeploymentInvalid,
                    "a key rotation must keep the contract's code hash",
                ));
            }
            reads.push(KvRead {
                key: previous_key,
                version: Some(previous.version),
            });
        }
    }
    let mut writes = vec![
        KvWrite {
            key: offchain_deployment_key(&s.contract_id, s.key_version),
            value: Some(encode(deployment)),
        },
        KvWrite {
            key: latest_key,
            value: Some(encode(&s.key_version)),
        },
    ];
    reads.sort_by(|a, b| a.key.cmp(&b.key));
    writes.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(RwSet { reads, writes })
}

/// `OffchainCallback` (any allowed client, typically the oracle relay): the origin transaction
/// is committed and valid, and its event `origin.event_index` is an `oracle_request` of
/// `callback.contract` whose data is exactly `callback.request`; the result is for that
/// request's invocation, by the latest registered deployment of the contract, whose contract key
/// signed it (a rotation retires older keys); and no result was accepted for the request yet.
/// Reads the deployment, the latest key version and the result record; writes the result.
pub fn offchain_callback<V: StateView + ?Sized>(
    view: &V,
    blocks: &dyn LedgerStore,
    callback: &OracleCallback,
) -> Result<RwSet, ApiError> {
    let not_found = |m: &str| err(ErrorCode::OracleRequestNotFound, m);
    let (invoked, event) = origin_event(blocks, &callback.origin)?.ok_or_else(|| {
        not_found("the origin transaction is not a committed, valid invocation with that event")
    })?;
    if event.name != ORACLE_REQUEST_EVENT
        || event.contract != callback.contract
        || invoked != callback.contract
    {
        return Err(not_found(
            "the origin event is not an oracle request of the calling contract",
        ));
    }
    let emitted: Option<OracleRequest> = decode(&event.data, MAX_OFFCHAIN_INPUT + 1024).ok();
    if emitted.as_ref() != Some(&callback.request) {
        return Err(not_found("the callback does not carry the emitted request"));
    }
    let request = &callback.request;
    let signed = &callback.result;
    let result = &signed.result;
    let deployment_key = offchain_deployment_key(&request.contract_id, result.key_version);
    let deployment = view.get(&deployment_key)?.ok_or_else(|| {
        err(
            ErrorCode::OffchainContractUnknown,
            format!(
                "off-chain contract {} has no key version {}",
                request.contract_id, result.key_version
            ),
        )
    })?;
    let registered: SignedDeployment = decode_record(&deployment.value, "off-chain deployment")?;
    if result.contract_id != request.contract_id
        || result.request != request.invocation(callback.origin).hash()
    {
        return Err(not_found("the result answers another request"));
    }
    if !signed.verify(&registered.statement.contract_key) {
        return Err(err(
            ErrorCode::CallbackSignatureInvalid,
            "the result is not signed by the registered contract key",
        ));
    }
    // A rotation retires the previous key (it may be why the key was rotated): only results
    // under the latest version are accepted.
    let latest_key = offchain_latest_key(&request.contract_id);
    let latest = view.get(&latest_key)?.ok_or_else(|| {
        err(
            ErrorCode::Internal,
            "a registered deployment has no latest key version",
        )
    })?;
    let latest_version: u32 = decode_record(&latest.value, "latest key version")?;
    if result.key_version != latest_version {
        return Err(err(
            ErrorCode::CallbackKeyRetired,
            format!(
                "the result is signed under key version {}, retired by version {latest_version}",
                result.key_version
            ),
        ));
    }
    let result_key = oracle_result_key(&result.request);
    if view.get(&result_key)?.is_some() {
        return Err(err(
            ErrorCode::CallbackDuplicate,
            "this oracle request already has an accepted callback",
        ));
    }
    let mut reads = vec![
        KvRead {
            key: deployment_key,
            version: Some(deployment.version),
        },
        KvRead {
            key: latest_key,
            version: Some(latest.version),
        },
        KvRead {
            key: result_key.clone(),
            version: None,
        },
    ];
    reads.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(RwSet {
        reads,
        writes: vec![KvWrite {
            key: result_key,
            value: Some(encode(signed)),
        }],
    })
}

/// The event `origin.event_index` of committed transaction `origin.tx` and the contract that
/// transaction invoked, if it is a committed, valid invocation with such an event. (Peers do not
/// check the `contract` field of endorsed events, so the callback rule relies on the invoked
/// contract, whose policy endorsed the event, rather than on that field alone.)
pub fn origin_event(
    blocks: &dyn LedgerStore,
    origin: &arcanum_types::offchain::OracleOrigin,
) -> Result<Option<(String, Event)>, ApiError> {
    let Some(receipt) = blocks.receipt(&origin.tx).map_err(storage_error)? else {
        return Ok(None);
    };
    if receipt.status != TxStatus::Valid {
        return Ok(None);
    }
    let bytes = blocks
        .block(receipt.block)
        .map_err(storage_error)?
        .ok_or_else(|| err(ErrorCode::Internal, "a committed block is missing"))?;
    let block: Block = decode(&bytes, limits::MAX_BLOCK_BYTES)
        .map_err(|e| err(ErrorCode::Internal, format!("corrupt committed block: {e}")))?;
    let etx = block
        .txs
        .get(receipt.index as usize)
        .filter(|etx| etx.id() == origin.tx)
        .ok_or_else(|| {
            err(
                ErrorCode::Internal,
                "a receipt does not match its committed block",
            )
        })?;
    let TxAction::Invoke { contract, .. } = &etx.tx.payload.action else {
        return Ok(None);
    };
    Ok(etx
        .response
        .events
        .get(origin.event_index as usize)
        .map(|e| (contract.clone(), e.clone())))
}

/// The registered cluster, if any.
pub fn cluster_registration<V: StateView + ?Sized>(
    view: &V,
) -> Result<Option<SignedRegistration>, ApiError> {
    view.get(&cluster_registration_key())?
        .map(|v| decode_record(&v.value, "cluster registration"))
        .transpose()
}

/// The latest registered key version of an off-chain contract.
pub fn latest_key_version<V: StateView + ?Sized>(
    view: &V,
    contract_id: &Hash,
) -> Result<Option<u32>, ApiError> {
    view.get(&offchain_latest_key(contract_id))?
        .map(|v| decode_record(&v.value, "latest key version"))
        .transpose()
}

/// A registered deployment: key version `version`, or the latest one.
pub fn offchain_deployment<V: StateView + ?Sized>(
    view: &V,
    contract_id: &Hash,
    version: Option<u32>,
) -> Result<Option<SignedDeployment>, ApiError> {
    let version = match version {
        Some(v) => v,
        None => match latest_key_version(view, contract_id)? {
            Some(v) => v,
            None => return Ok(None),
        },
    };
    view.get(&offchain_deployment_key(contract_id, version))?
        .map(|v| decode_record(&v.value, "off-chain deployment"))
        .transpose()
}

/// The accepted oracle result for a request hash.
pub fn oracle_result<V: StateView + ?Sized>(
    view: &V,
    request: &Hash,
) -> Result<Option<SignedResult>, ApiError> {
    view.get(&oracle_result_key(request))?
        .map(|v| decode_record(&v.value, "oracle result"))
        .transpose()
}

/// Decodes a system record written by these rules; a failure means corrupt state.
fn decode_record<T: borsh::BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    decode(bytes, limits::MAX_VALUE_BYTES)
        .map_err(|e| err(ErrorCode::Internal, format!("corrupt {what}: {e}")))
}
