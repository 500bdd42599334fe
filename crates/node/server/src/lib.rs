//! The node runtime: it turns a node config into a running role (management device, endorsement
//! device or peer) serving Arcanum's HTTP API, plus `/healthz`, `/metrics` and `/openapi.json`.
//!
//! Entry point: [`run`] takes the node config, a bound listener and a shutdown future
//! (mini-redis style), so tests can run many nodes in one process on `127.0.0.1:0`.
//!
//! The endorsement device is wired here but lives in `arcanum-endorser`: its enclave's launch,
//! its attestation loop and its routes (`arcanum_endorser::http`) come from there; this crate
//! opens its ledger, feeds its replica and merges its routers.
//!
//! Invariants:
//! - The management device, the peers' replicas and the attestation service are served over
//!   HTTP here; `arcanum-management` and `arcanum-ledger` know nothing of HTTP. The endorsement
//!   device brings its own routes (`arcanum-endorser`), and the TEE node and oracle relay run
//!   their own servers (`arcanum-tee-node`, `arcanum-oracle`).
//! - Every request body is bounded and strictly decoded; every route sits behind a concurrency
//!   limit that answers `BUSY` instead of queueing without bound.
//! - Only this crate names the storage backend ([`arcanum_storage_redb::RedbStore`]).

mod attestation_node;
mod links;
mod management_node;
mod metrics;
mod openapi;
mod queries;
mod replica;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use arcanum_api::routes;
use arcanum_endorser::{Endorser, enclave_setup};
use arcanum_ledger::{ChainConfig, Ledger, Member, SignatureTrust};
use arcanum_management::{EndorserInfo, KeyMode, Management, Selection, Settings};
use arcanum_msp::{Consortium, NodeConfig, NodeRole};
use arcanum_policy::Policy;
use arcanum_storage_redb::RedbStore;
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use management_node::deliver_blocks;
pub use metrics::Metrics;
pub use openapi::openapi_json;
pub use queries::block_json;

/// Requests served at once per node; more answer `BUSY`.
const MAX_CONCURRENT_REQUESTS: usize = 1024;

pub use arcanum_msp::now_unix;

/// A base port such that `count` consecutive loopback ports are free right now (for devnets on
/// one machine).
pub fn free_port_range(count: u16) -> anyhow::Result<u16> {
    // Concurrent callers (tests, processes) start at different places: time, pid and a counter.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed =
        (nanos / 1000) ^ std::process::id().wrapping_mul(2654435761) ^ call.wrapping_mul(40503);
    for attempt in 0..200u32 {
        let base = 20_000 + (seed.wrapping_add(attempt.wrapping_mul(7919)) % 40_000) as u16;
        if (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Ok(base);
        }
    }
    anyhow::bail!("no free range of {count} loopback ports found")
}

/// The ledger's validation rules, from the consortium config.
pub fn chain_config(consortium: &Consortium) -> anyhow::Result<ChainConfig> {
    let mut members = std::collections::BTreeMap::new();
    let mgmt = consortium.management();
    let all = std::iter::once(mgmt)
        .chain(consortium.endorsers().iter().map(|e| &e.member))
        .chain(consortium.peers().iter())
        .chain(consortium.clients().iter());
    for m in all {
        members.insert(
            m.id,
            Member {
                id: m.id,
                name: m.name.clone(),
                msp_id: m.msp_id.clone(),
                role: m.role,
                public_key: m.public_key.clone(),
                allowed_client: consortium.is_allowed_client(&m.id),
            },
        );
    }
    let lifecycle_policy = Policy::parse(&consortium.lifecycle_policy)
        .map_err(|e| anyhow::anyhow!("lifecycle_policy does not parse: {e}"))?;
    Ok(ChainConfig {
        channel: consortium.channel.clone(),
        orgs: consortium.orgs(),
        members,
        orderer: mgmt.id,
        lifecycle_policy,
    })
}

