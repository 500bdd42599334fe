//! Running networks of separate node processes on loopback: `arcanum node`, `arcanum devnet`, and
//! the process orchestration that `demo` and `bench` share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_msp::{DevnetLayout, DevnetSpec, EndorsementMode, NodeConfig};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Generate CAs, certificates, encrypted keys, the consortium config and one config per node.
    Init {
        #[arg(long, default_value = "arcanum-devnet")]
        dir: PathBuf,
        /// First of the consecutive loopback ports (default: a free range).
        #[arg(long)]
        base_port: Option<u16>,
        /// partitioned | replicated
        #[arg(long, default_value = "partitioned")]
        mode: String,
        /// ed25519 | p256 | rsa2048
        #[arg(long, default_value = "ed25519")]
        algorithm: String,
        /// TEE nodes of the off-chain cluster (`tee0` creates it, the others join).
        #[arg(long, default_value_t = 0)]
        tee_nodes: usize,
        /// An oracle relay between the chain and the first TEE node.
        #[arg(long)]
        oracle: bool,
        /// Root certificates (PEM or DER) the TEE nodes' in-enclave HTTPS trusts; repeatable.
        #[arg(long = "tls-root")]
        tls_roots: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run the devnet in DIR (generating it first if needed) until interrupted; writes the
    /// endpoints to DIR/endpoints.json.
    Up {
        #[arg(long, default_value = "arcanum-devnet")]
        dir: PathBuf,
    },
}

