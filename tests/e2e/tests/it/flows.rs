//! Whole flows: events, key algorithms, endorsement modes, forged blocks at every peer.

use std::time::Duration;

use arcanum_crypto::{Algorithm, domain};
use arcanum_e2e::Net;
use arcanum_msp::{DevnetSpec, EndorsementMode, NodeConfig, Selection};
use arcanum_types::{Block, BlockHeader, TxAction, encode, merkle_root};
use futures::StreamExt;

const AND: &str = "AND('Org1.peer','Org2.peer')";

async fn deploy_asset(net: &Net) {
    let admin = net.signer("admin.org1").expect("admin");
    let tx = admin.sign(TxAction::Deploy {
        contract: "asset".into(),
        wasm: arcanum_contracts::ASSET_WASM.to_vec(),
        policy: AND.into(),
    });
    let out = net.gateway().execute(&tx, true).await.expect("deploy");
    assert_eq!(out.status, "VALID");
}

/// Creates `from` with `amount` and `to` with 0, then transfers `n` × 1; returns the last height.
async fn transfers(net: &Net, n: usize) -> u64 {
    let alice = net.signer("client0.org1").expect("client");
    let gw = net.gateway();
    for (account, amount) in [("alice", "1000"), ("bob", "0")] {
        assert_eq!(
            gw.execute(&alice.invoke("asset", "create", &[account, amount]), true)
                .await
                .expect("create")
                .status,
            "VALID"
        );
    }
    let mut last = 0;
    for _ in 0..n {
        let out = gw
            .execute(
                &alice.invoke("asset", "transfer", &["alice", "bob", "1"]),
                true,
            )
            .await
            .expect("transfer");
        assert_eq!(out.status, "VALID");
        last = out.block.expect("block");
    }
    last
}

