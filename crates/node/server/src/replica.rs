//! A replica of the chain fed by block delivery (peers and endorsement devices): the
//! `POST /v1/blocks` route, catch-up from the management device, and the committed-transaction
//! event stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use arcanum_api::{BlockAccepted, CommitEvent, routes};
use arcanum_ledger::{CommitSummary, Ledger};
use arcanum_types::{ApiError, ErrorCode, TxStatus, limits};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use crate::links::Links;
use crate::metrics::Metrics;
use arcanum_http::{HttpResult, blocking, read_body};

/// A chain replica and its notifications.
pub struct Replica {
    pub ledger: Arc<Ledger>,
    commits: broadcast::Sender<Arc<CommitSummary>>,
    tip: watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

impl Replica {
    pub fn new(ledger: Arc<Ledger>, metrics: Arc<Metrics>) -> Result<Arc<Replica>, ApiError> {
        let (height, _) = ledger.tip()?;
        let (commits, _) = broadcast::channel(1024);
        let (tip, _) = watch::channel(height);
        metrics
            .height
            .store(height, std::sync::atomic::Ordering::Relaxed);
        Ok(Arc::new(Replica {
            ledger,
            commits,
            tip,
            metrics,
        }))
    }

    pub fn subscribe_tip(&self) -> watch::Receiver<u64> {
        self.tip.subscribe()
    }

    /// Validates and commits one encoded block; notifies subscribers.
    pub fn commit_bytes(&self, bytes: &[u8]) -> Result<CommitSummary, ApiError> {
        let summary = self.ledger.commit_bytes(bytes);
        match &summary {
            Ok(s) if !s.already_committed => {
                self.metrics.record_block(s);
                self.tip.send_replace(s.height);
                // No subscribers is fine.
                let _ = self.commits.send(Arc::new(s.clone()));
            }
            Ok(_) => {}
            Err(e) => {
                self.metrics
                    .blocks_rejected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(code = %e.code, message = %e.message, "block rejected");
            }
        }
        summary
    }

    /// Fetches and commits blocks from `source` until it has no more. Returns the new height.
    pub async fn catch_up(
        self: &Arc<Self>,
        http: &reqwest::Client,
        links: &Links,
        source: &str,
    ) -> Result<u64, ApiError> {
        loop {
            let next = self.ledger.tip()?.0 + 1;
            let url = format!(
                "{source}{}",
                routes::BLOCK_BY_HEIGHT.replace("{height}", &next.to_string())
            );
            let fetch = async {
                let resp = http.get(&url).send().await.map_err(|e| {
                    ApiError::new(
                        ErrorCode::Timeout,
                        format!("catch-up source unreachable: {e}"),
                    )
                })?;
                let status = resp.status();
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| ApiError::new(ErrorCode::Timeout, e.to_string()))?;
                Ok::<_, ApiError>((status, bytes))
            };
            let (status, bytes) = links.round_trip(source, fetch).await?;
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(next - 1);
            }
            if !status.is_success() {
                return Err(ApiError::new(
                    ErrorCode::Internal,
                    format!("catch-up source answered {status}"),
                ));
            }
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.commit_bytes(&bytes))
                .await
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
        }
    }

    /// Catches up from `source` now and then every `period`, until the process ends. Block
    /// delivery normally keeps the replica current; this repairs gaps after downtime.
    pub async fn keep_caught_up(
        self: Arc<Self>,
        http: reqwest::Client,
        links: Arc<Links>,
        source: String,
        period: Duration,
    ) {
        loop {
            if let Err(e) = self.catch_up(&http, &links, &source).await {
                tracing::debug!(code = %e.code, "catch-up pending: {}", e.message);
            }
            tokio::time::sleep(period).await;
        }
    }
}

pub fn router(replica: Arc<Replica>) -> Router {
    Router::new()
        .route(routes::BLOCKS, post(deliver))
        .route(routes::BLOCKS_BATCH, post(deliver_batch))
        .route(routes::EVENTS, get(events))
        .with_state(replica)
}

