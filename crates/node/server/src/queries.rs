//! Read-only routes every ledger-holding role serves: height, blocks, transactions, state,
//! state proofs, transaction inclusion proofs, and the off-chain cluster's records on chain
//! (registration, deployments, accepted oracle results; borsh bodies).

use std::sync::Arc;

use arcanum_api::{
    BlockJson, BlockTxJson, HeightInfo, StateEntry, StateProofJson, StateProofQuery, StateQuery,
    StateRootInfo, TxOutcome, routes,
};
use arcanum_crypto::Hash;
use arcanum_ledger::{Ledger, StateView, contract_key, offchain, valid_name};
use arcanum_types::{
    ApiError, Block, ErrorCode, StateProofBundle, TxAction, TxProof, decode, encode, limits,
    merkle_proof,
};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use arcanum_http::{HttpError, HttpResult, blocking, borsh_response, octets};

pub fn router(ledger: Arc<Ledger>) -> Router {
    Router::new()
        .route(routes::HEIGHT, get(height))
        .route(routes::STATE_ROOT, get(state_root))
        .route(routes::BLOCK_BY_HEIGHT, get(block))
        .route(routes::TX_BY_ID, get(transaction))
        .route(routes::STATE, get(state))
        .route(routes::STATE_PROOF, get(state_proof))
        .route(routes::TX_PROOF, get(tx_proof))
        .route(routes::OFFCHAIN_CLUSTER, get(offchain_cluster))
        .route(routes::OFFCHAIN_DEPLOYMENT, get(offchain_deployment))
        .route(routes::ORACLE_RESULT, get(oracle_result))
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
        // Roots are stored per height, so this pair is consistent whatever commits meanwhile.
        let (height, _) = ledger.tip()?;
        let root = ledger
            .store()
            .state_root_at(height)
            .map_err(internal)?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "no state root at the tip"))?;
        Ok(axum::Json(StateRootInfo {
            height,
            state_root: root.to_hex(),
        }))
    })
    .await
    .map_err(HttpError)
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
    let key = q.key_bytes()?;
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

/// A contract key's value (or absence) at `height` (default: the tip) with its proof against
/// that height's state root and the signed header of that block. Every read is at one fixed
/// height (roots, tree versions and blocks are kept per height), so the answer is consistent
/// whatever commits meanwhile.
async fn state_proof(
    State(ledger): State<Arc<Ledger>>,
    Query(q): Query<StateProofQuery>,
) -> HttpResult<axum::Json<StateProofJson>> {
    if !valid_name(&q.contract) {
        return Err(ApiError::new(ErrorCode::BadRequest, "invalid contract name").into());
    }
    let key = q.key_bytes()?;
    if q.height == Some(0) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "heights start at 1 (no block signs the empty state)",
        )
        .into());
    }
    let bundle = blocking(move || {
        let store = ledger.store();
        let (tip, _) = ledger.tip()?;
        let height = q.height.unwrap_or(tip);
        if height == 0 || height > tip {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no block at height {height} (tip {tip})"),
            ));
        }
        let (value, proof) = store
            .get_with_proof(&contract_key(&q.contract, &key), height)
            .map_err(internal)?;
        let state_root = store
            .state_root_at(height)
            .map_err(internal)?
            .ok_or_else(|| internal("no state root at a committed height"))?;
        let bytes = store
            .block(height)
            .map_err(internal)?
            .ok_or_else(|| internal("no block at a committed height"))?;
        let Block {
            header, signature, ..
        } = decode(&bytes, limits::MAX_BLOCK_BYTES).map_err(internal)?;
        if header.height != height || header.state_root != state_root {
            return Err(internal("a stored header disagrees with its height's root"));
        }
        Ok(StateProofBundle {
            contract: q.contract,
            key,
            value,
            height,
            state_root,
            proof,
            header,
            signature,
        })
    })
    .await?;
    Ok(axum::Json(StateProofJson::from(&bundle)))
}

/// A 64-hex-character hash from a path segment.
fn path_hash(s: &str, what: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("{what} must be 64 hex characters"),
        )
    })
}

