//! Endorsement routes: `/v1/endorse` (endorsement devices, and peers in the Fabric flow), and
//! the enclave device's attestation and key-rotation routes.
//!
//! The routes need one thing from the replica that feeds the ledger: its committed height, to
//! wait for a batch's `min_height`. They take it as the replica's `watch` of its tip height
//! rather than the server's `Replica` itself, so the device knows nothing of block delivery.

use std::sync::Arc;
use std::time::Duration;

use arcanum_api::routes;
use arcanum_types::{ApiError, ErrorCode};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::enclave_setup::EnclaveDevice;
use crate::{EndorseBatch, EndorseOutcome, Endorser};
use arcanum_http::{Borsh, HttpResult, blocking, borsh_response};

/// Largest endorsement request body: a batch (each item's transaction is also held to
/// `MAX_TX_BYTES` on its own by the endorser).
const ENDORSE_BODY_BYTES: usize = arcanum_api::MAX_ENDORSE_BATCH_BYTES;

/// Longest wait for the replica to reach a request's `min_height`.
const REPLICA_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct EndorserState {
    endorser: Arc<Endorser>,
    /// The replica's committed height.
    tip: watch::Receiver<u64>,
    /// The enclave, whose key rotations must be in effect before it signs at a height.
    device: Option<Arc<EnclaveDevice>>,
}

#[derive(Clone)]
struct DeviceState {
    device: Arc<EnclaveDevice>,
    endorser: Arc<Endorser>,
}

/// `/v1/endorse` over `endorser`, whose ledger is a replica at height `tip`.
pub fn router(
    endorser: Arc<Endorser>,
    tip: watch::Receiver<u64>,
    device: Option<Arc<EnclaveDevice>>,
) -> Router {
    Router::new()
        .route(routes::ENDORSE, post(endorse))
        .with_state(EndorserState {
            endorser,
            tip,
            device,
        })
}

/// The enclave device's attestation report and key generation.
pub fn device_router(device: Arc<EnclaveDevice>, endorser: Arc<Endorser>) -> Router {
    Router::new()
        .route(routes::ATTESTATION, get(attestation))
        .route(routes::ROTATE_KEY, post(rotate_key))
        .with_state(DeviceState { device, endorser })
}

#[derive(serde::Deserialize)]
struct RotateQuery {
    /// The hosted peer's name.
    peer: String,
}

/// Has the enclave generate a new key for a hosted peer; it signs only once an admin's
/// `RotateKey` transaction naming it commits. Answers the new public key (borsh, hex).
async fn rotate_key(
    State(s): State<DeviceState>,
    Query(q): Query<RotateQuery>,
) -> HttpResult<axum::Json<serde_json::Value>> {
    let member = s
        .endorser
        .ledger()
        .config()
        .members
        .values()
        .find(|m| m.name == q.peer && m.role == arcanum_types::Role::Peer)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no peer named {:?}", q.peer)))?;
    if !s.device.hosted.read().iter().any(|h| h.peer == member.id) {
        return Err(ApiError::new(
            ErrorCode::EndorserUnavailable,
            format!("{} is not hosted here", q.peer),
        )
        .into());
    }
    let device = s.device.clone();
    let algorithm = member.public_key.algorithm;
    let public_key =
        arcanum_http::blocking(move || device.generate_key(member.id, algorithm)).await?;
    Ok(axum::Json(serde_json::json!({
        "peer": q.peer,
        "peer_id": member.id.to_string(),
        "public_key": hex::encode(arcanum_types::encode(&public_key)),
    })))
}

#[derive(serde::Deserialize)]
struct Format {
    format: Option<String>,
}

/// The device's current signed attestation report: borsh, or a JSON summary with `?format=json`.
async fn attestation(
    State(s): State<DeviceState>,
    Query(f): Query<Format>,
) -> HttpResult<Response> {
    let bytes = s.device.report.read().clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no attestation report yet (is the attestation service up?)",
        )
    })?;
    if f.format.as_deref() != Some("json") {
        return Ok(arcanum_http::octets(bytes));
    }
    let signed: arcanum_attestation::SignedReport = arcanum_types::decode(&bytes, 1024 * 1024)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let r = &signed.report;
    Ok(axum::Json(serde_json::json!({
        "subject": r.subject,
        "platform": r.platform.as_str(),
        "measurement": hex::encode(&r.measurement),
        "tcb_status": r.tcb_status,
        "is_secure": r.is_secure,
        "debug": r.debug,
        "bound_keys": r.bound_keys.iter().map(|k| hex::encode(arcanum_types::encode(k))).collect::<Vec<_>>(),
        "issued_at": r.issued_at,
        "expires_at": r.expires_at,
        "issuer": hex::encode(&signed.issuer.bytes),
    }))
    .into_response())
}

/// Endorses a batch: waits once for the replica to reach the batch's `min_height`, then
/// simulates and signs every item; answers one borsh outcome per item, in item order.
async fn endorse(
    State(s): State<EndorserState>,
    Borsh(batch): Borsh<EndorseBatch, ENDORSE_BODY_BYTES>,
) -> HttpResult<Response> {
    batch.check()?;
    // Simulate on at least the state the management device had: devices then agree on reads.
    let mut tip = s.tip.clone();
    let reached = matches!(
        tokio::time::timeout(REPLICA_WAIT, tip.wait_for(|h| *h >= batch.min_height)).await,
        Ok(Ok(_))
    );
    if !reached {
        tracing::warn!(
            min_height = batch.min_height,
            "replica behind the management device; simulating anyway"
        );
    }
    let (endorser, device) = (s.endorser.clone(), s.device.clone());
    let outcomes = blocking(move || {
        // A rotation committed at or below this height signs with its new key from now on.
        if let Some(device) = device {
            device.follow_rotations(endorser.ledger());
        }
        Ok(endorser
            .endorse_batch(&batch)
            .into_iter()
            .map(EndorseOutcome::from)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(borsh_response(&outcomes))
}
