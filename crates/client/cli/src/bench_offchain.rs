//! `arcanum bench offchain`: encrypted invocations of a small contract on one TEE node host
//! (SPEC C4/T2 figures), on the simulation platform with the real path below HTTP: the client's
//! HPKE sealing and reply opening, the host's request client, the shared-memory rings, the
//! confined `arcanum-cluster-enclave` process (decryption, replay check, wasmi with fuel, the
//! state cache, the contract-key signature) and the host's redb store for state writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_enclave_protocol::PROTOCOL_VERSION;
use arcanum_enclave_protocol::cluster::{ClusterRequest, ClusterResponse, ClusterTrust};
use arcanum_sdk::offchain::{open_invoke_reply, seal_deploy, seal_invoke};
use arcanum_tee_node::{ClusterEnclave, HostOcalls, NodeStore, Relay, RelayLimits};
use arcanum_types::encode;
use arcanum_types::offchain::{ClusterKeys, DeployRequest, InvokeRequest, SealedRequest};
use serde::Serialize;

/// What `--json` prints.
#[derive(Debug, Serialize)]
pub struct OffchainReport {
    pub contract: &'static str,
    pub function: &'static str,
    pub clients: usize,
    pub duration_s: f64,
    pub invokes: usize,
    /// Median latency of an encrypted read invocation (seal → enclave → open), ms.
    pub invoke_p50_ms: f64,
    pub invoke_p99_ms: f64,
    /// Read invocations per second on this one TEE node.
    pub invokes_per_s: f64,
    /// The same for a state-writing invocation (`put`: a durable redb commit per call).
    pub write_invoke_p50_ms: f64,
    pub write_invokes_per_s: f64,
    /// Median time to deploy the contract (seal, decrypt, validate, derive the key, sign,
    /// store the encrypted code), ms.
    pub deploy_ms: f64,
    pub platform: &'static str,
}