/// The inclusion proof of a committed transaction: its block's signed header, its position and
/// Merkle path, the transaction and the status this node recorded.
async fn tx_proof(
    State(ledger): State<Arc<Ledger>>,
    Path(tx_id): Path<String>,
) -> HttpResult<Response> {
    let id = path_hash(&tx_id, "transaction id")?;
    let proof = blocking(move || {
        let store = ledger.store();
        let receipt = store.receipt(&id).map_err(internal)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("transaction {id} is not committed here"),
            )
        })?;
        let bytes = store
            .block(receipt.block)
            .map_err(internal)?
            .ok_or_else(|| internal("a receipt names a missing block"))?;
        let block: Block = decode(&bytes, limits::MAX_BLOCK_BYTES).map_err(internal)?;
        let index = receipt.index as usize;
        let leaves: Vec<Vec<u8>> = block.txs.iter().map(encode).collect();
        let path = merkle_proof(leaves.iter().map(Vec::as_slice), index)
            .ok_or_else(|| internal("a receipt's index is outside its block"))?;
        let Block {
            header,
            mut txs,
            signature,
        } = block;
        Ok(TxProof {
            header,
            signature,
            index: receipt.index,
            path,
            tx: txs.swap_remove(index),
            status: receipt.status,
        })
    })
    .await?;
    Ok(borsh_response(&proof))
}

/// The registered off-chain cluster.
async fn offchain_cluster(State(ledger): State<Arc<Ledger>>) -> HttpResult<Response> {
    let registration = offchain::cluster_registration(ledger.store().as_ref())?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no off-chain cluster is registered"))?;
    Ok(borsh_response(&registration))
}

#[derive(Deserialize)]
struct DeploymentQuery {
    version: Option<u32>,
}

/// An off-chain contract's deployment: `?version=N`, or the latest key version.
async fn offchain_deployment(
    State(ledger): State<Arc<Ledger>>,
    Path(contract_id): Path<String>,
    Query(q): Query<DeploymentQuery>,
) -> HttpResult<Response> {
    let id = path_hash(&contract_id, "contract id")?;
    let deployment = offchain::offchain_deployment(ledger.store().as_ref(), &id, q.version)?
        .ok_or_else(|| {
            let version = q
                .version
                .map_or_else(String::new, |v| format!(" at key version {v}"));
            ApiError::new(
                ErrorCode::NotFound,
                format!("off-chain contract {id} is not registered{version}"),
            )
        })?;
    Ok(borsh_response(&deployment))
}

/// The accepted oracle result of a request hash.
async fn oracle_result(
    State(ledger): State<Arc<Ledger>>,
    Path(request_hash): Path<String>,
) -> HttpResult<Response> {
    let request = path_hash(&request_hash, "request hash")?;
    let result = offchain::oracle_result(ledger.store().as_ref(), &request)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no oracle result is accepted for request {request}"),
        )
    })?;
    Ok(borsh_response(&result))
}

#[cfg(test)]
mod tests {
    //! The chain-side off-chain routes, the transaction-proof route and the state-proof route,
    //! served over a real socket from a store holding blocks with the records the off-chain
    //! rules write, or with contract state under real state roots.

    use std::collections::BTreeMap;

    use arcanum_crypto::hpke::HpkePublicKey;
    use arcanum_crypto::{SigningKey, domain};
    use arcanum_ledger::{
        ChainConfig, Member, cluster_registration_key, offchain_deployment_key,
        offchain_latest_key, oracle_result_key,
    };
    use arcanum_storage::{BlockCommit, VersionedValue};
    use arcanum_storage_redb::RedbStore;
    use arcanum_types::offchain::{
        ClusterKeys, ClusterRegistration, DeploymentStatement, OffchainResult, SignedDeployment,
        SignedRegistration, SignedResult,
    };
    use arcanum_types::{
        BlockHeader, EndorsedTx, IdentityId, ProposalResponse, Role, RwSet, Signature, SignedTx,
        TxPayload, TxReceipt, TxStatus, Version, Vote,
    };

    use super::*;

    fn orderer_key() -> SigningKey {
        SigningKey::from_ed25519_seed(&[1; 32])
    }

    fn ledger() -> Arc<Ledger> {
        let orderer = IdentityId(Hash([1; 32]));
        let mut members = BTreeMap::new();
        members.insert(
            orderer,
            Member {
                id: orderer,
                name: "mgmt".into(),
                msp_id: "Org1".into(),
                role: Role::Orderer,
                public_key: orderer_key().public_key(),
                allowed_client: false,
            },
        );
        let config = ChainConfig {
            channel: "test".into(),
            orgs: vec!["Org1".into()],
            members,
            orderer,
            lifecycle_policy: arcanum_policy::Policy::parse("ANY Endorsement")
                .expect("policy parses"),
        };
        let store = RedbStore::in_memory().expect("in-memory store");
        Arc::new(Ledger::new(Arc::new(store), Arc::new(config)))
    }

