//! `arcanum demo`: the whole story on a fresh network of separate processes — deploys, transfers
//! under an AND policy across organisations, every rejection path with its stable code, and a
//! state-root comparison across all peers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arcanum_msp::{BlockSettings, DevnetSpec};
use arcanum_sdk::{Client, SdkError, Signer};
use arcanum_types::{Block, TxAction, decode, encode, limits};
use serde::Serialize;

use crate::network::{Network, attested, eventually, free_port_range, generate, node_count};

/// The asset contract's endorsement policy: both organisations must endorse.
pub const ASSET_POLICY: &str = "AND('Org1.peer','Org2.peer')";

#[derive(Serialize)]
struct Step {
    step: String,
    detail: String,
}

#[derive(Serialize)]
struct Rejection {
    case: String,
    expected: String,
    got: String,
    ok: bool,
}

#[derive(Serialize)]
struct PeerRoot {
    node: String,
    height: u64,
    state_root: String,
}

#[derive(Serialize)]
struct Report {
    dir: PathBuf,
    attestations: Vec<serde_json::Value>,
    processes: Vec<String>,
    steps: Vec<Step>,
    rejections: Vec<Rejection>,
    state_roots: Vec<PeerRoot>,
    consistent: bool,
    ok: bool,
    seconds: f64,
}

pub(crate) struct Story {
    steps: Vec<Step>,
    rejections: Vec<Rejection>,
    json: bool,
}

impl Story {
    pub(crate) fn step(&mut self, step: &str, detail: impl Into<String>) {
        let detail = detail.into();
        if !self.json {
            println!("  ✓ {step}: {detail}");
        }
        self.steps.push(Step {
            step: step.into(),
            detail,
        });
    }

    pub(crate) fn expect_code(
        &mut self,
        case: &str,
        expected: &str,
        got: Result<String, SdkError>,
    ) {
        let got = match got {
            Ok(status) => status,
            Err(e) => e.code().as_str().to_owned(),
        };
        let ok = got == expected;
        if !self.json {
            println!(
                "  {} {case}: rejected with {got}",
                if ok { "✓" } else { "✗" }
            );
        }
        self.rejections.push(Rejection {
            case: case.into(),
            expected: expected.into(),
            got,
            ok,
        });
    }
}

