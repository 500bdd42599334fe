//! Natural batching of endorsement requests per device: concurrent transactions share
//! batches, a bad item of a batch fails alone, and a failed batch sends each item through its
//! own retry.

use arcanum_contracts::KV_WASM;
use arcanum_management::{KeyMode, Selection};
use arcanum_types::{ErrorCode, SignedTx, TxStatus};

use crate::cluster::{Cluster, Fault, receipt};
use crate::net::{Net, deploy, invoke};

/// `kv` under `OR('Org1.peer')`, committed; then `n` distinct puts by the client.
async fn kv_puts(c: &Cluster, n: u64) -> Vec<SignedTx> {
    let net = &c.net;
    c.commit_valid(net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')")))
        .await;
    (0..n).map(|i| put(net, i)).collect()
}

fn put(net: &Net, nonce: u64) -> SignedTx {
    let key = format!("k{nonce}");
    net.tx(
        &net.client,
        nonce,
        invoke("kv", "put", &[key.as_bytes(), b"v"]),
    )
}

#[tokio::test]
async fn concurrent_transactions_share_batches_and_all_commit() {
    let mut c = Cluster::replicated(1, Selection::Load, |s| s.max_block_txs = 100);
    c.start();
    let txs = kv_puts(&c, 40).await;
    c.reset_calls();
    let base = c.total_calls();
    // Device 0 holds its first batch until the gate opens: everything sent meanwhile queues.
    c.set_fault(0, Fault::Gate, Some(1));
    let mgmt = c.mgmt.clone();
    let running = tokio::spawn(async move {
        let receivers = futures::future::join_all(txs.into_iter().map(|tx| {
            let mgmt = mgmt.clone();
            async move { mgmt.execute(tx).await }
        }))
        .await;
        let mut receipts = Vec::new();
        for rx in receivers {
            receipts.push(receipt(rx.unwrap()).await);
        }
        receipts
    });
    c.wait_calls(base + 1).await;
    c.open_gate(0);
    let receipts = running.await.unwrap();
    assert_eq!(receipts.len(), 40);
    assert!(receipts.iter().all(|r| r.status == TxStatus::Valid));
    let batches = c.batches(0);
    assert_eq!(batches.iter().sum::<usize>(), 40, "{batches:?}");
    assert!(
        batches.len() < 40,
        "fewer batches than transactions: {batches:?}"
    );
    assert!(
        batches.iter().any(|&n| n > 1),
        "some batch carried several: {batches:?}"
    );
    assert_eq!(c.call_counts(), vec![40]);
}

#[tokio::test]
async fn a_lone_transaction_leaves_at_once_in_a_batch_of_one() {
    let mut c = Cluster::replicated(1, Selection::Load, |_| {});
    c.start();
    let txs = kv_puts(&c, 3).await;
    c.reset_calls();
    for tx in txs {
        c.commit_valid(tx).await;
    }
    assert_eq!(c.batches(0), vec![1, 1, 1]);
}

#[tokio::test]
async fn a_forged_endorsement_fails_only_its_own_item() {
    // Device 0 forges the first item of its next batch; the item is retried on device 1.
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0]]), |s| {
        s.max_block_txs = 100
    });
    c.start();
    let txs = kv_puts(&c, 12).await;
    c.reset_calls();
    let base = c.total_calls();
    c.set_fault(0, Fault::Gate, Some(1));
    let mgmt = c.mgmt.clone();
    let held = {
        let tx = txs[0].clone();
        let mgmt = mgmt.clone();
        tokio::spawn(async move { receipt(mgmt.execute(tx).await.unwrap()).await })
    };
    c.wait_calls(base + 1).await;
    // The second slot is free: one more batch goes out, then the rest queue behind both.
    c.set_fault(0, Fault::Gate, None);
    let second = {
        let tx = txs[1].clone();
        let mgmt = mgmt.clone();
        tokio::spawn(async move { receipt(mgmt.execute(tx).await.unwrap()).await })
    };
    c.wait_calls(base + 2).await;
    let rest: Vec<_> = txs[2..]
        .iter()
        .cloned()
        .map(|tx| {
            let mgmt = mgmt.clone();
            tokio::spawn(async move { mgmt.execute(tx).await.map(|_| ()) })
        })
        .collect();
    // The queued ten leave as one batch, whose first item is forged.
    c.set_fault(0, Fault::TamperFirst, Some(1));
    c.open_gate(0);
    held.await.unwrap();
    second.await.unwrap();
    let mut ok = 0;
    for r in rest {
        if r.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 10, "every transaction was endorsed in the end");
    let on_0 = c.batches(0);
    assert_eq!(on_0, vec![1, 1, 10], "{on_0:?}");
    // Only the forged item went again, to device 1.
    assert_eq!(c.batches(1), vec![1]);
}