    fn tx(nonce: u64) -> EndorsedTx {
        let payload = TxPayload {
            channel: "test".into(),
            creator: IdentityId(Hash::ZERO),
            nonce,
            action: TxAction::Invoke {
                contract: "kv".into(),
                function: "put".into(),
                args: vec![],
            },
        };
        EndorsedTx {
            response: ProposalResponse {
                tx_id: payload.id(),
                rwset: RwSet::default(),
                result: vec![],
                events: vec![],
                vote: Vote::Approve,
            },
            tx: SignedTx {
                payload,
                signature: Signature(vec![]),
            },
            endorsements: vec![],
        }
    }

    fn registration() -> SignedRegistration {
        let key = SigningKey::from_ed25519_seed(&[2; 32]);
        let registration = ClusterRegistration {
            keys: ClusterKeys {
                signing_key: key.public_key(),
                hpke_key: HpkePublicKey([3; 32]),
            },
            epoch: 0,
            members: vec![],
        };
        SignedRegistration {
            signature: key.sign(domain::CLUSTER_REGISTRATION, &encode(&registration)),
            registration,
        }
    }

    fn deployment(version: u32) -> SignedDeployment {
        let key = SigningKey::from_ed25519_seed(&[2; 32]);
        let statement = DeploymentStatement {
            contract_id: Hash([4; 32]),
            code_hash: Hash([5; 32]),
            contract_key: SigningKey::from_ed25519_seed(&[version as u8; 32]).public_key(),
            key_version: version,
            cluster_key: key.public_key(),
        };
        SignedDeployment {
            signature: key.sign(domain::DEPLOYMENT_STATEMENT, &encode(&statement)),
            statement,
        }
    }

    fn result() -> SignedResult {
        let result = OffchainResult {
            contract_id: Hash([4; 32]),
            key_version: 1,
            request: Hash([6; 32]),
            output: b"42".to_vec(),
            fetches: vec![],
        };
        SignedResult {
            signature: SigningKey::from_ed25519_seed(&[1; 32])
                .sign(domain::OFFCHAIN_RESULT, &encode(&result)),
            result,
        }
    }

    /// Commits block 1 of five transactions (the fourth invalid) whose first transaction wrote
    /// the off-chain records.
    fn commit_block(ledger: &Ledger) -> Block {
        let txs: Vec<EndorsedTx> = (0..5).map(tx).collect();
        let mut block = Block {
            header: BlockHeader {
                height: 1,
                prev_hash: Hash::ZERO,
                tx_root: Hash::ZERO,
                tx_count: 5,
                state_root: Hash::ZERO,
                timestamp_ms: 0,
                orderer: ledger.config().orderer,
            },
            txs,
            signature: Signature(vec![]),
        };
        block.header.tx_root = block.compute_tx_root();
        block.signature = orderer_key().sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
        let version = Version { block: 1, tx: 0 };
        let value = |bytes: Vec<u8>| {
            Some(VersionedValue {
                value: bytes,
                version,
            })
        };
        let id = Hash([4; 32]);
        let writes = vec![
            (cluster_registration_key(), value(encode(&registration()))),
            (
                offchain_deployment_key(&id, 1),
                value(encode(&deployment(1))),
            ),
            (
                offchain_deployment_key(&id, 2),
                value(encode(&deployment(2))),
            ),
            (offchain_latest_key(&id), value(encode(&2u32))),
            (oracle_result_key(&Hash([6; 32])), value(encode(&result()))),
        ];
        let receipts = block
            .txs
            .iter()
            .enumerate()
            .map(|(i, etx)| TxReceipt {
                tx_id: etx.id(),
                block: 1,
                index: i as u32,
                status: if i == 3 {
                    TxStatus::Invalid(ErrorCode::MvccReadConflict)
                } else {
                    TxStatus::Valid
                },
            })
            .collect();
        let state_root = ledger.store().next_state_root(&writes).expect("root");
        ledger
            .store()
            .commit_block(BlockCommit {
                height: 1,
                block_hash: block.header.hash(),
                block_bytes: encode(&block),
                writes,
                receipts,
                state_root,
            })
            .expect("block commits");
        block
    }

    /// Serves `ledger`'s query routes on a free loopback port.
    async fn serve(ledger: Arc<Ledger>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("has an address");
        tokio::spawn(async move { axum::serve(listener, router(ledger)).await });
        format!("http://{addr}")
    }

