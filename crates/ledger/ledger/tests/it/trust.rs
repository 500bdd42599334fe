//! `SignatureTrust::TrustOrderer` (the management network's own ledgers): the block signature
//! vouches for exactly the signatures the management device verified itself before ordering
//! (client signatures, endorsements by peers whose key was never rotated); everything else is
//! judged as at a peer. The blocks of these tests are signed with the management device's key
//! but not ordered by it, which is the only way to put a forged signature of those kinds in a
//! block: the management device refuses such transactions before ordering (the management
//! crate's `signatures` tests).
//! With the state root in every header, a replica that would judge a block differently from
//! the peers refuses it whole instead (`BLOCK_STATE_ROOT_MISMATCH`).

use std::sync::Arc;

use arcanum_crypto::domain;
use arcanum_ledger::{Ledger, SignatureTrust};
use arcanum_types::ErrorCode::{
    BadClientSignature, BadEndorsement, BlockBadSignature, BlockStateRootMismatch,
    ClientNotAllowed, DuplicateTx, MvccReadConflict, PolicyNotSatisfied,
};
use arcanum_types::{Endorsement, Signature, TxStatus, encode};

use crate::harness::{BOTH_ORGS, Net, ORG1_ORG2, fingerprint, fresh_store, rwset, statuses};
use crate::rotation::{new_key, put_endorsed_with, rotation};

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

#[test]
fn a_trusting_ledger_verifies_the_endorsements_of_rotated_peers() {
    // Ledger 0 is a peer's, ledger 1 trusts the orderer.
    let net = Net::with_trusts(&[SignatureTrust::VerifyAll, SignatureTrust::TrustOrderer]);
    let statuses_of = |block: &arcanum_types::Block| -> Vec<Vec<TxStatus>> {
        let bytes = encode(block);
        net.ledgers
            .iter()
            .map(|l| statuses(&l.commit(block, bytes.clone()).expect("commits")))
            .collect()
    };
    net.setup_contract("kv", BOTH_ORGS);
    let old = &net.peers[0].key;
    let fresh = new_key("peer0.org1 rotated");
    // Endorsed under peer 0's certificate key, ordered after its rotation: in the same block,
    // and in a later one.
    let stale_same_block = put_endorsed_with(&net, b"stale-same-block", old);
    let stale_later = put_endorsed_with(&net, b"stale-later", old);
    let judged = statuses_of(&net.next_block(vec![
        rotation(&net, &net.admin, 0, &fresh.public_key(), ORG1_ORG2),
        stale_same_block,
    ]));
    assert_eq!(
        judged[0],
        [TxStatus::Valid, TxStatus::Invalid(BadEndorsement)]
    );
    assert_eq!(
        judged[1], judged[0],
        "the trusting ledger judges as the peer"
    );

    // A forged endorsement by a peer never rotated is the orderer's to vouch for; one by the
    // rotated peer is verified. The trusting ledger would accept the forged one, so its writes
    // would differ from the peer's: the signed state root refuses the block there whole.
    let mut unrotated_forged = put_endorsed_with(&net, b"unrotated-forged", &fresh);
    unrotated_forged.endorsements[1].signature = Signature(vec![7; 64]);
    let block = net.next_block(vec![
        stale_later,
        put_endorsed_with(&net, b"fresh", &fresh),
        unrotated_forged,
    ]);
    let peer = statuses(
        &net.ledgers[0]
            .commit(&block, encode(&block))
            .expect("commits"),
    );
    let invalid = TxStatus::Invalid;
    assert_eq!(
        peer,
        [
            invalid(BadEndorsement),
            TxStatus::Valid,
            invalid(BadEndorsement)
        ]
    );
    assert_eq!(
        net.ledgers[1]
            .commit(&block, encode(&block))
            .map_err(|e| e.code)
            .err(),
        Some(BlockStateRootMismatch)
    );
}