pub async fn run(dir: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let tmp;
    let dir = match dir {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    // Short block timeout: the story submits one transaction at a time.
    let probe = attested(DevnetSpec {
        block: BlockSettings {
            timeout_ms: 20,
            ..BlockSettings::default()
        },
        ..DevnetSpec::default()
    })?;
    // The off-chain chapter: three TEE nodes and an oracle relay; the TEE nodes trust the root
    // of a local HTTPS data source.
    let (data_source, data_root) = crate::demo_offchain::data_source(&dir)?;
    let probe = crate::network::with_cluster(probe, 3, true, &[data_root])?;
    let spec = DevnetSpec {
        base_port: free_port_range(node_count(&probe))?,
        ..probe
    };
    let layout = generate(&dir, &spec)?;
    if !json {
        println!(
            "Arcanum demo: starting {} node processes on loopback ({})",
            layout.nodes.len(),
            dir.display()
        );
    }
    let mut net = Network::start(layout).await?;
    let processes: Vec<String> = net
        .layout
        .nodes
        .iter()
        .map(|n| format!("{} ({}) {}", n.name, n.role.as_str(), n.url))
        .collect();
    if !json {
        for p in &processes {
            println!("    {p}");
        }
    }
    let mut story = Story {
        steps: Vec::new(),
        rejections: Vec::new(),
        json,
    };

    // Each endorsement device's enclave was attested before it could endorse.
    let attestation_url = net
        .layout
        .nodes
        .iter()
        .find(|n| n.role == arcanum_msp::NodeRole::Attestation)
        .map(|n| n.url.clone());
    let mut attestations = Vec::new();
    for node in net
        .layout
        .nodes
        .iter()
        .filter(|n| n.role == arcanum_msp::NodeRole::Endorser)
    {
        let summary = Client::new(node.url.clone()).attestation_summary().await?;
        story.step(
            &format!("attest {}", node.name),
            format!(
                "{} enclave, measurement {}…, TCB {}, secure {}, {} keys bound",
                summary["platform"].as_str().unwrap_or("?"),
                &summary["measurement"]
                    .as_str()
                    .unwrap_or("?")
                    .chars()
                    .take(16)
                    .collect::<String>(),
                summary["tcb_status"].as_str().unwrap_or("?"),
                summary["is_secure"],
                summary["bound_keys"].as_array().map(Vec::len).unwrap_or(0),
            ),
        );
        attestations.push(summary);
    }
    // The client checks each device's signed report itself, against the consortium's
    // attestation service key; a report checked against any other issuer is refused.
    let consortium =
        arcanum_msp::Consortium::load(&net.layout.consortium, arcanum_server::now_unix())?;
    if let Some(service) = consortium.attestation() {
        let now = arcanum_server::now_unix();
        for node in net
            .layout
            .nodes
            .iter()
            .filter(|n| n.role == arcanum_msp::NodeRole::Endorser)
        {
            let device = Client::new(node.url.clone());
            let report = device
                .verified_attestation(&service.member.public_key, now, None)
                .await?;
            let foreign = arcanum_crypto::SigningKey::generate(
                arcanum_crypto::Algorithm::Ed25519,
                &mut rand::rngs::OsRng,
            )?
            .public_key();
            let refused = device
                .verified_attestation(&foreign, now, None)
                .await
                .map(|_| "accepted".to_owned());
            story.step(
                &format!("verify {}'s report", node.name),
                format!(
                    "issuer and signature good, expires in {} s",
                    report.expires_at.saturating_sub(now)
                ),
            );
            story.expect_code(
                &format!("{}'s report checked against a foreign issuer", node.name),
                "REPORT_INVALID",
                refused,
            );
        }
    }
    if let Some(url) = attestation_url {
        let verdicts = Client::new(url).attestation_verdicts().await?;
        let accepted = verdicts.iter().filter(|v| v.accepted).count();
        story.step("attestation service", format!("{accepted} of {} evidence submissions accepted (simulation allowed by the devnet policy)", verdicts.len()));
    }
    let gateway = Client::new(net.management_url());
    let admin = Signer::from_devnet(&dir, "admin.org1")?;
    let alice = std::sync::Arc::new(Signer::from_devnet(&dir, "client0.org1")?);
    let bob = Signer::from_devnet(&dir, "client0.org2")?;

    // Deploy both contracts.
    for (name, wasm, policy) in [
        (
            "kv",
            arcanum_contracts::KV_WASM,
            "OR('Org1.peer','Org2.peer')",
        ),
        ("asset", arcanum_contracts::ASSET_WASM, ASSET_POLICY),
    ] {
        let tx = admin.sign(TxAction::Deploy {
            contract: name.into(),
            wasm: wasm.to_vec(),
            policy: policy.into(),
        });
        let out = gateway
            .execute(&tx, true)
            .await
            .with_context(|| format!("deploying {name}"))?;
        expect_valid(&out.status, &format!("deploy {name}"))?;
        story.step(
            &format!("deploy {name}"),
            format!("policy {policy}, block {}", out.block.unwrap_or(0)),
        );
    }
    let out = gateway
        .execute(&alice.invoke("kv", "put", &["greeting", "hello"]), true)
        .await?;
    expect_valid(&out.status, "kv put")?;
    let q = gateway
        .query(&alice.invoke("kv", "get", &["greeting"]))
        .await?;
    story.step(
        "kv put/get",
        format!("greeting = {:?}", q.result.unwrap_or_default()),
    );

    // Accounts and transfers under the AND policy.
    for (who, account, amount) in [(alice.as_ref(), "alice", "1000"), (&bob, "bob", "0")] {
        let out = gateway
            .execute(&who.invoke("asset", "create", &[account, amount]), true)
            .await?;
        expect_valid(&out.status, "asset create")?;
    }
    story.step(
        "create accounts",
        "alice = 1000 (Org1 client), bob = 0 (Org2 client)",
    );
    let transfers = 20;
    let mut outcomes = Vec::new();
    for _ in 0..transfers {
        let tx = alice.invoke("asset", "transfer", &["alice", "bob", "10"]);
        outcomes.push(gateway.execute(&tx, true).await?);
    }
    let valid = outcomes.iter().filter(|o| o.status == "VALID").count();
    if valid != transfers {
        bail!("only {valid} of {transfers} transfers were valid");
    }
    let balance = gateway
        .query(&alice.invoke("asset", "balance", &["bob"]))
        .await?;
    story.step(
        "transfers",
        format!(
            "{transfers} × 10 alice → bob, each endorsed by Org1 and Org2 peers; bob = {}",
            balance.result.unwrap_or_default()
        ),
    );

    // L7: rotate the endorsing Org1 peer's hosted key by a signed admin transaction; the next
    // transfer is endorsed under the new key, generated inside its endorsement enclave.
    let last = gateway.block_json(gateway.height().await?.height).await?;
    let peer = last.txs[0]
        .endorsers
        .iter()
        .find_map(|e| e.strip_prefix("Org1."))
        .context("no Org1 endorsement")?
        .to_owned();
    let endorsers = net
        .layout
        .nodes
        .iter()
        .filter(|n| n.role == arcanum_msp::NodeRole::Endorser)
        .map(|n| Client::new(n.url.clone()));
    let rotated = crate::client_cmds::rotate_key(&gateway, &admin, endorsers, &peer).await?;
    expect_valid(&rotated.status, "key rotation")?;
    let after = gateway
        .execute(
            &alice.invoke("asset", "transfer", &["alice", "bob", "1"]),
            true,
        )
        .await?;
    expect_valid(&after.status, "transfer after the key rotation")?;
    story.step(
        "rotate a hosted key",
        format!("{peer}'s key regenerated in its enclave, rotated by admin.org1 (block {}); the next transfer commits VALID under it", rotated.block.unwrap_or(0)),
    );

    // Rejections, each with its stable code.
    let outsider = Signer::from_devnet(&dir, "unlisted.org1")?;
    let r = gateway
        .execute(&outsider.invoke("asset", "balance", &["bob"]), true)
        .await
        .map(|o| o.status);
    story.expect_code("unlisted client", "CLIENT_NOT_ALLOWED", r);

    let mut forged = alice.invoke("asset", "transfer", &["alice", "bob", "1"]);
    if let Some(b) = forged.signature.0.first_mut() {
        *b ^= 0x01;
    }
    let r = gateway.execute(&forged, true).await.map(|o| o.status);
    story.expect_code("bad client signature", "BAD_CLIENT_SIGNATURE", r);

    let once = alice.invoke("asset", "transfer", &["alice", "bob", "1"]);
    expect_valid(
        &gateway.execute(&once, true).await?.status,
        "transfer before replay",
    )?;
    let r = gateway.execute(&once, true).await.map(|o| o.status);
    story.expect_code("replayed transaction", "DUPLICATE_TX", r);

    let guarded = admin.sign(TxAction::Deploy {
        contract: "guarded".into(),
        wasm: arcanum_contracts::KV_WASM.to_vec(),
        policy: "AND('Org1.peer','Org2.admin')".into(),
    });
    expect_valid(
        &gateway.execute(&guarded, true).await?.status,
        "deploy guarded",
    )?;
    let r = gateway
        .execute(&alice.invoke("guarded", "put", &["k", "v"]), true)
        .await
        .map(|o| o.status);
    story.expect_code(
        "policy not satisfied (needs an Org2 admin endorsement)",
        "POLICY_NOT_SATISFIED",
        r,
    );

    // Two transfers endorsed against the same state; the second to commit conflicts.
    let first = gateway
        .endorse(&alice.invoke("asset", "transfer", &["alice", "bob", "5"]))
        .await?;
    let second = gateway
        .endorse(&alice.invoke("asset", "transfer", &["alice", "bob", "7"]))
        .await?;
    expect_valid(
        &gateway.submit(&first, true).await?.status,
        "first of two concurrent transfers",
    )?;
    let r = gateway.submit(&second, true).await.map(|o| o.status);
    story.expect_code("MVCC read conflict", "MVCC_READ_CONFLICT", r);

    // A tampered block delivered straight to a peer.
    let peers = net.peers();
    let peer0 = Client::new(net.url(&peers[0])?);
    let height = gateway.height().await?.height;
    let mut block: Block = decode(
        &encode(&gateway.block(height).await?),
        limits::MAX_BLOCK_BYTES,
    )?;
    if let Some(tx) = block.txs.first_mut() {
        tx.tx.payload.nonce ^= 1;
    }
    let r = peer0
        .deliver_block(encode(&block))
        .await
        .map(|a| format!("accepted at {}", a.height));
    story.expect_code("tampered block sent to a peer", "BLOCK_TX_ROOT_MISMATCH", r);

    // Off-chain: cluster, encrypted deployment, oracle callback, receipts.
    crate::demo_offchain::run(&net, &mut story, &data_source.url(""), &admin, &alice).await?;

    // A peer killed (SIGKILL) while blocks are flowing restarts and catches up.
    let victim = peers.last().cloned().context("no peers")?;
    let start_height = gateway.height().await?.height;
    let load = {
        let (gateway, alice) = (gateway.clone(), alice.clone());
        tokio::spawn(async move {
            let mut valid = 0;
            for _ in 0..30 {
                if let Ok(o) = gateway
                    .execute(
                        &alice.invoke("asset", "transfer", &["alice", "bob", "1"]),
                        true,
                    )
                    .await
                    && o.status == "VALID"
                {
                    valid += 1;
                }
            }
            valid
        })
    };
    wait_for_height(&gateway, start_height + 3, Duration::from_secs(20)).await?;
    net.kill(&victim)?;
    let valid = load.await?;
    net.restart(&victim).await?;
    story.step(
        "crash and restart",
        format!("{victim} killed with SIGKILL during a run of 30 transfers ({valid} valid), restarted, caught up"),
    );

    // Every peer converges on the same state.
    let target = gateway.height().await?.height;
    let mut state_roots = Vec::new();
    for name in std::iter::once(net.layout.nodes[0].name.clone()).chain(peers.iter().cloned()) {
        let client = Client::new(net.url(&name)?);
        wait_for_height(&client, target, Duration::from_secs(20))
            .await
            .with_context(|| format!("{name} did not catch up"))?;
        let root = client.state_root().await?;
        state_roots.push(PeerRoot {
            node: name,
            height: root.height,
            state_root: root.state_root,
        });
    }
    let consistent = state_roots
        .windows(2)
        .all(|w| w[0].state_root == w[1].state_root && w[0].height == w[1].height);
    if !json {
        println!("  state roots at height {target}:");
        for r in &state_roots {
            println!("    {:<14} {}", r.node, r.state_root);
        }
        println!("  {} all nodes agree", if consistent { "✓" } else { "✗" });
    }
    let ok = consistent && story.rejections.iter().all(|r| r.ok);
    let report = Report {
        dir: dir.clone(),
        attestations,
        processes,
        steps: story.steps,
        rejections: story.rejections,
        state_roots,
        consistent,
        ok,
        seconds: started.elapsed().as_secs_f64(),
    };
    if json {
        crate::output::print_json(&report);
    } else {
        println!(
            "demo {} in {:.1} s",
            if ok { "passed" } else { "FAILED" },
            report.seconds
        );
    }
    drop(net);
    if !ok {
        bail!("the demo's checks failed");
    }
    Ok(())
}

pub(crate) fn expect_valid(status: &str, what: &str) -> anyhow::Result<()> {
    if status != "VALID" {
        bail!("{what}: expected VALID, got {status}");
    }
    Ok(())
}

/// Waits until a node's height reaches `target`.
pub async fn wait_for_height(client: &Client, target: u64, within: Duration) -> anyhow::Result<()> {
    eventually(&format!("height {target}"), within, || async {
        Ok(client
            .height()
            .await
            .ok()
            .filter(|h| h.height >= target)
            .map(|_| ()))
    })
    .await
}
