//! Endorser selection (L2): partitioned keys, replicated keys by load and health, and replicated
//! keys by a preset round-robin sequence that splits the target peers.

use arcanum_contracts::KV_WASM;
use arcanum_management::{KeyMode, Selection};
use arcanum_types::ErrorCode;

use crate::cluster::{Cluster, Fault, receipt};
use crate::net::{deploy, invoke};

#[tokio::test]
async fn partitioned_keys_send_each_peer_to_its_host() {
    let mut c = Cluster::new(
        &[&[0, 1], &[2, 3], &[]],
        KeyMode::Partitioned,
        Selection::Load,
        |_| {},
    );
    c.start();
    let net = c.net.clone();
    let t = net.targets();
    let org1: Vec<_> = net
        .config
        .peers()
        .filter(|p| p.msp_id == "Org1")
        .map(|p| p.id)
        .collect();

    // Lifecycle policy (MAJORITY of both organisations), then AND(Org1, Org2).
    c.commit_valid(net.tx(
        &net.admin,
        1,
        deploy("kv", KV_WASM, "AND('Org1.peer','Org2.peer')"),
    ))
    .await;
    c.commit_valid(net.tx(&net.client, 1, invoke("kv", "put", &[b"k", b"v"])))
        .await;
    assert_eq!(c.calls(0), vec![vec![t[0]]; 2]);
    assert_eq!(c.calls(1), vec![vec![t[1]]; 2]);

    // A policy naming Org2 only: only Org2's device works.
    c.commit_valid(net.tx(&net.admin, 2, deploy("org2", KV_WASM, "OR('Org2.peer')")))
        .await;
    c.reset_calls();
    c.commit_valid(net.tx(&net.client, 2, invoke("org2", "put", &[b"k", b"v"])))
        .await;
    assert_eq!(c.calls(0), Vec::<Vec<_>>::new());
    assert_eq!(c.calls(1), vec![vec![t[1]]]);

    // Two distinct Org1 peers: both go to Org1's device in one task.
    c.commit_valid(net.tx(
        &net.admin,
        3,
        deploy("twice", KV_WASM, "AND('Org1.peer','Org1.peer')"),
    ))
    .await;
    c.reset_calls();
    c.commit_valid(net.tx(&net.client, 3, invoke("twice", "put", &[b"k", b"v"])))
        .await;
    assert_eq!(c.calls(0), vec![org1]);
    assert!(c.calls(1).is_empty());
    // The device that hosts nothing was never asked.
    assert!(c.calls(2).is_empty());
}

#[tokio::test]
async fn replicated_load_avoids_an_unhealthy_device() {
    let mut c = Cluster::replicated(3, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    c.set_fault(0, Fault::Unreachable, None);
    // The rotation starts at device 0: it fails, the task moves to device 1.
    c.commit_valid(net.tx(
        &net.admin,
        1,
        deploy("kv", KV_WASM, "AND('Org1.peer','Org2.peer')"),
    ))
    .await;
    assert_eq!(c.call_counts(), vec![1, 1, 0]);
    // From now on device 0 is unhealthy and skipped, even when the rotation points at it.
    for nonce in 1..=6 {
        c.commit_valid(net.tx(
            &net.client,
            nonce,
            invoke("kv", "put", &[b"k", &[nonce as u8]]),
        ))
        .await;
    }
    let counts = c.call_counts();
    assert_eq!(counts[0], 1, "{counts:?}");
    assert_eq!(counts[1] + counts[2], 7);
    assert!(
        counts[1] > 1 && counts[2] > 0,
        "healthy devices share the work: {counts:?}"
    );
    // Each device was asked for all target peers at once.
    assert!(c.calls(2).iter().all(|peers| *peers == net.targets()));
}

#[tokio::test]
async fn replicated_load_picks_the_least_loaded_device() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    // Device 0 holds every request until its gate opens.
    c.set_fault(0, Fault::Gate, None);
    let held = {
        let mgmt = c.mgmt.clone();
        let tx = net.tx(&net.admin, 1, deploy("a", KV_WASM, "OR('Org1.peer')"));
        tokio::spawn(async move { receipt(mgmt.execute(tx).await.unwrap()).await })
    };
    c.wait_calls(1).await;
    assert_eq!(c.call_counts(), vec![1, 0]);
    // The rotation now points at device 1, then back at device 0; both go to device 1, the
    // second because device 0 still has a request in flight.
    c.commit_valid(net.tx(&net.admin, 2, deploy("b", KV_WASM, "OR('Org1.peer')")))
        .await;
    c.commit_valid(net.tx(&net.admin, 3, deploy("c", KV_WASM, "OR('Org1.peer')")))
        .await;
    assert_eq!(c.call_counts(), vec![1, 2]);
    c.open_gate(0);
    let r = held.await.unwrap();
    assert_eq!(r.status, arcanum_types::TxStatus::Valid);
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 3);
}

