//! `arcanum bench`: load drivers that report JSON. `bench e2e` runs the devnet layout (1
//! management device, 2 endorsement devices, 4 peers in 2 organisations, separate processes)
//! with the asset-transfer contract under an AND policy, in the hosted flow or the Fabric-style
//! flow, with emulated cross-domain latency; it drives it with concurrent clients and reports
//! committed throughput, submit-to-commit latency and the signature bound. `bench compare` runs
//! both flows across latencies and writes a report. `bench state-proof` measures verified state
//! reads against a running devnet.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_api::link::LinkDelay;
use arcanum_crypto::{Algorithm, SigningKey, domain};
use arcanum_msp::{BlockSettings, DevnetSpec, Flow, LinkSpec};
use arcanum_sdk::{Client, Signer};
use arcanum_types::TxAction;
use clap::Subcommand;
use serde::Serialize;

use crate::demo::ASSET_POLICY;
use crate::network::{Network, attested, free_port_range, generate, node_count};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// End-to-end committed throughput and latency on a local multi-process network.
    E2e {
        #[command(flatten)]
        opts: E2eArgs,
        #[arg(long)]
        json: bool,
    },
    /// Both flows at 0, 5, 20 and 50 ms cross-domain latency: a Markdown report and SVG plots.
    Compare {
        /// Where the report goes.
        #[arg(long, default_value = "bench-compare")]
        out: std::path::PathBuf,
        /// Measured seconds per point.
        #[arg(long, default_value_t = 8)]
        duration: u64,
        /// Concurrent clients at every point, for both flows (enough to load the hosted flow's
        /// CPU at 0 ms on 2 cores).
        #[arg(long, default_value_t = 192)]
        clients: usize,
        #[arg(long, default_value_t = 3)]
        domains: u32,
        #[arg(long, default_value_t = 0)]
        jitter: u64,
    },
    /// Host↔enclave ring buffers against a Unix socket and memcpy (SPEC §5).
    Ring {
        /// Seconds per measured case.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
    },
    /// Encrypted off-chain invocations on one TEE node (simulation platform, rings in the path).
    Offchain {
        /// Seconds of each measured load (reads, then writes).
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Concurrent client threads.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        #[arg(long)]
        json: bool,
    },
    /// Verified state reads (`state get --proof`) against a running devnet's first peer: latency
    /// of the round trip with verification, the offline verification alone, and proof sizes.
    StateProof {
        #[arg(long, default_value = "arcanum-devnet")]
        devnet: std::path::PathBuf,
        #[arg(long)]
        contract: String,
        /// The key as UTF-8 text (present or absent: both are proven).
        #[arg(long)]
        key: String,
        /// Node URL (default: the devnet's first peer).
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
    /// Median evidence-verification time per quote type, on the shared test evidence.
    Attest {
        /// The external test-data directory.
        #[arg(long, default_value = "../shared/testdata/external")]
        testdata: std::path::PathBuf,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
}

/// The load and the network of one end-to-end run.
#[derive(clap::Args, Clone, Debug)]
pub struct E2eArgs {
    /// hosted (the management network endorses with hosted keys) or fabric (the client collects
    /// endorsements from peers holding their own keys).
    #[arg(long, default_value = "hosted")]
    flow: String,
    /// Domains: the management network, then the peers' organisations spread over the rest;
    /// the client sits in a domain of its own.
    #[arg(long, default_value_t = 3)]
    domains: u32,
    /// One-way latency added on every cross-domain hop.
    #[arg(long = "cross-domain-latency", default_value_t = 0)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0)]
    jitter: u64,
    /// Measured seconds (after a warm-up).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent clients, each waiting for its transaction's commit before the next (closed
    /// loop: throughput = clients ÷ latency until the CPU is the limit).
    #[arg(long, default_value_t = 192)]
    clients: usize,
}

#[derive(Serialize)]
struct E2eReport {
    flow: &'static str,
    cross_domain_latency_ms: u64,
    jitter_ms: u64,
    domains: u32,
    peers: usize,
    endorsers: usize,
    clients: usize,
    duration_s: f64,
    committed_tx: u64,
    invalid_tx: u64,
    failed_requests: u64,
    committed_tx_per_s: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    cores: usize,
    sign_us: f64,
    /// One signature verified on its own.
    verify_us: f64,
    /// One signature verified inside a batch of `batch_signatures`.
    verify_batched_us: f64,
    batch_signatures: usize,
    signatures_per_tx: u32,
    single_verifications_per_tx: u32,
    batched_verifications_per_tx: u32,
    txs_per_block: f64,
    /// Signature CPU per transaction with every verification done on its own.
    signature_cpu_us_per_tx: f64,
    /// Cores ÷ `signature_cpu_us_per_tx`: the machine's signature bound (SPEC §5).
    signature_bound_tx_per_s: f64,
    fraction_of_bound: f64,
    /// Signature CPU per transaction as this implementation does it (batched verifications).
    batched_signature_cpu_us_per_tx: f64,
    batched_signature_bound_tx_per_s: f64,
    fraction_of_batched_bound: f64,
    peak_rss_mb: f64,
    /// CPU milliseconds per committed transaction, by node process (the profile by role).
    cpu_ms_per_tx: std::collections::BTreeMap<String, f64>,
}

pub async fn run(cmd: BenchCommand) -> ExitCode {
    match cmd {
        BenchCommand::E2e { opts, json } => match e2e(&opts, json).await {
            Ok(report) => {
                crate::output::print_json(&report);
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(e), json),
        },
        BenchCommand::Compare {
            out,
            duration,
            clients,
            domains,
            jitter,
        } => match compare(&out, duration, clients, domains, jitter).await {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(e), false),
        },
        BenchCommand::Ring { seconds, json } => {
            let per_case = Duration::from_secs_f64(seconds.clamp(0.05, 60.0));
            match tokio::task::spawn_blocking(move || arcanum_ring::bench::run(per_case)).await {
                Ok(report) => {
                    crate::output::print_json(&report);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    crate::output::finish(Err(anyhow::anyhow!("ring bench failed: {e}")), json)
                }
            }
        }
        BenchCommand::Offchain {
            duration,
            clients,
            json,
        } => match crate::bench_offchain::run(duration, clients) {
            Ok(report) => {
                if json {
                    crate::output::print_json(&report);
                } else {
                    println!(
                        "off-chain invoke (kv.get, {} clients): p50 {:.3} ms, p99 {:.3} ms, {:.0} invokes/s; kv.put: p50 {:.3} ms, {:.0}/s; deploy {:.2} ms",
                        report.clients,
                        report.invoke_p50_ms,
                        report.invoke_p99_ms,
                        report.invokes_per_s,
                        report.write_invoke_p50_ms,
                        report.write_invokes_per_s,
                        report.deploy_ms
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(e.context("off-chain bench failed")), json),
        },
        BenchCommand::StateProof {
            devnet,
            contract,
            key,
            url,
            iterations,
            json,
        } => match state_proof(&devnet, url.as_deref(), &contract, &key, iterations.max(1)).await {
            Ok(report) => {
                crate::output::print_json(&report);
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(e), json),
        },
        BenchCommand::Attest {
            testdata,
            iterations,
            json,
        } => match arcanum_attestation::bench::bench(&testdata, iterations.max(1)) {
            Ok(report) => {
                crate::output::print_json(&report);
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(anyhow::anyhow!("{}: {e}", e.code())), json),
        },
    }
}

/// `bench compare`: both flows at 0, 5, 20 and 50 ms.
async fn compare(
    out: &std::path::Path,
    duration: u64,
    clients: usize,
    domains: u32,
    jitter: u64,
) -> anyhow::Result<std::path::PathBuf> {
    let mut points = Vec::new();
    for latency_ms in [0, 5, 20, 50] {
        for flow in ["hosted", "fabric"] {
            let args = E2eArgs {
                flow: flow.into(),
                domains,
                latency_ms,
                jitter,
                duration,
                clients,
            };
            eprintln!("bench compare: {flow} at {latency_ms} ms");
            let r = e2e(&args, true).await?;
            points.push(crate::perf_report::ComparePoint {
                flow: flow.into(),
                cross_domain_latency_ms: latency_ms as f64,
                committed_tx_per_s: r.committed_tx_per_s,
                latency_p50_ms: r.latency_p50_ms,
                latency_p99_ms: r.latency_p99_ms,
                fraction_of_bound: r.fraction_of_bound,
                fraction_of_batched_bound: r.fraction_of_batched_bound,
                peak_rss_mb: r.peak_rss_mb,
            });
        }
    }
    let command = format!(
        "arcanum bench compare --out {} --duration {duration} --clients {clients} --domains {domains} --jitter {jitter}",
        out.display()
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let machine = format!(
        "{cores} cores, {} {}, loopback, release build",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    crate::perf_report::write_compare_report(out, &points, &command, &machine)
}

#[derive(Serialize)]
struct StateProofReport {
    node: String,
    contract: String,
    key: String,
    present: bool,
    height: u64,
    iterations: usize,
    /// `GET /v1/state/proof`, decoding and verification, per call (sequential, one client).
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_min_ms: f64,
    /// `StateProofBundle::verify` alone (signature, height, root, proof), median.
    verify_us: f64,
    /// The borsh `StateProof`.
    proof_bytes: usize,
    /// The borsh `StateProofBundle` (value, key, proof, header, signature).
    bundle_bytes: usize,
    /// The JSON answer / `state get --proof --json` file.
    json_bytes: usize,
}

/// `bench state-proof`: `iterations` verified reads of one key, one after the other.
async fn state_proof(
    devnet: &std::path::Path,
    url: Option<&str>,
    contract: &str,
    key: &str,
    iterations: usize,
) -> anyhow::Result<StateProofReport> {
    let layout = arcanum_msp::DevnetLayout::load(devnet)?;
    let node = match url {
        Some(u) => u.to_owned(),
        None => layout
            .nodes
            .iter()
            .find(|n| n.role == arcanum_msp::NodeRole::Peer)
            .context("the devnet has no peer")?
            .url
            .clone(),
    };
    let orderer = crate::state_cmd::management_key(devnet)?;
    let client = Client::new(node.clone());
    let mut bundle = client
        .verified_state_proof(contract, key.as_bytes(), None, &orderer)
        .await?;
    let mut latencies = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        bundle = client
            .verified_state_proof(contract, key.as_bytes(), None, &orderer)
            .await?;
        latencies.push(t.elapsed());
    }
    let mut verify = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        std::hint::black_box(bundle.verify(&orderer))?;
        verify.push(t.elapsed());
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let json = serde_json::to_string(&arcanum_api::StateProofJson::from(&bundle))?;
    Ok(StateProofReport {
        node,
        contract: contract.to_owned(),
        key: key.to_owned(),
        present: bundle.value.is_some(),
        height: bundle.height,
        iterations,
        latency_p50_ms: ms(latencies[latencies.len() / 2]),
        latency_p99_ms: ms(latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]),
        latency_min_ms: ms(latencies[0]),
        verify_us: median_us(verify),
        proof_bytes: arcanum_types::encode(&bundle.proof).len(),
        bundle_bytes: arcanum_types::encode(&bundle).len(),
        json_bytes: json.len(),
    })
}

/// Median time of one operation, in microseconds.
fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// Per-operation Ed25519 costs on this machine, measured in this run: signing, verifying one
/// signature on its own, and verifying one signature inside a batch of `batch` signatures by three
/// keys (a client and two endorsing peers), on one thread.
fn signature_costs(batch: usize) -> (f64, f64, f64) {
    let keys: Vec<SigningKey> = (0..3)
        .filter_map(|_| SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng).ok())
        .collect();
    if keys.len() != 3 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let pks: Vec<_> = keys.iter().map(SigningKey::public_key).collect();
    let msgs: Vec<[u8; 32]> = (0..batch.max(1))
        .map(|i| arcanum_crypto::sha256(&i.to_le_bytes()).0)
        .collect();
    let sigs: Vec<_> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| keys[i % 3].sign(domain::TX_SIGNATURE, m))
        .collect();
    let items: Vec<_> = (0..msgs.len())
        .map(|i| (&pks[i % 3], domain::TX_SIGNATURE, &msgs[i][..], &sigs[i]))
        .collect();
    let (mut sign, mut verify, mut batched) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..11 {
        let t = Instant::now();
        for m in msgs.iter().take(200).cycle().take(200) {
            std::hint::black_box(keys[0].sign(domain::TX_SIGNATURE, m));
        }
        sign.push(t.elapsed() / 200);
        let t = Instant::now();
        for (pk, d, m, sig) in items.iter().cycle().take(200) {
            let _ = std::hint::black_box(pk.verify(d, m, sig));
        }
        verify.push(t.elapsed() / 200);
        let t = Instant::now();
        let _ = std::hint::black_box(arcanum_crypto::verify_batch(&items));
        batched.push(t.elapsed() / items.len() as u32);
    }
    (median_us(sign), median_us(verify), median_us(batched))
}

