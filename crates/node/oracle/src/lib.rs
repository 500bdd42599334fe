//! The oracle relay (SPEC C5): `arcanum node --role oracle`.
//!
//! It follows a peer's committed-transaction stream. For every `oracle_request` event a valid
//! transaction emitted, it sends the request to the off-chain cluster as an encrypted invocation
//! whose origin is that event, and submits the contract-key-signed result back to the chain as
//! an `OffchainCallback` transaction. The relay is untrusted: it holds no secret of the cluster,
//! and the chain accepts a callback only if the registered contract key signed the result of
//! exactly that request (peers check it), so a relay can delay or drop answers but not forge
//! or alter them.
//!
//! Key type: [`Relay`]. Invariants: the cluster's keys are verified (attestation reports against
//! the client policy, and the on-chain registration) before the first request is sent; a request
//! that already has an accepted callback is skipped, so restarts and re-subscriptions are
//! idempotent; event data is decoded strictly and bounded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arcanum_msp::NodeConfig;
use tokio::net::TcpListener;

use arcanum_api::CommitEvent;
use arcanum_sdk::offchain::{ClientPolicy, OffchainClient, OffchainError};
use arcanum_sdk::{Client, SdkError, Signer};
use arcanum_types::offchain::{
    ClusterKeys, MAX_OFFCHAIN_INPUT, ORACLE_REQUEST_EVENT, OracleCallback, OracleOrigin,
    OracleRequest,
};
use arcanum_types::{ErrorCode, TxAction, decode};
use futures::StreamExt;
use parking_lot::Mutex;

/// Largest encoded oracle request accepted from an event.
const MAX_REQUEST_BYTES: usize = MAX_OFFCHAIN_INPUT + 1024;
/// Pause before re-subscribing after the event stream or the cluster fails.
const RETRY: Duration = Duration::from_millis(500);

/// Why one request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("chain: {0}")]
    Chain(#[from] SdkError),
    #[error("cluster: {0}")]
    Cluster(#[from] OffchainError),
    #[error("event data is not an oracle request: {0}")]
    BadRequest(String),
    #[error("the callback transaction {tx_id} committed as {status}")]
    Rejected { tx_id: String, status: String },
}

impl RelayError {
    /// The stable code of the failure.
    pub fn code(&self) -> String {
        match self {
            RelayError::Chain(e) => e.code().as_str().to_owned(),
            RelayError::Cluster(e) => e.code().to_owned(),
            RelayError::BadRequest(_) => ErrorCode::MalformedEncoding.as_str().to_owned(),
            RelayError::Rejected { status, .. } => status.clone(),
        }
    }
}

/// What the relay has done, served at `GET /v1/oracle/stats`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RelayStats {
    /// The block of the last committed transaction seen.
    pub height: u64,
    /// Callbacks committed valid.
    pub answered: u64,
    /// Requests that already had an accepted callback.
    pub skipped: u64,
    /// Requests that could not be answered (the last error is kept).
    pub failed: u64,
    pub last_error: Option<String>,
}

/// The relay between one peer's event stream, one TEE node and the management device.
pub struct Relay {
    peer: Client,
    management: Client,
    tee: OffchainClient,
    signer: Signer,
    policy: ClientPolicy,
    stats: Mutex<RelayStats>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("peer", &self.peer.base_url())
            .field("tee", &self.tee.base_url())
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub fn new(
        peer: Client,
        management: Client,
        tee: OffchainClient,
        signer: Signer,
        policy: ClientPolicy,
    ) -> Relay {
        Relay {
            peer,
            management,
            tee,
            signer,
            policy,
            stats: Mutex::new(RelayStats::default()),
        }
    }

    pub fn stats(&self) -> RelayStats {
        self.stats.lock().clone()
    }

    /// Relays requests from block `from` on, until `shutdown` resolves. Failures of the stream
    /// or the cluster are retried; a request that fails is counted and left unanswered.
    pub async fn run(self: Arc<Self>, from: u64, shutdown: impl Future<Output = ()>) {
        tokio::select! {
            () = shutdown => {}
            () = self.follow(from) => {}
        }
    }

