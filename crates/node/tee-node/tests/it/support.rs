//! The harness: a devnet with TEE nodes, its chain nodes run in-process with
//! `arcanum_server::run`, an in-process attestation service (which can be told to issue
//! already-expired reports), and TEE nodes built on the real `arcanum-cluster-enclave`.
//!
//! Prerequisite: the enclave binaries beside the test binary's directory, i.e.
//! `cargo build -p arcanum-enclave -p arcanum-cluster-enclave` (a workspace-wide `cargo test`
//! builds them).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use arcanum_api::{AttestRequest, routes as chain_routes};
use arcanum_crypto::SigningKey;
use arcanum_enclave_host::{CLUSTER_ENCLAVE_BINARY, beside_running_binary};
use arcanum_msp::{DevnetAttestation, DevnetLayout, DevnetSpec, NodeConfig, NodeRole};
use arcanum_tee_node::{TeeNode, routes};
use arcanum_types::offchain::SignedRegistration;
use arcanum_types::{decode, encode};
use axum::extract::State;
use axum::response::IntoResponse;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::watch;

/// Reports the test attestation service issues live this long.
pub const REPORT_TTL: u64 = 3600;

pub fn binary(name: &str) -> PathBuf {
    beside_running_binary(name).unwrap_or_else(|e| {
        panic!("{e}: run `cargo build -p arcanum-enclave -p arcanum-cluster-enclave` first")
    })
}

pub fn measurement_of(path: &Path) -> String {
    hex::encode(arcanum_crypto::sha256(&std::fs::read(path).expect("binary")).0)
}

/// The attestation service of the tests: verifies evidence (simulation allowed, any
/// measurement) and issues reports, already expired for the subjects listed in `expired`.
pub struct TestAttestation {
    key: SigningKey,
    pub expired: Mutex<BTreeSet<String>>,
}

