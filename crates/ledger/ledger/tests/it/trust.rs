//! `SignatureTrust::TrustOrderer` (the management network's own replicas): per-transaction
//! signatures are vouched for by the block signature, everything else is judged as at a peer —
//! and the header's state root, computed by the orderer that verified them, makes a replica
//! refuse any block it would judge differently from the peers.

use std::sync::Arc;

use arcanum_crypto::domain;
use arcanum_ledger::{Ledger, SignatureTrust};
use arcanum_types::ErrorCode::{
    BadClientSignature, BadEndorsement, BlockBadSignature, BlockStateRootMismatch,
    ClientNotAllowed, DuplicateTx, MvccReadConflict, PolicyNotSatisfied,
};
use arcanum_types::{Endorsement, Signature, TxStatus, encode};

use crate::harness::{BOTH_ORGS, Net, ORG1_ORG2, fingerprint, fresh_store, rwset, statuses};

#[test]
fn a_trusting_ledger_skips_only_per_transaction_signatures() {
    let net = Net::with_ledgers(1);
    let trusting = Ledger::with_trust(
        Arc::new(fresh_store()),
        net.config.clone(),
        SignatureTrust::TrustOrderer,
    );
    net.setup_contract("kv", BOTH_ORGS);
    let first = net.ledgers[0]
        .store()
        .block(1)
        .expect("reads")
        .expect("stored");
    assert!(
        !trusting
            .commit_bytes(&first)
            .expect("replica commits")
            .already_committed
    );

    let mut bad_client_sig = net.put("kv", b"a", b"1", ORG1_ORG2);
    bad_client_sig.tx.signature = Signature(vec![1; 64]);
    let mut bad_endorsement_sig = net.put("kv", b"b", b"1", ORG1_ORG2);
    bad_endorsement_sig.endorsements[1].signature = Signature(vec![]);
    let mut non_peer = net.put("kv", b"c", b"1", ORG1_ORG2);
    non_peer.endorsements[1] = Endorsement {
        endorser: net.client.id,
        signature: net
            .client
            .key
            .sign(domain::ENDORSEMENT, &non_peer.endorsement_message()),
    };
    let mut twice = net.put("kv", b"d", b"1", ORG1_ORG2);
    twice.endorsements[1] = twice.endorsements[0].clone();
    let unlisted = {
        let tx = net.invoke_tx(&net.unlisted, "kv", "put");
        let response = Net::response(&tx, rwset("kv", &[], &[(b"e", Some(b"1"))]));
        net.endorse(tx, response, ORG1_ORG2)
    };
    let good = net.put("kv", b"f", b"1", ORG1_ORG2);
    let txs = vec![
        bad_client_sig,
        bad_endorsement_sig,
        non_peer,
        twice,
        unlisted,
        net.put("kv", b"g", b"1", &[0]),
        good.clone(),
        good,
        net.invoke("kv", rwset("kv", &[(b"f", None)], &[]), ORG1_ORG2),
    ];
    let block = net.next_block(txs);
    let peer = statuses(&net.deliver(&block).expect("peer commits"));
    let invalid = TxStatus::Invalid;
    assert_eq!(
        peer,
        [
            invalid(BadClientSignature),
            invalid(BadEndorsement),
            invalid(BadEndorsement),
            invalid(BadEndorsement),
            invalid(ClientNotAllowed),
            invalid(PolicyNotSatisfied),
            TxStatus::Valid,
            invalid(DuplicateTx),
            invalid(MvccReadConflict),
        ]
    );
    // The replica would accept the two forged signatures, so the writes it would apply differ
    // from the peers': the signed state root refuses the block whole.
    let before = fingerprint(&trusting);
    assert_eq!(
        trusting
            .commit(&block, encode(&block))
            .map_err(|e| e.code)
            .err(),
        Some(BlockStateRootMismatch)
    );
    assert_eq!(fingerprint(&trusting), before);
    // The block signature itself is still checked.
    let mut forged = net.next_block(vec![]);
    forged.signature = net.peers[0]
        .key
        .sign(domain::BLOCK_SIGNATURE, &forged.header.hash().0);
    let before = fingerprint(&trusting);
    assert_eq!(
        trusting
            .commit(&forged, encode(&forged))
            .map_err(|e| e.code)
            .err(),
        Some(BlockBadSignature)
    );
    assert_eq!(fingerprint(&trusting), before);
}
