//! The management device verifies each submitted transaction's client signature itself, in
//! batches of concurrent submissions, before any endorsement work; and its own ledger, which
//! takes the signatures it verified as verified, judges every block it orders as a peer does.

use arcanum_contracts::KV_WASM;
use arcanum_crypto::{SigningKey, domain};
use arcanum_ledger::testkit;
use arcanum_management::Selection;
use arcanum_types::{ErrorCode, Signature, SignedTx, TxAction, TxReceipt, TxStatus};

use crate::cluster::{Cluster, drain, receipt};
use crate::flow::asset_setup;
use crate::net::{AND_POLICY, Net, deploy, invoke};

fn put(net: &Net, nonce: u64) -> SignedTx {
    let key = format!("k{nonce}");
    net.tx(
        &net.client,
        nonce,
        invoke("kv", "put", &[key.as_bytes(), b"v"]),
    )
}

fn transfer(net: &Net, nonce: u64, amount: &str) -> SignedTx {
    net.tx(
        &net.client,
        nonce,
        invoke("asset", "transfer", &[b"alice", b"bob", amount.as_bytes()]),
    )
}

#[tokio::test]
async fn a_forged_client_signature_is_refused_before_any_endorser_is_called() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    let genuine = net.tx(&net.admin, 1, deploy("kv", KV_WASM, AND_POLICY));
    let mut flipped = genuine.clone();
    flipped.signature.0[0] ^= 1;
    let mut empty = genuine.clone();
    empty.signature = Signature(Vec::new());
    let mut by_another_key = genuine.clone();
    by_another_key.signature = net
        .client
        .key()
        .sign(domain::TX_SIGNATURE, &genuine.payload.id().0);
    let mut altered = genuine.clone();
    altered.payload.nonce = 2;
    for (what, tx) in [
        ("flipped bit", flipped),
        ("empty signature", empty),
        ("another client's signature", by_another_key),
        ("payload changed after signing", altered),
    ] {
        assert_eq!(
            c.refused(tx.clone()).await,
            ErrorCode::BadClientSignature,
            "{what}"
        );
        assert_eq!(
            c.mgmt.endorse(tx).await.unwrap_err().code,
            ErrorCode::BadClientSignature,
            "{what}"
        );
    }
    // The peers' other client check, on the channel, is made here too.
    let mut payload = genuine.payload.clone();
    payload.channel = "another-channel".into();
    let elsewhere = testkit::sign(&net.admin, payload);
    assert_eq!(c.refused(elsewhere).await, ErrorCode::WrongChannel);

    assert_eq!(c.total_calls(), 0, "no endorsement device saw anything");
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 0);
    // Nothing was left pending: the genuine transaction, with the same id as three of the
    // forgeries, commits.
    c.commit_valid(genuine).await;
    assert!(c.total_calls() > 0);
}

#[tokio::test]
async fn concurrent_submissions_share_one_signature_batch_and_only_the_forged_one_is_refused() {
    let mut c = Cluster::replicated(1, Selection::Load, |s| s.max_block_txs = 100);
    c.start();
    let net = c.net.clone();
    c.commit_valid(net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')")))
        .await;
    // A lone submission is verified at once, in a batch of its own.
    assert_eq!(c.mgmt.client_signature_batches(), 1);

    const FORGED: usize = 9;
    let mut txs: Vec<SignedTx> = (0..24).map(|i| put(&net, i)).collect();
    txs[FORGED].signature.0[7] ^= 0x10;
    let calls = c.total_calls();
    // Submitted together: each is admitted and queued for its signature check before the
    // batcher runs.
    let outcomes: Vec<Result<TxReceipt, ErrorCode>> =
        futures::future::join_all(txs.iter().cloned().map(|tx| {
            let mgmt = c.mgmt.clone();
            async move {
                match mgmt.execute(tx).await {
                    Ok(rx) => Ok(receipt(rx).await),
                    Err(e) => Err(e.code),
                }
            }
        }))
        .await;
    assert_eq!(
        c.mgmt.client_signature_batches(),
        2,
        "the 24 signatures were verified in one batch"
    );
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == FORGED {
            assert_eq!(outcome, &Err(ErrorCode::BadClientSignature));
        } else {
            assert_eq!(
                outcome.as_ref().map(|r| r.status),
                Ok(TxStatus::Valid),
                "{i}"
            );
        }
    }
    assert_eq!(
        c.total_calls() - calls,
        23,
        "the forged one never reached a device"
    );
    let forged_id = txs[FORGED].payload.id();
    assert!(!c.mgmt.ledger().contains_tx(&forged_id).unwrap());
    // Properly signed, the same transaction commits.
    c.commit_valid(put(&net, FORGED as u64)).await;
}