async fn assert_roots_agree(net: &Net, height: u64) {
    net.converge(height, Duration::from_secs(20))
        .await
        .expect("peers converge");
    let reference = net.gateway().state_root().await.expect("root");
    for peer in net.peers() {
        let root = peer.state_root().await.expect("root");
        assert_eq!(root, reference, "{} disagrees", peer.base_url());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_reports_each_commit_with_its_status() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    let peer = net.peers().remove(0);
    let events = peer.events(1).await.expect("subscribe");
    let mut events = std::pin::pin!(events);
    deploy_asset(&net).await;
    let alice = net.signer("client0.org1").expect("client");
    let out = net
        .gateway()
        .execute(&alice.invoke("asset", "create", &["alice", "5"]), true)
        .await
        .expect("create");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event");
        seen.push(e);
    }
    assert_eq!(seen[0].block, 1, "the deploy");
    assert_eq!(seen[1].tx_id, out.tx_id);
    assert_eq!(seen[1].status, "VALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_and_rsa_consortia_commit_and_agree() {
    for algorithm in [Algorithm::P256, Algorithm::Rsa2048] {
        let net = Net::start(DevnetSpec {
            algorithm,
            ..DevnetSpec::default()
        })
        .await
        .expect("net");
        deploy_asset(&net).await;
        let height = transfers(&net, 3).await;
        assert_roots_agree(&net, height).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_keys_with_a_round_robin_sequence() {
    let spec = DevnetSpec {
        mode: EndorsementMode::Replicated,
        selection: Selection::RoundRobin,
        sequence: vec![vec![0], vec![0, 1], vec![1]],
        ..DevnetSpec::default()
    };
    let net = Net::start(spec).await.expect("net");
    deploy_asset(&net).await;
    let height = transfers(&net, 6).await;
    assert_roots_agree(&net, height).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_keys_by_load() {
    let spec = DevnetSpec {
        mode: EndorsementMode::Replicated,
        selection: Selection::Load,
        ..DevnetSpec::default()
    };
    let net = Net::start(spec).await.expect("net");
    deploy_asset(&net).await;
    let height = transfers(&net, 4).await;
    assert_roots_agree(&net, height).await;
}

/// A block correctly signed by the management device, whose transaction carries a forged
/// endorsement, is committed by every peer with that transaction invalid and no state change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_endorsement_is_rejected_by_every_peer() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    deploy_asset(&net).await;
    let height = transfers(&net, 1).await;
    net.converge(height, Duration::from_secs(20))
        .await
        .expect("converge");
    let root_before = net.gateway().state_root().await.expect("root");

    // A genuine endorsed transfer, never submitted; then one endorsement forged.
    let alice = net.signer("client0.org1").expect("client");
    let mut etx = net
        .gateway()
        .endorse(&alice.invoke("asset", "transfer", &["alice", "bob", "100"]))
        .await
        .expect("endorse");
    etx.endorsements[0].signature.0[5] ^= 0x40;

    // The management device's own key signs the block: only the endorsement is wrong.
    let mgmt = NodeConfig::load(&net.layout.nodes[0].config).expect("config");
    let consortium = mgmt
        .load_consortium(arcanum_server::now_unix())
        .expect("consortium");
    let key = mgmt
        .load_own_key(&consortium, &mgmt.passphrase().expect("passphrase"))
        .expect("key");
    let tip = net.gateway().height().await.expect("height");
    let encoded = encode(&etx);
    let header = BlockHeader {
        height: tip.height + 1,
        prev_hash: arcanum_types::Hash::from_hex(&tip.block_hash).expect("hash"),
        tx_root: merkle_root([encoded.as_slice()]),
        tx_count: 1,
        // The transaction is invalid at every peer, so the state (and its root) stays as it is.
        state_root: arcanum_types::Hash::from_hex(
            &net.gateway().state_root().await.expect("root").state_root,
        )
        .expect("hash"),
        timestamp_ms: 0,
        orderer: consortium.management().id,
    };
    let signature = key.sign(domain::BLOCK_SIGNATURE, &header.hash().0);
    let block = Block {
        header,
        txs: vec![etx.clone()],
        signature,
    };
    let tx_id = etx.id().to_hex();
    for peer in net.peers() {
        let accepted = peer.deliver_block(encode(&block)).await.expect("delivered");
        assert_eq!(
            (accepted.valid, accepted.invalid),
            (0, 1),
            "{}",
            peer.base_url()
        );
        let status = peer.transaction(&tx_id).await.expect("receipt");
        assert_eq!(status.status, "BAD_ENDORSEMENT", "{}", peer.base_url());
        let root = peer.state_root().await.expect("root");
        assert_eq!(
            root.state_root,
            root_before.state_root,
            "no state change at {}",
            peer.base_url()
        );
        assert_eq!(root.height, tip.height + 1);
    }
}

/// SPEC L7: a peer's hosted key is regenerated in its enclave and rotated by an admin of its
/// organisation; endorsements then verify under the new key at every peer. An admin of another
/// organisation may not rotate it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_keys_rotate_by_admin_transaction() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    deploy_asset(&net).await;
    let height = transfers(&net, 1).await;
    let gw = net.gateway();
    // The Org1 peer that endorses transfers.
    let shown = gw.block_json(height).await.expect("block");
    let org1_peer = shown.txs[0]
        .endorsers
        .iter()
        .find_map(|e| e.strip_prefix("Org1."))
        .expect("an Org1 endorser")
        .to_owned();
    let endorsers: Vec<arcanum_sdk::Client> = net
        .layout
        .nodes
        .iter()
        .filter(|n| n.role == arcanum_msp::NodeRole::Endorser)
        .map(|n| arcanum_sdk::Client::new(n.url.clone()))
        .collect();
    let mut generated = None;
    for e in &endorsers {
        if let Ok(k) = e.generate_peer_key(&org1_peer).await {
            generated = Some(k);
        }
    }
    let (peer, public_key) = generated.expect("an endorser hosts the peer");

    let outsider = net.signer("admin.org2").expect("admin of Org2");
    let err = gw
        .execute(
            &outsider.sign(TxAction::RotateKey {
                peer,
                public_key: public_key.clone(),
            }),
            true,
        )
        .await
        .expect_err("refused");
    assert_eq!(err.code(), arcanum_types::ErrorCode::NotAdmin);

    let admin = net.signer("admin.org1").expect("admin of Org1");
    let rotated = gw
        .execute(
            &admin.sign(TxAction::RotateKey {
                peer,
                public_key: public_key.clone(),
            }),
            true,
        )
        .await
        .expect("rotation");
    assert_eq!(rotated.status, "VALID");

    // The next transfers are endorsed by the new key and valid everywhere.
    let alice = net.signer("client0.org1").expect("client");
    let mut last = 0;
    for _ in 0..3 {
        let out = gw
            .execute(
                &alice.invoke("asset", "transfer", &["alice", "bob", "1"]),
                true,
            )
            .await
            .expect("transfer");
        assert_eq!(out.status, "VALID");
        last = out.block.expect("block");
    }
    let block = gw.block(last).await.expect("block");
    let endorsement = block.txs[0]
        .endorsements
        .iter()
        .find(|e| e.endorser == peer)
        .expect("the rotated peer endorsed");
    let msg = block.txs[0].endorsement_message();
    assert!(
        public_key
            .verify(
                arcanum_crypto::domain::ENDORSEMENT,
                &msg,
                &endorsement.signature
            )
            .is_ok(),
        "signed by the rotated key"
    );
    assert_roots_agree(&net, last).await;
}

/// The Fabric-style flow (SPEC §5 comparison): peers hold their own keys and endorse; the client
/// collects the endorsements, has them ordered, and the blocks validate exactly as in the hosted
/// flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fabric_flow_peers_endorse_with_their_own_keys() {
    let spec = DevnetSpec {
        flow: arcanum_msp::Flow::Fabric,
        ..DevnetSpec::default()
    };
    let net = Net::start(spec).await.expect("net");
    let consortium =
        arcanum_msp::Consortium::load(&net.layout.consortium, arcanum_server::now_unix())
            .expect("consortium");
    let endorsers: Vec<(arcanum_sdk::Client, arcanum_types::IdentityId)> =
        ["peer0.org1", "peer0.org2"]
            .iter()
            .map(|name| {
                let url = net.layout.node(name).expect("peer").url.clone();
                (
                    arcanum_sdk::Client::new(url),
                    consortium.peer_by_name(name).expect("peer").id,
                )
            })
            .collect();
    // `after`: the block the endorsing peers must have (the previous commit) before simulating.
    let collect = |tx: arcanum_types::SignedTx, after: u64| {
        let endorsers = &endorsers;
        async move {
            let mut response = None;
            let mut endorsements = Vec::new();
            for (peer, id) in endorsers {
                let a = peer
                    .endorse_at(&tx, vec![*id], after)
                    .await
                    .expect("endorsed by the peer itself");
                assert!(
                    response.as_ref().is_none_or(|r| *r == a.response),
                    "peers agree"
                );
                response = Some(a.response);
                endorsements.extend(a.endorsements);
            }
            endorsements.sort_by_key(|a| a.endorser);
            arcanum_types::EndorsedTx {
                tx,
                response: response.expect("response"),
                endorsements,
            }
        }
    };
    let admin = net.signer("admin.org1").expect("admin");
    let deploy = admin.sign(TxAction::Deploy {
        contract: "asset".into(),
        wasm: arcanum_contracts::ASSET_WASM.to_vec(),
        policy: AND.into(),
    });
    let out = net
        .gateway()
        .submit(&collect(deploy, 0).await, true)
        .await
        .expect("ordered");
    assert_eq!(out.status, "VALID");
    let deployed = out.block.expect("block");
    let alice = net.signer("client0.org1").expect("client");
    let out = net
        .gateway()
        .submit(
            &collect(alice.invoke("asset", "create", &["alice", "9"]), deployed).await,
            true,
        )
        .await
        .expect("ordered");
    assert_eq!(out.status, "VALID");
    assert_roots_agree(&net, out.block.expect("block")).await;

    // A peer endorses only for itself: it holds no other peer's key.
    let (peer, _) = &endorsers[0];
    let err = peer
        .endorse_at(
            &alice.invoke("asset", "balance", &["alice"]),
            vec![endorsers[1].1],
            0,
        )
        .await
        .expect_err("refused");
    assert_eq!(err.code(), arcanum_types::ErrorCode::EndorserUnavailable);
}

/// The emulated link delays every round trip by two one-way hops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulated_links_delay_round_trips() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    let link = std::sync::Arc::new(arcanum_api::link::LinkDelay::new(40, 0));
    let far = net.gateway().with_link(link);
    let started = std::time::Instant::now();
    far.height().await.expect("height");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(80),
        "two 40 ms hops"
    );
}
