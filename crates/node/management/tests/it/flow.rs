//! The transaction flow end to end (L1), admission (L3), replays, policies, client-held
//! endorsements and MVCC.

use arcanum_contracts::{ASSET_WASM, KV_WASM};
use arcanum_crypto::domain;
use arcanum_management::Selection;
use arcanum_types::{
    EndorsedTx, Endorsement, ErrorCode, KvWrite, ProposalResponse, RwSet, TxStatus, Vote,
};

use crate::cluster::{Cluster, drain, receipt};
use crate::net::{AND_POLICY, Ident, Net, account_record, deploy, invoke};

/// Deploys `asset` under `AND('Org1.peer','Org2.peer')` and creates `alice` (the client's, 100)
/// and `bob` (the admin's, 0): blocks 1 to 3.
pub async fn asset_setup(c: &Cluster) {
    let net = &c.net;
    c.commit_valid(net.tx(&net.admin, 1, deploy("asset", ASSET_WASM, AND_POLICY)))
        .await;
    c.commit_valid(net.tx(
        &net.client,
        1,
        invoke("asset", "create", &[b"alice", b"100"]),
    ))
    .await;
    c.commit_valid(net.tx(&net.admin, 2, invoke("asset", "create", &[b"bob", b"0"])))
        .await;
}

fn transfer(net: &Net, nonce: u64, amount: &str) -> arcanum_types::SignedTx {
    net.tx(
        &net.client,
        nonce,
        invoke("asset", "transfer", &[b"alice", b"bob", amount.as_bytes()]),
    )
}

#[tokio::test]
async fn deploy_and_transfers_commit_valid_everywhere() {
    let mut c = Cluster::partitioned(|_| {});
    let mut tip = c.mgmt.subscribe_tip();
    let mut commits = c.mgmt.subscribe_commits();
    c.start();
    let net = c.net.clone();

    asset_setup(&c).await;
    // The new height is published before the submitter hears back.
    assert_eq!(*tip.borrow_and_update(), 3);
    let mut receipts = Vec::new();
    for (nonce, amount) in [(2, "30"), (3, "25")] {
        receipts.push(c.commit_valid(transfer(&net, nonce, amount)).await);
    }
    assert_eq!(receipts[0].block, 4);
    assert_eq!(receipts[1].block, 5);
    assert_eq!(receipts[1].tx_id, transfer(&net, 3, "25").payload.id());
    assert_eq!(*tip.borrow_and_update(), 5);

    // The management device's state.
    assert_eq!(
        c.state("asset", b"acct/alice"),
        Some(account_record(&net.client, 45))
    );
    assert_eq!(
        c.state("asset", b"acct/bob"),
        Some(account_record(&net.admin, 55))
    );
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 5);
    let stored = c
        .mgmt
        .ledger()
        .store()
        .receipt(&receipts[1].tx_id)
        .unwrap()
        .unwrap();
    assert_eq!(stored, receipts[1]);

    // Every block was announced, in order, with its receipts.
    let summaries = drain(&mut commits);
    assert_eq!(
        summaries.iter().map(|s| s.height).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(summaries[4].receipts, vec![receipts[1].clone()]);
    assert_eq!(summaries[4].events.len(), 1);

    // Replicas fed the management device's blocks reach the very same state.
    c.sync_replicas();
    let root = c.mgmt.ledger().store().state_root().unwrap();
    for d in &c.transport.devices {
        assert_eq!(d.endorser.ledger().store().state_root().unwrap(), root);
    }
    // And answer queries from it.
    let query = net.tx(&net.client, 99, invoke("asset", "balance", &[b"alice"]));
    assert_eq!(
        c.transport.devices[1]
            .endorser
            .simulate(&query)
            .unwrap()
            .result,
        b"45"
    );
}

/// An endorsed transaction for `tx` with the given response, signed by hosted peers `signers`.
fn hand_endorsed(
    tx: arcanum_types::SignedTx,
    response: ProposalResponse,
    signers: &[&Ident],
) -> EndorsedTx {
    let mut etx = EndorsedTx {
        tx,
        response,
        endorsements: Vec::new(),
    };
    let msg = etx.endorsement_message();
    etx.endorsements = signers
        .iter()
        .map(|p| Endorsement {
            endorser: p.id,
            signature: p.key().sign(domain::ENDORSEMENT, &msg),
        })
        .collect();
    etx
}