    async fn follow(&self, mut from: u64) {
        let keys = loop {
            match self.verified_keys().await {
                Ok(keys) => break keys,
                Err(e) => {
                    tracing::info!(error = %e, "waiting for a verified cluster");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        tracing::info!(cluster = %keys.id(), "oracle relay following the chain");
        loop {
            match self.peer.events(from).await {
                Ok(stream) => {
                    let mut stream = std::pin::pin!(stream);
                    while let Some(event) = stream.next().await {
                        match event {
                            Ok(event) => {
                                self.on_commit(&keys, &event).await;
                                // Blocks are streamed in order: resume after the last
                                // transaction's block if the stream drops.
                                from = event.block;
                                self.stats.lock().height = event.block;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "event stream broke");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot subscribe to events"),
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    async fn verified_keys(&self) -> Result<ClusterKeys, OffchainError> {
        self.tee
            .verified_keys(&self.policy, arcanum_msp::now_unix(), Some(&self.peer))
            .await
    }

    async fn on_commit(&self, keys: &ClusterKeys, event: &CommitEvent) {
        if event.status != "VALID" || !event.events.iter().any(|(n, _)| n == ORACLE_REQUEST_EVENT) {
            return;
        }
        match self.answer_tx(keys, event.block, event.index).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(tx = %event.tx_id, code = %e.code(), error = %e, "oracle request not answered");
                let mut stats = self.stats.lock();
                stats.failed += 1;
                stats.last_error = Some(format!("{}: {e}", e.code()));
            }
        }
    }

    /// Answers every oracle request transaction `index` of block `height` emitted.
    pub async fn answer_tx(
        &self,
        keys: &ClusterKeys,
        height: u64,
        index: u32,
    ) -> Result<(), RelayError> {
        let block = self.peer.block(height).await?;
        let etx = block
            .txs
            .get(index as usize)
            .ok_or_else(|| RelayError::BadRequest(format!("block {height} has no tx {index}")))?;
        let tx = etx.id();
        for (i, event) in etx.response.events.iter().enumerate() {
            if event.name != ORACLE_REQUEST_EVENT {
                continue;
            }
            let request: OracleRequest = decode(&event.data, MAX_REQUEST_BYTES)
                .map_err(|e| RelayError::BadRequest(e.to_string()))?;
            let origin = OracleOrigin {
                tx,
                event_index: i as u32,
            };
            self.answer(keys, event.contract.clone(), origin, request)
                .await?;
        }
        Ok(())
    }

    /// Invokes the off-chain contract for one request and submits the signed callback.
    pub async fn answer(
        &self,
        keys: &ClusterKeys,
        contract: String,
        origin: OracleOrigin,
        request: OracleRequest,
    ) -> Result<(), RelayError> {
        let invocation = request.invocation(origin);
        match self.peer.oracle_result(&invocation.hash()).await {
            Ok(_) => {
                self.stats.lock().skipped += 1;
                return Ok(());
            }
            Err(e) if e.code() == ErrorCode::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        // A key rotation between the invocation and the callback's commit retires the key the
        // result is signed with: invoke again once, under the new key.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.call_back(keys, &contract, origin, &request).await {
                Err(e) if attempts < 2 && e.code() == ErrorCode::CallbackKeyRetired.as_str() => {
                    tracing::info!(request = %invocation.hash(), "contract key rotated meanwhile; invoking again");
                }
                Err(e) => return Err(e),
                Ok(tx_id) => {
                    tracing::info!(tx = %tx_id, request = %invocation.hash(), "oracle callback committed");
                    self.stats.lock().answered += 1;
                    return Ok(());
                }
            }
        }
    }

    /// One invocation and its callback transaction; answers the committed transaction's id.
    async fn call_back(
        &self,
        keys: &ClusterKeys,
        contract: &str,
        origin: OracleOrigin,
        request: &OracleRequest,
    ) -> Result<String, RelayError> {
        let result = self
            .tee
            .invoke_request(keys, &request.invocation(origin))
            .await?;
        let callback = OracleCallback {
            contract: contract.to_owned(),
            origin,
            request: request.clone(),
            result,
        };
        let tx = self.signer.sign(TxAction::OffchainCallback {
            callback: Box::new(callback),
        });
        let outcome = self.management.execute(&tx, true).await?;
        if outcome.status != "VALID" {
            return Err(RelayError::Rejected {
                tx_id: outcome.tx_id,
                status: outcome.status,
            });
        }
        Ok(outcome.tx_id)
    }
}

/// Runs the relay of an `oracle` node config until `shutdown` resolves: follows
/// `peer_url`'s events from the start of the chain, invokes `tee_url`, submits to the
/// management device (`management_url`, default the consortium's), and serves `/healthz` and
/// `GET /v1/oracle/stats`.
pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let consortium = config
        .load_consortium(arcanum_msp::now_unix())
        .context("loading the consortium config")?;
    let policy = ClientPolicy::from_consortium(&consortium)
        .context("the consortium defines no usable attestation policy for the cluster")?;
    let identity = config
        .load_client_identity()
        .context("loading the relay's client identity")?;
    let signer = Signer::new(identity, consortium.channel.clone());
    let url = |v: &Option<String>, what: &str| {
        v.clone()
            .with_context(|| format!("an oracle node needs {what}"))
    };
    let management = match &config.management_url {
        Some(u) => u.clone(),
        None => consortium
            .management()
            .url
            .clone()
            .context("the consortium's management device has no url")?,
    };
    let relay = Arc::new(Relay::new(
        Client::new(url(&config.peer_url, "peer_url")?),
        Client::new(management),
        OffchainClient::new(url(&config.tee_url, "tee_url")?),
        signer,
        policy,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(relay.clone().run(0, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));
    let stats = relay.clone();
    let app = axum::Router::new()
        .route(
            arcanum_api::routes::HEALTHZ,
            axum::routing::get(|| async { "ok" }),
        )
        .route(
            "/v1/oracle/stats",
            axum::routing::get(move || {
                let stats = stats.stats();
                async move { axum::Json(stats) }
            }),
        );
    tracing::info!(name = %config.name, addr = %listener.local_addr()?, "oracle relay serving");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP");
    let _ = stop.send(true);
    let _ = follower.await;
    served
}
