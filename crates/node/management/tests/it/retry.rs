//! Failed endorsements are sent again (L1.4): to another device when keys are replicated, to the
//! same device when they are partitioned. Disagreeing devices and definitive rejections are not
//! papered over.

use std::time::Duration;

use arcanum_contracts::KV_WASM;
use arcanum_management::Selection;
use arcanum_types::{ErrorCode, TxStatus};

use crate::cluster::{Cluster, Fault};
use crate::flow::asset_setup;
use crate::net::{deploy, invoke};

const FAULTS: [Fault; 3] = [Fault::Unreachable, Fault::Hang, Fault::Tamper];

#[tokio::test(start_paused = true)]
async fn replicated_keys_retry_on_another_device() {
    for fault in FAULTS {
        // Round robin over (0) only: every task starts on device 0.
        let mut c = Cluster::replicated(3, Selection::RoundRobin(vec![vec![0]]), |_| {});
        c.start();
        let net = c.net.clone();
        c.set_fault(0, fault.clone(), None);
        let start = tokio::time::Instant::now();
        let r = c
            .commit_valid(net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')")))
            .await;
        assert_eq!(r.block, 1);
        assert_eq!(c.call_counts(), vec![1, 1, 0], "{fault:?}");
        assert_eq!(c.calls(1), vec![net.targets()], "{fault:?}");
        if fault == Fault::Hang {
            assert!(
                start.elapsed() >= Duration::from_secs(5),
                "the endorsement timeout fired"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn partitioned_keys_retry_on_the_same_device_then_give_up() {
    for fault in FAULTS {
        let mut c = Cluster::partitioned(|s| s.retries = 2);
        c.start();
        let net = c.net.clone();
        let t = net.targets();
        let tx = net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')"));

        c.set_fault(0, fault.clone(), None);
        assert_eq!(
            c.refused(tx.clone()).await,
            ErrorCode::EndorserUnavailable,
            "{fault:?}"
        );
        // The first attempt and two retries, all on the only device hosting Org1's peer.
        assert_eq!(c.calls(0), vec![vec![t[0]]; 3], "{fault:?}");
        assert_eq!(c.calls(1), vec![vec![t[1]]], "{fault:?}");
        assert_eq!(c.mgmt.ledger().tip().unwrap().0, 0);

        // Failing twice is within the retries: the very same transaction now commits.
        c.reset_calls();
        c.set_fault(0, fault.clone(), Some(2));
        let r = c.commit_valid(tx).await;
        assert_eq!(r.block, 1);
        assert_eq!(c.calls(0).len(), 3, "{fault:?}");
    }
}

#[tokio::test]
async fn devices_that_disagree_give_an_endorsement_mismatch() {
    // Each transaction's two target peers are split over devices 0 and 1.
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0, 1]]), |s| {
        s.retries = 2
    });
    c.start();
    let net = c.net.clone();
    let tx = net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')"));
    c.set_fault(1, Fault::Diverge, None);
    assert_eq!(c.refused(tx.clone()).await, ErrorCode::EndorsementMismatch);
    // Every round (one and two retries) asked both devices.
    assert_eq!(c.call_counts(), vec![3, 3]);
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 0);

    // A device that diverges once: the next round agrees and the transaction commits.
    c.set_fault(1, Fault::Diverge, Some(1));
    c.commit_valid(tx).await;
    assert_eq!(c.call_counts(), vec![5, 5]);
}

#[tokio::test]
async fn a_stale_replica_disagrees_until_it_catches_up() {
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0, 1]]), |s| {
        s.retries = 1
    });
    c.start();
    let net = c.net.clone();
    asset_setup(&c).await;
    let pay = |nonce: u64| {
        net.tx(
            &net.client,
            nonce,
            invoke("asset", "transfer", &[b"alice", b"bob", b"10"]),
        )
    };
    c.commit_valid(pay(2)).await;
    // Device 1 stops applying blocks: it still sees alice before the last transfer.
    c.set_fault(1, Fault::Stale, None);
    assert_eq!(c.refused(pay(3)).await, ErrorCode::EndorsementMismatch);
    // Stale for one round only: the retry round catches up and agrees.
    c.set_fault(1, Fault::Stale, Some(1));
    let r = c.commit_valid(pay(3)).await;
    assert_eq!(r.status, TxStatus::Valid);
    assert_eq!(
        c.state("asset", b"acct/alice"),
        Some(crate::net::account_record(&net.client, 80))
    );
}

#[tokio::test]
async fn a_definitive_rejection_is_not_retried() {
    let mut c = Cluster::replicated(2, Selection::RoundRobin(vec![vec![0]]), |s| s.retries = 3);
    c.start();
    let net = c.net.clone();
    // The management device's own verdict: no device is asked at all.
    let mut forged = net.tx(&net.admin, 1, deploy("kv", KV_WASM, "OR('Org1.peer')"));
    forged.signature.0[3] ^= 1;
    assert_eq!(c.refused(forged).await, ErrorCode::BadClientSignature);
    assert_eq!(c.call_counts(), vec![0, 0]);

    // A device's own definitive verdict on the request is passed on as is.
    c.set_fault(0, Fault::Reject(ErrorCode::ContractError), Some(1));
    let tx = net.tx(&net.admin, 2, deploy("kv", KV_WASM, "OR('Org1.peer')"));
    assert_eq!(c.refused(tx.clone()).await, ErrorCode::ContractError);
    assert_eq!(c.call_counts(), vec![1, 0]);
    // It left nothing behind: the same transaction goes through afterwards.
    c.commit_valid(tx).await;
    assert_eq!(c.call_counts(), vec![2, 0]);
}