#[tokio::test]
async fn a_forged_endorsement_on_the_only_host_fails_with_endorser_unavailable() {
    let mut c = Cluster::new(
        &[&[0, 1], &[2, 3]],
        KeyMode::Partitioned,
        Selection::Load,
        |s| s.retries = 0,
    );
    c.start();
    let net = c.net.clone();
    c.commit_valid(net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')")))
        .await;
    c.reset_calls();
    let base = c.total_calls();
    c.set_fault(0, Fault::Gate, Some(1));
    let mgmt = c.mgmt.clone();
    let held = {
        let tx = put(&net, 100);
        let mgmt = mgmt.clone();
        tokio::spawn(async move { mgmt.execute(tx).await.map(|_| ()) })
    };
    c.wait_calls(base + 1).await;
    c.set_fault(0, Fault::Gate, None);
    let second = {
        let tx = put(&net, 101);
        let mgmt = mgmt.clone();
        tokio::spawn(async move { mgmt.execute(tx).await.map(|_| ()) })
    };
    c.wait_calls(base + 2).await;
    let (forged, fine) = (put(&net, 0), put(&net, 1));
    let pending: Vec<_> = [forged, fine]
        .into_iter()
        .map(|tx| {
            let mgmt = mgmt.clone();
            tokio::spawn(async move { mgmt.execute(tx).await.map(|_| ()) })
        })
        .collect();
    c.set_fault(0, Fault::TamperFirst, Some(1));
    c.open_gate(0);
    held.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    let mut codes = Vec::new();
    for p in pending {
        codes.push(p.await.unwrap().err().map(|e| e.code));
    }
    // Which of the two was first in the batch is the queue's order: exactly one failed.
    codes.sort();
    assert_eq!(codes, vec![None, Some(ErrorCode::EndorserUnavailable)]);
    assert_eq!(c.batches(0), vec![1, 1, 2]);
}

#[tokio::test]
async fn a_failed_batch_falls_back_item_by_item_to_the_other_device() {
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0]]), |s| {
        s.max_block_txs = 100
    });
    c.start();
    let txs = kv_puts(&c, 6).await;
    c.reset_calls();
    let base = c.total_calls();
    c.set_fault(0, Fault::Gate, Some(1));
    let mgmt = c.mgmt.clone();
    let spawn = |tx: SignedTx| {
        let mgmt = mgmt.clone();
        tokio::spawn(async move { receipt(mgmt.execute(tx).await.unwrap()).await })
    };
    let held = spawn(txs[0].clone());
    c.wait_calls(base + 1).await;
    c.set_fault(0, Fault::Gate, None);
    let second = spawn(txs[1].clone());
    c.wait_calls(base + 2).await;
    let rest: Vec<_> = txs[2..].iter().cloned().map(spawn).collect();
    // The next batch (the four queued) finds device 0 unreachable.
    c.set_fault(0, Fault::Unreachable, Some(1));
    c.open_gate(0);
    assert_eq!(held.await.unwrap().status, TxStatus::Valid);
    assert_eq!(second.await.unwrap().status, TxStatus::Valid);
    for r in rest {
        assert_eq!(r.await.unwrap().status, TxStatus::Valid);
    }
    assert_eq!(c.batches(0), vec![1, 1, 4]);
    // Each of the four went on to device 1 (alone or batched there).
    assert_eq!(c.batches(1).iter().sum::<usize>(), 4);
    assert_eq!(c.calls(1).len(), 4);
}
