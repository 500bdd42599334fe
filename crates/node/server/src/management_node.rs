//! The management device's routes (the client gateway), its HTTP transport to the endorsement
//! devices, and block delivery to peers and endorsement devices.

use std::sync::Arc;
use std::time::Duration;

use arcanum_api::{BlockAccepted, ErrorBody, QueryResult, TxOutcome, WaitQuery, routes};
use arcanum_api::{EndorseBatch, EndorseOutcome, endorse_answer_limit};
use arcanum_ledger::Ledger;
use arcanum_management::{EndorserTransport, Management, TransportError};
use arcanum_types::{ApiError, EndorsedTx, ErrorCode, SignedTx, TxReceipt, decode};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::oneshot;

use arcanum_http::{Borsh, HttpError, HttpResult, borsh_response};
use arcanum_types::limits::{MAX_ENDORSED_TX_BYTES, MAX_TX_BYTES};

/// Reaches endorsement devices over HTTP.
pub struct HttpTransport {
    pub http: reqwest::Client,
    /// Base URL of each device, by index.
    pub urls: Vec<String>,
    pub links: Arc<crate::links::Links>,
}

impl HttpTransport {
    async fn post(
        &self,
        index: usize,
        path: &str,
        body: Vec<u8>,
        max: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let base = &self.urls[index];
        let request = async {
            let resp = self
                .http
                .post(format!("{base}{path}"))
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        TransportError::Timeout
                    } else {
                        TransportError::Unreachable(e.to_string())
                    }
                })?;
            let status = resp.status();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            Ok::<_, TransportError>((status, bytes))
        };
        let (status, bytes) = self.links.round_trip(base, request).await?;
        if bytes.len() > max {
            return Err(TransportError::Unreachable("oversized answer".into()));
        }
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            // Capacity and availability problems are the device's, not the request's: try another.
            Ok(b) => Err(TransportError::from_device(b.into_api_error())),
            Err(_) => Err(TransportError::Unreachable(format!("answered {status}"))),
        }
    }
}

impl EndorserTransport for HttpTransport {
    async fn endorse(
        &self,
        index: usize,
        batch: &EndorseBatch,
    ) -> Result<Vec<EndorseOutcome>, TransportError> {
        // The answer may take what each item's endorsed transaction may take, up to a cap.
        let max = endorse_answer_limit(batch.items.len());
        let bytes = self
            .post(index, routes::ENDORSE, arcanum_types::encode(batch), max)
            .await?;
        decode(&bytes, max).map_err(|e| TransportError::Unreachable(e.to_string()))
    }

    async fn attestation(&self, index: usize) -> Result<Vec<u8>, TransportError> {
        let url = format!("{}{}", self.urls[index], routes::ATTESTATION);
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(TransportError::Unreachable(format!(
                "attestation answered {}",
                resp.status()
            )));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        if bytes.len() > 1024 * 1024 {
            return Err(TransportError::Unreachable(
                "oversized attestation report".into(),
            ));
        }
        Ok(bytes.to_vec())
    }
}

type Mgmt = Arc<Management<Arc<HttpTransport>>>;

#[derive(Clone)]
struct MgmtState {
    mgmt: Mgmt,
    transport: Arc<HttpTransport>,
}

pub fn router(mgmt: Mgmt, transport: Arc<HttpTransport>) -> Router {
    Router::new()
        .route(routes::TRANSACTIONS, post(execute))
        .route(routes::ENDORSE_TX, post(endorse))
        .route(routes::SUBMIT_TX, post(submit))
        .route(routes::QUERY, post(query))
        .with_state(MgmtState { mgmt, transport })
}

async fn answer(
    rx: oneshot::Receiver<Result<TxReceipt, ApiError>>,
    tx_id: String,
    wait: bool,
) -> HttpResult<Response> {
    if !wait {
        let outcome = TxOutcome {
            tx_id,
            status: "ORDERING".into(),
            block: None,
            index: None,
        };
        return Ok((StatusCode::ACCEPTED, axum::Json(outcome)).into_response());
    }
    let receipt = rx
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "ordering stopped before the commit"))??;
    Ok(axum::Json(TxOutcome::from(&receipt)).into_response())
}

/// Endorse and order a transaction.
async fn execute(
    State(s): State<MgmtState>,
    Query(w): Query<WaitQuery>,
    Borsh(tx): Borsh<SignedTx, MAX_TX_BYTES>,
) -> HttpResult<Response> {
    let tx_id = tx.payload.id().to_hex();
    let rx = s.mgmt.execute(tx).await?;
    answer(rx, tx_id, w.wait).await
}

/// Endorse only: the client gets the endorsed transaction back (two-phase flow).
async fn endorse(
    State(s): State<MgmtState>,
    Borsh(tx): Borsh<SignedTx, MAX_TX_BYTES>,
) -> HttpResult<Response> {
    let etx = s.mgmt.endorse(tx).await?;
    Ok(borsh_response(&etx))
}