fn call(enclave: &ClusterEnclave, request: &ClusterRequest) -> anyhow::Result<ClusterResponse> {
    enclave.call(request).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A fresh node: a launched, initialised enclave that formed a cluster of its own.
fn start_node(
    dir: &std::path::Path,
) -> anyhow::Result<(Arc<ClusterEnclave>, Arc<NodeStore>, ClusterKeys)> {
    let store = Arc::new(NodeStore::open(&dir.join(arcanum_tee_node::STORE_FILE))?);
    let ocalls = Arc::new(HostOcalls {
        store: store.clone(),
        relay: Arc::new(Relay::new(RelayLimits::default())),
    });
    let (binary, _) =
        crate::network::measured_enclave(arcanum_enclave_host::CLUSTER_ENCLAVE_BINARY)?;
    let enclave = Arc::new(ClusterEnclave::launch(&binary, ocalls)?);
    match call(
        &enclave,
        &ClusterRequest::Hello {
            version: PROTOCOL_VERSION,
        },
    )? {
        ClusterResponse::Hello { .. } => {}
        other => bail!("hello: {other:?}"),
    }
    let init = ClusterRequest::Init {
        platform_secret: Some(arcanum_enclave_host::sim_fuse(dir)?),
        sealed: None,
        trust: ClusterTrust {
            issuers: Vec::new(),
            policy_toml: "allow_simulation = true".into(),
            tls_roots: Vec::new(),
        },
    };
    match call(&enclave, &init)? {
        ClusterResponse::Ready { .. } => {}
        other => bail!("init: {other:?}"),
    }
    let keys = match call(&enclave, &ClusterRequest::Genesis)? {
        ClusterResponse::Formed { keys, .. } => keys,
        other => bail!("genesis: {other:?}"),
    };
    Ok((enclave, store, keys))
}

/// One encrypted invocation as a client sees it; returns its latency.
fn invoke_once(
    enclave: &ClusterEnclave,
    store: &NodeStore,
    keys: &ClusterKeys,
    request: &InvokeRequest,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let (sealed, reply_key) = seal_invoke(keys, request)?;
    let reply = match call(enclave, &ClusterRequest::Invoke { request: sealed })? {
        ClusterResponse::Invoked { reply, writes } => {
            store.put_states(&writes)?;
            reply
        }
        other => bail!("invoke: {other:?}"),
    };
    open_invoke_reply(&reply_key, request, &reply)?;
    Ok(t.elapsed())
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Runs `clients` threads invoking `function(args)` for `duration` after a short warm-up;
/// returns the sorted latencies and the measured seconds.
/// The node under load.
struct Node {
    enclave: Arc<ClusterEnclave>,
    store: Arc<NodeStore>,
    keys: ClusterKeys,
}

fn load(
    node: &Node,
    contract: arcanum_crypto::Hash,
    function: &'static str,
    args: fn(u64) -> Vec<Vec<u8>>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<(Vec<Duration>, f64)> {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for c in 0..clients {
        let (enclave, store, keys) = (node.enclave.clone(), node.store.clone(), node.keys.clone());
        let (measuring, stop) = (measuring.clone(), stop.clone());
        threads.push(std::thread::spawn(
            move || -> anyhow::Result<Vec<Duration>> {
                let mut samples = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let request = InvokeRequest {
                        contract_id: contract,
                        function: function.into(),
                        input: encode(&args(c as u64 * 1_000_000 + i)),
                        nonce: rand::random(),
                        origin: None,
                    };
                    let took = invoke_once(&enclave, &store, &keys, &request)?;
                    if measuring.load(Ordering::Relaxed) {
                        samples.push(took);
                    }
                    i += 1;
                }
                Ok(samples)
            },
        ));
    }
    std::thread::sleep(Duration::from_millis(500)); // warm-up window of the benchmark
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(duration); // measurement window of the benchmark
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in threads {
        all.extend(
            t.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??,
        );
    }
    all.sort();
    Ok((all, seconds))
}

pub fn run(duration: f64, clients: usize) -> anyhow::Result<OffchainReport> {
    let dir = tempfile::tempdir()?;
    let (enclave, store, keys) = start_node(dir.path()).context("starting the TEE node")?;
    let node = Node {
        enclave: enclave.clone(),
        store: store.clone(),
        keys: keys.clone(),
    };

    // Deploys of the key/value contract, each under a fresh salt.
    let mut deploys = Vec::new();
    let mut contract = None;
    for _ in 0..7 {
        let request = DeployRequest {
            wasm: arcanum_contracts::KV_WASM.to_vec(),
            salt: rand::random(),
        };
        let t = Instant::now();
        let sealed: SealedRequest = seal_deploy(&keys, &request)?;
        match call(&enclave, &ClusterRequest::Deploy { request: sealed })? {
            ClusterResponse::Deployed { deployment, code } => {
                store.put_code(&deployment, &code)?;
                contract = Some(deployment.statement.contract_id);
            }
            other => bail!("deploy: {other:?}"),
        }
        deploys.push(t.elapsed());
    }
    deploys.sort();
    let contract = contract.context("no deployment")?;

    // Seed the key the reads hit, then read under load; then write under load.
    let seed = InvokeRequest {
        contract_id: contract,
        function: "put".into(),
        input: encode(&vec![b"price".to_vec(), b"12345".to_vec()]),
        nonce: rand::random(),
        origin: None,
    };
    invoke_once(&enclave, &store, &keys, &seed)?;
    let window = Duration::from_secs_f64(duration.max(0.5));
    let clients = clients.max(1);
    let (reads, read_s) = load(
        &node,
        contract,
        "get",
        |_| vec![b"price".to_vec()],
        clients,
        window,
    )?;
    let (writes, write_s) = load(
        &node,
        contract,
        "put",
        |i| {
            vec![
                format!("k{}", i % 1024).into_bytes(),
                i.to_string().into_bytes(),
            ]
        },
        clients,
        window,
    )?;
    Ok(OffchainReport {
        contract: "kv",
        function: "get",
        clients,
        duration_s: read_s,
        invokes: reads.len(),
        invoke_p50_ms: pct(&reads, 0.5),
        invoke_p99_ms: pct(&reads, 0.99),
        invokes_per_s: reads.len() as f64 / read_s,
        write_invoke_p50_ms: pct(&writes, 0.5),
        write_invokes_per_s: writes.len() as f64 / write_s,
        deploy_ms: pct(&deploys, 0.5),
        platform: "simulated",
    })
}
