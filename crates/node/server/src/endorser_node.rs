//! The endorsement device's routes: endorse and simulate, against its replica.

use std::sync::Arc;
use std::time::Duration;

use arcanum_api::routes;
use arcanum_endorser::{EndorseRequest, Endorser};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::http::{Borsh, HttpResult, blocking, borsh_response};
use crate::replica::Replica;

/// Longest wait for the replica to reach a request's `min_height`.
const REPLICA_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct EndorserState {
    endorser: Arc<Endorser>,
    replica: Arc<Replica>,
}

pub fn router(endorser: Arc<Endorser>, replica: Arc<Replica>) -> Router {
    Router::new()
        .route(routes::ENDORSE, post(endorse))
        .with_state(EndorserState { endorser, replica })
}

async fn endorse(State(s): State<EndorserState>, Borsh(req): Borsh<EndorseRequest>) -> HttpResult<Response> {
    // Simulate on at least the state the management device had: devices then agree on reads.
    let mut tip = s.replica.subscribe_tip();
    let reached = matches!(tokio::time::timeout(REPLICA_WAIT, tip.wait_for(|h| *h >= req.min_height)).await, Ok(Ok(_)));
    if !reached {
        tracing::warn!(min_height = req.min_height, "replica behind the management device; simulating anyway");
    }
    let endorser = s.endorser.clone();
    let resp = blocking(move || endorser.endorse(&req)).await?;
    Ok(borsh_response(&resp))
}

