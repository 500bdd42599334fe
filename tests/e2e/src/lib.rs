//! An in-process harness for multi-node scenarios: it generates a devnet, binds every node's
//! listener on loopback and runs each role with `arcanum_server::run` on one tokio runtime, so
//! tests exercise the real HTTP API over real sockets without spawning processes. (The
//! multi-process story is tested through the `arcanum` binary in `crates/client/cli/tests`.)

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_msp::{DevnetLayout, DevnetSpec, NodeConfig, NodeRole};
use arcanum_sdk::{Client, Signer};
use futures::StreamExt;
use tokio::sync::watch;

/// A running in-process network. Dropping it shuts every node down.
pub struct Net {
    pub layout: DevnetLayout,
    _dir: tempfile::TempDir,
    shutdown: watch::Sender<bool>,
}

impl Net {
    /// Generates a devnet from `spec` (ports chosen here) and starts all its nodes.
    pub async fn start(spec: DevnetSpec) -> anyhow::Result<Net> {
        let dir = tempfile::tempdir()?;
        let count = (1 + spec.endorsers + spec.orgs.len() * spec.peers_per_org) as u16;
        let spec = DevnetSpec {
            base_port: arcanum_server::free_port_range(count)?,
            ..spec
        };
        let layout = arcanum_msp::generate_devnet(
            dir.path(),
            &spec,
            arcanum_server::now_unix(),
            &mut rand::rngs::OsRng,
        )?;
        let (shutdown, _) = watch::channel(false);
        for node in &layout.nodes {
            let config = NodeConfig::load(&node.config)?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", node.name))?;
            let mut stop = shutdown.subscribe();
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
        let net = Net {
            layout,
            _dir: dir,
            shutdown,
        };
        for node in &net.layout.nodes {
            net.wait_healthy(&node.url, Duration::from_secs(20)).await?;
        }
        Ok(net)
    }

    async fn wait_healthy(&self, url: &str, within: Duration) -> anyhow::Result<()> {
        let client = Client::new(url);
        let start = Instant::now();
        while !client.healthy().await {
            if start.elapsed() > within {
                bail!("{url} did not become healthy");
            }
            tokio::task::yield_now().await;
        }
        Ok(())
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.layout.dir
    }

    /// The management device's API.
    pub fn gateway(&self) -> Client {
        Client::new(self.layout.nodes[0].url.clone())
    }

    pub fn peers(&self) -> Vec<Client> {
        self.layout
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::Peer)
            .map(|n| Client::new(n.url.clone()))
            .collect()
    }

    pub fn signer(&self, name: &str) -> anyhow::Result<Signer> {
        Ok(Signer::from_devnet(self.dir(), name)?)
    }

    /// Waits until every peer has committed block `height`, on each peer's event stream.
    pub async fn converge(&self, height: u64, within: Duration) -> anyhow::Result<()> {
        for peer in self.peers() {
            let events = peer.events(height).await?;
            let mut events = std::pin::pin!(events);
            let reached = tokio::time::timeout(within, async {
                while let Some(e) = events.next().await {
                    if e?.block >= height {
                        return Ok(());
                    }
                }
                bail!("event stream ended")
            })
            .await;
            match reached {
                Ok(r) => r?,
                Err(_) => bail!("{} did not reach height {height}", peer.base_url()),
            }
        }
        Ok(())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}
