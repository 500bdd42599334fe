//! Forged, missing and misattributed endorsements (SPEC §3: "a block with a forged or missing
//! endorsement ... is rejected, with a specific error code. No state changes."). Every block here
//! is correctly signed by the management device: the peers must catch the bad endorsement on
//! their own.

use arcanum_crypto::domain;
use arcanum_types::ErrorCode::{BadEndorsement, EndorsementRejected, PolicyNotSatisfied};
use arcanum_types::{EndorsedTx, Endorsement, ErrorCode, Signature, TxStatus, Vote, limits};

use crate::harness::{Actor, BOTH_ORGS, Net, ORG1_ORG2, rwset};

/// A network with `kv` (policy: both orgs) deployed and a valid, endorsed put of `k`.
fn setup() -> (Net, EndorsedTx) {
    let net = Net::new();
    net.setup_contract("kv", BOTH_ORGS);
    let put = net.put("kv", b"k", b"v", ORG1_ORG2);
    (net, put)
}

/// Replaces endorsement `i` of `etx`.
fn with_endorsement(mut etx: EndorsedTx, i: usize, e: Endorsement) -> EndorsedTx {
    etx.endorsements[i] = e;
    etx
}

#[test]
fn endorsement_signed_with_the_wrong_key_is_rejected_by_every_peer() {
    let (net, put) = setup();
    // Claims to be Org2's peer but is signed with Org1's peer key over the right message.
    let forged = Endorsement {
        endorser: net.peers[2].id,
        signature: net.peers[0]
            .key
            .sign(domain::ENDORSEMENT, &put.endorsement_message()),
    };
    net.assert_rejected(with_endorsement(put.clone(), 1, forged), BadEndorsement);
    // A key the consortium has never seen.
    let stranger = Actor::new("mallory");
    let forged = Endorsement {
        endorser: net.peers[2].id,
        signature: stranger
            .key
            .sign(domain::ENDORSEMENT, &put.endorsement_message()),
    };
    let put = net.put("kv", b"k", b"v", ORG1_ORG2);
    net.assert_rejected(with_endorsement(put, 1, forged), BadEndorsement);
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn endorsement_over_other_bytes_is_rejected() {
    let (net, put) = setup();
    let other = net.put("kv", b"k", b"other", ORG1_ORG2);
    // A genuine signature by peer 2, but over another transaction's endorsement message.
    let replayed = other.endorsements[1].clone();
    net.assert_rejected(with_endorsement(put, 1, replayed), BadEndorsement);

    // The right message under the wrong domain.
    let put = net.put("kv", b"k", b"v", ORG1_ORG2);
    let wrong_domain = Endorsement {
        endorser: net.peers[2].id,
        signature: net.peers[2]
            .key
            .sign(domain::TX_SIGNATURE, &put.endorsement_message()),
    };
    net.assert_rejected(with_endorsement(put, 1, wrong_domain), BadEndorsement);

    // Empty and truncated signatures.
    for sig in [Vec::new(), vec![0u8; 63], vec![0u8; 64]] {
        let put = net.put("kv", b"k", b"v", ORG1_ORG2);
        let e = Endorsement {
            endorser: net.peers[2].id,
            signature: Signature(sig),
        };
        net.assert_rejected(with_endorsement(put, 1, e), BadEndorsement);
    }
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn response_changed_after_endorsement_is_rejected() {
    let (net, mut put) = setup();
    // The orderer (or a relay) swaps the written value after the peers signed.
    put.response.rwset = rwset("kv", &[(b"k", None)], &[(b"k", Some(b"evil"))]);
    net.assert_rejected(put, BadEndorsement);

    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.response.result = b"changed".to_vec();
    net.assert_rejected(put, BadEndorsement);

    // A signed Reject turned into Approve: the signatures cover the vote.
    let mut put = net.put("kv", b"k", b"v", ORG1_ORG2);
    put.response.vote = Vote::Reject;
    net.reendorse(&mut put, ORG1_ORG2);
    put.response.vote = Vote::Approve;
    net.assert_rejected(put, BadEndorsement);
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn one_forged_endorsement_spoils_an_otherwise_sufficient_set() {
    let (net, mut put) = setup();
    // Peers 0 and 2 already satisfy the policy; a third, forged endorsement by peer 3 is added.
    put.endorsements.push(Endorsement {
        endorser: net.peers[3].id,
        signature: net.peers[2]
            .key
            .sign(domain::ENDORSEMENT, &put.endorsement_message()),
    });
    net.assert_rejected(put, BadEndorsement);
}

#[test]
fn missing_endorsements_do_not_satisfy_the_policy() {
    let (net, mut put) = setup();
    put.endorsements.clear();
    net.assert_rejected(put, PolicyNotSatisfied);
    // Only Org1, once or twice.
    net.assert_rejected(net.put("kv", b"k", b"v", &[0]), PolicyNotSatisfied);
    net.assert_rejected(net.put("kv", b"k", b"v", &[0, 1]), PolicyNotSatisfied);
    // Only Org2.
    net.assert_rejected(net.put("kv", b"k", b"v", &[2, 3]), PolicyNotSatisfied);
    // A deploy endorsed by one organisation misses the lifecycle policy (MAJORITY of two).
    net.assert_rejected(
        net.deploy(&net.admin, "kv2", BOTH_ORGS, &[0, 1]),
        PolicyNotSatisfied,
    );
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn endorsement_by_a_non_peer_member_is_rejected() {
    let (net, _) = setup();
    // Correctly signed, over the right message, by members that are not peers and by an
    // identity the consortium does not know; added to a set that satisfies the policy.
    for who in [
        &net.client,
        &net.admin,
        &net.orderer,
        &net.unlisted,
        &net.stranger,
    ] {
        let mut etx = net.put("kv", b"k", b"v", ORG1_ORG2);
        let e = Endorsement {
            endorser: who.id,
            signature: who
                .key
                .sign(domain::ENDORSEMENT, &etx.endorsement_message()),
        };
        etx.endorsements.push(e);
        net.assert_rejected(etx, BadEndorsement);
    }
    // A non-peer standing in for a missing Org2 peer.
    let mut etx = net.put("kv", b"k", b"v", &[0]);
    let e = Endorsement {
        endorser: net.orderer.id,
        signature: net
            .orderer
            .key
            .sign(domain::ENDORSEMENT, &etx.endorsement_message()),
    };
    etx.endorsements.push(e);
    net.assert_rejected(etx, BadEndorsement);
    assert_eq!(net.value("kv", b"k"), None);
}

#[test]
fn duplicate_endorser_is_rejected() {
    let (net, mut put) = setup();
    let again = put.endorsements[0].clone();
    put.endorsements.push(again);
    net.assert_rejected(put, BadEndorsement);
    // Duplicated alone (one org twice still is not both orgs, but the duplicate is caught first).
    net.assert_rejected(net.put("kv", b"k", b"v", &[2, 2]), BadEndorsement);
}

#[test]
fn too_many_endorsements_are_rejected() {
    let (net, mut put) = setup();
    let e = put.endorsements[0].clone();
    put.endorsements.resize(limits::MAX_ENDORSEMENTS + 1, e);
    net.assert_rejected(put, BadEndorsement);
}

#[test]
fn a_signed_reject_vote_is_rejected() {
    let (net, mut put) = setup();
    put.response.vote = Vote::Reject;
    net.reendorse(&mut put, ORG1_ORG2);
    net.assert_rejected(put, EndorsementRejected);
}

#[test]
fn forged_endorsement_in_a_mixed_block_affects_only_its_transaction() {
    let (net, good) = setup();
    let mut forged = net.put("kv", b"f", b"v", ORG1_ORG2);
    forged.endorsements[0].signature = net.peers[1]
        .key
        .sign(domain::ENDORSEMENT, &forged.endorsement_message());
    let (_, st) = net.commit(vec![good, forged]);
    assert_eq!(
        st,
        [
            TxStatus::Valid,
            TxStatus::Invalid(ErrorCode::BadEndorsement)
        ]
    );
    assert!(net.value("kv", b"k").is_some());
    assert_eq!(net.value("kv", b"f"), None);
}

/// A block large enough to be batch-verified across threads, with forged endorsements and a bad
/// client signature scattered through it: exactly those transactions are invalid, each with its
/// own code, and every other one commits (the batch is bisected, never trusted wholesale).
#[test]
fn bad_signatures_in_a_large_block_are_found_one_by_one() {
    let (net, _) = setup();
    let mut txs = Vec::new();
    let mut expected = Vec::new();
    for i in 0..60u32 {
        let key = format!("k{i}");
        let mut etx = net.put("kv", key.as_bytes(), b"v", ORG1_ORG2);
        let status = match i {
            7 | 31 => {
                etx.endorsements[1].signature = net.peers[1]
                    .key
                    .sign(domain::ENDORSEMENT, b"some other message");
                TxStatus::Invalid(BadEndorsement)
            }
            44 => {
                etx.tx.signature.0[5] ^= 1;
                TxStatus::Invalid(ErrorCode::BadClientSignature)
            }
            _ => TxStatus::Valid,
        };
        txs.push(etx);
        expected.push(status);
    }
    let (_, st) = net.commit(txs);
    assert_eq!(st, expected);
    assert!(net.value("kv", b"k0").is_some());
    assert_eq!(net.value("kv", b"k31"), None);
    assert_eq!(net.value("kv", b"k44"), None);
}