/// Order an endorsed transaction the client holds (re-verified whole).
async fn submit(
    State(s): State<MgmtState>,
    Query(w): Query<WaitQuery>,
    Borsh(etx): Borsh<EndorsedTx, MAX_ENDORSED_TX_BYTES>,
) -> HttpResult<Response> {
    let tx_id = etx.id().to_hex();
    let mgmt = s.mgmt.clone();
    let rx = tokio::task::spawn_blocking(move || mgmt.submit(etx))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    answer(rx, tx_id, w.wait).await
}

/// Read-only evaluation on an endorsement device; nothing is signed or ordered.
async fn query(
    State(s): State<MgmtState>,
    Borsh(tx): Borsh<SignedTx, MAX_TX_BYTES>,
) -> HttpResult<axum::Json<QueryResult>> {
    let creator = &tx.payload.creator;
    if !s
        .mgmt
        .ledger()
        .config()
        .member(creator)
        .is_some_and(|m| m.allowed_client)
    {
        return Err(ApiError::new(
            ErrorCode::ClientNotAllowed,
            format!("client {creator} is not on the allow-list"),
        )
        .into());
    }
    let mut last = ApiError::new(ErrorCode::EndorserUnavailable, "no endorsement devices");
    // A batch of one item for no peers: simulated on the management device's state, unsigned.
    let batch = EndorseBatch::single(tx, Vec::new(), s.mgmt.ledger().tip()?.0);
    for index in 0..s.transport.urls.len() {
        let answer = s.transport.endorse(index, &batch).await.and_then(|o| {
            match <[EndorseOutcome; 1]>::try_from(o) {
                Ok([outcome]) => outcome
                    .into_result()
                    .map(|r| r.response)
                    .map_err(TransportError::from_device),
                Err(o) => Err(TransportError::Unreachable(format!(
                    "answered {} outcomes for one item",
                    o.len()
                ))),
            }
        });
        match answer {
            Ok(resp) => {
                return Ok(axum::Json(QueryResult {
                    result_hex: hex::encode(&resp.result),
                    result: String::from_utf8(resp.result).ok(),
                }));
            }
            Err(TransportError::Rejected(e)) => return Err(HttpError(e)),
            Err(e) => last = ApiError::new(ErrorCode::EndorserUnavailable, format!("{e:?}")),
        }
    }
    Err(last.into())
}

/// Most blocks in one delivery.
const MAX_BATCH_BLOCKS: u64 = 64;
/// Bytes after which a delivery batch is closed.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Delivers every block to one target (a peer or an endorsement device), in order, for as long
/// as the process runs. It learns the target's height, pushes the blocks it lacks, and backs off
/// while the target is unreachable; a restarted target is caught up the same way.
pub async fn deliver_blocks(
    ledger: Arc<Ledger>,
    mut tip: tokio::sync::watch::Receiver<u64>,
    http: reqwest::Client,
    links: Arc<crate::links::Links>,
    target: String,
) {
    let mut backoff = Duration::from_millis(50);
    let mut known: Option<u64> = None;
    loop {
        let target_height = match known {
            Some(h) => h,
            None => match links
                .round_trip(&target, target_height(&http, &target))
                .await
            {
                Some(h) => h,
                None => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        known = Some(target_height);
        let ours = *tip.borrow_and_update();
        if target_height >= ours {
            if tip.changed().await.is_err() {
                return;
            }
            continue;
        }
        // Everything the target lacks, up to a bound, in one round trip (a lagging target on a
        // slow link catches up in one hop, not one hop per block).
        let next = target_height + 1;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut size = 0;
        for h in next..=ours.min(target_height + MAX_BATCH_BLOCKS) {
            match ledger.store().block(h) {
                Ok(Some(b)) => {
                    size += b.len();
                    batch.push(b);
                    if size >= MAX_BATCH_BYTES {
                        break;
                    }
                }
                _ => {
                    tracing::error!(height = h, "block missing from the local store");
                    return;
                }
            }
        }
        let bytes = arcanum_types::encode(&batch);
        let next = target_height + batch.len() as u64;
        let url = format!("{target}{}", routes::BLOCKS_BATCH);
        let send = async {
            let resp = http
                .post(&url)
                .header("content-type", "application/octet-stream")
                .body(bytes)
                .send()
                .await?;
            let status = resp.status();
            let accepted = if status.is_success() {
                resp.json::<BlockAccepted>().await.ok()
            } else {
                None
            };
            Ok::<_, reqwest::Error>((status.is_success(), status, accepted))
        };
        match links.round_trip(&target, send).await {
            Ok((true, _, accepted)) => {
                backoff = Duration::from_millis(50);
                known = accepted.map(|a| a.height.max(next)).or(Some(next));
            }
            Ok((false, status, _)) => {
                tracing::warn!(%target, %status, "block delivery refused");
                known = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::debug!(%target, error = %e, "target unreachable");
                known = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

async fn target_height(http: &reqwest::Client, target: &str) -> Option<u64> {
    let resp = http
        .get(format!("{target}{}", routes::HEIGHT))
        .send()
        .await
        .ok()?;
    resp.json::<arcanum_api::HeightInfo>()
        .await
        .ok()
        .map(|h| h.height)
}
