//! A TEE node host (`arcanum node` with `role = "tee"`; SPEC C1–C5, T2; design:
//! `docs/design/offchain-cluster.md`). It launches the confined `arcanum-cluster-enclave`,
//! keeps it attested by the attestation service, forms the cluster (genesis) or joins it
//! through a member with the 4-step mutual-attestation protocol, registers the cluster on chain
//! with an org admin's identity, and serves the off-chain API over HTTP.
//!
//! Key types: [`TeeNode`] (the node's operations), [`NodeStore`] (its redb file), [`Relay`]
//! (the bounded TCP relay behind in-enclave TLS), [`HostOcalls`] (the enclave's calls into the
//! host), [`TeeSettings`] (the resolved config). Entry point: [`run`].
//!
//! Invariants:
//! - The host is untrusted and holds nothing secret in plaintext: the store holds the enclave's
//!   sealed state and storage-key ciphertext (code and state records), which the enclave
//!   authenticates on every load; TLS to outside servers terminates inside the enclave, the
//!   relay only moves bytes.
//! - An invocation's state writes are stored durably before its reply leaves the node.
//! - A deployment's code is sent to every reachable member before the deploy is answered.
//! - Every request body is bounded and strictly decoded; at most
//!   [`api::MAX_CONCURRENT_REQUESTS`] are served at once, more get `BUSY`; the relay bounds
//!   connections, time and bytes.
//! - Join refusals keep their precise code and cause (`JOIN_REFUSED: REPORT_EXPIRED …`), in the
//!   log and as the start-up error.

pub mod api;
mod enclave;
mod http;
mod node;
mod ocalls;
mod relay;
mod settings;
mod store;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use arcanum_msp::NodeConfig;
use tokio::net::TcpListener;

pub use enclave::{ClusterEnclave, enclave_error};
pub use http::RemoteError;
pub use node::{TeeNode, now_unix};
pub use ocalls::HostOcalls;
pub use relay::{Relay, RelayError, RelayLimits};
pub use settings::{TeeSettings, read_certificates};
pub use store::{NodeStore, StoreError};

/// The TEE node's routes (`docs/design/offchain-cluster.md`, "TEE node HTTP API").
pub mod routes {
    pub const HEALTH: &str = "/v1/health";
    /// `GET` → `ClusterInfo`.
    pub const CLUSTER: &str = "/v1/cluster";
    /// `POST ClusterMember` (the joiner) → `SignedOffer`.
    pub const JOIN_OFFER: &str = "/v1/cluster/join/offer";
    /// `POST (SignedOffer, Signature)` → `hpke::Sealed` (the cluster secret).
    pub const JOIN_COMPLETE: &str = "/v1/cluster/join/complete";
    /// `POST SealedRequest` (a `DeployRequest`) → `SignedDeployment`.
    pub const DEPLOY: &str = "/v1/offchain/deploy";
    /// `POST (SignedDeployment, Vec<u8>)` → 204 (member-to-member replication).
    pub const INSTALL: &str = "/v1/offchain/install";
    /// `POST Hash` (contract id) → `SignedDeployment` of the next key version.
    pub const ROTATE: &str = "/v1/offchain/rotate";
    /// `POST SealedRequest` (an `InvokeRequest`) → the encrypted reply bytes.
    pub const INVOKE: &str = "/v1/offchain/invoke";
}

/// Name of the node's store in its data dir.
pub const STORE_FILE: &str = "tee-node.redb";

/// Starts the node from its config: launches and initialises the enclave, attests, forms or
/// joins the cluster, and starts the registration. Fails with the precise cause when the join
/// is refused.
pub async fn start(config: &NodeConfig) -> anyhow::Result<Arc<TeeNode>> {
    let consortium = config
        .load_consortium(now_unix())
        .context("loading the consortium config")?;
    let settings = TeeSettings::resolve(config, &consortium)?;
    let identity = config
        .load_client_identity()
        .context("loading the admin identity that registers the cluster")?;
    let signer = arcanum_sdk::Signer::new(identity, settings.channel.clone());
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let store = Arc::new(
        NodeStore::open(&settings.data_dir.join(STORE_FILE)).context("opening the node store")?,
    );
    let ocalls = Arc::new(HostOcalls {
        store: store.clone(),
        relay: Arc::new(Relay::new(RelayLimits::default())),
    });
    let enclave = ClusterEnclave::launch(&settings.enclave_binary, ocalls)?;
    let node = Arc::new(
        tokio::task::spawn_blocking(move || TeeNode::start(settings, enclave, store, signer))
            .await??,
    );
    let changed = node.form().await?;
    let needs_registration = changed || node.store.registration().ok().flatten().is_none();
    if needs_registration {
        let n = node.clone();
        tokio::spawn(async move {
            let _ = n.register().await;
        });
    }
    Ok(node)
}

/// Runs a TEE node until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let node = start(&config).await?;
    tracing::info!(name = %config.name, addr = %listener.local_addr()?, "TEE node serving");
    axum::serve(listener, api::router(node))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    Ok(())
}
