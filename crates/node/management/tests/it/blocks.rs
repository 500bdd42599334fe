//! Block cutting by count and by bytes, and the bounded ordering queue.

use arcanum_contracts::KV_WASM;
use arcanum_management::Selection;
use arcanum_types::{ErrorCode, TxStatus};

use crate::cluster::{Cluster, receipt};
use crate::net::deploy;

#[tokio::test(start_paused = true)]
async fn blocks_hold_at_most_max_block_txs() {
    let mut c = Cluster::replicated(2, Selection::Load, |s| {
        s.max_block_txs = 3;
        s.queue_depth = 16;
    });
    let net = c.net.clone();
    // Seven transactions submitted at once; the ordering loop starts with all of them queued.
    let txs: Vec<_> = (0..7)
        .map(|i| {
            net.tx(
                &net.admin,
                i,
                deploy(&format!("kv{i}"), KV_WASM, "OR('Org1.peer')"),
            )
        })
        .collect();
    let receivers =
        futures::future::join_all(txs.iter().cloned().map(|tx| c.mgmt.execute(tx))).await;
    c.start();
    let mut receipts = Vec::new();
    for rx in receivers {
        receipts.push(receipt(rx.unwrap()).await);
    }
    assert!(receipts.iter().all(|r| r.status == TxStatus::Valid));
    // ceil(7 / 3) = 3 blocks of 3, 3 and 1, in submission order.
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 3);
    let placed: Vec<_> = receipts.iter().map(|r| (r.block, r.index)).collect();
    assert_eq!(
        placed,
        vec![(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (3, 0)]
    );
    let sizes: Vec<_> = (1..=3).map(|h| c.block(h).txs.len()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(c.block(2).txs[0].id(), txs[3].payload.id());
}

#[tokio::test(start_paused = true)]
async fn blocks_are_cut_at_max_block_bytes() {
    // Any one transaction fills a block.
    let mut c = Cluster::replicated(1, Selection::Load, |s| s.max_block_bytes = 1);
    let net = c.net.clone();
    let mut receivers = Vec::new();
    for i in 0..3 {
        let tx = net.tx(
            &net.admin,
            i,
            deploy(&format!("kv{i}"), KV_WASM, "OR('Org1.peer')"),
        );
        receivers.push(c.mgmt.execute(tx).await.unwrap());
    }
    c.start();
    for (i, rx) in receivers.into_iter().enumerate() {
        let r = receipt(rx).await;
        assert_eq!(
            (r.block, r.index, r.status),
            (i as u64 + 1, 0, TxStatus::Valid)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_answers_busy_and_keeps_nothing() {
    let mut c = Cluster::replicated(1, Selection::Load, |s| s.queue_depth = 2);
    let net = c.net.clone();
    let tx = |i: u64| {
        net.tx(
            &net.admin,
            i,
            deploy(&format!("kv{i}"), KV_WASM, "OR('Org1.peer')"),
        )
    };
    // The ordering loop is not draining yet.
    let rx0 = c.mgmt.execute(tx(0)).await.unwrap();
    let rx1 = c.mgmt.execute(tx(1)).await.unwrap();
    assert_eq!(c.refused(tx(2)).await, ErrorCode::Busy);
    let endorsed = c.mgmt.endorse(tx(3)).await.unwrap();
    assert_eq!(
        c.mgmt.submit(endorsed.clone()).unwrap_err().code,
        ErrorCode::Busy
    );
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 0);

    c.start();
    assert_eq!(receipt(rx0).await.status, TxStatus::Valid);
    assert_eq!(receipt(rx1).await.status, TxStatus::Valid);
    // The refused ones were not left pending or half-ordered: both go through now, once each.
    c.commit_valid(tx(2)).await;
    let r3 = receipt(c.mgmt.submit(endorsed).unwrap()).await;
    assert_eq!(r3.status, TxStatus::Valid);
    let (height, _) = c.mgmt.ledger().tip().unwrap();
    let total: usize = (1..=height).map(|h| c.block(h).txs.len()).sum();
    assert_eq!(total, 4);
}