#[tokio::test]
async fn unlisted_clients_are_refused_before_any_endorsement() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    for (i, who) in [&net.unlisted, &net.outsider].into_iter().enumerate() {
        let tx = net.tx(who, i as u64, deploy("kv", KV_WASM, AND_POLICY));
        assert_eq!(c.refused(tx.clone()).await, ErrorCode::ClientNotAllowed);
        assert_eq!(
            c.mgmt.endorse(tx.clone()).await.unwrap_err().code,
            ErrorCode::ClientNotAllowed
        );
        // A client-held "endorsed" transaction, even with valid peer signatures.
        let response = ProposalResponse {
            tx_id: tx.payload.id(),
            rwset: RwSet::default(),
            result: Vec::new(),
            events: Vec::new(),
            vote: Vote::Approve,
        };
        let etx = hand_endorsed(tx, response, &[&net.peers[0], &net.peers[2]]);
        assert_eq!(
            c.mgmt.submit(etx).unwrap_err().code,
            ErrorCode::ClientNotAllowed
        );
    }
    // Other requests that need no endorser are refused before one is called, too.
    assert_eq!(
        c.refused(net.tx(&net.client, 1, invoke("Bad Name", "f", &[])))
            .await,
        ErrorCode::InvalidTx
    );
    assert_eq!(
        c.refused(net.tx(&net.client, 2, invoke("nosuch", "get", &[b"k"])))
            .await,
        ErrorCode::ContractNotFound
    );
    assert_eq!(
        c.refused(net.tx(&net.admin, 3, deploy("kv", KV_WASM, "AND(")))
            .await,
        ErrorCode::PolicyParseError
    );
    assert_eq!(c.total_calls(), 0, "no endorsement device was called");
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 0);

    // An allowed admin gets through.
    c.commit_valid(net.tx(&net.admin, 4, deploy("kv", KV_WASM, AND_POLICY)))
        .await;
    assert!(c.total_calls() > 0);
}

#[tokio::test]
async fn replays_are_refused_while_pending_and_after_commit() {
    let mut c = Cluster::replicated(1, Selection::Load, |_| {});
    let net = c.net.clone();
    let tx = net.tx(&net.admin, 1, deploy("kv", KV_WASM, AND_POLICY));
    let etx = c.mgmt.endorse(tx.clone()).await.unwrap();
    // The ordering loop is not running yet: the transaction stays pending.
    let rx = c.mgmt.submit(etx.clone()).unwrap();
    let calls = c.total_calls();
    assert_eq!(
        c.mgmt.submit(etx.clone()).unwrap_err().code,
        ErrorCode::DuplicateTx
    );
    assert_eq!(c.refused(tx.clone()).await, ErrorCode::DuplicateTx);
    assert_eq!(
        c.mgmt.endorse(tx.clone()).await.unwrap_err().code,
        ErrorCode::DuplicateTx
    );
    assert_eq!(
        c.total_calls(),
        calls,
        "a replay is refused before endorsement"
    );

    c.start();
    let r = receipt(rx).await;
    assert_eq!(r.status, TxStatus::Valid);
    assert_eq!(c.mgmt.submit(etx).unwrap_err().code, ErrorCode::DuplicateTx);
    assert_eq!(c.refused(tx.clone()).await, ErrorCode::DuplicateTx);
    assert_eq!(
        c.mgmt.endorse(tx).await.unwrap_err().code,
        ErrorCode::DuplicateTx
    );
    assert_eq!(c.total_calls(), calls);
    // Exactly one block, with the transaction once.
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 1);
    assert_eq!(c.block(1).txs.len(), 1);
}

#[tokio::test]
async fn a_policy_no_peer_set_can_satisfy_is_refused_without_endorsing() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    // Deploys are governed by the lifecycle policy, so these commit.
    c.commit_valid(net.tx(
        &net.admin,
        1,
        deploy("strict", KV_WASM, "AND('Org1.peer','Org2.admin')"),
    ))
    .await;
    c.commit_valid(net.tx(&net.admin, 2, deploy("foreign", KV_WASM, "OR('Org3.peer')")))
        .await;
    c.reset_calls();
    let before = c.total_calls();
    for (nonce, contract) in [(1, "strict"), (2, "foreign")] {
        let tx = net.tx(&net.client, nonce, invoke(contract, "put", &[b"k", b"v"]));
        assert_eq!(
            c.refused(tx).await,
            ErrorCode::PolicyNotSatisfied,
            "{contract}"
        );
    }
    assert_eq!(c.total_calls(), before);
    assert_eq!(c.mgmt.ledger().tip().unwrap().0, 2);
}