async fn attest(
    State(s): State<Arc<TestAttestation>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let req: AttestRequest = match decode(&body, 1 << 20) {
        Ok(r) => r,
        Err(e) => return (axum::http::StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let now = arcanum_tee_node::now_unix();
    let verdict = match arcanum_attestation::verify_evidence(
        &req.evidence,
        &arcanum_attestation::VerifyInputs::default(),
        now,
    ) {
        Ok(v) => v,
        Err(e) => return (axum::http::StatusCode::FORBIDDEN, e.to_string()).into_response(),
    };
    let at = if s.expired.lock().contains(&req.subject) {
        now - 2 * REPORT_TTL
    } else {
        now
    };
    match arcanum_attestation::issue(
        &verdict,
        &req.subject,
        &req.bound_keys,
        &s.key,
        at,
        REPORT_TTL,
    ) {
        Ok(signed) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            encode(&signed),
        )
            .into_response(),
        Err(e) => (axum::http::StatusCode::FORBIDDEN, e.to_string()).into_response(),
    }
}

/// A devnet with TEE nodes, its chain (optional) and attestation service running.
pub struct Net {
    pub layout: DevnetLayout,
    pub attestation: Arc<TestAttestation>,
    _dir: tempfile::TempDir,
    shutdown: watch::Sender<bool>,
}

impl Drop for Net {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

impl Net {
    /// Generates a one-org devnet with `tee_nodes` TEE nodes; starts the attestation service
    /// and, with `chain`, the management device, the endorsement device and the peer.
    pub async fn start(tee_nodes: usize, chain: bool) -> anyhow::Result<Net> {
        let endorser_enclave = binary(arcanum_enclave_host::ENDORSEMENT_ENCLAVE_BINARY);
        let cluster_enclave = binary(CLUSTER_ENCLAVE_BINARY);
        let dir = tempfile::tempdir()?;
        let spec = DevnetSpec {
            orgs: vec!["Org1".into()],
            peers_per_org: 1,
            endorsers: 1,
            clients_per_org: 1,
            extra_unlisted_client: false,
            attestation: Some(DevnetAttestation {
                allow_simulation: true,
                endorser_measurements: vec![measurement_of(&endorser_enclave)],
            }),
            enclave_binary: Some(endorser_enclave),
            tee_nodes,
            cluster_enclave_binary: Some(cluster_enclave.clone()),
            cluster_measurements: vec![measurement_of(&cluster_enclave)],
            base_port: arcanum_server::free_port_range((4 + tee_nodes) as u16)?,
            ..DevnetSpec::default()
        };
        let layout = arcanum_msp::generate_devnet(
            dir.path(),
            &spec,
            arcanum_tee_node::now_unix(),
            &mut rand::rngs::OsRng,
        )?;
        let (shutdown, _) = watch::channel(false);

        // The attestation service, with the consortium's report-signing key.
        let a = layout
            .nodes
            .iter()
            .find(|n| n.role == NodeRole::Attestation)
            .context("no attestation node")?;
        let a_config = NodeConfig::load(&a.config)?;
        let consortium = a_config.load_consortium(arcanum_tee_node::now_unix())?;
        let key = a_config.load_own_key(&consortium, &a_config.passphrase()?)?;
        let attestation = Arc::new(TestAttestation {
            key,
            expired: Mutex::new(BTreeSet::new()),
        });
        let app = axum::Router::new()
            .route(chain_routes::ATTEST, axum::routing::post(attest))
            .with_state(attestation.clone());
        let listener = tokio::net::TcpListener::bind(a.listen).await?;
        let mut stop = shutdown.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });

        let net = Net {
            layout,
            attestation,
            _dir: dir,
            shutdown,
        };
        if chain {
            let chain_nodes: Vec<_> = net
                .layout
                .nodes
                .iter()
                .filter(|n| {
                    matches!(
                        n.role,
                        NodeRole::Management | NodeRole::Endorser | NodeRole::Peer
                    )
                })
                .cloned()
                .collect();
            for node in &chain_nodes {
                let config = NodeConfig::load(&node.config)?;
                let listener = tokio::net::TcpListener::bind(config.listen).await?;
                let mut stop = net.shutdown.subscribe();
                let name = node.name.clone();
                tokio::spawn(async move {
                    let signal = async move {
                        let _ = stop.wait_for(|s| *s).await;
                    };
                    if let Err(e) = arcanum_server::run(config, listener, signal).await {
                        eprintln!("node {name} stopped: {e:#}");
                    }
                });
            }
            for node in &chain_nodes {
                let client = arcanum_sdk::Client::new(node.url.clone());
                tokio::time::timeout(Duration::from_secs(30), async {
                    while !client.healthy().await {
                        tokio::task::yield_now().await;
                    }
                })
                .await
                .with_context(|| format!("{} did not become healthy", node.name))?;
            }
        }
        Ok(net)
    }

    pub fn tee_config(&self, name: &str) -> anyhow::Result<NodeConfig> {
        let n = self.layout.node(name).context("no such node")?;
        Ok(NodeConfig::load(&n.config)?)
    }

    pub fn url(&self, name: &str) -> String {
        self.layout
            .node(name)
            .map(|n| n.url.clone())
            .unwrap_or_default()
    }

    pub fn peer_url(&self) -> String {
        self.url("peer0.org1")
    }

    /// Starts TEE node `config` (attest, form or join) and serves its API; returns the node.
    pub async fn start_tee(&self, config: NodeConfig) -> anyhow::Result<Arc<TeeNode>> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let node = arcanum_tee_node::start(&config).await?;
        let app = arcanum_tee_node::api::router(node.clone());
        let mut stop = self.shutdown.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(node)
    }

    /// Runs TEE node `config` the way `arcanum node` does (`arcanum_server::run` dispatches
    /// `role = "tee"`) and waits until it serves.
    pub async fn run_tee(&self, config: NodeConfig) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let url = format!("http://{}{}", config.listen, routes::HEALTH);
        let mut stop = self.shutdown.subscribe();
        let server = tokio::spawn(async move {
            arcanum_server::run(config, listener, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if server.is_finished() {
                    bail!("the node stopped before serving");
                }
                if reqwest::get(&url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    return Ok(());
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .context("the TEE node did not start serving")?
    }

    /// Waits, on the peer's commit events, until the chain's registration satisfies `done`.
    pub async fn wait_registration(
        &self,
        done: impl Fn(&SignedRegistration) -> bool,
        within: Duration,
    ) -> anyhow::Result<SignedRegistration> {
        let peer = arcanum_sdk::Client::new(self.peer_url());
        let events = peer.events(1).await?;
        let mut events = std::pin::pin!(events);
        tokio::time::timeout(within, async {
            loop {
                if let Ok(r) = peer.cluster_registration().await
                    && done(&r)
                {
                    return Ok(r);
                }
                match events.next().await {
                    Some(e) => {
                        e?;
                    }
                    None => bail!("event stream ended"),
                }
            }
        })
        .await
        .context("the registration did not reach the expected state")?
    }
}

/// POSTs a borsh body to a TEE node; the answer bytes or the error body's code and message.
pub async fn post(url: &str, path: &str, body: Vec<u8>) -> Result<Vec<u8>, (String, String)> {
    let resp = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| ("TRANSPORT".to_owned(), e.to_string()))?;
    let ok = resp.status().is_success();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ("TRANSPORT".to_owned(), e.to_string()))?;
    if ok {
        return Ok(bytes.to_vec());
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Err((
        v["error"]["code"].as_str().unwrap_or_default().to_owned(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// GETs `ClusterInfo` from a TEE node.
pub async fn cluster_info(url: &str) -> arcanum_types::offchain::ClusterInfo {
    let bytes = reqwest::get(format!("{url}{}", routes::CLUSTER))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    decode(&bytes, 1 << 22).expect("ClusterInfo")
}
