//! Read-only routes every ledger-holding role serves: height, blocks, transactions, state.

use std::sync::Arc;

use arcanum_api::{
    BlockJson, BlockTxJson, HeightInfo, StateEntry, StateQuery, StateRootInfo, TxOutcome, routes,
};
use arcanum_crypto::Hash;
use arcanum_ledger::{Ledger, StateView, contract_key, valid_name};
use arcanum_types::{ApiError, Block, ErrorCode, TxAction, decode, limits};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::http::{HttpResult, blocking, octets};

pub fn router(ledger: Arc<Ledger>) -> Router {
    Router::new()
        .route(routes::HEIGHT, get(height))
        .route(routes::STATE_ROOT, get(state_root))
        .route(routes::BLOCK_BY_HEIGHT, get(block))
        .route(routes::TX_BY_ID, get(transaction))
        .route(routes::STATE, get(state))
        .with_state(ledger)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(ErrorCode::Internal, "storage failure")
}

pub async fn height(State(ledger): State<Arc<Ledger>>) -> HttpResult<axum::Json<HeightInfo>> {
    let (height, hash) = ledger.tip()?;
    Ok(axum::Json(HeightInfo {
        height,
        block_hash: hash.to_hex(),
    }))
}

async fn state_root(State(ledger): State<Arc<Ledger>>) -> HttpResult<axum::Json<StateRootInfo>> {
    blocking(move || {
        let snapshot = ledger.store().snapshot().map_err(internal)?;
        let height = snapshot.height().map_err(internal)?;
        let root = ledger.store().state_root().map_err(internal)?;
        // A commit between the two reads would pair a root with the wrong height: re-check.
        if ledger.tip()?.0 != height {
            return Err(ApiError::new(
                ErrorCode::Busy,
                "a block committed during the read; retry",
            ));
        }
        Ok(axum::Json(StateRootInfo {
            height,
            state_root: root.to_hex(),
        }))
    })
    .await
}

#[derive(Deserialize)]
struct BlockQuery {
    format: Option<String>,
}

async fn block(
    State(ledger): State<Arc<Ledger>>,
    Path(height): Path<u64>,
    Query(q): Query<BlockQuery>,
) -> HttpResult<Response> {
    let bytes = ledger
        .store()
        .block(height)
        .map_err(internal)?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("no block at height {height}"))
        })?;
    if q.format.as_deref() != Some("json") {
        return Ok(octets(bytes));
    }
    let block: Block = decode(&bytes, limits::MAX_BLOCK_BYTES).map_err(internal)?;
    let receipts = ledger
        .store()
        .receipts_in_block(height)
        .map_err(internal)?
        .unwrap_or_default();
    Ok(axum::Json(block_json(&block, &receipts, &ledger)).into_response())
}

/// A block for display, with each transaction's recorded status.
pub fn block_json(
    block: &Block,
    receipts: &[arcanum_types::TxReceipt],
    ledger: &Ledger,
) -> BlockJson {
    let name = |id: &arcanum_types::IdentityId| {
        ledger
            .config()
            .member(id)
            .map(|m| format!("{}.{}", m.msp_id, m.name))
            .unwrap_or_else(|| id.to_string())
    };
    BlockJson {
        height: block.header.height,
        hash: block.header.hash().to_hex(),
        prev_hash: block.header.prev_hash.to_hex(),
        tx_root: block.header.tx_root.to_hex(),
        timestamp_ms: block.header.timestamp_ms,
        orderer: name(&block.header.orderer),
        txs: block
            .txs
            .iter()
            .enumerate()
            .map(|(i, etx)| BlockTxJson {
                tx_id: etx.id().to_hex(),
                creator: name(&etx.tx.payload.creator),
                action: match &etx.tx.payload.action {
                    TxAction::Invoke { function, .. } => format!("invoke {function}"),
                    TxAction::Deploy { .. } => "deploy".into(),
                    TxAction::RotateKey { .. } => "rotate key".into(),
                    TxAction::RegisterCluster { .. } => "register cluster".into(),
                    TxAction::OffchainDeploy { .. } => "off-chain deploy".into(),
                    TxAction::OffchainCallback { .. } => "oracle callback".into(),
                },
                contract: etx.tx.payload.action.contract().to_owned(),
                endorsers: etx.endorsements.iter().map(|e| name(&e.endorser)).collect(),
                status: receipts.get(i).map(|r| r.status.as_str().to_owned()),
            })
            .collect(),
    }
}

async fn transaction(
    State(ledger): State<Arc<Ledger>>,
    Path(tx_id): Path<String>,
) -> HttpResult<axum::Json<TxOutcome>> {
    let id = Hash::from_hex(&tx_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "transaction id must be 64 hex characters",
        )
    })?;
    let receipt = ledger
        .store()
        .receipt(&id)
        .map_err(internal)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("transaction {tx_id} is not committed here"),
            )
        })?;
    Ok(axum::Json(TxOutcome::from(&receipt)))
}

async fn state(
    State(ledger): State<Arc<Ledger>>,
    Query(q): Query<StateQuery>,
) -> HttpResult<axum::Json<StateEntry>> {
    if !valid_name(&q.contract) {
        return Err(ApiError::new(ErrorCode::BadRequest, "invalid contract name").into());
    }
    let key = match (&q.key, &q.key_hex) {
        (Some(k), None) => k.as_bytes().to_vec(),
        (None, Some(h)) => hex::decode(h)
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "key_hex is not hex"))?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "give exactly one of key and key_hex",
            )
            .into());
        }
    };
    if key.len() > limits::MAX_KEY_BYTES {
        return Err(ApiError::new(ErrorCode::BadRequest, "key too long").into());
    }
    let entry = StateView::get(ledger.store().as_ref(), &contract_key(&q.contract, &key))?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no value under that key"))?;
    Ok(axum::Json(StateEntry {
        contract: q.contract,
        key_hex: hex::encode(&key),
        value_hex: hex::encode(&entry.value),
        value: String::from_utf8(entry.value).ok(),
        version_block: entry.version.block,
        version_tx: entry.version.tx,
    }))
}