/// Routes commit events from one peer's event stream to the clients waiting for them, each
/// after one emulated hop from the peer to the client.
struct CommitWatcher {
    waiting: parking_lot::Mutex<
        std::collections::HashMap<String, tokio::sync::oneshot::Sender<(String, u64)>>,
    >,
    /// Outcomes that arrived before anyone waited (bounded).
    early: parking_lot::Mutex<std::collections::HashMap<String, (String, u64)>>,
    link: Arc<LinkDelay>,
}

impl CommitWatcher {
    async fn start(peer: Client, link: Arc<LinkDelay>) -> anyhow::Result<Arc<CommitWatcher>> {
        let from = peer.height().await?.height + 1;
        let events = peer.events(from).await?;
        let watcher = Arc::new(CommitWatcher {
            waiting: Default::default(),
            early: Default::default(),
            link,
        });
        let w = watcher.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(events);
            while let Some(Ok(e)) = futures::StreamExt::next(&mut events).await {
                // Under the waiting lock, so a waiter registering now finds it in one map or the other.
                let waiter = {
                    let mut waiting = w.waiting.lock();
                    let waiter = waiting.remove(&e.tx_id);
                    if waiter.is_none() {
                        let mut early = w.early.lock();
                        if early.len() > 100_000 {
                            early.clear();
                        }
                        early.insert(e.tx_id.clone(), (e.status.clone(), e.block));
                    }
                    waiter
                };
                if let Some(tx) = waiter {
                    let link = w.link.clone();
                    tokio::spawn(async move {
                        link.hop().await;
                        let _ = tx.send((e.status, e.block));
                    });
                }
            }
        });
        Ok(watcher)
    }

    async fn wait(&self, tx_id: String) -> anyhow::Result<(String, u64)> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Checked under the waiting lock, so an event cannot slip between the two maps.
        let early = {
            let mut waiting = self.waiting.lock();
            let early = self.early.lock().remove(&tx_id);
            if early.is_none() {
                waiting.insert(tx_id, tx);
            }
            early
        };
        if let Some(status) = early {
            self.link.hop().await;
            return Ok(status);
        }
        Ok(tokio::time::timeout(Duration::from_secs(30), rx).await??)
    }
}