/// `arcanum node --config FILE`: one role until SIGINT/SIGTERM.
pub async fn run_node(config: &Path) -> anyhow::Result<()> {
    let config =
        NodeConfig::load(config).with_context(|| format!("loading {}", config.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    arcanum_server::run(config, listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Enclave binary `name` beside this one, and its measurement on the simulation platform (the
/// hash of the binary).
pub fn measured_enclave(name: &str) -> anyhow::Result<(PathBuf, String)> {
    let binary = arcanum_enclave_host::beside_running_binary(name)
        .context("build it with `cargo build --release --bins`")?;
    let measurement = arcanum_crypto::sha256(&std::fs::read(&binary)?).to_hex();
    Ok((binary, measurement))
}

/// `spec` with an off-chain cluster of `tee_nodes` TEE nodes (none: `spec` unchanged), an
/// oracle relay if asked, and the roots their in-enclave HTTPS trusts. Members accept only the
/// measurement of our cluster enclave binary.
pub fn with_cluster(
    spec: DevnetSpec,
    tee_nodes: usize,
    oracle: bool,
    tls_roots: &[PathBuf],
) -> anyhow::Result<DevnetSpec> {
    if tee_nodes == 0 {
        return Ok(spec);
    }
    let (binary, measurement) = measured_enclave(arcanum_enclave_host::CLUSTER_ENCLAVE_BINARY)?;
    let tls_roots = tls_roots
        .iter()
        .map(|p| std::path::absolute(p).with_context(|| p.display().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(DevnetSpec {
        tee_nodes,
        oracle,
        cluster_measurements: vec![measurement],
        cluster_enclave_binary: Some(binary),
        tls_roots,
        ..spec
    })
}

/// A devnet spec whose endorsement enclaves must be attested: the attestation service accepts
/// the simulation (this machine has no TEE) and only the measurement of our enclave binary.
pub fn attested(spec: DevnetSpec) -> anyhow::Result<DevnetSpec> {
    let (binary, measurement) = measured_enclave(arcanum_enclave_host::ENDORSEMENT_ENCLAVE_BINARY)?;
    Ok(DevnetSpec {
        attestation: Some(arcanum_msp::DevnetAttestation {
            allow_simulation: true,
            endorser_measurements: vec![measurement],
        }),
        enclave_binary: Some(binary),
        ..spec
    })
}

pub fn parse_spec(mode: &str, algorithm: &str, base_port: u16) -> anyhow::Result<DevnetSpec> {
    let mode = match mode {
        "partitioned" => EndorsementMode::Partitioned,
        "replicated" => EndorsementMode::Replicated,
        other => bail!("unknown mode {other:?} (partitioned | replicated)"),
    };
    let algorithm = match algorithm {
        "ed25519" => arcanum_crypto::Algorithm::Ed25519,
        "p256" => arcanum_crypto::Algorithm::P256,
        "rsa2048" => arcanum_crypto::Algorithm::Rsa2048,
        other => bail!("unknown algorithm {other:?} (ed25519 | p256 | rsa2048)"),
    };
    attested(DevnetSpec {
        mode,
        algorithm,
        base_port,
        ..DevnetSpec::default()
    })
}

pub use arcanum_server::free_port_range;

/// Generates a devnet into `dir`.
pub fn generate(dir: &Path, spec: &DevnetSpec) -> anyhow::Result<DevnetLayout> {
    let layout = arcanum_msp::generate_devnet(
        dir,
        spec,
        arcanum_server::now_unix(),
        &mut rand::rngs::OsRng,
    )
    .with_context(|| format!("generating the devnet in {}", dir.display()))?;
    Ok(layout)
}

/// Nodes in a devnet spec: management, endorsers, peers.
pub fn node_count(spec: &DevnetSpec) -> u16 {
    (1 + spec.endorsers
        + spec.orgs.len() * spec.peers_per_org
        + usize::from(spec.attestation.is_some())
        + spec.tee_nodes
        + usize::from(spec.oracle)) as u16
}

/// A running network of node processes. Dropping it kills them.
pub struct Network {
    pub layout: DevnetLayout,
    exe: PathBuf,
    children: Vec<(String, Child)>,
}

impl Network {
    /// Starts every node of `layout` as a separate process and waits until each answers
    /// `/healthz`.
    pub async fn start(layout: DevnetLayout) -> anyhow::Result<Network> {
        Network::start_without(layout, None).await
    }

    /// Like [`Network::start`], leaving out the nodes of one role.
    pub async fn start_without(
        layout: DevnetLayout,
        skip: Option<arcanum_msp::NodeRole>,
    ) -> anyhow::Result<Network> {
        let exe = std::env::current_exe().context("locating the arcanum binary")?;
        let mut net = Network {
            layout,
            exe,
            children: Vec::new(),
        };
        let names: Vec<String> = net
            .layout
            .nodes
            .iter()
            .filter(|n| Some(n.role) != skip)
            .map(|n| n.name.clone())
            .collect();
        for name in &names {
            net.spawn(name)?;
        }
        // TEE nodes answer once attested and in the cluster (joiners wait for the first).
        for name in &names {
            net.wait_healthy(name, Duration::from_secs(60)).await?;
        }
        net.wait_attested(Duration::from_secs(30)).await?;
        Ok(net)
    }

    fn spawn(&mut self, name: &str) -> anyhow::Result<()> {
        let node = self
            .layout
            .node(name)
            .with_context(|| format!("no node {name}"))?;
        let logs = self.layout.dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{name}.log")))?;
        let child = Command::new(&self.exe)
            .arg("node")
            .arg("--config")
            .arg(&node.config)
            .env(
                "ARCANUM_LOG",
                std::env::var("ARCANUM_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting node {name}"))?;
        self.children.push((name.to_owned(), child));
        Ok(())
    }

    /// Polls `/healthz` until it answers or `deadline` passes (a readiness probe of a real
    /// process; it fails fast if the process exited).
    pub async fn wait_healthy(&mut self, name: &str, within: Duration) -> anyhow::Result<()> {
        let url = self.url(name)?;
        let client = arcanum_sdk::Client::new(url);
        let start = Instant::now();
        loop {
            if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name)
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "node {name} exited with {status}; see {}",
                    self.log_path(name).display()
                );
            }
            if client.healthy().await {
                return Ok(());
            }
            if start.elapsed() > within {
                bail!(
                    "node {name} did not become healthy; see {}",
                    self.log_path(name).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// When the consortium requires attestation, waits until every endorsement device holds a
    /// report from the attestation service.
    async fn wait_attested(&mut self, within: Duration) -> anyhow::Result<()> {
        if !self
            .layout
            .nodes
            .iter()
            .any(|n| n.role == arcanum_msp::NodeRole::Attestation)
        {
            return Ok(());
        }
        let endorsers: Vec<String> = self
            .layout
            .nodes
            .iter()
            .filter(|n| n.role == arcanum_msp::NodeRole::Endorser)
            .map(|n| n.name.clone())
            .collect();
        let start = Instant::now();
        for name in endorsers {
            let client = arcanum_sdk::Client::new(self.url(&name)?);
            let what = format!("{name} attested (see {})", self.log_path(&name).display());
            eventually(&what, within.saturating_sub(start.elapsed()), || async {
                Ok(client.attestation_summary().await.ok())
            })
            .await?;
        }
        Ok(())
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.layout.dir.join("logs").join(format!("{name}.log"))
    }

    pub fn url(&self, name: &str) -> anyhow::Result<String> {
        Ok(self
            .layout
            .node(name)
            .with_context(|| format!("no node {name}"))?
            .url
            .clone())
    }

    pub fn management_url(&self) -> String {
        self.layout.nodes[0].url.clone()
    }

    /// Peer names in layout order.
    pub fn peers(&self) -> Vec<String> {
        self.layout
            .nodes
            .iter()
            .filter(|n| n.role == arcanum_msp::NodeRole::Peer)
            .map(|n| n.name.clone())
            .collect()
    }

    /// Kills one node at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let i = self
            .children
            .iter()
            .position(|(n, _)| n == name)
            .with_context(|| format!("no process {name}"))?;
        let (_, mut child) = self.children.remove(i);
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Restarts a killed node and waits until it is healthy.
    pub async fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        self.spawn(name)?;
        self.wait_healthy(name, Duration::from_secs(30)).await
    }

    /// CPU seconds (user + system) each node process has used so far, from /proc.
    pub fn cpu_seconds(&self) -> Vec<(String, f64)> {
        // Clock ticks per second: 100 on Linux for /proc/<pid>/stat.
        const TICKS: f64 = 100.0;
        self.children
            .iter()
            .filter_map(|(name, child)| {
                let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).ok()?;
                // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let utime: f64 = fields.get(11)?.parse().ok()?;
                let stime: f64 = fields.get(12)?.parse().ok()?;
                Some((name.clone(), (utime + stime) / TICKS))
            })
            .collect()
    }

    /// Peak resident set size (MiB) of each node process, from /proc.
    pub fn peak_rss_mb(&self) -> Vec<(String, f64)> {
        self.children
            .iter()
            .filter_map(|(name, child)| {
                let status =
                    std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
                let kb: f64 = status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                Some((name.clone(), kb / 1024.0))
            })
            .collect()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `arcanum devnet ...`
pub async fn devnet(cmd: DevnetCommand) -> anyhow::Result<()> {
    match cmd {
        DevnetCommand::Init {
            dir,
            base_port,
            mode,
            algorithm,
            tee_nodes,
            oracle,
            tls_roots,
            json,
        } => {
            let probe = with_cluster(
                parse_spec(&mode, &algorithm, 0)?,
                tee_nodes,
                oracle,
                &tls_roots,
            )?;
            let base = match base_port {
                Some(p) => p,
                None => free_port_range(node_count(&probe))?,
            };
            let spec = with_cluster(
                parse_spec(&mode, &algorithm, base)?,
                tee_nodes,
                oracle,
                &tls_roots,
            )?;
            let layout = generate(&dir, &spec)?;
            if json {
                crate::output::print_json(&layout);
            } else {
                println!("devnet generated in {}", layout.dir.display());
                for n in &layout.nodes {
                    println!("  {:<14} {:<11} {}", n.name, n.role.as_str(), n.url);
                }
            }
            Ok(())
        }
        DevnetCommand::Up { dir } => {
            let layout = match DevnetLayout::load(&dir) {
                Ok(l) => l,
                Err(_) => {
                    let probe = attested(DevnetSpec::default())?;
                    let base = free_port_range(node_count(&probe))?;
                    generate(
                        &dir,
                        &DevnetSpec {
                            base_port: base,
                            ..probe
                        },
                    )?
                }
            };
            let net = Network::start(layout).await?;
            let endpoints = serde_json::json!({
                "dir": net.layout.dir,
                "management": net.management_url(),
                "nodes": net.layout.nodes.iter().map(|n| serde_json::json!({"name": n.name, "role": n.role.as_str(), "url": n.url})).collect::<Vec<_>>(),
                "clients": net.layout.clients.iter().map(|c| serde_json::json!({"name": c.name, "allowed": c.allowed})).collect::<Vec<_>>(),
            });
            let path = net.layout.dir.join("endpoints.json");
            std::fs::write(&path, serde_json::to_vec_pretty(&endpoints)?)?;
            println!(
                "devnet up; endpoints in {}. Ctrl-C stops it.",
                path.display()
            );
            shutdown_signal().await;
            drop(net);
            Ok(())
        }
    }
}

/// Polls `f` until it answers `Some`, within `within`: a convergence wait on real processes (a
/// node's height, an attestation, a registration on chain). An error from `f` ends the wait.
pub(crate) async fn eventually<T, F: Future<Output = anyhow::Result<Option<T>>>>(
    what: &str,
    within: Duration,
    mut f: impl FnMut() -> F,
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if start.elapsed() > within {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