/// The management device's settings; `chain_pin` is the hash of the chain configuration every
/// attested endorsement enclave must be pinned to.
fn management_settings(consortium: &Consortium, chain_pin: arcanum_crypto::Hash) -> Settings {
    let e = &consortium.endorsement;
    let b = &consortium.block;
    Settings {
        endorsers: consortium
            .endorsers()
            .iter()
            .map(|en| EndorserInfo {
                name: en.member.name.clone(),
                hosts: en
                    .hosts
                    .iter()
                    .filter_map(|h| consortium.peer_by_name(h))
                    .map(|p| p.id)
                    .collect::<BTreeSet<_>>(),
            })
            .collect(),
        mode: match e.mode {
            arcanum_msp::EndorsementMode::Partitioned => KeyMode::Partitioned,
            arcanum_msp::EndorsementMode::Replicated => KeyMode::Replicated,
        },
        selection: match e.selection {
            arcanum_msp::Selection::Load => Selection::Load,
            arcanum_msp::Selection::RoundRobin => Selection::RoundRobin(e.sequence.clone()),
        },
        endorse_timeout: Duration::from_millis(e.timeout_ms),
        endorse_batches_in_flight: Settings::DEFAULT_ENDORSE_BATCHES_IN_FLIGHT,
        retries: e.retries,
        max_block_txs: b.max_txs as usize,
        max_block_bytes: b.max_bytes as usize,
        block_timeout: Duration::from_millis(b.timeout_ms),
        queue_depth: 20_000,
        attestation: consortium
            .attestation()
            .map(|a| arcanum_management::AttestationRequirement {
                issuer: a.member.public_key.clone(),
                chain_pin,
                measurements: a
                    .settings
                    .endorser_measurements
                    .iter()
                    .filter_map(|m| hex::decode(m).ok())
                    .collect(),
            }),
    }
}