#[tokio::test]
async fn round_robin_follows_the_sequence_and_splits_peers_across_a_group() {
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0], vec![0, 1]]), |_| {});
    c.start();
    let net = c.net.clone();
    let t = net.targets();
    for (nonce, name) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        c.commit_valid(net.tx(&net.admin, nonce, deploy(name, KV_WASM, "OR('Org1.peer')")))
            .await;
    }
    // (0) → (0, 1) → (0) → (0, 1): alone, device 0 signs for both peers; in the group, each
    // device signs for one of them.
    assert_eq!(
        c.calls(0),
        vec![t.clone(), vec![t[0]], t.clone(), vec![t[0]]]
    );
    assert_eq!(c.calls(1), vec![vec![t[1]], vec![t[1]]]);
}

#[tokio::test]
async fn round_robin_to_a_device_that_does_not_host_the_peers_is_unavailable() {
    // Device 0 hosts only Org1's peers although the mode says every device hosts every key.
    let mut c = Cluster::new(
        &[&[0, 1], &[0, 1, 2, 3]],
        KeyMode::Replicated,
        Selection::RoundRobin(vec![vec![0]]),
        |_| {},
    );
    c.start();
    let net = c.net.clone();
    let tx = net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')"));
    assert_eq!(c.refused(tx).await, ErrorCode::EndorserUnavailable);
    // A sequence naming a device that does not exist.
    let mut c = Cluster::replicated(1, Selection::RoundRobin(vec![vec![7]]), |_| {});
    c.start();
    let tx = net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')"));
    assert_eq!(c.refused(tx).await, ErrorCode::EndorserUnavailable);
    assert_eq!(c.total_calls(), 0);
}

#[tokio::test]
async fn an_abandoned_request_does_not_leave_its_device_looking_busy() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    c.set_fault(0, Fault::Gate, Some(1));
    // A client gives up while device 0 is endorsing for it (its HTTP request is dropped).
    let abandoned = {
        let mgmt = c.mgmt.clone();
        let tx = net.tx(&net.admin, 1, deploy("a", KV_WASM, "OR('Org1.peer')"));
        tokio::spawn(async move { mgmt.execute(tx).await.map(|_| ()) })
    };
    c.wait_calls(1).await;
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    // Rotation: device 1, then device 0 again, which has nothing in flight any more.
    c.commit_valid(net.tx(&net.admin, 2, deploy("b", KV_WASM, "OR('Org1.peer')")))
        .await;
    c.commit_valid(net.tx(&net.admin, 3, deploy("c", KV_WASM, "OR('Org1.peer')")))
        .await;
    assert_eq!(c.call_counts(), vec![2, 1]);
    // The abandoned transaction was never ordered and can be sent again.
    c.commit_valid(net.tx(&net.admin, 1, deploy("a", KV_WASM, "OR('Org1.peer')")))
        .await;
}
