//! `arcanum bench`: load drivers that report JSON. `bench e2e` runs the devnet layout (1
//! management device, 2 endorsement devices, 4 peers in 2 organisations, separate processes)
//! with the asset-transfer contract under an AND policy, drives it with concurrent clients, and
//! reports committed throughput, submit-to-commit latency and the signature bound.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_crypto::{Algorithm, SigningKey, domain};
use arcanum_msp::{BlockSettings, DevnetSpec};
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
        /// Measured seconds (after a warm-up).
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Concurrent clients, each waiting for its transaction's commit before the next.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long)]
        json: bool,
    },
    /// Host↔enclave ring buffers against a Unix socket and memcpy (SPEC §5).
    Ring {
        /// Seconds per measured case.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
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

#[derive(Serialize)]
struct E2eReport {
    flow: &'static str,
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
    verify_us: f64,
    signatures_per_tx: u32,
    verifications_per_tx: u32,
    signature_cpu_us_per_tx: f64,
    signature_bound_tx_per_s: f64,
    fraction_of_bound: f64,
    peak_rss_mb: f64,
    /// CPU milliseconds per committed transaction, by node process (the profile by role).
    cpu_ms_per_tx: std::collections::BTreeMap<String, f64>,
}

pub async fn run(cmd: BenchCommand) -> ExitCode {
    match cmd {
        BenchCommand::E2e {
            duration,
            clients,
            json,
        } => match e2e(Duration::from_secs(duration), clients.max(1), json).await {
            Ok(report) => {
                crate::output::print_json(&report);
                ExitCode::SUCCESS
            }
            Err(e) => crate::output::finish(Err(e), json),
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

/// Median time of one operation, in microseconds.
fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// Per-operation Ed25519 costs on this machine, measured in this run.
fn signature_costs() -> (f64, f64) {
    let key = match SigningKey::generate(Algorithm::Ed25519, &mut rand::rngs::OsRng) {
        Ok(k) => k,
        Err(_) => return (f64::NAN, f64::NAN),
    };
    let pk = key.public_key();
    let msg = [7u8; 32];
    let mut sign = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let mut sig = None;
        for _ in 0..200 {
            sig = Some(key.sign(domain::TX_SIGNATURE, &msg));
        }
        sign.push(t.elapsed() / 200);
        let Some(sig) = sig else { continue };
        let t = Instant::now();
        for _ in 0..200 {
            let _ = pk.verify(domain::TX_SIGNATURE, &msg, &sig);
        }
        verify.push(t.elapsed() / 200);
    }
    (median_us(sign), median_us(verify))
}

async fn e2e(duration: Duration, clients: usize, json: bool) -> anyhow::Result<E2eReport> {
    // Measured first, on a quiet machine, for the signature bound.
    let (sign_us, verify_us) = signature_costs();
    let dir = tempfile::tempdir()?;
    let probe = attested(DevnetSpec {
        block: BlockSettings {
            max_txs: 500,
            max_bytes: 8 * 1024 * 1024,
            timeout_ms: 10,
        },
        ..DevnetSpec::default()
    })?;
    let spec = DevnetSpec {
        base_port: free_port_range(node_count(&probe))?,
        ..probe
    };
    let layout = generate(dir.path(), &spec)?;
    let net = Network::start(layout).await?;
    let gateway = Client::new(net.management_url());
    let admin = Signer::from_devnet(dir.path(), "admin.org1")?;
    let alice = Arc::new(Signer::from_devnet(dir.path(), "client0.org1")?);
    let deploy = admin.sign(TxAction::Deploy {
        contract: "asset".into(),
        wasm: arcanum_contracts::ASSET_WASM.to_vec(),
        policy: ASSET_POLICY.into(),
    });
    let out = gateway
        .execute(&deploy, true)
        .await
        .context("deploying asset")?;
    if out.status != "VALID" {
        bail!("deploy failed: {}", out.status);
    }
    // A source and a destination account per client, so clients never conflict with each other.
    let setup = futures::future::join_all(
        (0..clients)
            .flat_map(|w| [(format!("src{w}"), "1000000000"), (format!("dst{w}"), "0")])
            .map(|(account, amount)| {
                let gateway = gateway.clone();
                let alice = alice.clone();
                async move {
                    gateway
                        .execute(&alice.invoke("asset", "create", &[&account, amount]), true)
                        .await
                }
            }),
    )
    .await;
    for r in setup {
        let o = r?;
        if o.status != "VALID" {
            bail!("account setup failed: {}", o.status);
        }
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
            let (gateway, alice) = (gateway.clone(), alice.clone());
            let (measuring, stop) = (measuring.clone(), stop.clone());
            let (committed, invalid, failed) = (committed.clone(), invalid.clone(), failed.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (from, to) = (format!("src{w}"), format!("dst{w}"));
                while !stop.load(Ordering::Relaxed) {
                    let tx = alice.invoke("asset", "transfer", &[&from, &to, "1"]);
                    let t = Instant::now();
                    let r = gateway.execute(&tx, true).await;
                    if !measuring.load(Ordering::Relaxed) {
                        continue;
                    }
                    match r {
                        Ok(o) if o.status == "VALID" => {
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
    stop.store(true, Ordering::Relaxed);
    let cpu_after = net.cpu_seconds();
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

    // Signature work per transaction under AND(Org1, Org2): the client signs once and each of the
    // two peers' hosted keys once (inside the enclaves). Each endorsement device asked (one per
    // organisation here, partitioned keys) verifies the client signature twice: its host before
    // simulating, its enclave before signing. The management device verifies both endorsements;
    // every peer verifies the client signature and both endorsements. Ledgers in the management
    // network trust the block signature (SignatureTrust::TrustOrderer). Block signatures are
    // amortised over a block and left out; enclave processes' CPU is not in `cpu_ms_per_tx`.
    let endorsements = 2u32;
    let validators = net.peers().len() as u32;
    let signatures_per_tx = 1 + endorsements;
    let verifications_per_tx = 2 * endorsements + endorsements + validators * (1 + endorsements);
    let cpu_us = signatures_per_tx as f64 * sign_us + verifications_per_tx as f64 * verify_us;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let bound = cores as f64 / (cpu_us / 1e6);
    drop(net);
    Ok(E2eReport {
        flow: "hosted",
        peers: spec.orgs.len() * spec.peers_per_org,
        endorsers: spec.endorsers,
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
        signatures_per_tx,
        verifications_per_tx,
        signature_cpu_us_per_tx: cpu_us,
        signature_bound_tx_per_s: bound,
        fraction_of_bound: tps / bound,
        peak_rss_mb,
        cpu_ms_per_tx,
    })
}