/// The consortium's attestation policy, for the attestation service.
fn attestation_policy(
    a: &arcanum_msp::AttestationService,
) -> arcanum_attestation::AttestationPolicy {
    // The service attests endorsement enclaves and cluster enclaves: either kind's allowed
    // measurements pass; with neither list set, any measurement does.
    let allowed_measurements = a
        .settings
        .endorser_measurements
        .iter()
        .chain(&a.settings.cluster_measurements)
        .cloned()
        .collect();
    arcanum_attestation::AttestationPolicy {
        allowed_measurements,
        min_tcb_status: a.settings.min_tcb_status.clone(),
        allow_debug: a.settings.allow_debug,
        allow_simulation: a.settings.allow_simulation,
        expected_product: None,
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .context("building the HTTP client")
}

/// Runs one node until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // A TEE node is its own runtime: a host process and its cluster enclave, no ledger.
    match config.role {
        NodeRole::Tee => return arcanum_tee_node::run(config, listener, shutdown).await,
        NodeRole::Oracle => return arcanum_oracle::run(config, listener, shutdown).await,
        _ => {}
    }
    let consortium = config
        .load_consortium(now_unix())
        .context("loading the consortium config")?;
    let chain = Arc::new(chain_config(&consortium)?);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = RedbStore::open(&config.data_dir.join("ledger.redb"))
        .context("opening the ledger store")?;
    // Peers verify every signature; inside the management network the block signature vouches
    // for signatures that were verified before ordering.
    let trust = match config.role {
        NodeRole::Peer | NodeRole::Attestation => SignatureTrust::VerifyAll,
        NodeRole::Management | NodeRole::Endorser => SignatureTrust::TrustOrderer,
        NodeRole::Tee | NodeRole::Oracle => anyhow::bail!("not a ledger role"),
    };
    let ledger = Arc::new(Ledger::with_trust(Arc::new(store), chain, trust));
    let metrics = Arc::new(Metrics::default());
    let http = http_client()?;
    let mgmt_url = consortium.management().url.clone().unwrap_or_default();
    let role = config.role;
    let links = Arc::new(links::Links::new(&consortium, &config.name));

    // Peers and endorsement devices keep a replica, fed by delivery and repaired by catch-up.
    let start_replica = || -> anyhow::Result<Arc<replica::Replica>> {
        let replica = replica::Replica::new(ledger.clone(), metrics.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokio::spawn(replica.clone().keep_caught_up(
            http.clone(),
            links.clone(),
            mgmt_url.clone(),
            Duration::from_secs(5),
        ));
        Ok(replica)
    };
    let role_router = match role {
        NodeRole::Management => {
            let passphrase = config.passphrase()?;
            let key = config.load_own_key(&consortium, &passphrase)?;
            let transport = Arc::new(management_node::HttpTransport {
                http: http.clone(),
                urls: consortium
                    .endorsers()
                    .iter()
                    .map(|e| e.member.url.clone().unwrap_or_default())
                    .collect(),
                links: links.clone(),
            });
            let (mgmt, ordering) = Management::new(
                ledger.clone(),
                key,
                management_settings(&consortium, ledger.config().pin().hash()),
                transport.clone(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            tokio::spawn(ordering);
            let targets = consortium
                .peers()
                .iter()
                .chain(consortium.endorsers().iter().map(|e| &e.member))
                .filter_map(|m| m.url.clone());
            for target in targets {
                tokio::spawn(deliver_blocks(
                    ledger.clone(),
                    mgmt.subscribe_tip(),
                    http.clone(),
                    links.clone(),
                    target,
                ));
            }
            let m = metrics.clone();
            let mut commits = mgmt.subscribe_commits();
            tokio::spawn(async move {
                while let Ok(s) = commits.recv().await {
                    m.record_block(&s);
                }
            });
            management_node::router(mgmt, transport)
        }
        NodeRole::Endorser => {
            let (c, cfg, pin) = (consortium.clone(), config.clone(), ledger.config().pin());
            let device = Arc::new(
                tokio::task::spawn_blocking(move || enclave_setup::start(&cfg, &c, pin)).await??,
            );
            let endorser = Arc::new(Endorser::new(ledger.clone(), device.signer.clone()));
            if let Some(a) = consortium.attestation() {
                let url = a.member.url.clone().unwrap_or_default();
                tokio::spawn(enclave_setup::keep_attested(
                    device.clone(),
                    config.name.clone(),
                    url,
                    http.clone(),
                ));
            }
            let replica = start_replica()?;
            // Key rotations take effect in the enclave once their transaction commits.
            let (d, l, mut tip) = (device.clone(), ledger.clone(), replica.subscribe_tip());
            tokio::spawn(async move {
                while tip.changed().await.is_ok() {
                    let (d, l) = (d.clone(), l.clone());
                    let _ = tokio::task::spawn_blocking(move || d.follow_rotations(&l)).await;
                }
            });
            arcanum_endorser::http::router(
                endorser.clone(),
                replica.subscribe_tip(),
                Some(device.clone()),
            )
            .merge(arcanum_endorser::http::device_router(device, endorser))
            .merge(replica::router(replica))
        }
        NodeRole::Attestation => {
            let a = consortium
                .attestation()
                .context("the consortium has no [attestation] section")?;
            let key = config.load_own_key(&consortium, &config.passphrase()?)?;
            let service = attestation_node::AttestationService::new(
                key,
                attestation_policy(a),
                a.settings.report_ttl_secs,
            );
            attestation_node::router(Arc::new(service))
        }
        NodeRole::Peer => {
            let replica = start_replica()?;
            // In the Fabric flow a peer holds its own key and endorses (SPEC §5 comparison).
            if consortium.network().flow == arcanum_msp::Flow::Fabric {
                let key = config.load_own_key(&consortium, &config.passphrase()?)?;
                let me = consortium
                    .peer_by_name(&config.name)
                    .context("this peer is not in the consortium")?;
                let endorser = Arc::new(
                    Endorser::in_process(ledger.clone(), vec![(me.id, key)])
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                );
                arcanum_endorser::http::router(endorser, replica.subscribe_tip(), None)
                    .merge(replica::router(replica))
            } else {
                replica::router(replica)
            }
        }
        NodeRole::Tee | NodeRole::Oracle => anyhow::bail!("not a ledger role"),
    };

    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS));
    let m = metrics.clone();
    let app = Router::new()
        .merge(role_router)
        .merge(queries::router(ledger.clone()))
        .layer(axum::middleware::from_fn_with_state(
            permits,
            arcanum_http::shed_load,
        ))
        .route(routes::HEALTHZ, get(|| async { "ok" }))
        .route(
            routes::METRICS,
            get(move || async move { m.render(role.as_str()) }),
        )
        .route(
            routes::OPENAPI,
            get(|| async { axum::Json(openapi_json()) }),
        );
    tracing::info!(role = role.as_str(), name = %config.name, addr = %listener.local_addr()?, "node serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    Ok(())
}