#[tokio::test]
async fn client_held_endorsed_transactions_are_verified_whole() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    asset_setup(&c).await;
    let etx = c.mgmt.endorse(transfer(&net, 2, "10")).await.unwrap();
    assert_eq!(etx.endorsements.len(), 2);
    let (p0, p2) = (&net.peers[0], &net.peers[2]);

    let mut cases: Vec<(&str, EndorsedTx, ErrorCode)> = Vec::new();
    let mut e = etx.clone();
    e.endorsements.pop();
    cases.push(("dropped endorsement", e, ErrorCode::PolicyNotSatisfied));
    let mut e = etx.clone();
    e.endorsements.clear();
    cases.push(("no endorsements", e, ErrorCode::PolicyNotSatisfied));
    let mut e = etx.clone();
    e.endorsements[1].signature.0[5] ^= 1;
    cases.push(("forged signature", e, ErrorCode::BadEndorsement));
    let mut e = etx.clone();
    let bystander = net
        .peers
        .iter()
        .find(|p| etx.endorsements.iter().all(|e| e.endorser != p.id))
        .unwrap();
    e.endorsements[0].endorser = bystander.id;
    cases.push((
        "signature attributed to another peer",
        e,
        ErrorCode::BadEndorsement,
    ));
    let mut e = etx.clone();
    let dup = e.endorsements[0].clone();
    e.endorsements.push(dup);
    cases.push(("the same peer twice", e, ErrorCode::BadEndorsement));
    let mut e = etx.clone();
    let msg = e.endorsement_message();
    e.endorsements[0] = Endorsement {
        endorser: net.client.id,
        signature: net.client.key().sign(domain::ENDORSEMENT, &msg),
    };
    cases.push(("endorsement by a client", e, ErrorCode::BadEndorsement));
    let mut e = etx.clone();
    e.response.rwset.writes[0] = KvWrite {
        key: e.response.rwset.writes[0].key.clone(),
        value: Some(account_record(&net.client, 1_000_000)),
    };
    cases.push(("tampered write set", e, ErrorCode::BadEndorsement));
    let mut e = etx.clone();
    e.response.result = b"tampered".to_vec();
    cases.push(("tampered result", e, ErrorCode::BadEndorsement));
    // Valid signatures, but two peers of one organisation do not satisfy AND(Org1, Org2).
    let one_org = hand_endorsed(etx.tx.clone(), etx.response.clone(), &[p0, &net.peers[1]]);
    cases.push((
        "one organisation only",
        one_org,
        ErrorCode::PolicyNotSatisfied,
    ));
    let mut rejected = etx.response.clone();
    rejected.vote = Vote::Reject;
    cases.push((
        "reject vote",
        hand_endorsed(etx.tx.clone(), rejected, &[p0, p2]),
        ErrorCode::EndorsementRejected,
    ));
    let mut other = etx.response.clone();
    other.tx_id = transfer(&net, 3, "10").payload.id();
    cases.push((
        "response of another transaction",
        hand_endorsed(etx.tx.clone(), other, &[p0, p2]),
        ErrorCode::InvalidTx,
    ));
    let mut e = etx.clone();
    e.tx.signature.0[0] ^= 1;
    cases.push(("bad client signature", e, ErrorCode::BadClientSignature));

    for (what, e, code) in cases {
        assert_eq!(c.mgmt.submit(e).unwrap_err().code, code, "{what}");
    }
    // Nothing was queued or left pending: the genuine one goes through and changes state once.
    let r = receipt(c.mgmt.submit(etx).unwrap()).await;
    assert_eq!(r.status, TxStatus::Valid);
    assert_eq!(r.block, 4);
    assert_eq!(
        c.state("asset", b"acct/alice"),
        Some(account_record(&net.client, 90))
    );
}

#[tokio::test]
async fn the_second_of_two_transactions_reading_the_same_key_fails_mvcc() {
    let mut c = Cluster::replicated(2, Selection::Load, |_| {});
    c.start();
    let net = c.net.clone();
    asset_setup(&c).await;
    // Both endorsed against the same state: both read alice at block 2.
    let first = c.mgmt.endorse(transfer(&net, 2, "10")).await.unwrap();
    let second = c.mgmt.endorse(transfer(&net, 3, "20")).await.unwrap();
    assert_eq!(first.response.rwset.reads, second.response.rwset.reads);

    let r1 = receipt(c.mgmt.submit(first).unwrap()).await;
    assert_eq!(r1.status, TxStatus::Valid);
    let r2 = receipt(c.mgmt.submit(second.clone()).unwrap()).await;
    assert_eq!(r2.status, TxStatus::Invalid(ErrorCode::MvccReadConflict));
    assert_eq!(r2.block, r1.block + 1);
    // Only the first one's writes applied; the second is recorded as invalid, once.
    assert_eq!(
        c.state("asset", b"acct/alice"),
        Some(account_record(&net.client, 90))
    );
    assert_eq!(
        c.state("asset", b"acct/bob"),
        Some(account_record(&net.admin, 10))
    );
    assert_eq!(
        c.mgmt
            .ledger()
            .store()
            .receipt(&second.id())
            .unwrap()
            .unwrap(),
        r2
    );
    assert_eq!(
        c.mgmt.submit(second).unwrap_err().code,
        ErrorCode::DuplicateTx
    );

    // Peers replaying the blocks judge the same.
    c.sync_replicas();
    let replica = c.transport.devices[0].endorser.ledger();
    assert_eq!(
        replica.store().receipt(&r2.tx_id).unwrap().unwrap().status,
        r2.status
    );
    assert_eq!(
        replica.store().state_root().unwrap(),
        c.mgmt.ledger().store().state_root().unwrap()
    );
    // A fresh transfer, endorsed on the new state, succeeds.
    c.commit_valid(transfer(&net, 4, "20")).await;
    assert_eq!(
        c.state("asset", b"acct/alice"),
        Some(account_record(&net.client, 70))
    );
}