/// How one client gets a transaction committed.
enum Driver {
    /// One call to the management device, which endorses in its network and answers on commit.
    Hosted { gateway: Client },
    /// Endorsements from one peer of each organisation, then ordering, then the commit event
    /// from the client's organisation's peer.
    Fabric {
        gateway: Client,
        endorsers: Vec<(Client, arcanum_types::IdentityId)>,
        watcher: Arc<CommitWatcher>,
    },
}

impl Driver {
    /// Commits `tx`; returns its status and block. `after` is the block of the client's previous
    /// transaction: endorsing peers simulate only once they have it, so they agree on its writes.
    async fn commit(
        &self,
        tx: &arcanum_types::SignedTx,
        after: u64,
    ) -> anyhow::Result<(String, u64)> {
        match self {
            Driver::Hosted { gateway } => {
                let out = gateway.execute(tx, true).await?;
                Ok((out.status, out.block.unwrap_or(after)))
            }
            Driver::Fabric {
                gateway,
                endorsers,
                watcher,
            } => {
                let answers = futures::future::join_all(
                    endorsers
                        .iter()
                        .map(|(peer, id)| peer.endorse_at(tx, vec![*id], after)),
                )
                .await;
                let mut response = None;
                let mut endorsements = Vec::new();
                for a in answers {
                    let a = a?;
                    if response.as_ref().is_some_and(|r| *r != a.response) {
                        bail!("peers simulated different results");
                    }
                    response = Some(a.response);
                    endorsements.extend(a.endorsements);
                }
                endorsements.sort_by_key(|a| a.endorser);
                let response = response.context("no endorsers")?;
                let etx = arcanum_types::EndorsedTx {
                    tx: tx.clone(),
                    response,
                    endorsements,
                };
                let tx_id = etx.id().to_hex();
                gateway.submit(&etx, false).await?;
                watcher.wait(tx_id).await
            }
        }
    }
}