    /// `GET base + path`: the status and body.
    async fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
        let resp = reqwest::get(format!("{base}{path}"))
            .await
            .expect("request completes");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.expect("body").to_vec())
    }

    /// The stable code of a JSON error body.
    fn code(body: &[u8]) -> String {
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON error body");
        v["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    fn borsh<T: borsh::BorshDeserialize>(body: &[u8]) -> T {
        decode(body, limits::MAX_BLOCK_BYTES).expect("borsh body")
    }

    #[tokio::test]
    async fn offchain_records_are_served_as_borsh() {
        let ledger = ledger();
        commit_block(&ledger);
        let base = serve(ledger).await;

        let (status, body) = get(&base, routes::OFFCHAIN_CLUSTER).await;
        assert_eq!(status, 200);
        assert_eq!(borsh::<SignedRegistration>(&body), registration());

        let id = Hash([4; 32]).to_hex();
        let deployments = routes::OFFCHAIN_DEPLOYMENT.replace("{contract_id}", &id);
        let (status, body) = get(&base, &deployments).await;
        assert_eq!(status, 200);
        assert_eq!(borsh::<SignedDeployment>(&body), deployment(2));
        let (status, body) = get(&base, &format!("{deployments}?version=1")).await;
        assert_eq!(status, 200);
        assert_eq!(borsh::<SignedDeployment>(&body), deployment(1));
        let (status, body) = get(&base, &format!("{deployments}?version=3")).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
        let unknown = routes::OFFCHAIN_DEPLOYMENT.replace("{contract_id}", &Hash([9; 32]).to_hex());
        let (status, body) = get(&base, &unknown).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
        let bad = routes::OFFCHAIN_DEPLOYMENT.replace("{contract_id}", "xyz");
        let (status, body) = get(&base, &bad).await;
        assert_eq!((status, code(&body).as_str()), (400, "BAD_REQUEST"));

        let results = |h: Hash| routes::ORACLE_RESULT.replace("{request_hash}", &h.to_hex());
        let (status, body) = get(&base, &results(Hash([6; 32]))).await;
        assert_eq!(status, 200);
        assert_eq!(borsh::<SignedResult>(&body), result());
        let (status, body) = get(&base, &results(Hash([7; 32]))).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
    }

    #[tokio::test]
    async fn absent_records_are_not_found() {
        let base = serve(ledger()).await;
        let (status, body) = get(&base, routes::OFFCHAIN_CLUSTER).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
        let deployments =
            routes::OFFCHAIN_DEPLOYMENT.replace("{contract_id}", &Hash([4; 32]).to_hex());
        let (status, body) = get(&base, &deployments).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
    }

    #[tokio::test]
    async fn transaction_proofs_verify_against_the_orderer_key() {
        let ledger = ledger();
        let block = commit_block(&ledger);
        let base = serve(ledger).await;
        for (i, etx) in block.txs.iter().enumerate() {
            let path = routes::TX_PROOF.replace("{tx_id}", &etx.id().to_hex());
            let (status, body) = get(&base, &path).await;
            assert_eq!(status, 200);
            let proof: TxProof = borsh(&body);
            assert_eq!(proof.index as usize, i);
            assert_eq!(proof.tx, *etx);
            assert_eq!(proof.header, block.header);
            let expected = if i == 3 {
                TxStatus::Invalid(ErrorCode::MvccReadConflict)
            } else {
                TxStatus::Valid
            };
            assert_eq!(proof.status, expected);
            assert_eq!(
                proof.verify_for(&etx.id(), &orderer_key().public_key()),
                Ok(())
            );
        }
        let unknown = routes::TX_PROOF.replace("{tx_id}", &Hash([8; 32]).to_hex());
        let (status, body) = get(&base, &unknown).await;
        assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"));
        let bad = routes::TX_PROOF.replace("{tx_id}", "00");
        let (status, body) = get(&base, &bad).await;
        assert_eq!((status, code(&body).as_str()), (400, "BAD_REQUEST"));
    }

    /// Commits block `height` (one valid transaction) applying `writes` (`None`: delete), with
    /// the real state root in its signed header.
    fn commit_rooted(ledger: &Ledger, height: u64, writes: &[(&[u8], Option<&[u8]>)]) -> Block {
        let store = ledger.store();
        let writes: Vec<(Vec<u8>, Option<VersionedValue>)> = writes
            .iter()
            .map(|(k, v)| {
                let value = v.map(|v| VersionedValue {
                    value: v.to_vec(),
                    version: Version {
                        block: height,
                        tx: 0,
                    },
                });
                (contract_key("kv", k), value)
            })
            .collect();
        let state_root = store.next_state_root(&writes).expect("root");
        let mut block = Block {
            header: BlockHeader {
                height,
                prev_hash: ledger.tip().expect("tip").1,
                tx_root: Hash::ZERO,
                tx_count: 1,
                state_root,
                timestamp_ms: height,
                orderer: ledger.config().orderer,
            },
            txs: vec![tx(100 + height)],
            signature: Signature(vec![]),
        };
        block.header.tx_root = block.compute_tx_root();
        block.signature = orderer_key().sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
        store
            .commit_block(BlockCommit {
                height,
                block_hash: block.header.hash(),
                block_bytes: encode(&block),
                writes,
                receipts: vec![TxReceipt {
                    tx_id: block.txs[0].id(),
                    block: height,
                    index: 0,
                    status: TxStatus::Valid,
                }],
                state_root,
            })
            .expect("block commits");
        block
    }

    #[tokio::test]
    async fn state_proofs_of_present_and_absent_keys_verify_through_the_sdk() {
        let ledger = ledger();
        let empty = serve(ledger.clone()).await;
        let (status, body) = get(
            &empty,
            &format!("{}?contract=kv&key=a", routes::STATE_PROOF),
        )
        .await;
        assert_eq!(
            (status, code(&body).as_str()),
            (404, "NOT_FOUND"),
            "no block yet"
        );

        commit_rooted(&ledger, 1, &[(b"a", Some(b"1")), (b"b", Some(b"1"))]);
        let tip = commit_rooted(&ledger, 2, &[(b"a", Some(b"2")), (b"b", None)]);
        let base = serve(ledger).await;
        let client = arcanum_sdk::Client::new(base.clone());
        let key = orderer_key().public_key();
        let vv = |value: &[u8], block| VersionedValue {
            value: value.to_vec(),
            version: Version { block, tx: 0 },
        };

        let a = client
            .verified_state_proof("kv", b"a", None, &key)
            .await
            .expect("inclusion verifies");
        assert_eq!((a.height, a.value), (2, Some(vv(b"2", 2))));
        assert_eq!((a.header, a.signature), (tip.header.clone(), tip.signature));
        // Absent keys: deleted at the tip, never written, another contract's namespace.
        for (contract, k) in [("kv", b"b".as_slice()), ("kv", b"never"), ("other", b"a")] {
            let absent = client
                .verified_state_proof(contract, k, None, &key)
                .await
                .expect("exclusion verifies");
            assert_eq!((absent.height, absent.value), (2, None), "{contract} {k:?}");
            assert_eq!(absent.state_root, tip.header.state_root);
        }
        // An older height proves that height's state.
        let b1 = client
            .verified_state_proof("kv", b"b", Some(1), &key)
            .await
            .expect("verifies at height 1");
        assert_eq!((b1.height, b1.value), (1, Some(vv(b"1", 1))));
        // A binary key travels as key_hex both ways.
        let binary = client
            .verified_state_proof("kv", &[0xff, 0x00], None, &key)
            .await
            .expect("exclusion verifies");
        assert_eq!(binary.value, None);

        // Under another management key nothing verifies.
        let other = SigningKey::from_ed25519_seed(&[9; 32]).public_key();
        let err = client
            .verified_state_proof("kv", b"a", None, &other)
            .await
            .expect_err("wrong key");
        assert_eq!(err.code(), ErrorCode::BlockBadSignature);

        // The route takes keys as /v1/state does; the JSON is the bundle's.
        let (status, body) =
            get(&base, &format!("{}?contract=kv&key=a", routes::STATE_PROOF)).await;
        assert_eq!(status, 200);
        let json: StateProofJson = serde_json::from_slice(&body).expect("a bundle");
        assert_eq!(json.key.as_deref(), Some("a"));
        assert_eq!(json.value_hex.as_deref(), Some("32"));
        assert_eq!(json.to_bundle().expect("decodes").verify(&key), Ok(()));
        let bad = [
            ("?contract=kv&key=a&height=0", 400, "BAD_REQUEST"),
            ("?contract=kv&key=a&height=3", 404, "NOT_FOUND"),
            ("?contract=_lifecycle&key=a", 400, "BAD_REQUEST"),
            ("?contract=kv", 400, "BAD_REQUEST"),
            ("?contract=kv&key=a&key_hex=61", 400, "BAD_REQUEST"),
            ("?contract=kv&key_hex=zz", 400, "BAD_REQUEST"),
        ];
        for (query, status, expected) in bad {
            let (got, body) = get(&base, &format!("{}{query}", routes::STATE_PROOF)).await;
            assert_eq!((got, code(&body).as_str()), (status, expected), "{query}");
        }
    }
}