/// Block delivery from the management device (or anyone: the block is validated whole).
async fn deliver(
    State(replica): State<Arc<Replica>>,
    body: axum::body::Body,
) -> HttpResult<axum::Json<BlockAccepted>> {
    let bytes = read_body(body, limits::MAX_BLOCK_BYTES).await?;
    let summary = blocking(move || replica.commit_bytes(&bytes)).await?;
    let valid = summary
        .receipts
        .iter()
        .filter(|r| r.status == TxStatus::Valid)
        .count();
    Ok(axum::Json(BlockAccepted {
        height: summary.height,
        already_committed: summary.already_committed,
        valid,
        invalid: summary.receipts.len() - valid,
    }))
}

/// Consecutive blocks in one body, committed in order. Stops at the first refused block: the
/// answer is the last committed one, or the refusal if none was.
async fn deliver_batch(
    State(replica): State<Arc<Replica>>,
    body: axum::body::Body,
) -> HttpResult<axum::Json<BlockAccepted>> {
    let bytes = read_body(body, limits::MAX_BLOCK_BYTES).await?;
    let blocks: Vec<Vec<u8>> = arcanum_types::decode(&bytes, limits::MAX_BLOCK_BYTES)
        .map_err(|e| ApiError::new(ErrorCode::MalformedEncoding, format!("block batch: {e}")))?;
    let accepted = blocking(move || {
        let mut last: Option<BlockAccepted> = None;
        for block in &blocks {
            match replica.commit_bytes(block) {
                Ok(summary) => {
                    let valid = summary
                        .receipts
                        .iter()
                        .filter(|r| r.status == TxStatus::Valid)
                        .count();
                    let (valid, invalid) = match &last {
                        Some(l) => (l.valid + valid, l.invalid + summary.receipts.len() - valid),
                        None => (valid, summary.receipts.len() - valid),
                    };
                    last = Some(BlockAccepted {
                        height: summary.height,
                        already_committed: summary.already_committed,
                        valid,
                        invalid,
                    });
                }
                Err(e) => return last.ok_or(e),
            }
        }
        last.ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "empty block batch"))
    })
    .await?;
    Ok(axum::Json(accepted))
}

#[derive(Deserialize)]
struct EventsQuery {
    from: Option<u64>,
}

fn commit_events(summary: &CommitSummary) -> Vec<CommitEvent> {
    summary
        .receipts
        .iter()
        .map(|r| CommitEvent {
            block: r.block,
            index: r.index,
            tx_id: r.tx_id.to_hex(),
            status: r.status.as_str().to_owned(),
            events: summary
                .events
                .iter()
                .filter(|(id, _)| *id == r.tx_id)
                .map(|(_, e)| (e.name.clone(), hex::encode(&e.data)))
                .collect(),
        })
        .collect()
}

/// Server-sent events: every committed transaction from block `from` on (replayed from the
/// store), then live. A subscriber that falls more than the channel's capacity behind is ended
/// and can resume with `from`.
async fn events(
    State(replica): State<Arc<Replica>>,
    Query(q): Query<EventsQuery>,
) -> HttpResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let live = replica.commits.subscribe();
    let tip = replica.ledger.tip()?.0;
    let from = q.from.unwrap_or(tip + 1);
    let mut backlog = Vec::new();
    for h in from.max(1)..=tip {
        let receipts = replica
            .ledger
            .store()
            .receipts_in_block(h)
            .map_err(|_| ApiError::new(ErrorCode::Internal, "storage failure"))?
            .unwrap_or_default();
        backlog.extend(receipts.into_iter().map(|r| CommitEvent {
            block: r.block,
            index: r.index,
            tx_id: r.tx_id.to_hex(),
            status: r.status.as_str().to_owned(),
            events: Vec::new(),
        }));
    }
    let to_event = |e: &CommitEvent| Ok(Event::default().json_data(e).unwrap_or_default());
    let replayed = futures::stream::iter(backlog.iter().map(to_event).collect::<Vec<_>>());
    let live = tokio_stream::wrappers::BroadcastStream::new(live)
        .take_while(|s| std::future::ready(s.is_ok()))
        .filter_map(move |s| std::future::ready(s.ok().filter(|s| s.height > tip)))
        .flat_map(move |s| {
            futures::stream::iter(commit_events(&s).iter().map(to_event).collect::<Vec<_>>())
        });
    let stream = replayed.chain(live);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