async fn e2e(opts: &E2eArgs, json: bool) -> anyhow::Result<E2eReport> {
    let flow = match opts.flow.as_str() {
        "hosted" => Flow::Hosted,
        "fabric" => Flow::Fabric,
        other => bail!("unknown flow {other:?} (hosted | fabric)"),
    };
    if opts.domains < 2 {
        bail!("--domains must be at least 2 (the management network and one peer domain)");
    }
    let clients = opts.clients.max(1);
    let duration = Duration::from_secs(opts.duration.max(1));
    let dir = tempfile::tempdir()?;
    let base = DevnetSpec {
        block: BlockSettings {
            max_txs: 500,
            max_bytes: 8 * 1024 * 1024,
            timeout_ms: 10,
        },
        flow,
        link: Some(LinkSpec {
            domains: opts.domains,
            latency_ms: opts.latency_ms,
            jitter_ms: opts.jitter,
        }),
        ..DevnetSpec::default()
    };
    // The hosted flow runs with attested enclaves; the Fabric flow has no endorsement devices.
    let probe = if flow == Flow::Hosted {
        attested(base)?
    } else {
        base
    };
    let spec = DevnetSpec {
        base_port: free_port_range(node_count(&probe))?,
        ..probe
    };
    let layout = generate(dir.path(), &spec)?;
    let skip = (flow == Flow::Fabric).then_some(arcanum_msp::NodeRole::Endorser);
    let net = Network::start_without(layout, skip).await?;
    let link = Arc::new(LinkDelay::new(opts.latency_ms, opts.jitter));
    let gateway = Client::new(net.management_url()).with_link(link.clone());
    let admin = Signer::from_devnet(dir.path(), "admin.org1")?;
    let alice = Arc::new(Signer::from_devnet(dir.path(), "client0.org1")?);
    let consortium =
        arcanum_msp::Consortium::load(&net.layout.consortium, arcanum_server::now_unix())?;
    let peer_client = |name: &str| -> anyhow::Result<Client> {
        Ok(Client::new(net.url(name)?).with_link(link.clone()))
    };
    let driver = Arc::new(match flow {
        Flow::Hosted => Driver::Hosted {
            gateway: gateway.clone(),
        },
        Flow::Fabric => {
            let mut endorsers = Vec::new();
            for org in &spec.orgs {
                let name = format!("peer0.{}", org.to_ascii_lowercase());
                let id = consortium.peer_by_name(&name).context("peer missing")?.id;
                endorsers.push((peer_client(&name)?, id));
            }
            let watcher =
                CommitWatcher::start(Client::new(net.url("peer0.org1")?), link.clone()).await?;
            Driver::Fabric {
                gateway: gateway.clone(),
                endorsers,
                watcher,
            }
        }
    });
    let deploy = admin.sign(TxAction::Deploy {
        contract: "asset".into(),
        wasm: arcanum_contracts::ASSET_WASM.to_vec(),
        policy: ASSET_POLICY.into(),
    });
    let (status, deployed) = driver.commit(&deploy, 0).await.context("deploying asset")?;
    if status != "VALID" {
        bail!("deploy failed: {status}");
    }
    // A source and a destination account per client, so clients never conflict with each other.
    let setup = futures::future::join_all(
        (0..clients)
            .flat_map(|w| [(format!("src{w}"), "1000000000"), (format!("dst{w}"), "0")])
            .map(|(account, amount)| {
                let (driver, alice) = (driver.clone(), alice.clone());
                async move {
                    driver
                        .commit(
                            &alice.invoke("asset", "create", &[&account, amount]),
                            deployed,
                        )
                        .await
                }
            }),
    )
    .await;
    let mut ready = deployed;
    for r in setup {
        let (status, block) = r?;
        if status != "VALID" {
            bail!("account setup failed: {status}");
        }
        ready = ready.max(block);
    }

    let progress = (!json).then(|| {
        let pb = indicatif::ProgressBar::new(duration.as_secs());
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} e2e {bar:30} {pos}/{len} s  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let invalid = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..clients)
        .map(|w| {
            let (driver, alice) = (driver.clone(), alice.clone());
            let (measuring, stop) = (measuring.clone(), stop.clone());
            let (committed, invalid, failed) = (committed.clone(), invalid.clone(), failed.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (from, to) = (format!("src{w}"), format!("dst{w}"));
                let mut after = ready;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let tx = alice.invoke("asset", "transfer", &[&from, &to, "1"]);
                    let r = driver.commit(&tx, after).await;
                    if let Ok((_, block)) = &r {
                        after = after.max(*block);
                    }
                    if !measuring.load(Ordering::Relaxed) {
                        continue;
                    }
                    match r {
                        Ok((status, _)) if status == "VALID" => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            latencies.push(t.elapsed());
                        }
                        Ok(_) => {
                            invalid.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    // Warm-up, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(true, Ordering::Relaxed);
    let height_before = gateway.height().await?.height;
    let cpu_before = net.cpu_seconds();
    let start = Instant::now();
    for _ in 0..duration.as_secs() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(pb) = &progress {
            pb.inc(1);
            pb.set_message(format!(
                "{:.0} tx/s",
                committed.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
            ));
        }
    }
    measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = net.cpu_seconds();
    let blocks = gateway.height().await?.height.saturating_sub(height_before);
    stop.store(true, Ordering::Relaxed);
    let net_peers = net.peers().len();
    let peak_rss_mb = net
        .peak_rss_mb()
        .into_iter()
        .map(|(_, mb)| mb)
        .fold(0.0, f64::max);
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap_or_default());
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(f64::NAN)
    };
    let committed_tx = committed.load(Ordering::Relaxed);
    let tps = committed_tx as f64 / elapsed;
    let cpu_ms_per_tx = cpu_after
        .iter()
        .filter_map(|(name, after)| {
            let before = cpu_before.iter().find(|(n, _)| n == name)?.1;
            Some((
                name.clone(),
                (after - before) * 1e3 / committed_tx.max(1) as f64,
            ))
        })
        .collect();

    drop(net);
    // Signature work per transaction under AND(Org1, Org2): the client signs once and each of
    // the two endorsing keys once; block signatures are amortised over a block and left out.
    // Verifications, hosted flow: each of the two endorsement enclaves verifies the client
    // signature and the management device both endorsements, each batched with the other
    // transactions of one endorse batch; every peer verifies the client signature and both
    // endorsements, batched per block. Ledgers inside the management network trust the block
    // signature. Fabric-style flow: each endorsing peer verifies the client signature (one
    // request at a time), the management device re-verifies a client-held endorsed transaction
    // whole (three, one at a time), and every peer verifies three per transaction, batched per
    // block. Costs are measured after the network stopped; batched verifications at the
    // per-signature cost of a batch the size of this run's average block (three keys).
    let endorsements = 2u32;
    let validators = net_peers as u32;
    let signatures_per_tx = 1 + endorsements;
    let (single_verifications_per_tx, batched_verifications_per_tx) = match flow {
        Flow::Hosted => (
            0,
            endorsements + endorsements + validators * (1 + endorsements),
        ),
        Flow::Fabric => (
            endorsements + 1 + endorsements,
            validators * (1 + endorsements),
        ),
    };
    let txs_per_block = committed_tx as f64 / blocks.max(1) as f64;
    let batch_signatures = ((1 + endorsements) as f64 * txs_per_block).round().max(1.0) as usize;
    let (sign_us, verify_us, verify_batched_us) = signature_costs(batch_signatures);
    // The machine's signature bound (SPEC §5): every required signature made and verified on
    // its own. And the bound of this implementation, with the batched verifications at their
    // measured batched cost: the ceiling if nothing but signature work took CPU.
    let sign_cpu_us = signatures_per_tx as f64 * sign_us;
    let cpu_us = sign_cpu_us
        + (single_verifications_per_tx + batched_verifications_per_tx) as f64 * verify_us;
    let batched_cpu_us = sign_cpu_us
        + single_verifications_per_tx as f64 * verify_us
        + batched_verifications_per_tx as f64 * verify_batched_us;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let bound = cores as f64 / (cpu_us / 1e6);
    let batched_bound = cores as f64 / (batched_cpu_us / 1e6);
    Ok(E2eReport {
        flow: flow.as_str(),
        cross_domain_latency_ms: opts.latency_ms,
        jitter_ms: opts.jitter,
        domains: opts.domains,
        peers: spec.orgs.len() * spec.peers_per_org,
        endorsers: if flow == Flow::Hosted {
            spec.endorsers
        } else {
            0
        },
        clients,
        duration_s: elapsed,
        committed_tx,
        invalid_tx: invalid.load(Ordering::Relaxed),
        failed_requests: failed.load(Ordering::Relaxed),
        committed_tx_per_s: tps,
        latency_p50_ms: pct(0.50),
        latency_p99_ms: pct(0.99),
        cores,
        sign_us,
        verify_us,
        verify_batched_us,
        batch_signatures,
        signatures_per_tx,
        single_verifications_per_tx,
        batched_verifications_per_tx,
        txs_per_block,
        signature_cpu_us_per_tx: cpu_us,
        signature_bound_tx_per_s: bound,
        fraction_of_bound: tps / bound,
        batched_signature_cpu_us_per_tx: batched_cpu_us,
        batched_signature_bound_tx_per_s: batched_bound,
        fraction_of_batched_bound: tps / batched_bound,
        peak_rss_mb,
        cpu_ms_per_tx,
    })
}