#[tokio::test]
async fn the_management_ledger_and_a_peer_give_the_same_receipts() {
    let mut c = Cluster::partitioned(|_| {});
    let mut commits = c.mgmt.subscribe_commits();
    c.start();
    let net = c.net.clone();
    asset_setup(&c).await;
    c.commit_valid(transfer(&net, 2, "5")).await;

    // Two transfers endorsed on the same state: the second fails MVCC.
    let first = c.mgmt.endorse(transfer(&net, 3, "10")).await.unwrap();
    let second = c.mgmt.endorse(transfer(&net, 4, "20")).await.unwrap();
    assert_eq!(
        receipt(c.mgmt.submit(first).unwrap()).await.status,
        TxStatus::Valid
    );
    assert_eq!(
        receipt(c.mgmt.submit(second).unwrap()).await.status,
        TxStatus::Invalid(ErrorCode::MvccReadConflict)
    );

    // A forged client signature never reaches a block.
    let mut forged = transfer(&net, 5, "1");
    forged.signature.0[3] ^= 4;
    assert_eq!(c.refused(forged).await, ErrorCode::BadClientSignature);

    // A transfer endorsed by Org2's peer under its certificate key, ordered in the block that
    // rotates that key: its endorsement no longer verifies, at the peers and here alike.
    let rotated = net.targets()[1];
    let stale = c.mgmt.endorse(transfer(&net, 6, "1")).await.unwrap();
    assert!(stale.endorsements.iter().any(|e| e.endorser == rotated));
    let rotate = net.tx(
        &net.admin,
        10,
        TxAction::RotateKey {
            peer: rotated,
            public_key: SigningKey::from_ed25519_seed(&[99; 32]).public_key(),
        },
    );
    let rotation = c.mgmt.endorse(rotate).await.unwrap();
    // Both verified now, on the same tip; ordered together, the rotation first.
    let rotation = c.mgmt.submit(rotation).unwrap();
    let stale = c.mgmt.submit(stale).unwrap();
    let (rotation, stale) = (receipt(rotation).await, receipt(stale).await);
    assert_eq!(rotation.status, TxStatus::Valid);
    assert_eq!(stale.status, TxStatus::Invalid(ErrorCode::BadEndorsement));
    assert_eq!((stale.block, stale.index), (rotation.block, 1));

    // A peer fed the management device's blocks gives the same receipts and events, block by
    // block, and reaches the same state; so do the endorsement devices' replicas.
    let summaries = drain(&mut commits);
    let height = c.mgmt.ledger().tip().unwrap().0;
    assert_eq!(summaries.len() as u64, height);
    let peer = net.peer_ledger();
    for s in &summaries {
        let bytes = c.mgmt.ledger().store().block(s.height).unwrap().unwrap();
        let judged = peer.commit_bytes(&bytes).unwrap();
        assert_eq!(judged.receipts, s.receipts, "block {}", s.height);
        assert_eq!(judged.events, s.events, "block {}", s.height);
    }
    let root = c.mgmt.ledger().store().state_root().unwrap();
    assert_eq!(peer.store().state_root().unwrap(), root);
    c.sync_replicas();
    for d in &c.transport.devices {
        let replica = d.endorser.ledger();
        assert_eq!(replica.store().state_root().unwrap(), root);
        assert_eq!(
            replica.store().receipt(&stale.tx_id).unwrap().unwrap(),
            stale
        );
    }
}
