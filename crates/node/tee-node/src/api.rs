//! The TEE node's HTTP API (borsh bodies; errors as `{"error": {"code", "message"}}`).

use std::sync::Arc;

use arcanum_crypto::{Hash, Signature};
use arcanum_types::offchain::{
    ClusterMember, MAX_OFFCHAIN_CODE, MAX_OFFCHAIN_INPUT, SealedRequest, SignedDeployment,
    SignedOffer,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::node::TeeNode;
use crate::routes;
use arcanum_http::{Borsh, HttpResult, blocking, borsh_response, octets, shed_load};

/// Requests served at once; more answer `BUSY`.
pub const MAX_CONCURRENT_REQUESTS: usize = 256;

/// Body bounds.
const MEMBER_BYTES: usize = 256 * 1024;
const JOIN_COMPLETE_BYTES: usize = 512 * 1024;
const DEPLOY_BYTES: usize = MAX_OFFCHAIN_CODE + 64 * 1024;
const INSTALL_BYTES: usize = MAX_OFFCHAIN_CODE + 64 * 1024;
const ROTATE_BYTES: usize = 32;
const INVOKE_BYTES: usize = MAX_OFFCHAIN_INPUT + 16 * 1024;

/// Every route of the TEE node over `node`, behind the load-shedding guard.
pub fn router(node: Arc<TeeNode>) -> Router {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS));
    Router::new()
        .route(routes::CLUSTER, get(cluster))
        .route(routes::JOIN_OFFER, post(join_offer))
        .route(routes::JOIN_COMPLETE, post(join_complete))
        .route(routes::DEPLOY, post(deploy))
        .route(routes::INSTALL, post(install))
        .route(routes::ROTATE, post(rotate))
        .route(routes::INVOKE, post(invoke))
        .with_state(node)
        .layer(axum::middleware::from_fn_with_state(permits, shed_load))
        .route(routes::HEALTH, get(|| async { "ok" }))
        .route(arcanum_api::routes::HEALTHZ, get(|| async { "ok" }))
}

async fn cluster(State(node): State<Arc<TeeNode>>) -> HttpResult<Response> {
    let info = blocking(move || node.info()).await?;
    Ok(borsh_response(&info))
}

async fn join_offer(
    State(node): State<Arc<TeeNode>>,
    Borsh(joiner): Borsh<ClusterMember, MEMBER_BYTES>,
) -> HttpResult<Response> {
    let offer = blocking(move || node.join_offer(joiner)).await?;
    Ok(borsh_response(&offer))
}

async fn join_complete(
    State(node): State<Arc<TeeNode>>,
    Borsh((offer, acceptance)): Borsh<(SignedOffer, Signature), JOIN_COMPLETE_BYTES>,
) -> HttpResult<Response> {
    let sealed = blocking(move || node.join_complete(offer, acceptance)).await?;
    Ok(borsh_response(&sealed))
}

async fn deploy(
    State(node): State<Arc<TeeNode>>,
    Borsh(request): Borsh<SealedRequest, DEPLOY_BYTES>,
) -> HttpResult<Response> {
    let n = node.clone();
    let (deployment, code) = blocking(move || n.deploy(request)).await?;
    node.replicate(&deployment, &code).await?;
    Ok(borsh_response(&deployment))
}

async fn install(
    State(node): State<Arc<TeeNode>>,
    Borsh((deployment, code)): Borsh<(SignedDeployment, Vec<u8>), INSTALL_BYTES>,
) -> HttpResult<Response> {
    blocking(move || node.install(deployment, code)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate(
    State(node): State<Arc<TeeNode>>,
    Borsh(contract_id): Borsh<Hash, ROTATE_BYTES>,
) -> HttpResult<Response> {
    let n = node.clone();
    let (deployment, code) = blocking(move || n.rotate(contract_id)).await?;
    node.replicate(&deployment, &code).await?;
    Ok(borsh_response(&deployment))
}

async fn invoke(
    State(node): State<Arc<TeeNode>>,
    Borsh(request): Borsh<SealedRequest, INVOKE_BYTES>,
) -> HttpResult<Response> {
    let reply = blocking(move || node.invoke(request)).await?;
    Ok(octets(reply))
}
